"""Appointments through HTTP: book, reschedule, cancel, attendance, list; overlap, past times, DST,
the `scheduled` status, cross-partner 404 and the SMS each change plans (frozen clock, moto)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from botocore.client import BaseClient
from chalice.test import Client

from tests.conftest import EMPTY_STRINGS, TEN_ITEM_TRANSACTIONS, FrozenClock, post_json
from tests.functional.appointment_desk import BERLIN, LMU, VIA, Desk, by_kind, case_status, settle, sms, sweep

# --- booking ---------------------------------------------------------------------------------


def test_booking_a_local_time_returns_201_with_the_appointment_and_its_planned_sms(anna: Desk, case_id: str) -> None:
    status, body = anna.book(case_id, "2025-03-12T10:00", 60, location="Raum 2.14")
    assert status == 201, body
    appointment = body["appointment"]
    assert appointment["start"] == "2025-03-12T09:00:00.000000+00:00"  # 10:00 Berlin is UTC+1 in March
    assert appointment["start_local"] == "2025-03-12T10:00+01:00"
    assert appointment["end_local"] == "2025-03-12T11:00+01:00"
    assert (appointment["status"], appointment["mode"], appointment["location"]) == ("booked", "in_person", "Raum 2.14")
    assert appointment["staff_name"] == "Anna Berger"
    planned = {(m["kind"], m["due_at"], m["status"]) for m in body["messages"]}
    assert planned == {
        ("appointment_booked", "2025-03-07T09:00:00+00:00", "pending"),  # now (10:00 Berlin)
        ("reminder", "2025-03-11T09:00:00+00:00", "pending"),  # 24 h before
        ("reminder", "2025-03-12T07:00:00+00:00", "pending"),  # 2 h before: 08:00 Berlin, just after quiet hours
    }
    assert body["case_status"] == "scheduled" and body["sms_planned"] is True
    assert case_status(anna, case_id) == "scheduled"


@pytest.fixture
def dynamodb_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS call made from here on, as "<operation> <table>" (each one a round trip on AWS
    while the staff member waits)."""
    calls: list[str] = []
    original = BaseClient._make_api_call

    def recorded(client: Any, operation: str, params: dict[str, Any]) -> Any:
        calls.append(f"{operation} {params.get('TableName', '')}")
        return original(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recorded)
    return calls


def _count(calls: list[str], operation: str, table: str) -> int:
    return sum(call.startswith(f"{operation} ") and call.endswith(f"-{table}") for call in calls)


def test_a_booking_looks_the_number_up_in_the_opt_out_list_once_for_all_its_messages(
    anna: Desk, case_id: str, dynamodb_calls: list[str]
) -> None:
    """Booking message and two reminders go to one number: one read of the opt-out list, not three."""
    status, body = anna.book(case_id, "2025-03-12T10:00", 60, location="Raum 2.14")
    assert status == 201 and len(body["messages"]) == 3, body
    assert sum(call.endswith("sms-opt-outs") for call in dynamodb_calls) == 1, dynamodb_calls


def test_a_booking_writes_its_three_messages_without_reading_them_first(
    anna: Desk, case_id: str, dynamodb_calls: list[str]
) -> None:
    """A new appointment's messages cannot exist yet: each is one conditional put, no read before it."""
    status, body = anna.book(case_id, "2025-03-12T10:00", 60, location="Raum 2.14")
    assert status == 201 and len(body["messages"]) == 3, body
    assert _count(dynamodb_calls, "PutItem", "messages") == 3, dynamodb_calls
    assert _count(dynamodb_calls, "GetItem", "messages") == 0, dynamodb_calls
    # the case, the calendar, the transaction (with the first-appointment figure), the opt-out list, 3 puts
    assert len(dynamodb_calls) == 7, dynamodb_calls


def test_closing_a_scheduled_case_cancels_its_appointment_in_the_same_write(
    anna: Desk, case_id: str, client: Client, dynamodb_calls: list[str]
) -> None:
    """One transaction closes the case, cancels the appointment and frees the holder's time: no
    closed case can keep an appointment that blocks someone's calendar."""
    assert anna.book(case_id, "2025-03-12T10:00")[0] == 201
    dynamodb_calls.clear()
    status, body = anna.post(f"/staff/cases/{case_id}/close", {"outcome": "counselled"})
    assert status == 200 and body["status"] == "closed", body
    assert [h["action"] for h in body["history"][-2:]] == ["closed", "appointment_cancelled"]
    assert dynamodb_calls.count("TransactWriteItems ") == 1, dynamodb_calls
    assert _count(dynamodb_calls, "GetItem", "cases") == 1, dynamodb_calls
    # The close's own read, then (after its write) one more to tell the applicant of what it cancelled.
    assert _count(dynamodb_calls, "Query", "appointments") == 2, dynamodb_calls
    assert _count(dynamodb_calls, "Query", "messages") == 1, dynamodb_calls
    assert len(dynamodb_calls) == 11, dynamodb_calls  # + the calendar, 3 SMS cancelled, the opt-out check, 1 planned
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    [appointment] = listed["appointments"]
    assert (appointment["status"], appointment["cancel_reason"]) == ("cancelled", "case_closed")
    assert sorted((m["kind"], m["status"]) for m in sms(case_id)) == [
        ("appointment_booked", "cancelled"),
        ("appointment_cancelled", "pending"),
        ("reminder", "cancelled"),
        ("reminder", "cancelled"),
    ]


def test_a_booking_that_lands_while_the_case_is_closed_is_cancelled_with_it(
    anna: Desk, case_id: str, frozen_clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anna books a second appointment in another tab between the close's read of the appointments
    and its write: the close's write fails its condition, reads again and cancels both."""
    from chalicelib.adapters.dynamodb.appointment_store import DynamoAppointmentStore

    assert anna.book(case_id, "2025-03-12T10:00")[0] == 201
    original, reads = DynamoAppointmentStore.for_case, []

    def raced(store: DynamoAppointmentStore, for_case_id: str) -> list[Any]:
        found = original(store, for_case_id)
        reads.append(len(found))
        if len(reads) == 1:
            monkeypatch.setattr(DynamoAppointmentStore, "for_case", original)  # the other tab's booking reads too
            frozen_clock.advance(seconds=1)
            assert anna.book(case_id, "2025-03-13T10:00")[0] == 201
            monkeypatch.setattr(DynamoAppointmentStore, "for_case", raced)
        return found

    monkeypatch.setattr(DynamoAppointmentStore, "for_case", raced)
    status, body = anna.post(f"/staff/cases/{case_id}/close", {"outcome": "counselled"})
    assert status == 200 and body["status"] == "closed", body
    assert reads == [1, 2, 2]  # the close's read, its read again after the condition failed, the SMS step's
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert [(a["status"], a["cancel_reason"]) for a in listed["appointments"]] == [("cancelled", "case_closed")] * 2
    assert listed["case_status"] == "closed"


def test_closing_frees_the_holders_time_for_another_case(anna: Desk, case_id: str, submit_case: Any) -> None:
    assert anna.book(case_id, "2025-03-12T10:00")[0] == 201
    other = anna.claimed_case(submit_case)
    assert anna.book(other, "2025-03-12T10:00")[0] == 409  # Anna is busy then
    assert anna.post(f"/staff/cases/{case_id}/close", {"outcome": "counselled"})[0] == 200
    status, body = anna.book(other, "2025-03-12T10:00")
    assert status == 201, body


@TEN_ITEM_TRANSACTIONS
def test_a_case_with_more_upcoming_appointments_than_one_write_can_cancel_is_not_closed(
    anna: Desk, case_id: str
) -> None:
    """31 upcoming appointments would not fit one transaction with the close: 409 naming what to do."""
    for day in range(31):
        status, body = anna.book(case_id, f"2025-04-{day % 30 + 1:02d}T{9 + day // 30:02d}:00", 30)
        assert status == 201, body
    status, body = anna.post(f"/staff/cases/{case_id}/close", {"outcome": "counselled"})
    assert status == 409 and body["code"] == "invalid_transition" and "31 upcoming appointments" in body["error"], body
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert listed["case_status"] == "scheduled"
    appointment_id = listed["appointments"][0]["appointment_id"]
    assert anna.delete(f"/staff/cases/{case_id}/appointments/{appointment_id}")[0] == 200
    assert anna.post(f"/staff/cases/{case_id}/close", {"outcome": "counselled"})[0] == 200
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert {a["status"] for a in listed["appointments"]} == {"cancelled"}


def test_the_time_to_first_appointment_figure_is_the_earliest_start_booked_written_with_the_booking(
    anna: Desk, case_id: str, dynamodb_calls: list[str]
) -> None:
    from chalicelib.adapters.dynamodb.models import CaseModel

    def first() -> str | None:
        return CaseModel.get(case_id).first_appointment_at

    booked = anna.book(case_id, "2025-03-12T10:00")[1]
    assert first() == "2025-03-12T09:00:00.000000+00:00"
    assert anna.book(case_id, "2025-03-13T10:00")[0] == 201
    assert first() == "2025-03-12T09:00:00.000000+00:00"
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    assert anna.patch(path, {"start": "2025-03-14T10:00"})[0] == 200
    assert first() == "2025-03-12T09:00:00.000000+00:00"  # it was booked for the 12th first
    assert anna.patch(path, {"start": "2025-03-11T10:00"})[0] == 200
    assert first() == "2025-03-11T09:00:00.000000+00:00"
    assert _count(dynamodb_calls, "UpdateItem", "cases") == 0, "in each booking's or move's own transaction"


def test_an_offset_time_and_an_online_meeting(anna: Desk, case_id: str) -> None:
    status, body = anna.book(case_id, "2025-03-12T09:00:00Z", 45, online_url="https://meet.example/abc")
    assert status == 201, body
    appointment = body["appointment"]
    assert (appointment["start_local"], appointment["mode"]) == ("2025-03-12T10:00+01:00", "online")
    assert appointment["online_url"] == "https://meet.example/abc" and appointment["location"] is None
    [booked] = [m for m in sms(case_id) if m["kind"] == "appointment_booked"]
    assert "https://meet.example/abc" in booked["body"]


def test_a_scheduled_case_stays_in_the_claimed_list_of_the_queue(anna: Desk, case_id: str) -> None:
    anna.book(case_id, "2025-03-12T10:00")
    status, queue = anna.get("/staff/queue?status=claimed&mine=true")
    assert status == 200
    assert [(row["case_id"], row["status"]) for row in queue["cases"]] == [(case_id, "scheduled")]


INVALID_BOOKINGS: list[tuple[dict[str, Any], str, str]] = [
    ({"online_url": "https://meet.example/x"}, "online_url", "exclusive"),  # both places
    ({"location": None}, "location", "required"),  # neither place
    ({"online_url": "http://meet.example/x", "location": None}, "online_url", "invalid_url"),
    ({"duration_minutes": 10}, "duration_minutes", "out_of_range"),
    ({"duration_minutes": 481}, "duration_minutes", "out_of_range"),
    ({"duration_minutes": 30.5}, "duration_minutes", "wrong_type"),
    ({"note": "x" * 1001}, "note", "too_long"),
    ({"start": "12.03.2025 10:00"}, "start", "invalid_datetime"),
    ({"start": "2025-03-12"}, "start", "invalid_datetime"),
    ({"start": "2025-02-30T10:00"}, "start", "invalid_datetime"),
    ({"online": True}, "online", "not_allowed"),
    ({"location": "   "}, "location", "required"),  # was booked "in person" at the partner's address
    ({"location": "\u200b\u200e"}, "location", "required"),  # zero-width space and a direction mark
]


def test_invalid_bookings_are_400_naming_the_field(anna: Desk, case_id: str) -> None:
    for changes, field, code in INVALID_BOOKINGS:
        body: dict[str, Any] = {"start": "2025-03-12T10:00", "duration_minutes": 60, "location": "Raum 2.14"}
        body.update(changes)
        body = {k: v for k, v in body.items() if v is not None}
        status, answer = anna.post(f"/staff/cases/{case_id}/appointments", body)
        assert status == 400, (changes, answer)
        assert [(e["field"], e["code"]) for e in answer["errors"]] == [(field, code)], changes
        assert answer["errors"][0]["message"]
    assert case_status(anna, case_id) == "claimed"


def test_times_in_the_past_are_409_in_the_past_naming_start(anna: Desk, case_id: str) -> None:
    for start in ("2025-03-07T09:59", "2025-03-07T10:00", "2025-03-07T08:30:00Z", "2024-12-24T10:00"):
        status, body = anna.book(case_id, start)
        assert status == 409, body
        assert body["code"] == "in_the_past", start
        assert "start" in body["error"] and "in the past" in body["error"]
        [error] = body["errors"]
        assert (error["field"], error["code"]) == ("start", "in_the_past"), start
        assert "in the past" in error["message"]
    assert case_status(anna, case_id) == "claimed"
    assert [m for m in sms(case_id) if m["appointment_id"]] == []  # nothing planned for a refused booking
    status, body = anna.book(case_id, "yesterday")  # not a date at all: still invalid input
    assert (status, body["errors"][0]["code"]) == (400, "invalid_datetime")


def test_a_start_more_than_a_year_ahead_is_refused(anna: Desk, case_id: str) -> None:
    status, body = anna.book(case_id, "2062-03-12T10:00")
    assert status == 400 and body["errors"][0]["code"] == "too_far_ahead"


def test_dst_gap_a_local_time_that_does_not_exist_is_refused(
    anna: Desk, case_id: str, frozen_clock: FrozenClock
) -> None:
    frozen_clock.set(datetime(2027, 3, 20, 10, 0, tzinfo=BERLIN))
    status, body = anna.book(case_id, "2027-03-28T02:30")  # clocks jump 02:00 → 03:00
    assert status == 400, body
    [error] = body["errors"]
    assert (error["field"], error["code"]) == ("start", "nonexistent_local_time")
    status, body = anna.book(case_id, "2027-03-28T03:30")
    assert status == 201, body
    assert body["appointment"]["start"] == "2027-03-28T01:30:00.000000+00:00"  # summer time, UTC+2
    assert body["appointment"]["start_local"] == "2027-03-28T03:30+02:00"


def test_dst_fold_an_ambiguous_local_time_is_the_earlier_one(
    anna: Desk, case_id: str, frozen_clock: FrozenClock
) -> None:
    frozen_clock.set(datetime(2026, 10, 20, 10, 0, tzinfo=BERLIN))
    status, body = anna.book(case_id, "2026-10-25T02:30", 30)  # 02:00–03:00 happens twice
    assert status == 201, body
    assert body["appointment"]["start"] == "2026-10-25T00:30:00.000000+00:00"  # the first 02:30 (UTC+2)
    # The second 02:30 (UTC+1) is an hour later: it does not overlap the 30-minute first one.
    status, body = anna.book(case_id, "2026-10-25T02:30+01:00", 30)
    assert status == 201, body
    assert body["appointment"]["start"] == "2026-10-25T01:30:00.000000+00:00"


def test_an_appointment_across_the_dst_change_lasts_what_was_booked(
    anna: Desk, case_id: str, frozen_clock: FrozenClock
) -> None:
    frozen_clock.set(datetime(2027, 3, 20, 10, 0, tzinfo=BERLIN))
    status, body = anna.book(case_id, "2027-03-28T01:30", 60)
    assert status == 201, body
    assert body["appointment"]["end_local"] == "2027-03-28T03:30+02:00"  # 60 real minutes, wall clock +2 h


# --- overlap ---------------------------------------------------------------------------------


def test_overlapping_appointments_of_one_staff_member_are_409(
    anna: Desk, case_id: str, submit_case: Callable[..., dict[str, Any]], desk: Callable[..., Desk]
) -> None:
    other_case = anna.claimed_case(submit_case)
    status, first = anna.book(case_id, "2025-03-12T10:00", 60)
    assert status == 201
    status, body = anna.book(other_case, "2025-03-12T10:30", 60)
    assert status == 409, body
    assert body["code"] == "appointment_overlap"
    assert body["conflicting_appointment"]["appointment_id"] == first["appointment"]["appointment_id"]
    assert "10:00" in body["error"] and "11:00" in body["error"]
    assert case_status(anna, other_case) == "claimed"
    status, _ = anna.book(other_case, "2025-03-12T11:00", 30)  # back to back is fine
    assert status == 201
    status, _ = anna.book(other_case, "2025-03-12T09:30", 30)  # ends when the first begins
    assert status == 201
    ben = desk(LMU, name="Ben Vogel")
    bens_case = ben.claimed_case(submit_case)
    status, _ = ben.book(bens_case, "2025-03-12T10:00", 60)  # another person's calendar
    assert status == 201


# --- rescheduling ------------------------------------------------------------------------------


def test_rescheduling_replans_reminders_and_plans_appointment_changed(anna: Desk, case_id: str, client: Client) -> None:
    status, booked = anna.book(case_id, "2025-03-12T10:00")
    appointment_id = booked["appointment"]["appointment_id"]
    sweep(client)  # the booking SMS goes out: the applicant knows the old time
    old_reminders = {m["message_id"] for m in booked["messages"] if m["kind"] == "reminder"}
    status, body = anna.patch(f"/staff/cases/{case_id}/appointments/{appointment_id}", {"start": "2025-03-14T14:00"})
    assert status == 200, body
    assert body["appointment"]["start_local"] == "2025-03-14T14:00+01:00"
    assert body["appointment"]["reschedules"] == 1
    assert {m["kind"] for m in body["messages"]} == {"appointment_changed", "reminder"}
    new_reminders = {m["message_id"]: m["due_at"] for m in body["messages"] if m["kind"] == "reminder"}
    assert sorted(new_reminders.values()) == ["2025-03-13T13:00:00+00:00", "2025-03-14T11:00:00+00:00"]
    statuses = {m["message_id"]: m["status"] for m in sms(case_id)}
    assert {statuses[m] for m in old_reminders} == {"cancelled"}
    assert {statuses[m] for m in new_reminders} == {"pending"}
    assert by_kind(sms(case_id)).count(("appointment_changed", "pending")) == 1
    status, case = anna.get(f"/staff/cases/{case_id}")
    assert case["status"] == "scheduled"
    assert case["history"][-1]["action"] == "appointment_rescheduled"
    assert case["history"][-1]["detail"]["previous_start"] == "2025-03-12T09:00:00.000000+00:00"


def test_rescheduling_right_after_booking_sends_appointment_changed_and_not_the_booking(
    anna: Desk, case_id: str, client: Client, fake_sender: Any, frozen_clock: FrozenClock
) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    status, body = anna.patch(path, {"start": "2025-03-13T10:00"})  # before any sweep: nothing went out yet
    assert status == 200, body
    assert sorted(m["kind"] for m in body["messages"]) == ["appointment_changed", "reminder", "reminder"]
    assert {m["status"] for m in body["messages"]} == {"pending"}
    assert body["case_status"] == "scheduled" and body["sms_planned"] is True
    kinds = by_kind(sms(case_id))
    assert ("appointment_booked", "cancelled") in kinds and kinds.count(("reminder", "cancelled")) == 2
    sweep(client)
    sent = {m["kind"]: m for m in sms(case_id) if m["status"] == "queued"}
    assert set(sent) == {"intake_received", "appointment_changed"}  # never the booking for the old time
    assert "13" in sent["appointment_changed"]["body"]  # the new date
    [booking] = [m for m in sms(case_id) if m["kind"] == "appointment_booked"]
    assert booking["status"] == "cancelled" and booking["body"] not in [d.body for d in fake_sender.accepted]
    for moment in (datetime(2025, 3, 12, 10, 5), datetime(2025, 3, 13, 8, 5)):
        frozen_clock.set(moment.replace(tzinfo=BERLIN))
        sweep(client)
    reminders = [m for m in sms(case_id) if m["kind"] == "reminder" and m["status"] == "queued"]
    assert len(reminders) == 2 and all("13" in m["body"] for m in reminders)


def test_moving_back_to_an_earlier_time_or_only_the_place_plans_fresh_reminders(
    anna: Desk, case_id: str, client: Client
) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    assert anna.patch(path, {"start": "2025-03-13T10:00"})[0] == 200
    status, body = anna.patch(path, {"start": "2025-03-12T10:00"})  # back to the first time
    assert status == 200, body
    assert sorted((m["kind"], m["status"]) for m in body["messages"]) == [
        ("appointment_changed", "pending"),
        ("reminder", "pending"),
        ("reminder", "pending"),
    ]
    sweep(client)
    status, body = anna.patch(path, {"location": "Raum 3.01"})  # only the place
    assert status == 200, body
    assert sorted((m["kind"], m["status"]) for m in body["messages"]) == [
        ("appointment_changed", "pending"),
        ("reminder", "pending"),
        ("reminder", "pending"),
    ]
    assert all("Raum 3.01" in m["body"] for m in sms(case_id) if m["status"] == "pending")
    assert len([m for m in sms(case_id) if m["status"] == "pending"]) == 3


def test_rescheduling_checks_overlap_past_and_changes_the_place(anna: Desk, case_id: str) -> None:
    _, first = anna.book(case_id, "2025-03-12T10:00", 60)
    _, second = anna.book(case_id, "2025-03-12T12:00", 60)
    path = f"/staff/cases/{case_id}/appointments/{second['appointment']['appointment_id']}"
    status, body = anna.patch(path, {"start": "2025-03-12T10:30"})
    assert status == 409 and body["code"] == "appointment_overlap"
    status, body = anna.patch(path, {"start": "2025-03-06T10:30"})
    assert status == 409 and body["code"] == "in_the_past", body
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("start", "in_the_past")]
    assert "start" in body["error"]
    status, body = anna.patch(path, {"duration_minutes": 120})
    assert status == 200 and body["appointment"]["end_local"] == "2025-03-12T14:00+01:00"
    assert body["messages"] == []  # the SMS show time and place only: no message for a longer slot
    status, body = anna.patch(path, {"online_url": "https://meet.example/z"})
    assert status == 200 and (body["appointment"]["mode"], body["appointment"]["location"]) == ("online", None)
    # Nothing went out yet (no sweep): the unsent booking SMS is cancelled, the change names the new place.
    assert {m["kind"] for m in body["messages"]} == {"appointment_changed", "reminder"}
    assert {m["status"] for m in body["messages"]} == {"pending"}
    status, body = anna.patch(path, {"location": "Raum 1", "online_url": "https://meet.example/z"})
    assert status == 400 and body["errors"][0]["code"] == "exclusive"
    status, body = anna.patch(path, {})
    assert status == 400 and body["errors"][0]["field"] == "(body)"
    status, body = anna.patch(path, {"location": "  "})  # was a 200 that silently changed nothing
    assert status == 400 and [(e["field"], e["code"]) for e in body["errors"]] == [("location", "required")]
    # Moving the first one onto its own time again overlaps nothing (it does not collide with itself).
    first_path = f"/staff/cases/{case_id}/appointments/{first['appointment']['appointment_id']}"
    status, body = anna.patch(first_path, {"start": "2025-03-12T10:15"})
    assert status == 200, body


def test_a_note_only_change_sends_no_sms_and_is_audited_without_the_note(
    anna: Desk, case_id: str, frozen_clock: FrozenClock
) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    frozen_clock.advance(minutes=1)  # audit entries sort by time
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    status, body = anna.patch(path, {"note": "Bring the diploma translation"})
    assert status == 200 and body["messages"] == [] and body["appointment"]["note"] == "Bring the diploma translation"
    _, audit = anna.get(f"/staff/cases/{case_id}/audit")
    assert audit["entries"][0]["action"] == "appointment_updated"
    assert "diploma" not in json.dumps(audit)


def test_a_pasted_line_break_in_the_place_becomes_a_space_and_the_note_keeps_its_lines(
    anna: Desk, case_id: str, client: Client, fake_sender: Any
) -> None:
    """The place goes into the applicant's SMS on one line; control characters would garble it."""
    status, booked = anna.book(
        case_id, "2025-03-12T10:00", note="Zeugnis\r\nÜbersetzung\x00", location="Raum 2.14\r\nHaus B\t"
    )
    assert status == 201, booked
    assert booked["appointment"]["location"] == "Raum 2.14 Haus B"
    assert booked["appointment"]["note"] == "Zeugnis\nÜbersetzung"
    sweep(client)
    [sent] = [d.body for d in fake_sender.accepted if "Raum" in d.body]  # the booking's SMS
    assert "Raum 2.14 Haus B" in sent and "\r" not in sent and "\t" not in sent


def test_a_booking_the_applicant_cannot_hear_of_before_it_begins_says_so_at_once(
    anna: Desk, case_id: str, frozen_clock: FrozenClock
) -> None:
    """Booked at 22:30 for 07:30: SMS quiet hours last until 08:00. The answer says the booking SMS
    will not be sent (staff can still call), instead of planning one that would expire unseen."""
    frozen_clock.set(datetime(2025, 3, 7, 22, 30, tzinfo=BERLIN))
    status, body = anna.book(case_id, "2025-03-08T07:30")
    assert status == 201, body
    assert [(m["kind"], m["status"], m["reason"]) for m in body["messages"]] == [
        ("appointment_booked", "suppressed", "quiet_hours_until_start")
    ]
    status, early = anna.book(case_id, "2025-03-08T09:00")  # after quiet hours: sent at 08:00 as usual
    assert status == 201 and [m["status"] for m in early["messages"]][:1] == ["pending"], early


# --- cancelling ----------------------------------------------------------------------------------


@EMPTY_STRINGS
def test_cancelling_tells_the_applicant_cancels_reminders_and_frees_the_slot(
    anna: Desk, case_id: str, client: Client, fake_sender: Any, frozen_clock: FrozenClock
) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    appointment_id = booked["appointment"]["appointment_id"]
    sweep(client)
    status, body = anna.delete(f"/staff/cases/{case_id}/appointments/{appointment_id}")
    assert status == 200, body
    assert body["appointment"]["status"] == "cancelled" and body["appointment"]["cancel_reason"] == "staff"
    assert [m["kind"] for m in body["messages"]] == ["appointment_cancelled"]
    assert body["case_status"] == "claimed"
    kinds = by_kind(sms(case_id))
    assert kinds.count(("reminder", "cancelled")) == 2
    assert ("appointment_cancelled", "pending") in kinds
    sweep(client)
    assert "12" in fake_sender.accepted[-1].body  # the date of the cancelled appointment
    sent = len(fake_sender.accepted)
    status, body = anna.delete(f"/staff/cases/{case_id}/appointments/{appointment_id}")  # a retry: same answer
    assert status == 200 and [(m["kind"], m["status"]) for m in body["messages"]] == [
        ("appointment_cancelled", "queued")
    ]
    sweep(client)
    assert len(fake_sender.accepted) == sent  # the applicant is not told twice
    frozen_clock.advance(minutes=20)  # no longer a retry
    status, body = anna.delete(f"/staff/cases/{case_id}/appointments/{appointment_id}")
    assert status == 409 and body["code"] == "invalid_transition"
    status, _ = anna.book(case_id, "2025-03-12T10:00")  # the time is free again
    assert status == 201


@EMPTY_STRINGS
def test_cancelling_right_after_booking_tells_the_applicant_and_never_sends_the_booking(
    anna: Desk, case_id: str, client: Client, fake_sender: Any
) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    appointment_id = booked["appointment"]["appointment_id"]
    status, body = anna.delete(f"/staff/cases/{case_id}/appointments/{appointment_id}")  # before any sweep
    assert status == 200, body
    assert [(m["kind"], m["status"]) for m in body["messages"]] == [("appointment_cancelled", "pending")]
    assert body["case_status"] == "claimed" and body["sms_planned"] is True
    kinds = by_kind(sms(case_id))
    assert ("appointment_booked", "cancelled") in kinds and kinds.count(("reminder", "cancelled")) == 2
    sweep(client)
    sent = {m["kind"]: m for m in sms(case_id) if m["status"] == "queued"}
    assert set(sent) == {"intake_received", "appointment_cancelled"}
    assert "12" in sent["appointment_cancelled"]["body"]  # the date of the cancelled appointment
    [booking] = [m for m in sms(case_id) if m["kind"] == "appointment_booked"]
    assert booking["body"] not in [d.body for d in fake_sender.accepted]


def test_cancelling_without_sms_consent_plans_no_message(
    anna: Desk, client: Client, valid_intake: dict[str, Any]
) -> None:
    body = {**valid_intake, "consent": {"data_processing": True, "share_with_partners": True, "sms": False}}
    body["qualification"] = {**valid_intake["qualification"], "profession_group": "health"}
    case_id = json.loads(post_json(client, "/intake", body).body)["case_id"]
    assert anna.post(f"/staff/cases/{case_id}/claim")[0] == 200
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    status, body = anna.patch(path, {"start": "2025-03-13T10:00"})
    assert (status, body["messages"]) == (200, [])
    status, body = anna.delete(path)
    assert (status, body["messages"]) == (200, [])
    assert sms(case_id) == []


def test_scheduled_until_the_last_upcoming_appointment_is_cancelled(anna: Desk, case_id: str) -> None:
    _, first = anna.book(case_id, "2025-03-12T10:00")
    _, second = anna.book(case_id, "2025-03-19T10:00")
    status, body = anna.delete(f"/staff/cases/{case_id}/appointments/{first['appointment']['appointment_id']}")
    assert body["case_status"] == "scheduled"
    status, body = anna.delete(f"/staff/cases/{case_id}/appointments/{second['appointment']['appointment_id']}")
    assert body["case_status"] == "claimed"
    status, body = anna.post(f"/staff/cases/{case_id}/release")
    assert status == 200, body


# --- attendance and the passing of time ---------------------------------------------------------


def test_a_no_show_is_recorded_after_the_start_and_can_be_corrected(
    anna: Desk, case_id: str, frozen_clock: FrozenClock
) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    frozen_clock.set(datetime(2025, 3, 12, 10, 20, tzinfo=BERLIN))
    status, body = anna.post(f"{path}/attendance", {"attended": "no"})
    assert status == 400 and body["errors"][0]["field"] == "attended"
    status, body = anna.post(f"{path}/attendance", {"attended": False})
    assert status == 200, body
    assert (body["appointment"]["status"], body["appointment"]["attended"]) == ("no_show", False)
    assert body["case_status"] == "claimed"
    frozen_clock.advance(minutes=1)  # audit entries sort by time
    status, body = anna.post(f"{path}/attendance", {"attended": True})  # a correction
    assert status == 200 and body["appointment"]["status"] == "attended"
    _, audit = anna.get(f"/staff/cases/{case_id}/audit")
    recorded = [e["detail"] for e in audit["entries"] if e["action"] == "attendance_recorded"]
    assert recorded[0]["attended"] is True and recorded[0]["corrected_from"] is False
    frozen_clock.advance(minutes=1)
    status, body = anna.post(f"{path}/attendance", {"attended": True})  # the same again: a retry, changing nothing
    assert status == 200 and body["appointment"]["status"] == "attended"
    _, audit = anna.get(f"/staff/cases/{case_id}/audit")
    assert [e["action"] for e in audit["entries"]].count("attendance_recorded") == 2
    status, body = anna.patch(path, {"start": "2025-03-20T10:00"})
    assert status == 409  # attendance recorded: no longer movable
    status, body = anna.delete(path)
    assert status == 409


def test_attendance_right_after_booking_ends_the_appointment_for_the_applicant(
    anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock, fake_sender: Any
) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    status, body = anna.post(f"{path}/attendance", {"attended": True})  # days before the start
    assert status == 200, body
    assert (body["appointment"]["status"], body["appointment"]["attended"]) == ("attended", True)
    assert body["case_status"] == "claimed" and body["sms_planned"] is True
    assert case_status(anna, case_id) == "claimed"
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert [a["upcoming"] for a in listed["appointments"]] == [False]
    # Its SMS not yet sent never will be: not by the next sweep, not when the reminders fall due.
    for moment in (datetime(2025, 3, 7, 10, 0), datetime(2025, 3, 11, 10, 5), datetime(2025, 3, 12, 8, 5)):
        frozen_clock.set(moment.replace(tzinfo=BERLIN))
        sweep(client)
    assert [m["kind"] for m in sms(case_id) if m["status"] == "queued"] == ["intake_received"]
    assert by_kind(sms(case_id)).count(("reminder", "cancelled")) == 2
    assert len(fake_sender.accepted) == 1
    assert settle(client) == {"settled": 0, "skipped": 0}  # nothing upcoming left to settle
    assert case_status(anna, case_id) == "claimed"
    frozen_clock.advance(minutes=1)
    status, body = anna.post(f"{path}/attendance", {"attended": False})  # a correction, still before the start
    assert status == 200 and body["appointment"]["status"] == "no_show" and body["case_status"] == "claimed"
    assert anna.delete(path)[1]["code"] == "invalid_transition"  # attendance recorded: no longer cancellable
    status, body = anna.post(f"/staff/cases/{case_id}/release")
    assert status == 200, body


def test_attendance_before_the_start_keeps_the_case_scheduled_while_another_is_upcoming(
    anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock
) -> None:
    _, first = anna.book(case_id, "2025-03-12T10:00")
    _, second = anna.book(case_id, "2025-03-19T10:00")
    first_path = f"/staff/cases/{case_id}/appointments/{first['appointment']['appointment_id']}"
    status, body = anna.post(f"{first_path}/attendance", {"attended": False})
    assert status == 200 and body["case_status"] == "scheduled"
    pending = [m for m in sms(case_id) if m["status"] == "pending"]
    assert {m["appointment_id"] for m in pending} == {second["appointment"]["appointment_id"]}  # only its own stop
    second_path = f"/staff/cases/{case_id}/appointments/{second['appointment']['appointment_id']}"
    status, body = anna.post(f"{second_path}/attendance", {"attended": True})
    assert status == 200 and body["case_status"] == "claimed"
    status, body = anna.post(f"{second_path}/attendance", {"attended": True})  # the same answer again
    assert status == 200 and body["appointment"]["status"] == "attended"


def test_attendance_cannot_be_recorded_for_a_cancelled_appointment(anna: Desk, case_id: str) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    assert anna.delete(path)[0] == 200
    status, body = anna.post(f"{path}/attendance", {"attended": True})
    assert (status, body["code"]) == (409, "invalid_transition")


def test_a_started_appointment_cannot_be_moved_or_cancelled(
    anna: Desk, case_id: str, frozen_clock: FrozenClock
) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    frozen_clock.set(datetime(2025, 3, 12, 10, 5, tzinfo=BERLIN))
    status, body = anna.patch(path, {"start": "2025-03-20T10:00"})
    assert status == 409 and body["code"] == "appointment_started"
    status, body = anna.delete(path)
    assert status == 409 and body["code"] == "appointment_started"


def test_the_case_returns_to_claimed_once_its_last_appointment_has_begun(
    anna: Desk, case_id: str, client: Client, frozen_clock: FrozenClock
) -> None:
    _, first = anna.book(case_id, "2025-03-12T10:00")
    anna.book(case_id, "2025-03-19T10:00")
    frozen_clock.set(datetime(2025, 3, 12, 10, 1, tzinfo=BERLIN))
    assert settle(client) == {"settled": 1, "skipped": 0}
    assert case_status(anna, case_id) == "scheduled"  # the second one is still upcoming
    frozen_clock.set(datetime(2025, 3, 19, 10, 0, tzinfo=BERLIN))
    assert settle(client) == {"settled": 1, "skipped": 0}
    assert case_status(anna, case_id) == "claimed"
    assert settle(client) == {"settled": 0, "skipped": 0}  # idempotent
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert [(a["status"], a["upcoming"]) for a in listed["appointments"]] == [("booked", False), ("booked", False)]
    path = f"/staff/cases/{case_id}/appointments/{first['appointment']['appointment_id']}/attendance"
    status, body = anna.post(path, {"attended": True})
    assert status == 200 and body["case_status"] == "claimed"


def test_the_list_shows_every_appointment_oldest_first_and_is_audited(
    anna: Desk, case_id: str, frozen_clock: FrozenClock
) -> None:
    anna.book(case_id, "2025-03-19T10:00")
    anna.book(case_id, "2025-03-12T10:00")
    frozen_clock.advance(minutes=1)  # audit entries sort by time
    status, body = anna.get(f"/staff/cases/{case_id}/appointments")
    assert status == 200
    assert [a["start_local"] for a in body["appointments"]] == ["2025-03-12T10:00+01:00", "2025-03-19T10:00+01:00"]
    assert body["case_status"] == "scheduled" and body["attention"] == []
    _, audit = anna.get(f"/staff/cases/{case_id}/audit")
    assert audit["entries"][0]["action"] == "view_appointments"


# --- who may ------------------------------------------------------------------------------------


def test_another_institution_gets_404_on_every_appointment_endpoint(
    anna: Desk, case_id: str, desk: Callable[..., Desk]
) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    stranger = desk(VIA, name="Vera Fremd")
    body = {"start": "2025-03-13T10:00", "duration_minutes": 30, "location": "x"}
    answers = [
        stranger.get(f"/staff/cases/{case_id}/appointments"),
        stranger.post(f"/staff/cases/{case_id}/appointments", body),
        stranger.post(f"/staff/cases/{case_id}/appointments", {"nonsense": 1}),  # 404 before validation
        stranger.patch(path, {"start": "2025-03-13T10:00"}),
        stranger.delete(path),
        stranger.post(f"{path}/attendance", {"attended": True}),
        stranger.get(f"/staff/cases/{case_id}/messages"),
    ]
    assert [(status, answer["code"]) for status, answer in answers] == [(404, "not_found")] * len(answers)
    assert case_status(anna, case_id) == "scheduled"


def test_an_unknown_appointment_is_404(anna: Desk, case_id: str) -> None:
    status, body = anna.delete(f"/staff/cases/{case_id}/appointments/nope")
    assert (status, body["code"]) == (404, "not_found")


def test_only_the_holder_or_a_coordinator_books_and_changes(
    anna: Desk, case_id: str, desk: Callable[..., Desk], submit_case: Callable[..., dict[str, Any]]
) -> None:
    colleague = desk(LMU, name="Ben Vogel")
    status, body = colleague.book(case_id, "2025-03-12T10:00")
    assert status == 403 and body["claimed_by_name"] == "Anna Berger"
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    assert colleague.patch(path, {"start": "2025-03-12T11:00"})[0] == 403
    assert colleague.delete(path)[0] == 403
    assert colleague.get(f"/staff/cases/{case_id}/appointments")[0] == 200  # colleagues may read
    coordinator = desk(VIA, role="coordinator", name="Clara Coordinator")
    status, body = coordinator.book(case_id, "2025-03-12T10:30")  # into Anna's calendar: she is busy then
    assert status == 409 and body["code"] == "appointment_overlap"
    status, body = coordinator.patch(path, {"start": "2025-03-12T14:00"})
    assert status == 200 and body["appointment"]["staff_id"] == booked["appointment"]["staff_id"]
    unclaimed = submit_case("health")["case_id"]
    status, body = anna.book(unclaimed, "2025-03-12T10:00")
    assert status == 409 and body["code"] == "invalid_transition"


def test_booking_actions_are_audited_without_personal_data(
    anna: Desk, case_id: str, frozen_clock: FrozenClock, valid_intake: dict[str, Any]
) -> None:
    _, booked = anna.book(case_id, "2025-03-12T10:00", note="Layla brings her diploma")
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}"
    frozen_clock.advance(minutes=1)  # audit entries sort by time
    anna.patch(path, {"start": "2025-03-12T11:00"})
    frozen_clock.advance(minutes=1)
    _, again = anna.book(case_id, "2025-03-13T11:00")
    frozen_clock.advance(minutes=1)
    anna.delete(f"/staff/cases/{case_id}/appointments/{again['appointment']['appointment_id']}")
    frozen_clock.set(datetime(2025, 3, 12, 11, 30, tzinfo=BERLIN))
    anna.post(f"{path}/attendance", {"attended": True})
    _, audit = anna.get(f"/staff/cases/{case_id}/audit?limit=100")
    actions = [e["action"] for e in reversed(audit["entries"]) if e["action"].startswith(("appointment", "attend"))]
    assert actions == [
        "appointment_booked",
        "appointment_rescheduled",
        "appointment_booked",
        "appointment_cancelled",
        "attendance_recorded",
    ]
    text = json.dumps(audit)
    assert "Layla" not in text and "Haddad" not in text and "5112345678" not in text and "diploma" not in text
    _, case = anna.get(f"/staff/cases/{case_id}")
    history = [h["action"] for h in case["history"] if h["action"].startswith(("appointment", "attend"))]
    assert history == actions


def test_the_openapi_document_lists_409_for_booking_and_changes_and_no_start_condition_for_attendance(
    client: Client,
) -> None:
    document = json.loads(client.http.get("/openapi.json").body)
    collection = document["paths"]["/staff/cases/{case_id}/appointments"]
    one = document["paths"]["/staff/cases/{case_id}/appointments/{appointment_id}"]
    for operation in (collection["post"], one["patch"]):
        assert "409" in operation["responses"] and "in_the_past" in operation["description"]
    assert "409" in one["delete"]["responses"]
    attendance = document["paths"]["/staff/cases/{case_id}/appointments/{appointment_id}/attendance"]["post"]
    text = json.dumps(attendance)
    assert "appointment_not_started" not in text and "once the appointment has begun" not in text
