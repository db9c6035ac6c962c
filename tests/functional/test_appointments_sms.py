"""SMS wired into staff actions: transfer names the new partner, closing frees the holder's time and
stops appointment SMS, a `2` or CANCEL shows on the case, the message log for staff, a double-booking
race of one person's time, and erasure of appointment notes."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.adapters.dynamodb.message_store import DynamoMessageStore
from chalicelib.domain.messages import templates
from chalicelib.errors import RetryableError
from chalicelib.services.sms_dispatch import NO_LONGER_BOOKED
from tests.conftest import EMPTY_STRINGS, FrozenClock, post_json
from tests.functional.appointment_desk import (
    BERLIN,
    LMU,
    PHONE,
    VIA,
    Desk,
    applicant_sends,
    by_kind,
    sms,
    sweep,
    twilio_configured,
)

ANNA_ID = "staff-lmu-klinikum-anna-berger"  # the `sub` conftest's staff_token gives her


@pytest.fixture(autouse=True)
def _twilio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    twilio_configured(monkeypatch)


@pytest.fixture
def reminded(anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock) -> dict[str, Any]:
    """An appointment on Wed 12 March 10:00 whose booking SMS and 24 h reminder have gone out."""
    status, booked = anna.book(case_id, "2025-03-12T10:00")
    assert status == 201, booked
    sweep(client)
    frozen_clock.set(datetime(2025, 3, 11, 10, 5, tzinfo=BERLIN))
    sweep(client)
    sent = [(m["kind"], m["status"]) for m in sms(case_id) if m["sent_at"]]
    assert ("reminder", "queued") in sent
    return booked["appointment"]


# --- transfer and close ------------------------------------------------------------------------


def test_a_transfer_drops_the_old_partners_unsent_appointment_sms(
    anna: Desk, case_id: str, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel whose SMS step was throttled left the booking's SMS pending; the transfer that follows
    drops them in the same pass over the case's messages that drops an unsent notice naming the old partner."""
    booked = anna.book(case_id, "2025-03-12T10:00")[1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoMessageStore, "cancel_pending", _throttled)
        # Stored; the SMS step found storage busy: 503, and the staff member does not retry.
        assert anna.delete(f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}")[0] == 503
    original, queries = DynamoMessageStore.for_case, []
    monkeypatch.setattr(DynamoMessageStore, "for_case", lambda store, cid: queries.append(cid) or original(store, cid))
    status, body = anna.post(f"/staff/cases/{case_id}/transfer", {"partner": VIA, "reason": "Needs job counselling"})
    assert status == 200, body
    assert len(queries) == 1
    reasons = {(m["kind"], m["status"], m["reason"]) for m in sms(case_id) if m["kind"] != "case_transferred"}
    assert reasons == {
        ("appointment_booked", "cancelled", "case transferred"),
        ("reminder", "cancelled", "case transferred"),
    }


def test_a_transfer_tells_the_applicant_the_new_partner(
    anna: Desk, case_id: str, client: Client, fake_sender: Any, desk: Callable[..., Desk]
) -> None:
    status, body = anna.post(f"/staff/cases/{case_id}/transfer", {"partner": VIA, "reason": "Needs job counselling"})
    assert status == 200, body
    [transferred] = [m for m in sms(case_id) if m["kind"] == "case_transferred"]
    assert transferred["status"] == "pending"
    via = bootstrap.directory().partners()[VIA]
    assert via.short_name in transferred["body"]
    sweep(client)
    assert any(via.short_name in sent.body for sent in fake_sender.accepted)
    # A coordinator's reassignment tells the applicant too, naming the partner after it.
    coordinator = desk(VIA, role="coordinator", name="Clara Coordinator")
    status, body = coordinator.post(
        f"/coordinator/cases/{case_id}/reassign", {"partner": LMU, "reason": "Back to the clinic after all"}
    )
    assert status == 200, body
    lmu = bootstrap.directory().partners()[LMU]
    latest = [m for m in sms(case_id) if m["kind"] == "case_transferred" and m["status"] == "pending"]
    assert len(latest) == 1 and lmu.short_name in latest[0]["body"]


def test_a_case_closed_before_the_sweep_does_not_tell_the_applicant_it_was_transferred(
    anna: Desk, case_id: str, client: Client, fake_sender: Any, desk: Callable[..., Desk]
) -> None:
    """Moved and closed at the new partner within minutes: "… will contact you" would be wrong."""
    assert anna.post(f"/staff/cases/{case_id}/transfer", {"partner": VIA, "reason": "Needs job counselling"})[0] == 200
    via = desk(VIA, name="Vera Vogel")
    assert via.post(f"/staff/cases/{case_id}/claim")[0] == 200
    assert via.post(f"/staff/cases/{case_id}/close", {"outcome": "referred_elsewhere"})[0] == 200
    sweep(client)
    assert fake_sender.accepted == []
    assert {(m["kind"], m["status"], m["reason"]) for m in sms(case_id)} == {
        ("case_transferred", "cancelled", "case closed")
    }


@EMPTY_STRINGS  # the cancellation SMS names no place
@pytest.mark.parametrize("then", ["transfer", "close"])
def test_a_cancellation_sms_still_goes_out_when_the_case_is_moved_or_closed_before_the_sweep(
    anna: Desk, case_id: str, client: Client, fake_sender: Any, then: str
) -> None:
    """Staff cancel, then move or close the case within minutes: the applicant must still hear that
    the appointment is off, or they come to a partner that no longer expects them."""
    booked = anna.book(case_id, "2025-03-12T10:00")[1]["appointment"]
    sweep(client)  # the booking SMS has gone out
    assert anna.delete(f"/staff/cases/{case_id}/appointments/{booked['appointment_id']}")[0] == 200
    if then == "transfer":
        assert (
            anna.post(f"/staff/cases/{case_id}/transfer", {"partner": VIA, "reason": "Needs job counselling"})[0] == 200
        )
    else:
        assert anna.post(f"/staff/cases/{case_id}/close", {"outcome": "withdrawn"})[0] == 200
    sweep(client)
    kinds = {m["message_id"]: m["kind"] for m in sms(case_id)}
    sent = [kinds[d.message_id] for d in fake_sender.accepted]
    assert sent.index("appointment_booked") < sent.index("appointment_cancelled")
    assert ("case_transferred" in sent) is (then == "transfer")


def test_closing_a_case_cancels_its_upcoming_appointments_and_their_sms_and_tells_the_applicant(
    anna: Desk, case_id: str, submit_case: Callable[..., dict[str, Any]], client: Client, fake_sender: Any
) -> None:
    """The applicant may hold the booking SMS (or the status page's word): without being told they
    would come to an appointment that no longer stands. No "we will contact you": the case is closed."""
    assert anna.book(case_id, "2025-03-12T10:00")[0] == 201
    status, body = anna.post(f"/staff/cases/{case_id}/close", {"outcome": "withdrawn"})
    assert status == 200 and body["status"] == "closed"
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    [appointment] = listed["appointments"]
    assert (appointment["status"], appointment["cancel_reason"]) == ("cancelled", "case_closed")
    assert listed["case_status"] == "closed"
    kinds = by_kind(sms(case_id))
    assert ("appointment_booked", "cancelled") in kinds and kinds.count(("reminder", "cancelled")) == 2
    [told] = [m for m in sms(case_id) if m["kind"] == "appointment_cancelled"]
    assert told["status"] == "pending"
    sweep(client)
    [sent] = [d.body for d in fake_sender.accepted if d.message_id == told["message_id"]]
    promise = templates(told["language"])["appointment_cancelled"][0].rpartition(". ")[2]  # "We will contact you."
    assert sent.lstrip("\u200f").startswith("MigraNet") and " 12" in sent and promise not in sent, (promise, sent)
    other = anna.claimed_case(submit_case)
    status, _ = anna.book(other, "2025-03-12T10:00")  # Anna's time is free again
    assert status == 201
    status, body = anna.book(case_id, "2025-03-13T10:00")
    assert status == 409 and body["code"] == "invalid_transition"


# --- an SMS whose appointment no longer stands ---------------------------------------------------
# The change is written first and its SMS are cancelled after it; when DynamoDB throttles that second
# step, the caller gets a 503 (its retry, answered as a repeat, finishes the step) and the SMS stay
# pending meanwhile. The sweep asks before sending, so even if nobody retries, the applicant is not
# sent to an appointment that was cancelled, moved or closed.


def _throttled(*_args: Any, **_kwargs: Any) -> Any:
    raise RetryableError("throttled")


def _pending_left_then_swept(case_id: str, client: Client, frozen_clock: FrozenClock, fake_sender: Any) -> dict:
    assert ("reminder", "pending") in by_kind(sms(case_id)), "the failed step left the reminders pending"
    sent_before = len(fake_sender.accepted)
    frozen_clock.set(datetime(2025, 3, 11, 10, 5, tzinfo=BERLIN))  # the 24 h reminder of 12 March 10:00 is due
    report = sweep(client)
    assert len(fake_sender.accepted) == sent_before, [m.body for m in fake_sender.accepted[sent_before:]]
    return report


def _booked_and_confirmed(anna: Desk, case_id: str, client: Client) -> dict[str, Any]:
    """12 March 10:00, booked; its booking message has gone out, its reminders wait."""
    status, booked = anna.book(case_id, "2025-03-12T10:00")
    assert status == 201, booked
    sweep(client)
    return booked


def test_a_cancelled_appointment_sends_no_reminder_when_its_sms_could_not_be_cancelled(
    anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock, fake_sender: Any
) -> None:
    booked = _booked_and_confirmed(anna, case_id, client)
    appointment_id = booked["appointment"]["appointment_id"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoMessageStore, "cancel_pending", _throttled)
        status, body = anna.delete(f"/staff/cases/{case_id}/appointments/{appointment_id}")
    assert status == 503, body  # the cancel is stored; its SMS step found storage busy (and nobody retries)
    assert anna.get(f"/staff/cases/{case_id}/appointments")[1]["appointments"][0]["status"] == "cancelled"
    report = _pending_left_then_swept(case_id, client, frozen_clock, fake_sender)
    assert report["cancelled"] == 1 and report["sent"] == 0, report
    [reminder] = [m for m in sms(case_id) if m["kind"] == "reminder" and m["status"] == "cancelled"]
    assert reminder["reason"] == NO_LONGER_BOOKED


def _changed_and_answer_lost(anna: Desk, case_id: str, client: Client, change: Callable[[str], tuple[int, Any]]) -> str:
    """12 March 10:00 booked (its booking message out), then `change`d at its path: the change is
    stored and its answer lost (a timeout), so the SMS step never ran. The appointment's path."""
    from tests.reliability.faults import TIMEOUT, dynamodb_faults

    booked = _booked_and_confirmed(anna, case_id, client)
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    with dynamodb_faults() as faults:
        faults.inject("TransactWriteItems", TIMEOUT, after_applying=True)
        assert change(path)[0] == 503
    return path


@EMPTY_STRINGS
def test_the_retry_of_a_cancel_whose_answer_was_lost_is_200_and_the_applicant_is_told_once(
    anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock, fake_sender: Any
) -> None:
    path = _changed_and_answer_lost(anna, case_id, client, anna.delete)
    frozen_clock.advance(minutes=1)
    for _ in range(2):  # the retry, and a double tap on it
        status, body = anna.delete(path)
        assert status == 200 and body["appointment"]["status"] == "cancelled" and body["sms_planned"], body
    assert by_kind(sms(case_id)) == [
        ("appointment_booked", "queued"),
        ("appointment_cancelled", "pending"),
        ("intake_received", "queued"),
        ("reminder", "cancelled"),
        ("reminder", "cancelled"),
    ]
    history = [h["action"] for h in anna.case(case_id)["history"]]
    assert history.count("appointment_cancelled") == 1, history
    frozen_clock.advance(minutes=20)  # no longer a retry: the appointment is simply cancelled already
    status, body = anna.delete(path)
    assert status == 409 and body["error"] == "This appointment is cancelled; it cannot be cancelled. Book a new one."
    sent_before = len(fake_sender.accepted)
    sweep(client)
    assert len(fake_sender.accepted) == sent_before + 1  # the cancellation, once
    assert ("appointment_cancelled", "queued") in by_kind(sms(case_id))


def test_the_retry_of_a_reschedule_whose_answer_was_lost_tells_the_applicant_the_new_time_once(
    anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock, fake_sender: Any
) -> None:
    path = _changed_and_answer_lost(anna, case_id, client, lambda p: anna.patch(p, {"start": "2025-03-14T10:00"}))
    frozen_clock.advance(minutes=1)
    for _ in range(2):  # the retry, and a double tap on it
        status, body = anna.patch(path, {"start": "2025-03-14T10:00"})
        assert status == 200 and body["appointment"]["start"].startswith("2025-03-14T09:00"), body  # UTC
        assert [m["kind"] for m in body["messages"]] == ["appointment_changed", "reminder", "reminder"], body
    pending = [(m["kind"], m["body"]) for m in sms(case_id) if m["status"] == "pending"]
    assert [kind for kind, _ in pending].count("appointment_changed") == 1, pending
    assert len(pending) == 3 and all("14" in text for _, text in pending), pending  # all name the new day
    history = [h["action"] for h in anna.case(case_id)["history"]]
    assert history.count("appointment_rescheduled") == 1, history
    sent_before = len(fake_sender.accepted)
    sweep(client)
    assert len(fake_sender.accepted) == sent_before + 1  # appointment_changed; the reminders wait


@pytest.mark.parametrize(
    "change", [{"start": "2025-03-14T10:00"}, {"location": "Raum 4.02"}], ids=["another time", "another room"]
)
def test_a_moved_appointment_sends_no_reminder_naming_its_old_time_or_place(
    anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock, fake_sender: Any, change: dict[str, str]
) -> None:
    booked = _booked_and_confirmed(anna, case_id, client)
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoMessageStore, "cancel_pending", _throttled)
        status, body = anna.patch(path, change)
    assert status == 503, body  # the change is stored; its SMS step found storage busy (and nobody retries)
    report = _pending_left_then_swept(case_id, client, frozen_clock, fake_sender)
    assert report["cancelled"] == 1 and report["sent"] == 0, report  # the reminder for 12 March in Raum 2.14


def test_a_note_added_to_an_appointment_keeps_its_reminder(
    anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock, fake_sender: Any
) -> None:
    booked = _booked_and_confirmed(anna, case_id, client)
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    assert anna.patch(path, {"note": "Bring the diploma", "duration_minutes": 45})[0] == 200
    frozen_clock.set(datetime(2025, 3, 11, 10, 5, tzinfo=BERLIN))
    report = sweep(client)
    assert (report["sent"], report["cancelled"]) == (1, 0), report
    assert "Raum 2.14" in fake_sender.accepted[-1].body


def test_a_closed_case_sends_no_reminder_when_its_sms_could_not_be_cancelled(
    anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock, fake_sender: Any
) -> None:
    _booked_and_confirmed(anna, case_id, client)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoMessageStore, "cancel_pending", _throttled)  # the SMS step that follows the close
        status, body = anna.post(f"/staff/cases/{case_id}/close", {"outcome": "counselled"})
    assert status == 200 and body["status"] == "closed", body
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert [a["status"] for a in listed["appointments"]] == ["cancelled"]  # in the close's own write
    told = sweep(client)  # the applicant hears of the cancellation (planned apart from the failed step)
    assert told["sent"] == 1 and "Raum" not in fake_sender.accepted[-1].body, told
    report = _pending_left_then_swept(case_id, client, frozen_clock, fake_sender)
    assert report["cancelled"] == 1 and report["sent"] == 0, report


def test_a_reminder_of_an_appointment_that_stands_is_sent(
    anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock, fake_sender: Any
) -> None:
    _booked_and_confirmed(anna, case_id, client)
    frozen_clock.set(datetime(2025, 3, 11, 10, 5, tzinfo=BERLIN))
    report = sweep(client)
    assert (report["sent"], report["cancelled"]) == (1, 0), report


def test_release_and_transfer_wait_for_the_appointment_to_be_cancelled(anna: Desk, case_id: str) -> None:
    anna.book(case_id, "2025-03-12T10:00")
    assert anna.post(f"/staff/cases/{case_id}/release")[0] == 409
    assert anna.post(f"/staff/cases/{case_id}/transfer", {"partner": VIA, "reason": "Needs job counselling"})[0] == 409


# --- what the applicant answers ----------------------------------------------------------------


@EMPTY_STRINGS
def test_a_2_reply_shows_on_the_case_until_the_appointment_is_moved(
    anna: Desk, case_id: str, client: Client, reminded: dict[str, Any], frozen_clock: FrozenClock
) -> None:
    assert "<Message>" in applicant_sends(client, "2", "SM-two")
    status, case = anna.get(f"/staff/cases/{case_id}")
    assert status == 200
    assert [(a["reason"], a["appointment_id"]) for a in case["attention"]] == [
        ("cannot_come", reminded["appointment_id"])
    ]
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert listed["appointments"][0]["applicant_reply"] == "2"
    _, log = anna.get(f"/staff/cases/{case_id}/messages")
    [reply] = [m for m in log["messages"] if m["direction"] == "inbound"]
    assert (reply["reply"], reply["attention"]) == ("2", "cannot_come")
    assert log["attention"] == case["attention"] and log["opted_out"] is False
    # Texting `2` again adds nothing staff do not already see (and cannot grow the case without bound).
    applicant_sends(client, "2", "SM-two-again")
    _, again = anna.get(f"/staff/cases/{case_id}")
    assert again["attention"] == case["attention"] and again["history"] == case["history"]
    frozen_clock.advance(minutes=5)
    status, body = anna.patch(
        f"/staff/cases/{case_id}/appointments/{reminded['appointment_id']}", {"start": "2025-03-18T10:00"}
    )
    assert status == 200, body
    assert {m["kind"] for m in body["messages"]} == {"appointment_changed", "reminder"}
    assert anna.get(f"/staff/cases/{case_id}")[1]["attention"] == []


@EMPTY_STRINGS
def test_a_2_before_any_reminder_flags_the_booked_appointment(anna: Desk, case_id: str, client: Client) -> None:
    booked = _booked_and_confirmed(anna, case_id, client)["appointment"]  # only its booking SMS went out
    answer = applicant_sends(client, "2", "SM-two-early")
    assert "<Message>" in answer and "no appointment" not in answer.lower()
    _, case = anna.get(f"/staff/cases/{case_id}")
    assert [(a["reason"], a["appointment_id"]) for a in case["attention"]] == [
        ("cannot_come", booked["appointment_id"])
    ]
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert listed["appointments"][0]["applicant_reply"] == "2"


@EMPTY_STRINGS
def test_a_2_goes_to_the_upcoming_appointment_not_to_a_finished_one(
    anna: Desk, case_id: str, client: Client, reminded: dict[str, Any], frozen_clock: FrozenClock
) -> None:
    frozen_clock.set(datetime(2025, 3, 12, 11, 30, tzinfo=BERLIN))  # the first appointment is over
    path = f"/staff/cases/{case_id}/appointments/{reminded['appointment_id']}"
    assert anna.post(f"{path}/attendance", {"attended": True})[0] == 200
    status, second = anna.book(case_id, "2025-03-19T10:00")
    assert status == 201, second
    sweep(client)  # the second one's booking SMS; its reminders are days away
    applicant_sends(client, "2", "SM-two-second")
    _, case = anna.get(f"/staff/cases/{case_id}")
    assert [(a["reason"], a["appointment_id"]) for a in case["attention"]] == [
        ("cannot_come", second["appointment"]["appointment_id"])
    ]


@EMPTY_STRINGS
def test_cancel_opts_out_and_flags_the_case_for_a_call(
    anna: Desk, case_id: str, client: Client, reminded: dict[str, Any]
) -> None:
    applicant_sends(client, "Cancel", "SM-cancel")
    _, log = anna.get(f"/staff/cases/{case_id}/messages")
    assert log["opted_out"] is True
    assert [a["reason"] for a in log["attention"]] == ["cancel_opt_out"]
    _, case = anna.get(f"/staff/cases/{case_id}")
    assert [a["reason"] for a in case["attention"]] == ["cancel_opt_out"]
    status, body = anna.delete(f"/staff/cases/{case_id}/appointments/{reminded['appointment_id']}")
    assert status == 200
    # Opted out: the cancellation is never sent (recorded as suppressed, or not planned at all).
    assert all(m["status"] == "suppressed" for m in body["messages"])
    assert not [m for m in sms(case_id) if m["kind"] == "appointment_cancelled" and m["status"] == "pending"]
    assert anna.get(f"/staff/cases/{case_id}")[1]["attention"] == []


@EMPTY_STRINGS
def test_an_applicant_who_said_stop_before_any_sms_gets_no_change_or_cancellation(
    anna: Desk, case_id: str, client: Client, fake_sender: Any
) -> None:
    _, first = anna.book(case_id, "2025-03-12T10:00")
    _, second = anna.book(case_id, "2025-03-19T10:00")
    applicant_sends(client, "STOP", "SM-stop-early")
    path = f"/staff/cases/{case_id}/appointments/{first['appointment']['appointment_id']}"
    status, body = anna.patch(path, {"start": "2025-03-13T10:00"})
    assert status == 200, body
    assert {m["status"] for m in body["messages"]} <= {"suppressed"}  # recorded as never to be sent, at most
    status, body = anna.delete(f"/staff/cases/{case_id}/appointments/{second['appointment']['appointment_id']}")
    assert status == 200, body
    assert {m["status"] for m in body["messages"]} <= {"suppressed"}
    sweep(client)
    assert fake_sender.accepted == []
    assert not [m for m in sms(case_id) if m["direction"] == "outbound" and m["status"] in ("pending", "queued")]


def test_the_message_log_shows_status_failures_and_no_phone_number(
    anna: Desk, case_id: str, client: Client, fake_sender: Any, frozen_clock: FrozenClock
) -> None:
    anna.book(case_id, "2025-03-12T10:00")
    sweep(client)
    frozen_clock.advance(minutes=1)
    status, log = anna.get(f"/staff/cases/{case_id}/messages")
    assert status == 200
    assert by_kind(log["messages"]) == [
        ("appointment_booked", "queued"),
        ("intake_received", "queued"),
        ("reminder", "pending"),
        ("reminder", "pending"),
    ]
    assert PHONE not in json.dumps(log) and "phone" not in json.dumps(log)
    _, audit = anna.get(f"/staff/cases/{case_id}/audit")
    assert audit["entries"][0]["action"] == "view_messages"


def test_no_sms_consent_books_without_messages(
    anna: Desk, client: Client, valid_intake: dict[str, Any], staff_token: Callable[..., str]
) -> None:
    body = {**valid_intake, "consent": {"data_processing": True, "share_with_partners": True, "sms": False}}
    body["qualification"] = {**valid_intake["qualification"], "profession_group": "health"}
    case_id = json.loads(post_json(client, "/intake", body).body)["case_id"]
    anna.post(f"/staff/cases/{case_id}/claim")
    status, booked = anna.book(case_id, "2025-03-12T10:00")
    assert status == 201 and booked["messages"] == [] and booked["sms_planned"] is True
    _, log = anna.get(f"/staff/cases/{case_id}/messages")
    assert (log["sms_consent"], log["messages"]) == (False, [])


# --- one person's time, many clicks --------------------------------------------------------------


def test_a_double_booking_race_of_one_slot_gives_exactly_one_201(
    anna: Desk,
    client: Client,
    submit_case: Callable[..., dict[str, Any]],
    atomic_dynamodb: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The test client swaps os.environ per call; from many threads the swaps interleave.
    monkeypatch.setattr(os, "environ", os.environ)
    threads = 8
    cases = [anna.claimed_case(submit_case) for _ in range(threads)]
    with ThreadPoolExecutor(threads) as pool:
        for hour in (9, 13, 16):
            start = f"2025-03-12T{hour:02d}:00"

            def attempt(case_id: str, start: str = start) -> tuple[int, str]:
                body = {"start": start, "duration_minutes": 60, "location": "Raum 2.14"}
                response = post_json(client, f"/staff/cases/{case_id}/appointments", body, anna.headers)
                return response.status_code, json.loads(response.body).get("code", "")

            outcomes = Counter(pool.map(attempt, cases))
            assert outcomes == {(201, ""): 1, (409, "appointment_overlap"): threads - 1}, outcomes
    calendar = bootstrap.appointment_service().store.calendar(ANNA_ID)
    assert [s.start.astimezone(BERLIN).hour for s in calendar.slots] == [9, 13, 16]


# --- applicants' rights ------------------------------------------------------------------------


def test_erasure_cancels_upcoming_appointments_and_drops_notes(
    anna: Desk, client: Client, valid_intake: dict[str, Any]
) -> None:
    body = {**valid_intake, "qualification": {**valid_intake["qualification"], "profession_group": "health"}}
    created = json.loads(post_json(client, "/intake", body).body)
    case_id, secret = created["case_id"], created["status_link"].rsplit(".", 1)[1]
    anna.post(f"/staff/cases/{case_id}/claim")
    assert anna.book(case_id, "2025-03-12T10:00", note="Layla Haddad, call her brother")[0] == 201
    response = client.http.delete(f"/applicant/{case_id}", headers={"X-Status-Secret": secret})
    assert response.status_code == 200, response.body
    [appointment] = bootstrap.appointment_service().store.for_case(case_id)
    assert (appointment.status, appointment.cancel_reason, appointment.note) == ("cancelled", "erased", None)
    calendar = bootstrap.appointment_service().store.calendar(appointment.staff_id)
    assert calendar.slots == ()
