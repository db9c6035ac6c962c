"""A case whose history has grown to DynamoDB's item limit (400 KB): every write that would grow it
is answered 409 `record_full` instead of a 500, nothing is half-written, and the sweeps and SMS
webhooks carry on around it.

Only abuse gets a case there (about a hundred transfers with 1,000-emoji reasons, or an applicant
texting without end), so the tests fill the history directly. moto refuses an item over 405,000
bytes; DynamoDB refuses over 400 KB and, inside a transaction, answers with a cancellation reason
instead: the second half injects exactly that answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamodb.models import CaseModel
from tests.conftest import EMPTY_STRINGS, MOTO_ITEM_SIZE, FrozenClock
from tests.functional.appointment_desk import (
    BERLIN,
    LMU,
    VIA,
    Desk,
    applicant_sends,
    sms,
    twilio_configured,
)
from tests.reliability.faults import ITEM_TOO_LARGE, dynamodb_faults

LONGEST_REASON = "😀" * 1000  # the transfer schema's maxLength, 4 bytes a character


@pytest.fixture(autouse=True)
def _twilio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    twilio_configured(monkeypatch)


def fill_history(case_id: str, entries: int = 95) -> None:
    """Grow the stored case to ~395 KB with entries as a transfer with the longest reason writes them."""
    entry = {
        "at": "2025-03-07T09:00:00.000000+00:00",
        "action": "transferred",
        "partner": LMU,
        "by": "staff-lmu-klinikum-anna-berger",
        "detail": {"by_name": "Anna Berger", "from": VIA, "to": LMU, "reason": LONGEST_REASON},
    }
    CaseModel(case_id).update(actions=[CaseModel.history.set(CaseModel.history.append([entry] * entries))])


def state(desk: Desk, case_id: str) -> tuple[Any, ...]:
    case = desk.case(case_id)
    _, audit = desk.get(f"/staff/cases/{case_id}/audit")
    changes = [entry for entry in audit["entries"] if entry["action"] != "view"]  # reading is audited too
    return case["status"], case["partner"], case["claimed_by"], len(case["history"]), changes


@MOTO_ITEM_SIZE
def test_a_full_case_refuses_a_transfer_or_a_booking_with_409_and_stays_as_it_was(
    anna: Desk, desk: Callable[..., Desk], case_id: str
) -> None:
    fill_history(case_id)
    before = state(anna, case_id)

    status, body = anna.post(f"/staff/cases/{case_id}/transfer", {"partner": VIA, "reason": LONGEST_REASON})
    assert status == 409, body
    assert body["code"] == "record_full" and "400 KB" in body["error"] and "nothing was changed" in body["error"]
    assert state(anna, case_id) == before
    assert desk(VIA, name="Vera Weber").queue()["cases"] == []  # no half-done move
    assert all(m["kind"] != "case_transferred" for m in sms(case_id))

    status, body = anna.book(case_id, "2025-03-12T10:00", note=LONGEST_REASON[:500])
    assert status == 409 and body["code"] == "record_full", body
    assert state(anna, case_id) == before
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert listed["appointments"] == []  # the appointment and Anna's calendar were not written either


@EMPTY_STRINGS
def test_a_stop_from_a_full_case_still_opts_the_number_out(
    anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock
) -> None:
    assert anna.book(case_id, "2025-03-12T10:00")[0] == 201
    fill_history(case_id, entries=94)
    frozen_clock.set(datetime(2025, 3, 10, 12, 0, tzinfo=BERLIN))

    answer = applicant_sends(client, "STOP", "SM-stop-full")  # 200: Twilio does not retry forever

    assert "<Message>" in answer  # the opt-out is confirmed
    _, log = anna.get(f"/staff/cases/{case_id}/messages")
    assert log["opted_out"] is True


@MOTO_ITEM_SIZE
def test_a_full_case_does_not_stop_the_overdue_sweep_for_the_others(
    client: Client, frozen_clock: FrozenClock, submit_case: Callable[..., dict[str, Any]], desk: Callable[..., Desk]
) -> None:
    full = submit_case("health")["case_id"]
    other = submit_case("health")["case_id"]
    fill_history(full)
    frozen_clock.advance(days=7)

    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    report = client.lambda_.invoke("mark_overdue_cases", event).payload

    assert report == {"checked": 2, "marked": 1}
    overdue = {c["case_id"]: c["overdue"] for c in desk(LMU).queue()["cases"]}
    # Only the other case is checked: moto keeps part of a refused UpdateItem (the flag), DynamoDB none.
    assert set(overdue) == {full, other} and overdue[other] is True


# --- DynamoDB's own answer in a transaction -------------------------------------------------------


@pytest.mark.parametrize("action", ["claim", "book"])
def test_dynamodbs_cancellation_for_item_size_is_a_409_too(
    anna: Desk, submit_case: Callable[..., dict[str, Any]], action: str
) -> None:
    case_id = submit_case("health")["case_id"] if action == "claim" else anna.claimed_case(submit_case)
    before = state(anna, case_id)
    with dynamodb_faults() as faults:
        faults.inject("TransactWriteItems", ITEM_TOO_LARGE)
        if action == "claim":
            status, body = anna.post(f"/staff/cases/{case_id}/claim")
        else:
            status, body = anna.book(case_id, "2025-03-12T10:00")
    assert faults.injected == [f"TransactWriteItems:{ITEM_TOO_LARGE}"]
    assert (status, body["code"]) == (409, "record_full")
    assert state(anna, case_id) == before
