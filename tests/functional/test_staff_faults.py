"""DynamoDB throttling, transaction conflicts and lost answers on staff endpoints: 503 + Retry-After,
nothing half-done, and a retry by the same person lands where they meant to be.

moto never throttles or reports TransactionConflict, so faults are injected below PynamoDB.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import auth
from tests.reliability.faults import (
    THROTTLING,
    TIMEOUT,
    TRANSACTION_CANCELED_BY_CONFLICT,
    TRANSACTION_CONFLICT,
    dynamodb_faults,
)


@pytest.fixture
def anna(staff_token) -> dict[str, str]:
    return auth(staff_token("lmu-klinikum", name="Anna Berger"))


def assert_busy(response) -> None:
    assert response.status_code == 503, response.body
    assert response.headers["Retry-After"].isdigit()
    assert json.loads(response.body)["code"] == "temporarily_unavailable"


@pytest.mark.parametrize("code", [TRANSACTION_CANCELED_BY_CONFLICT, TRANSACTION_CONFLICT, THROTTLING])
def test_a_colliding_claim_is_503_and_changes_nothing(client, submit_case, anna, code: str) -> None:
    case_id = submit_case("health")["case_id"]
    with dynamodb_faults() as faults:
        faults.inject("TransactWriteItems", code)
        assert_busy(client.http.post(f"/staff/cases/{case_id}/claim", headers=anna))
    case = json.loads(client.http.get(f"/staff/cases/{case_id}", headers=anna).body)
    assert case["status"] == "routed" and len(case["history"]) == 1
    trail = json.loads(client.http.get(f"/staff/cases/{case_id}/audit", headers=anna).body)
    assert [e["action"] for e in trail["entries"]] == ["view"]  # the failed claim left no trace
    assert client.http.post(f"/staff/cases/{case_id}/claim", headers=anna).status_code == 200


def test_a_claim_whose_answer_was_lost_is_503_and_the_retry_is_200(client, submit_case, anna) -> None:
    case_id = submit_case("health")["case_id"]
    with dynamodb_faults() as faults:
        faults.inject("TransactWriteItems", TIMEOUT, after_applying=True)
        assert_busy(client.http.post(f"/staff/cases/{case_id}/claim", headers=anna))
    retry = client.http.post(f"/staff/cases/{case_id}/claim", headers=anna)
    assert retry.status_code == 200 and json.loads(retry.body)["claimed_by_name"] == "Anna Berger"
    history = json.loads(client.http.get(f"/staff/cases/{case_id}", headers=anna).body)["history"]
    assert [h["action"] for h in history] == ["routed", "claimed"]


@pytest.mark.parametrize(
    ("operation", "method", "path"),
    [
        ("Query", "GET", "/staff/queue"),
        ("GetItem", "GET", "/staff/cases/{case_id}"),
        ("PutItem", "GET", "/staff/cases/{case_id}"),  # the read's audit entry: no audit, no read
        ("Query", "GET", "/staff/cases/{case_id}/audit"),
        ("GetItem", "POST", "/staff/cases/{case_id}/claim"),
    ],
)
def test_throttled_reads_are_503(client, submit_case, anna, operation: str, method: str, path: str) -> None:
    case_id = submit_case("health")["case_id"]
    with dynamodb_faults() as faults:
        faults.inject(operation, THROTTLING, times=10)
        response = client.http.request(method, path.format(case_id=case_id), headers=anna)
    assert_busy(response)


def test_a_throttled_sla_tick_fails_loudly_and_the_next_one_catches_up(frozen_clock, client, submit_case) -> None:
    from chalicelib import bootstrap
    from chalicelib.errors import RetryableError

    submit_case("health")
    frozen_clock.advance(days=7)
    with dynamodb_faults() as faults, pytest.raises(RetryableError):
        faults.inject("UpdateItem", THROTTLING)  # flagging a case is one conditional update
        bootstrap.coordinator_service().mark_overdue_cases(frozen_clock.now())
    frozen_clock.advance(minutes=15)
    assert bootstrap.coordinator_service().mark_overdue_cases(frozen_clock.now())["marked"] == 1


@pytest.mark.parametrize("path", ["messages", "appointments"])
@pytest.mark.parametrize("code", [THROTTLING, TIMEOUT])
def test_a_throttled_read_of_messages_or_appointments_is_503(client, submit_case, anna, path: str, code: str) -> None:
    case_id = submit_case("health")["case_id"]
    assert client.http.post(f"/staff/cases/{case_id}/claim", headers=anna).status_code == 200
    with dynamodb_faults() as faults:
        faults.inject("Query", code, times=5)
        assert_busy(client.http.get(f"/staff/cases/{case_id}/{path}", headers=anna))
    assert client.http.get(f"/staff/cases/{case_id}/{path}", headers=anna).status_code == 200


@pytest.mark.parametrize("code", [TRANSACTION_CANCELED_BY_CONFLICT, THROTTLING])
def test_a_colliding_close_of_a_scheduled_case_changes_neither_the_case_nor_its_appointment(
    client, submit_case, anna, code: str
) -> None:
    """The close and the cancel of its appointment are one transaction: both land, or neither."""
    from datetime import UTC, datetime, timedelta

    case_id = submit_case("health")["case_id"]
    assert client.http.post(f"/staff/cases/{case_id}/claim", headers=anna).status_code == 200
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    json_anna = {**anna, "Content-Type": "application/json"}
    booking = json.dumps({"start": start, "duration_minutes": 30, "location": "Raum 2.14"})
    booked = client.http.post(f"/staff/cases/{case_id}/appointments", body=booking, headers=json_anna)
    assert booked.status_code == 201, booked.body
    close = json.dumps({"outcome": "counselled"})
    with dynamodb_faults() as faults:
        faults.inject("TransactWriteItems", code)
        assert_busy(client.http.post(f"/staff/cases/{case_id}/close", body=close, headers=json_anna))
    listed = json.loads(client.http.get(f"/staff/cases/{case_id}/appointments", headers=anna).body)
    assert listed["case_status"] == "scheduled"
    assert [a["status"] for a in listed["appointments"]] == ["booked"]
    trail = json.loads(client.http.get(f"/staff/cases/{case_id}/audit", headers=anna).body)
    assert "close" not in [e["action"] for e in trail["entries"]]
    assert client.http.post(f"/staff/cases/{case_id}/close", body=close, headers=json_anna).status_code == 200
    listed = json.loads(client.http.get(f"/staff/cases/{case_id}/appointments", headers=anna).body)
    assert (listed["case_status"], [a["status"] for a in listed["appointments"]]) == ("closed", ["cancelled"])
