"""Coordinator metrics on a generated month of cases, checked against figures this test computes
from its own plan (not from the database), plus CSV, validation and access."""

from __future__ import annotations

import copy
import csv
import io
import json
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib import openapi
from tests.conftest import EMPTY_STRINGS, FrozenClock, auth
from tests.functional.gdpr_helpers import inbound_sms, staff_post, status_callback, submit, twilio_env

BERLIN = ZoneInfo("Europe/Berlin")
PARTNERS = ("akademie-ingenieure", "arbeitsagentur-muenchen", "lmu-klinikum", "servicestelle-muenchen", "via-bayern")
RULES = (
    "engineering-construction",
    "general-counselling",
    "health-professions",
    "job-placement",
    "recognition-counselling",
)
# (profession group, goals, registered with the employment agency) → (rule, partner)
VARIANTS = {
    ("health", ("job",), False): ("health-professions", "lmu-klinikum"),
    ("engineering", ("job",), False): ("engineering-construction", "akademie-ingenieure"),
    ("it", ("recognition",), False): ("recognition-counselling", "servicestelle-muenchen"),
    ("it", ("job",), True): ("job-placement", "arbeitsagentur-muenchen"),
    ("business", ("orientation",), False): ("general-counselling", "via-bayern"),
}
SLA_CHECKS = (datetime(2025, 3, 17, 10, 0, tzinfo=BERLIN), datetime(2025, 4, 10, 10, 0, tzinfo=BERLIN))


@dataclass
class Planned:
    """One generated applicant and everything the test does with their case."""

    number: int
    created: datetime
    variant: tuple[str, tuple[str, ...], bool]
    in_range: bool
    partner: str = ""  # where the case ends up
    transfer_at: datetime | None = None
    claim_at: datetime | None = None
    starts: list[datetime] = field(default_factory=list)
    cancelled: list[bool] = field(default_factory=list)
    attended: list[bool | None] = field(default_factory=list)
    close_at: datetime | None = None
    stop_at: datetime | None = None
    case_id: str = ""
    appointment_ids: list[str] = field(default_factory=list)

    @property
    def phone(self) -> str:
        return f"+49151{self.number:08d}"

    @property
    def rule(self) -> str:
        return VARIANTS[self.variant][0]

    @property
    def routed_partner(self) -> str:
        return VARIANTS[self.variant][1]


def berlin(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=BERLIN)


def plan_month(rng: random.Random) -> list[Planned]:
    """About 40 intakes in March 2025 (Berlin), three at the month's edges, each with its own fate."""
    moments = [berlin(rng.randint(1, 31), rng.randint(7, 20), rng.randint(0, 59)) for _ in range(40)]
    edges = [
        (berlin(28, 23, 30, month=2), False),  # the day before: not March
        (berlin(31, 23, 30), True),  # 21:30 UTC, still March in Berlin
        (berlin(1, 0, 30, month=4), False),  # 31 March 22:30 UTC, but April in Berlin
    ]
    plans = [Planned(i + 1, moment, rng.choice(sorted(VARIANTS)), True) for i, moment in enumerate(moments)]
    plans += [Planned(90 + i, m, rng.choice(sorted(VARIANTS)), inside) for i, (m, inside) in enumerate(edges)]
    for plan in plans:
        plan.partner = plan.routed_partner
        if rng.random() < 0.12:
            plan.transfer_at = plan.created.astimezone(UTC) + timedelta(hours=1)
            plan.partner = rng.choice([p for p in PARTNERS if p != plan.routed_partner])
        if rng.random() < 0.1:
            plan.stop_at = plan.created.astimezone(UTC) + timedelta(hours=3)
        if rng.random() < 0.2:
            continue  # never claimed
        plan.claim_at = plan.created.astimezone(UTC) + timedelta(hours=round(rng.uniform(2, 140), 2))
        if rng.random() < 0.55:
            day = plan.claim_at.astimezone(BERLIN).date() + timedelta(days=rng.randint(1, 9))
            first = datetime.combine(day, time(10), BERLIN)
            plan.starts.append(first)
            plan.cancelled.append(False)
            plan.attended.append(rng.random() < 0.7)
            if rng.random() < 0.35:
                plan.starts.append(datetime.combine(day + timedelta(days=7), time(12), BERLIN))
                cancelled = rng.random() < 0.4
                plan.cancelled.append(cancelled)
                plan.attended.append(None if cancelled else rng.random() < 0.7)
        if rng.random() < 0.5:
            last = max([plan.claim_at, *[s + timedelta(hours=3) for s in plan.starts]])
            plan.close_at = last + timedelta(hours=1)
    return plans


# --- independent expectations ------------------------------------------------------------------


def overdue_by(queued: datetime, check: datetime) -> bool:
    """2 working days (Mon–Fri; no Bavarian holiday falls in March or early April 2025), counted in
    whole local days from the moment of queueing, as the partners' SLA says."""
    left = timedelta(days=2)
    cursor = queued.astimezone(BERLIN)
    while True:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), time(0), BERLIN)
        if cursor.weekday() < 5:
            today = midnight.astimezone(UTC) - cursor.astimezone(UTC)
            if left <= today:
                return cursor.astimezone(UTC) + left <= check.astimezone(UTC)
            left -= today
        cursor = midnight


def same(actual: Any, expected: Any) -> bool:
    """Equal, except that hours may differ in the last rounded digit (two float paths to one value)."""
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(same(actual[k], expected[k]) for k in expected)
        )
    if isinstance(expected, float) and isinstance(actual, float):
        return abs(actual - expected) <= 0.0101
    return actual == expected and type(actual) is type(expected)


def durations(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"median": None, "p90": None, "count": 0}
    p90 = values[0] if len(values) == 1 else statistics.quantiles(values, n=10, method="inclusive")[8]
    return {"median": round(statistics.median(values), 2), "p90": round(p90, 2), "count": len(values)}


def expected_figures(plans: list[Planned], sms: dict[int, dict[str, int]], scope: str | None) -> dict[str, Any]:
    held = [p for p in plans if p.in_range and (scope is None or p.partner == scope)]
    routed = [p for p in plans if p.in_range and (scope is None or p.routed_partner == scope)]
    # In UTC: subtracting two datetimes of one ZoneInfo would give wall-clock time across the DST switch.
    hours = lambda a, b: (b.astimezone(UTC) - a.astimezone(UTC)).total_seconds() / 3600  # noqa: E731
    attended = sum(a is True for p in held for a in p.attended)
    no_shows = sum(a is False for p in held for a in p.attended)
    overdue = 0
    for p in held:
        queued = p.transfer_at or p.created
        overdue += any(
            check > queued and (p.claim_at is None or p.claim_at > check) and overdue_by(queued, check)
            for check in SLA_CHECKS
        )
    return {
        "intakes": len(routed),
        "routed_per_rule": {rule: sum(p.rule == rule for p in routed) for rule in RULES},
        "time_to_claim_hours": durations([hours(p.created, p.claim_at) for p in held if p.claim_at]),
        "time_to_first_appointment_hours": durations([hours(p.created, min(p.starts)) for p in held if p.starts]),
        "overdue_cases": overdue,
        "appointments": sum(not c for p in held for c in p.cancelled),
        "attended": attended,
        "no_shows": no_shows,
        "no_show_rate": round(no_shows / (attended + no_shows), 4) if attended + no_shows else None,
        "sms": {k: sum(sms[p.number][k] for p in held) for k in ("sent", "delivered", "failed")},
        "opt_outs": sum(p.stop_at is not None for p in held),
    }


# --- running the month through the API -----------------------------------------------------------


def scheduled(client: Client, name: str) -> Any:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke(name, event).payload


@pytest.fixture
def month(
    frozen_clock: FrozenClock,
    fake_sender: Any,
    client: Client,
    valid_intake: dict[str, Any],
    staff_token: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[list[Planned], dict[int, dict[str, int]]]:
    twilio_env(monkeypatch)
    rng = random.Random(20250301)
    plans = plan_month(rng)
    events: list[tuple[datetime, int, str, Planned | None, int]] = []
    for p in plans:
        events.append((p.created, 0, "intake", p, 0))
        if p.transfer_at:
            events.append((p.transfer_at, 1, "transfer", p, 0))
        if p.stop_at:
            events.append((p.stop_at, 1, "stop", p, 0))
        if p.claim_at:
            events.append((p.claim_at, 2, "claim", p, 0))
        for i, start in enumerate(p.starts):
            booked = (p.claim_at if i == 0 else p.starts[0] + timedelta(hours=3)) + timedelta(minutes=30)
            events.append((booked, 3, "book", p, i))
            if p.cancelled[i]:
                events.append((booked + timedelta(hours=1), 4, "cancel", p, i))
            else:
                events.append((start + timedelta(hours=2), 4, "attendance", p, i))
        if p.close_at:
            events.append((p.close_at, 5, "close", p, 0))
    sweep_at = berlin(28, 8, month=2)
    while sweep_at < berlin(20, 12, month=4):
        events.append((sweep_at, 9, "sweep", None, 0))
        sweep_at += timedelta(hours=6)
    events += [(check, 8, "sla", None, 0) for check in SLA_CHECKS]
    events.sort(key=lambda e: (e[0], e[1], e[3].number if e[3] else 0))

    intake = copy.deepcopy(valid_intake)
    for moment, _order, kind, p, i in events:
        frozen_clock.set(moment)
        if p is None:
            scheduled(client, "send_due_messages" if kind == "sweep" else "mark_overdue_cases")
            continue
        token = staff_token(p.partner, name=f"Staff {p.number}")
        if kind == "intake":
            group, goals, registered = p.variant
            body = copy.deepcopy(intake)
            body.update(phone=p.phone, goals=list(goals), registered_with_employment_agency=registered)
            body["qualification"]["profession_group"] = group
            p.case_id = submit(client, body)[0]["case_id"]
        elif kind == "transfer":
            routed = staff_token(p.routed_partner, name=f"Router {p.number}")
            move = {"partner": p.partner, "reason": "Better fit for this applicant's goals"}
            assert staff_post(client, routed, f"/staff/cases/{p.case_id}/transfer", move).status_code == 200
        elif kind == "stop":
            inbound_sms(client, p.phone, "STOP", f"SMstop{p.number:04d}")
        elif kind == "claim":
            response = staff_post(client, token, f"/staff/cases/{p.case_id}/claim")
            assert response.status_code == 200, response.body
        elif kind == "book":
            local = p.starts[i].replace(tzinfo=None).isoformat(timespec="minutes")
            body = {"start": local, "duration_minutes": 60, "location": "Raum 1"}
            response = staff_post(client, token, f"/staff/cases/{p.case_id}/appointments", body)
            assert response.status_code == 201, response.body
            p.appointment_ids.append(json.loads(response.body)["appointment"]["appointment_id"])
        elif kind == "cancel":
            path = f"/staff/cases/{p.case_id}/appointments/{p.appointment_ids[i]}"
            assert client.http.delete(path, headers=auth(token)).status_code == 200
        elif kind == "attendance":
            path = f"/staff/cases/{p.case_id}/appointments/{p.appointment_ids[i]}/attendance"
            response = staff_post(client, token, path, {"attended": p.attended[i]})
            assert response.status_code == 200, response.body
        elif kind == "close":
            outcome = {"outcome": rng.choice(["counselled", "referred_elsewhere", "no_response"])}
            assert staff_post(client, token, f"/staff/cases/{p.case_id}/close", outcome).status_code == 200

    # Twilio reports on what it accepted: the test decides each fate and keeps its own tally.
    by_phone = {p.phone: p for p in plans}
    sms = {p.number: {"sent": 0, "delivered": 0, "failed": 0} for p in plans}
    for delivered in fake_sender.accepted:
        tally = sms[by_phone[delivered.to].number]
        tally["sent"] += 1
        fate = rng.choice(["delivered", "delivered", "delivered", "undelivered", "failed", None])
        if fate:
            status_callback(client, delivered.sid, fate, None if fate == "delivered" else "30003")
            tally["delivered" if fate == "delivered" else "failed"] += 1
    return plans, sms


def get_metrics(client: Client, token: str, query: str) -> Any:
    return client.http.get(f"/coordinator/metrics{query}", headers=auth(token))


@EMPTY_STRINGS
def test_a_generated_month_matches_figures_computed_independently(
    client: Client, month: tuple[list[Planned], dict[int, dict[str, int]]], staff_token: Callable[..., str]
) -> None:
    plans, sms = month
    assert sum(p.in_range for p in plans) == 41
    assert any(p.transfer_at for p in plans) and any(p.stop_at for p in plans)
    assert sum(len(p.starts) for p in plans) >= 10 and any(any(p.cancelled) for p in plans)
    coordinator = staff_token(None, role="coordinator", name="Clara K")
    response = get_metrics(client, coordinator, "?from=2025-03-01&to=2025-03-31")
    assert response.status_code == 200, response.body
    result = json.loads(response.body)
    assert (result["from"], result["to"]) == ("2025-03-01", "2025-03-31")
    assert set(result) == {"from", "to", "generated_at", "network", "partners"}
    assert datetime.fromisoformat(result["generated_at"]).utcoffset() is not None
    network = expected_figures(plans, sms, None)
    assert same(result["network"], network), (result["network"], network)
    assert set(result["partners"]) == set(PARTNERS)
    for partner in PARTNERS:
        expected = expected_figures(plans, sms, partner)
        assert same(result["partners"][partner], expected), (partner, result["partners"][partner], expected)
    assert result["network"]["sms"]["sent"] > 30 and result["network"]["overdue_cases"] > 0

    # The same figures as CSV: one row per partner, then the network row, flat columns.
    response = get_metrics(client, coordinator, "?from=2025-03-01&to=2025-03-31&format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    documented = openapi.document()["paths"]["/coordinator/metrics"]["get"]["responses"]["200"]["content"]
    assert set(documented) == {"application/json", "text/csv"}  # what clients generated from it expect
    rows = list(
        csv.DictReader(io.StringIO(response.body.decode() if isinstance(response.body, bytes) else response.body))
    )
    assert [row["scope"] for row in rows] == [*sorted(PARTNERS), "network"]
    row, figures = rows[-1], result["network"]
    assert int(row["intakes"]) == figures["intakes"]
    assert int(row["routed_rule_job-placement"]) == figures["routed_per_rule"]["job-placement"]
    assert float(row["time_to_claim_hours_p90"]) == figures["time_to_claim_hours"]["p90"]
    assert int(row["sms_delivered"]) == figures["sms"]["delivered"]
    assert row["from"] == "2025-03-01" and row["to"] == "2025-03-31"

    # For Excel with German settings: the same rows, split at semicolons, with decimal commas (a
    # "1.5" would become 1 May there), marked as UTF-8 by a byte order mark.
    response = get_metrics(client, coordinator, "?from=2025-03-01&to=2025-03-31&format=csv-excel-de")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    body = response.body if isinstance(response.body, bytes) else response.body.encode()
    assert body.startswith(b"\xef\xbb\xbf")
    excel = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert [r["scope"] for r in excel] == [r["scope"] for r in rows] and list(excel[0]) == list(rows[0])
    p90 = figures["time_to_claim_hours"]["p90"]
    assert isinstance(p90, float) and excel[-1]["time_to_claim_hours_p90"] == repr(p90).replace(".", ",")
    assert {k: v.replace(",", ".") for k, v in excel[-1].items()} == row

    # Days are Berlin days: 31 March 23:30 is March, 1 April 00:30 is April (though 31 March in UTC).
    last_day = json.loads(get_metrics(client, coordinator, "?from=2025-03-31&to=2025-03-31").body)
    assert last_day["network"]["intakes"] == sum(p.created.date() == date(2025, 3, 31) for p in plans)
    april_first = json.loads(get_metrics(client, coordinator, "?from=2025-04-01&to=2025-04-01").body)
    assert april_first["network"]["intakes"] == 1


# --- the request: dates, format, access ----------------------------------------------------------


def test_without_dates_the_last_30_days_up_to_today_in_berlin(
    frozen_clock: FrozenClock, client: Client, staff_token: Callable[..., str]
) -> None:
    frozen_clock.set(datetime(2025, 3, 7, 0, 30, tzinfo=BERLIN))  # still 6 March in UTC
    coordinator = staff_token(None, role="coordinator", name="Clara K")
    result = json.loads(get_metrics(client, coordinator, "").body)
    assert (result["from"], result["to"]) == ("2025-02-06", "2025-03-07")
    only_from = json.loads(get_metrics(client, coordinator, "?from=2025-03-01").body)
    assert (only_from["from"], only_from["to"]) == ("2025-03-01", "2025-03-07")
    idle = result["partners"]["via-bayern"]
    assert idle["intakes"] == 0 and idle["routed_per_rule"] == dict.fromkeys(RULES, 0)
    assert idle["time_to_claim_hours"] == {"median": None, "p90": None, "count": 0}
    assert idle["no_show_rate"] is None and idle["sms"] == {"sent": 0, "delivered": 0, "failed": 0}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?from=2025-3-1&to=2025-03-31", "from"),
        ("?from=2025-03-01&to=31.03.2025", "to"),
        ("?from=2025-02-30", "from"),
        ("?from=2025-W10-1", "from"),  # an ISO week date, which Python's fromisoformat would take
        ("?from=2025-04-01&to=2025-03-01", "from"),
        ("?from=2024-01-01&to=2025-03-01", "to"),
        ("?from=2025-03-01&to=2025-03-31&format=xlsx", "format"),
        ("?from=2025-03-01&until=2025-03-31", "until"),
        ("?from=0001-01-01&to=0001-01-01", "from"),  # was a 500: Berlin midnight is in year 0 in UTC
        ("?to=0001-01-05", "to"),
        ("?from=9999-12-31&to=9999-12-31", "from"),
        ("?from=2025-03-01&to=9999-12-31", "to"),
    ],
)
def test_invalid_requests_are_400_naming_the_field(
    client: Client, staff_token: Callable[..., str], query: str, field: str
) -> None:
    response = get_metrics(client, staff_token(None, role="coordinator", name="Clara K"), query)
    assert response.status_code == 400, response.body
    body = json.loads(response.body)
    assert body["code"] == "validation_failed" and [e["field"] for e in body["errors"]] == [field]


def test_only_coordinators_see_the_figures(client: Client, staff_token: Callable[..., str]) -> None:
    staff = get_metrics(client, staff_token("lmu-klinikum"), "?from=2025-03-01&to=2025-03-31")
    assert staff.status_code == 403
    assert client.http.get("/coordinator/metrics").status_code == 401


def test_time_to_claim_stays_with_the_partner_that_claimed_before_a_transfer(
    client: Client,
    frozen_clock: FrozenClock,
    submit_case: Callable[..., dict[str, Any]],
    staff_token: Callable[..., str],
) -> None:
    """Claimed at the hospital after 3 hours, then transferred to VIA: VIA did not claim it at all."""
    case_id = submit_case("health")["case_id"]
    frozen_clock.advance(hours=3)
    anna = staff_token("lmu-klinikum", name="Anna Berger")
    assert staff_post(client, anna, f"/staff/cases/{case_id}/claim").status_code == 200
    moved = staff_post(
        client,
        anna,
        f"/staff/cases/{case_id}/transfer",
        {"partner": "via-bayern", "reason": "Needs general counselling first"},
    )
    assert moved.status_code == 200, moved.body
    response = get_metrics(
        client, staff_token(None, role="coordinator", name="Chris"), "?from=2025-03-01&to=2025-03-31"
    )
    assert response.status_code == 200, response.body
    figures = json.loads(response.body)
    claimed = {p: f["time_to_claim_hours"] for p, f in figures["partners"].items()}
    assert claimed["lmu-klinikum"] == {"median": 3.0, "p90": 3.0, "count": 1}
    assert claimed["via-bayern"]["count"] == 0
    assert figures["network"]["time_to_claim_hours"]["count"] == 1
