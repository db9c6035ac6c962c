"""The unclaimed-case SLA end to end: `mark_overdue_cases` with frozen time across a weekend."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib import bootstrap
from tests.conftest import auth

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=BERLIN)  # 7 March 2025 is a Friday


def tick(client) -> dict[str, Any]:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke("mark_overdue_cases", event).payload


@pytest.fixture
def headers(staff_token) -> dict[str, dict[str, str]]:
    return {
        "lmu": auth(staff_token("lmu-klinikum")),
        "akademie": auth(staff_token("akademie-ingenieure")),
        "coordinator": auth(staff_token(None, role="coordinator", name="Clara Coordinator")),
    }


def get(client, path: str, headers: dict[str, str]) -> dict[str, Any]:
    response = client.http.get(path, headers=headers)
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def test_cases_become_overdue_after_two_working_days_not_over_the_weekend(
    frozen_clock, client, submit_case, headers
) -> None:
    lmu_case = submit_case("health")["case_id"]  # Friday 10:00
    akademie_case = submit_case("engineering")["case_id"]
    claimed_case = submit_case("health")["case_id"]
    assert client.http.post(f"/staff/cases/{claimed_case}/claim", headers=headers["lmu"]).status_code == 200
    routed = get(client, "/staff/queue", headers["lmu"])["cases"]
    assert routed[0]["due_at"] == "2025-03-11T09:00:00+00:00"  # Tuesday 10:00 in Munich

    for moment in (at(9, 23, 59), at(10, 10), at(11, 9, 59)):  # Sunday night, Monday, Tuesday morning
        frozen_clock.set(moment)
        assert tick(client)["marked"] == 0, moment
    assert all(not c["overdue"] for c in get(client, "/staff/queue", headers["lmu"])["cases"])

    frozen_clock.set(at(11, 10))  # Tuesday 10:00: two working days
    assert tick(client) == {"checked": 2, "marked": 2}
    assert [c["overdue"] for c in get(client, "/staff/queue", headers["lmu"])["cases"]] == [True]
    assert [c["overdue"] for c in get(client, "/staff/queue", headers["akademie"])["cases"]] == [True]
    case = get(client, f"/staff/cases/{lmu_case}", headers["lmu"])
    assert case["overdue"] is True
    assert case["history"][-1]["action"] == "overdue"
    assert case["history"][-1]["detail"]["due_at"] == "2025-03-11T09:00:00.000000+00:00"
    claimed = get(client, f"/staff/cases/{claimed_case}", headers["lmu"])
    assert claimed["overdue"] is False and claimed["status"] == "claimed"

    # Idempotent: again, and later the same day, nothing more changes.
    for moment in (at(11, 10), at(11, 18)):
        frozen_clock.set(moment)
        assert tick(client) == {"checked": 0, "marked": 0}
    case = get(client, f"/staff/cases/{lmu_case}", headers["lmu"])
    assert [h["action"] for h in case["history"]].count("overdue") == 1
    assert get(client, f"/staff/cases/{akademie_case}", headers["akademie"])["overdue"] is True

    # Claiming clears the flag; the coordinator view sorts overdue cases first.
    client.http.post(f"/staff/cases/{lmu_case}/claim", headers=headers["lmu"])
    client.http.post(f"/staff/cases/{lmu_case}/release", headers=headers["lmu"])
    fresh = submit_case("health")["case_id"]
    view = get(client, "/coordinator/cases", headers["coordinator"])["cases"]
    assert [(c["case_id"], c["overdue"]) for c in view] == [
        (akademie_case, True),  # overdue first, although the released LMU case is as old
        (lmu_case, False),
        (fresh, False),
    ]
    assert tick(client)["marked"] == 1  # the released case is overdue again at the next tick


def test_marking_pages_through_a_long_queue_and_stops_at_fresh_cases(
    frozen_clock, client, submit_case, monkeypatch
) -> None:
    from chalicelib.services import coordinator

    monkeypatch.setattr(coordinator, "SLA_PAGE", 2)
    old = [submit_case("health")["case_id"] for _ in range(5)]  # Friday 10:00
    frozen_clock.set(at(10, 12))  # Monday noon
    young = [submit_case("health")["case_id"] for _ in range(3)]
    frozen_clock.set(at(11, 10))
    result = bootstrap.coordinator_service().mark_overdue_cases(frozen_clock.now())
    assert result == {"checked": 5, "marked": 5}
    store = bootstrap.staff_service().store
    assert all(store.get_case(c).overdue for c in old)  # type: ignore[union-attr]
    assert not any(store.get_case(c).overdue for c in young)  # type: ignore[union-attr]
    frozen_clock.set(at(12, 12))  # Wednesday noon: the young ones too
    assert bootstrap.coordinator_service().mark_overdue_cases(frozen_clock.now())["marked"] == 3


def test_a_partner_with_a_longer_sla_waits_longer(frozen_clock, client, submit_case, monkeypatch) -> None:
    from dataclasses import replace

    directory = bootstrap.directory()
    partners = dict(directory.partners())
    partners["lmu-klinikum"] = replace(partners["lmu-klinikum"], sla_working_days=3)
    monkeypatch.setattr(directory, "partners", lambda: partners)
    case_id = submit_case("health")["case_id"]
    frozen_clock.set(at(11, 10))
    assert tick(client)["marked"] == 0
    frozen_clock.set(at(12, 10))  # Wednesday 10:00 = three working days
    assert tick(client)["marked"] == 1
    assert bootstrap.staff_service().store.get_case(case_id).overdue  # type: ignore[union-attr]
