"""Retention with frozen time: `enforce_retention` erases on schedule (never a Scan), the anonymous
record and the figures remain, and each item carries the TTL the retention module promises."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

import pytest
from chalice.test import Client
from moto.dynamodb.responses import DynamoHandler

from chalicelib.adapters.dynamodb.models import AuditModel, CaseModel, MessageModel
from tests.conftest import FrozenClock, auth
from tests.functional.gdpr_helpers import applicant, scan_all_tables, staff_post, submit, twilio_env

DAY = timedelta(days=1)
PARTNER = "akademie-ingenieure"  # where engineering intakes are routed


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    twilio_env(monkeypatch)


class ScanGuard:
    """Counts the Scans the app makes while `watching` (the test's own checks may scan)."""

    def __init__(self) -> None:
        self.watching = False
        self.scans = 0


@pytest.fixture
def scan_guard(monkeypatch: pytest.MonkeyPatch) -> ScanGuard:
    guard = ScanGuard()
    original = DynamoHandler.scan

    def counted(self: DynamoHandler) -> Any:
        guard.scans += guard.watching
        return original(self)

    monkeypatch.setattr(DynamoHandler, "scan", counted)
    return guard


def run_retention(client: Client, guard: ScanGuard | None = None) -> dict[str, Any]:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    if guard is not None:
        guard.watching = True
    try:
        return client.lambda_.invoke("enforce_retention", event).payload
    finally:
        if guard is not None:
            guard.watching = False


def metrics(client: Client, token: str) -> dict[str, Any]:
    response = client.http.get("/coordinator/metrics?from=2025-03-01&to=2025-03-31", headers=auth(token))
    assert response.status_code == 200, response.body
    body = json.loads(response.body)
    body.pop("generated_at")
    return body


@pytest.fixture
def cases(
    frozen_clock: FrozenClock,
    fake_sender: Any,
    client: Client,
    valid_intake: dict[str, Any],
    staff_token: Callable[..., str],
) -> dict[str, Any]:
    """Four applicants on 7 March 2025: never claimed, closed on day 10, claimed only, closed on day 100."""
    start = frozen_clock.now().astimezone(UTC)  # retention counts days of 24 h, whatever DST does
    token = staff_token(PARTNER, name="Bernd Vogel")
    made: dict[str, Any] = {"start": start, "staff": token}
    for name in ("Unclaimed", "ClosedEarly", "ClaimedOnly", "ClosedLate"):
        body, _ = submit(client, applicant(valid_intake, name, "Testperson", "+4915100000001"), key=f"key-{name}")
        made[name] = body["case_id"]
    sweep = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    client.lambda_.invoke("send_due_messages", sweep)  # plans (and sends) their intake_received SMS
    for name in ("ClosedEarly", "ClaimedOnly", "ClosedLate"):
        assert staff_post(client, token, f"/staff/cases/{made[name]}/claim").status_code == 200
    frozen_clock.set(start + 10 * DAY)
    close = {"outcome": "counselled", "note": "ClosedEarly Testperson came with her documents"}
    assert staff_post(client, token, f"/staff/cases/{made['ClosedEarly']}/close", close).status_code == 200
    frozen_clock.set(start + 100 * DAY)
    assert (
        staff_post(client, token, f"/staff/cases/{made['ClosedLate']}/close", {"outcome": "no_response"}).status_code
        == 200
    )
    return made


def test_the_replay_copy_of_an_intake_is_removed_a_day_later_and_the_key_is_free_again(
    frozen_clock: FrozenClock,
    fake_sender: Any,
    client: Client,
    valid_intake: dict[str, Any],
    scan_guard: ScanGuard,
) -> None:
    body = applicant(valid_intake, "Replay", "Testperson", "+4915100000002")
    first, _ = submit(client, body, key="key-replay")
    frozen_clock.advance(hours=23, minutes=59)
    assert run_retention(client, scan_guard)["replays_forgotten"] == 0
    assert submit(client, body, key="key-replay")[0] == first  # still a replay, same status link
    frozen_clock.advance(minutes=2)
    assert run_retention(client, scan_guard)["replays_forgotten"] == 1
    assert scan_guard.scans == 0
    stored = CaseModel.get(first["case_id"])
    assert (stored.request_hash, stored.idempotent_response, stored.idempotent_until) == (None, None, None)
    assert stored.partner_status == f"{PARTNER}#routed" and stored.erased_at is None  # the case itself stays
    assert run_retention(client, scan_guard)["replays_forgotten"] == 0
    second, _ = submit(client, body, key="key-replay")
    assert second["case_id"] != first["case_id"]


def test_every_item_carries_the_ttl_the_retention_design_promises(cases: dict[str, Any]) -> None:
    start = cases["start"]
    unclaimed = CaseModel.get(cases["Unclaimed"])
    assert unclaimed.expires_at == start + 395 * DAY  # 365 days + 30 days backstop
    closed = CaseModel.get(cases["ClosedEarly"])
    assert closed.expires_at == start + (10 + 180 + 30) * DAY
    claimed = CaseModel.get(cases["ClaimedOnly"])  # claimed on day 0 and left open: 730 days from its last step
    assert claimed.retention_key == "inactive" and claimed.expires_at == start + (730 + 30) * DAY
    assert CaseModel.get(cases["Unclaimed"]).idempotent_until == start + DAY  # replays end after a day
    assert {m.expires_at for m in MessageModel.scan()} == {start + 180 * DAY}


def test_records_vanish_on_schedule_and_the_statistics_remain(
    client: Client,
    cases: dict[str, Any],
    frozen_clock: FrozenClock,
    staff_token: Callable[..., str],
    scan_guard: ScanGuard,
) -> None:
    coordinator = staff_token(None, role="coordinator", name="Clara K")
    start = cases["start"]
    figures_before = metrics(client, coordinator)

    frozen_clock.set(start + (10 + 180) * DAY - timedelta(minutes=1))
    assert run_retention(client, scan_guard)["erased"] == {"unclaimed": 0, "closed": 0, "inactive": 0}

    frozen_clock.set(start + (10 + 180) * DAY + timedelta(minutes=1))
    assert run_retention(client, scan_guard)["erased"] == {"unclaimed": 0, "closed": 1, "inactive": 0}
    erased = CaseModel.get(cases["ClosedEarly"])
    assert erased.erased_at and erased.reference == "ERASED" and erased.outcome == "counselled"
    assert "given_name" not in erased.intake and erased.expires_at is None
    assert "came with her documents" not in json.dumps(erased.history)
    assert erased.partner_status is None  # out of the queue index
    assert cases["ClosedEarly"] not in {c.case_id for c in CaseModel.queue_index.query(f"{PARTNER}#closed")}
    assert CaseModel.get(cases["ClosedLate"]).erased_at is None  # due on day 280
    assert CaseModel.get(cases["Unclaimed"]).erased_at is None  # due on day 365

    frozen_clock.set(start + 365 * DAY + timedelta(minutes=1))
    assert run_retention(client, scan_guard)["erased"] == {"unclaimed": 1, "closed": 1, "inactive": 0}
    assert run_retention(client, scan_guard)["erased"] == {"unclaimed": 0, "closed": 0, "inactive": 0}  # idempotent
    assert scan_guard.scans == 0  # due cases come from the sparse index, never a Scan

    for name in ("Unclaimed", "ClosedEarly", "ClosedLate"):
        assert CaseModel.get(cases[name]).erased_at is not None, name
    assert CaseModel.get(cases["ClaimedOnly"]).erased_at is None  # claimed: its clock runs 730 days
    entries = [(e.staff_id, e.detail["reason"]) for e in AuditModel.scan() if e.action == "erase"]
    assert sorted(entries) == [("system", "retention_closed")] * 2 + [("system", "retention_unclaimed")]
    tables = scan_all_tables()
    assert [t for t, text in tables.items() for n in ("Unclaimed", "ClosedEarly", "ClosedLate") if n in text] == []
    assert "ClaimedOnly" in tables["migranet-local-cases"]
    assert metrics(client, coordinator) == figures_before  # the figures survive erasure


def test_retention_times_are_configurable(
    cases: dict[str, Any], frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RETENTION_DAYS_* (set per stage in .chalice/config.json; chalice's test client would apply
    that file's values inside a handler, so the service is called directly here)."""
    from chalicelib import bootstrap

    monkeypatch.setenv("RETENTION_DAYS_AFTER_CLOSE", "30")
    monkeypatch.setenv("RETENTION_DAYS_UNCLAIMED", "90")
    bootstrap.reset()
    frozen_clock.set(cases["start"] + 100 * DAY + timedelta(minutes=1))
    report = bootstrap.retention_service().enforce(frozen_clock.now()).as_dict()
    assert report["erased"] == {"unclaimed": 1, "closed": 1, "inactive": 0}  # closed day 10 + 30; intake + 90
    assert CaseModel.get(cases["ClosedEarly"]).erased_at is not None
    assert CaseModel.get(cases["Unclaimed"]).erased_at is not None
    assert CaseModel.get(cases["ClosedLate"]).erased_at is None  # closed just now


def ttl_day(case_id: str, start: Any) -> float:
    """The case's TTL backstop, in days after the cases' intake."""
    return (CaseModel.get(case_id).expires_at - start) / DAY


def test_raised_retention_days_move_the_ttl_of_running_clocks_so_nothing_is_deleted_early(
    cases: dict[str, Any], frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cases closed under 180 days carry a TTL of close + 210 days: with the days raised to 365,
    DynamoDB would delete them, statistics and all, half a year before they are due."""
    from chalicelib import bootstrap

    start = cases["start"]
    assert round(ttl_day(cases["ClosedEarly"], start)) == 10 + 180 + 30
    monkeypatch.setenv("RETENTION_DAYS_AFTER_CLOSE", "365")
    monkeypatch.setenv("RETENTION_DAYS_UNCLAIMED", "730")
    bootstrap.reset()
    frozen_clock.set(start + 101 * DAY)
    report = bootstrap.retention_service().enforce(frozen_clock.now()).as_dict()
    assert report["rearmed"] == {"unclaimed": 1, "closed": 2, "inactive": 0} and report["complete"]
    assert round(ttl_day(cases["ClosedEarly"], start)) == 10 + 365 + 30
    assert round(ttl_day(cases["ClosedLate"], start)) == 100 + 365 + 30
    assert round(ttl_day(cases["Unclaimed"], start)) == 730 + 30
    again = bootstrap.retention_service().enforce(frozen_clock.now()).as_dict()
    assert again["rearmed"] == {"unclaimed": 0, "closed": 0, "inactive": 0}  # one GetItem per clock kind tells
    frozen_clock.set(start + 300 * DAY)  # past the old due day (190) and the old backstop (220)
    assert bootstrap.retention_service().enforce(frozen_clock.now()).as_dict()["erased"] == {
        "unclaimed": 0,
        "closed": 0,
        "inactive": 0,
    }
    assert CaseModel.get(cases["ClosedEarly"]).erased_at is None


def test_lowered_retention_days_erase_what_is_due_and_bring_the_other_backstops_forward(
    cases: dict[str, Any], frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import bootstrap

    start = cases["start"]
    monkeypatch.setenv("RETENTION_DAYS_AFTER_CLOSE", "60")
    bootstrap.reset()
    frozen_clock.set(start + 101 * DAY)
    report = bootstrap.retention_service().enforce(frozen_clock.now()).as_dict()
    assert report["erased"] == {"unclaimed": 0, "closed": 1, "inactive": 0}  # closed on day 10: due on day 70
    assert report["rearmed"] == {"unclaimed": 0, "closed": 1, "inactive": 0}
    assert CaseModel.get(cases["ClosedEarly"]).expires_at is None  # erased: kept for the statistics
    assert round(ttl_day(cases["ClosedLate"], start)) == 100 + 60 + 30


def test_a_rearm_pass_cut_short_by_the_time_budget_is_finished_by_the_next_run(
    cases: dict[str, Any], frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import bootstrap

    start = cases["start"]
    frozen_clock.set(start + 101 * DAY)
    bootstrap.retention_service().enforce(frozen_clock.now())  # the day's own work: replay copies
    monkeypatch.setenv("RETENTION_DAYS_AFTER_CLOSE", "365")
    bootstrap.reset()
    cut_short = bootstrap.retention_service().enforce(frozen_clock.now(), budget_seconds=0).as_dict()
    assert cut_short["complete"] is False and cut_short["rearmed"] == {"unclaimed": 0, "closed": 0, "inactive": 0}
    assert round(ttl_day(cases["ClosedEarly"], start)) == 10 + 180 + 30
    report = bootstrap.retention_service().enforce(frozen_clock.now()).as_dict()
    assert report["complete"] and report["rearmed"] == {"unclaimed": 0, "closed": 2, "inactive": 0}
    assert round(ttl_day(cases["ClosedEarly"], start)) == 10 + 365 + 30


def test_a_case_claimed_once_and_never_closed_is_erased_730_days_after_its_last_step(
    client: Client, cases: dict[str, Any], frozen_clock: FrozenClock, scan_guard: ScanGuard
) -> None:
    start = cases["start"]
    frozen_clock.set(start + 730 * DAY - timedelta(minutes=1))
    assert run_retention(client, scan_guard)["erased"]["inactive"] == 0
    frozen_clock.set(start + 730 * DAY + timedelta(minutes=1))
    assert run_retention(client, scan_guard)["erased"]["inactive"] == 1
    assert scan_guard.scans == 0
    erased = CaseModel.get(cases["ClaimedOnly"])
    assert erased.erased_at and erased.reference == "ERASED" and erased.expires_at is None
    assert "ClaimedOnly" not in scan_all_tables()["migranet-local-cases"]
    reasons = [e.detail["reason"] for e in AuditModel.scan() if e.action == "erase"]
    assert "retention_inactive" in reasons


def test_a_case_released_back_to_the_queue_is_not_kept_for_ever(
    client: Client, cases: dict[str, Any], frozen_clock: FrozenClock
) -> None:
    """Claimed once, it is no longer "never claimed" (the 365-day clock): its last step starts the 730 days."""
    start = cases["start"]
    frozen_clock.set(start + 20 * DAY)
    released = staff_post(client, cases["staff"], f"/staff/cases/{cases['ClaimedOnly']}/release")
    assert released.status_code == 200 and released.json_body["status"] == "routed"
    frozen_clock.set(start + 740 * DAY)
    assert run_retention(client)["erased"]["inactive"] == 0  # 730 days after the claim, but released on day 20
    frozen_clock.set(start + 750 * DAY + timedelta(minutes=1))
    assert run_retention(client)["erased"]["inactive"] == 1
    assert CaseModel.get(cases["ClaimedOnly"]).erased_at is not None


def test_an_appointment_booked_since_the_last_step_keeps_the_case_and_restarts_its_clock(
    client: Client, cases: dict[str, Any], frozen_clock: FrozenClock
) -> None:
    start = cases["start"]
    case_id = cases["ClaimedOnly"]
    frozen_clock.set(start + 700 * DAY)
    when = (frozen_clock.now() + 14 * DAY).replace(hour=9, minute=0).isoformat()
    booking = {"start": when, "duration_minutes": 30, "location": "Raum 2"}
    booked = staff_post(client, cases["staff"], f"/staff/cases/{case_id}/appointments", booking)
    assert booked.status_code == 201, booked.body
    frozen_clock.set(start + 731 * DAY)
    report = run_retention(client)
    assert report["erased"]["inactive"] == 0 and report["restarted"] == 1
    assert CaseModel.get(case_id).erased_at is None
    frozen_clock.set(start + (700 + 730) * DAY + timedelta(minutes=1))
    assert run_retention(client)["erased"]["inactive"] == 1
