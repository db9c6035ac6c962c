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


# --- a retry after a lost answer: the change landed, the caller did not hear it -----------------


def _post(client, path: str, headers: dict[str, str], body: dict | None = None):
    if body is None:
        return client.http.post(path, headers=headers)
    return client.http.post(path, body=json.dumps(body), headers={**headers, "Content-Type": "application/json"})


def _lost_answer(client, path: str, headers: dict[str, str], body: dict | None = None) -> None:
    with dynamodb_faults() as faults:
        faults.inject("TransactWriteItems", TIMEOUT, after_applying=True)
        assert_busy(_post(client, path, headers, body))


def _actions(client, case_id: str, headers: dict[str, str]) -> tuple[list[str], list[str]]:
    """The case's history, and its audit trail's actions sorted (the frozen clock gives them one time);
    as a coordinator, who sees every case."""
    history = json.loads(client.http.get(f"/staff/cases/{case_id}", headers=headers).body)["history"]
    trail = json.loads(client.http.get(f"/staff/cases/{case_id}/audit", headers=headers).body)["entries"]
    return [h["action"] for h in history], sorted(e["action"] for e in trail if e["action"] != "view")


@pytest.fixture
def clara(staff_token) -> dict[str, str]:
    return auth(staff_token("lmu-klinikum", role="coordinator", name="Clara Coordinator"))


def test_the_retry_of_a_close_whose_answer_was_lost_is_200_and_closes_once(
    frozen_clock, client, submit_case, anna, clara
) -> None:
    case_id = submit_case("health")["case_id"]
    assert _post(client, f"/staff/cases/{case_id}/claim", anna).status_code == 200
    close = {"outcome": "counselled", "note": "Recognition filed."}
    _lost_answer(client, f"/staff/cases/{case_id}/close", anna, close)
    frozen_clock.advance(minutes=2)
    retry = _post(client, f"/staff/cases/{case_id}/close", anna, close)
    assert retry.status_code == 200, retry.body
    assert json.loads(retry.body)["status"] == "closed"
    assert _actions(client, case_id, clara) == (["routed", "claimed", "closed"], ["claim", "close"])
    # Not the same request: another outcome, another person, or the same one much later.
    assert _post(client, f"/staff/cases/{case_id}/close", anna, {"outcome": "duplicate"}).status_code == 409
    assert _post(client, f"/staff/cases/{case_id}/close", clara, close).status_code == 409
    frozen_clock.advance(minutes=20)
    assert _post(client, f"/staff/cases/{case_id}/close", anna, close).status_code == 409


def test_the_retry_of_a_release_whose_answer_was_lost_is_200(frozen_clock, client, submit_case, anna, clara) -> None:
    case_id = submit_case("health")["case_id"]
    assert _post(client, f"/staff/cases/{case_id}/claim", anna).status_code == 200
    _lost_answer(client, f"/staff/cases/{case_id}/release", anna)
    retry = _post(client, f"/staff/cases/{case_id}/release", anna)
    assert retry.status_code == 200, retry.body
    assert (json.loads(retry.body)["status"], json.loads(retry.body)["claimed_by"]) == ("routed", None)
    assert _actions(client, case_id, clara) == (["routed", "claimed", "released"], ["claim", "release"])
    frozen_clock.advance(minutes=20)
    assert _post(client, f"/staff/cases/{case_id}/release", anna).status_code == 409


def test_the_retry_of_a_transfer_whose_answer_was_lost_is_200_and_the_applicant_gets_one_sms(
    frozen_clock, fake_sender, client, submit_case, anna, clara
) -> None:
    from chalicelib import bootstrap

    case_id = submit_case("health")["case_id"]
    move = {"partner": "via-bayern", "reason": "Needs job counselling first"}
    _lost_answer(client, f"/staff/cases/{case_id}/transfer", anna, move)
    # The case left Anna's queue with her own transfer; her retry is answered, not refused as unknown.
    retry = _post(client, f"/staff/cases/{case_id}/transfer", anna, move)
    assert retry.status_code == 200, retry.body
    assert json.loads(retry.body)["partner"] == "via-bayern"
    assert _post(client, f"/staff/cases/{case_id}/transfer", anna, move).status_code == 200  # a third try too
    assert _actions(client, case_id, clara) == (["routed", "transferred"], ["transfer"])
    transferred = [
        m for m in bootstrap.messaging_service().messages_for_case(case_id) if m["kind"] == "case_transferred"
    ]
    assert [m["status"] for m in transferred] == ["pending"]  # the lost answer had skipped it; the retry planned it
    # Anything else from Anna about this case is what it always was for another partner's case: unknown.
    other = {"partner": "via-bayern", "reason": "Another reason entirely"}
    assert _post(client, f"/staff/cases/{case_id}/transfer", anna, other).status_code == 404
    frozen_clock.advance(minutes=20)
    assert _post(client, f"/staff/cases/{case_id}/transfer", anna, move).status_code == 404
