"""STOP, then START again: an upcoming appointment booked or moved meanwhile gets the SMS the
applicant missed (its time and place, and its reminders); one they were told of gets nothing new."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import EMPTY_STRINGS
from tests.functional.appointment_desk import Desk, sms, sweep
from tests.functional.gdpr_helpers import inbound_sms, twilio_env

PHONE = "+4915112345678"  # the valid intake's number, as stored
pytestmark = EMPTY_STRINGS  # an inbound SMS's record (encoding) on DynamoDB Local of 2020


@pytest.fixture(autouse=True)
def _twilio(monkeypatch: pytest.MonkeyPatch) -> None:
    twilio_env(monkeypatch)


def pending(case_id: str) -> list[tuple[str, str]]:
    return sorted((m["kind"], m["due_at"][:10]) for m in sms(case_id) if m["status"] == "pending")


def outbound(case_id: str) -> list[tuple[str, str]]:
    return sorted((m["message_id"], m["status"]) for m in sms(case_id) if m["direction"] == "outbound")


def test_an_appointment_moved_while_stopped_is_sent_with_its_reminders_after_start(
    anna: Desk, case_id: str, client: Client, fake_sender: Any
) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    sweep(client)  # the booking SMS (and the intake's) have gone out
    inbound_sms(client, PHONE, "STOP", "SMstop1")
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    status, moved = anna.patch(path, {"start": "2025-03-13T14:00"})
    assert status == 200 and moved["messages"] == []  # STOP withdrew the SMS consent: nothing planned
    inbound_sms(client, PHONE, "START", "SMstart1")
    assert pending(case_id) == [
        ("appointment_changed", "2025-03-07"),  # now
        ("reminder", "2025-03-12"),  # 24 h before
        ("reminder", "2025-03-13"),  # 2 h before
    ]
    before = len(fake_sender.accepted)
    sweep(client)
    [told] = [d.body for d in fake_sender.accepted[before:]]
    assert "13" in told and "14" in told  # the new day and hour
    inbound_sms(client, PHONE, "START", "SMstart1")  # Twilio's retry of the same message
    inbound_sms(client, PHONE, "start", "SMstart2")  # and a second START: they know the time now
    assert pending(case_id) == [("reminder", "2025-03-12"), ("reminder", "2025-03-13")]


def test_stop_and_start_without_a_change_plan_nothing_new(anna: Desk, case_id: str, client: Client) -> None:
    anna.book(case_id, "2025-03-12T10:00")
    sweep(client)
    before = outbound(case_id)
    inbound_sms(client, PHONE, "STOP", "SMstop2")
    inbound_sms(client, PHONE, "START", "SMstart3")
    assert outbound(case_id) == before  # its reminders still pending


def test_after_start_a_closed_case_gets_nothing(anna: Desk, case_id: str, client: Client) -> None:
    anna.book(case_id, "2025-03-12T10:00")
    inbound_sms(client, PHONE, "STOP", "SMstop3")
    assert anna.post(f"/staff/cases/{case_id}/close", {"outcome": "withdrawn"})[0] == 200
    inbound_sms(client, PHONE, "START", "SMstart4")
    assert [kind for kind, _ in pending(case_id)] == []
