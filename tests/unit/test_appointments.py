"""Appointment rules without storage: reading start times (offsets, Berlin wall clock, DST gap and
fold), the past and the far future, a staff member's calendar, attention flags, statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.appointments import (
    APPOINTMENT_CANCELLED,
    APPOINTMENT_RESCHEDULED,
    ATTENDANCE_RECORDED,
    ATTENTION_REASONS,
    ATTENTION_RESOLVED,
    SMS_ATTENTION,
    Calendar,
    Slot,
    StartInThePastError,
    attendance_counters,
    check_start,
    is_open_attention,
    open_attention,
    parse_start,
)
from chalicelib.domain.cases import HistoryEntry
from chalicelib.errors import ConflictError, ValidationError
from chalicelib.schemas import load_schema


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def start_error(text: str) -> tuple[str, str]:
    with pytest.raises(ValidationError) as raised:
        parse_start(text)
    [error] = raised.value.errors
    return error.field, error.code


# --- reading the time staff typed -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-05-04T10:30", utc(2026, 5, 4, 8, 30)),  # Berlin summer time, UTC+2
        ("2026-01-15T10:30", utc(2026, 1, 15, 9, 30)),  # winter time, UTC+1
        ("2026-05-04 10:30:00", utc(2026, 5, 4, 8, 30)),
        ("2026-05-04T08:30:00Z", utc(2026, 5, 4, 8, 30)),
        ("2026-05-04T10:30+02:00", utc(2026, 5, 4, 8, 30)),
        ("2026-05-04T09:30:00.000+0100", utc(2026, 5, 4, 8, 30)),
        ("2026-05-04T12:30-04:00", utc(2026, 5, 4, 16, 30)),  # an offset is taken as given
    ],
)
def test_offsets_and_berlin_wall_clock_times(text: str, expected: datetime) -> None:
    assert parse_start(text) == expected


def test_the_spring_forward_gap_does_not_exist() -> None:
    # 28 March 2027: 02:00 Berlin becomes 03:00; nothing in between happens.
    for text in ("2027-03-28T02:00", "2027-03-28T02:30", "2027-03-28T02:59"):
        assert start_error(text) == ("start", "nonexistent_local_time")
    assert parse_start("2027-03-28T01:59") == utc(2027, 3, 28, 0, 59)
    assert parse_start("2027-03-28T03:00") == utc(2027, 3, 28, 1, 0)
    assert parse_start("2027-03-28T02:30+01:00") == utc(2027, 3, 28, 1, 30)  # with an offset it is a real instant


def test_the_autumn_fold_is_read_as_the_earlier_time() -> None:
    # 25 October 2026: 03:00 summer time becomes 02:00 winter time; 02:00–02:59 happen twice.
    assert parse_start("2026-10-25T02:30") == utc(2026, 10, 25, 0, 30)  # first pass, UTC+2
    assert parse_start("2026-10-25T02:30+01:00") == utc(2026, 10, 25, 1, 30)  # the second one, explicitly
    assert parse_start("2026-10-25T01:59") == utc(2026, 10, 24, 23, 59)
    assert parse_start("2026-10-25T03:00") == utc(2026, 10, 25, 2, 0)


@pytest.mark.parametrize(
    "text", ["2026-05-04", "04.05.2026 10:30", "2026-02-30T10:00", "2026-05-04T25:00", "tomorrow", "2026-05-04T10"]
)
def test_what_is_not_a_date_and_time(text: str) -> None:
    assert start_error(text) == ("start", "invalid_datetime")


def test_past_now_and_far_future_are_refused() -> None:
    now = utc(2026, 5, 4, 8, 0)
    check_start(now + timedelta(minutes=1), now)
    check_start(now + timedelta(days=366), now)
    for start in (now, now - timedelta(seconds=1), now - timedelta(days=400)):
        with pytest.raises(StartInThePastError) as past:  # a conflict (409), not invalid input
            check_start(start, now)
        assert isinstance(past.value, ConflictError) and past.value.code == "in_the_past"
        assert "start" in past.value.message and "in the past" in past.value.message
        assert past.value.detail["errors"] == [{"field": "start", "code": "in_the_past", "message": past.value.message}]
    with pytest.raises(ValidationError) as raised:
        check_start(now + timedelta(days=367), now)
    assert [(e.field, e.code) for e in raised.value.errors] == [("start", "too_far_ahead")]


# --- the calendar -----------------------------------------------------------------------------


def slot(appointment_id: str, hour: int, minutes: int = 60) -> Slot:
    start = utc(2026, 5, 4, hour)
    return Slot(appointment_id, f"case-{appointment_id}", start, start + timedelta(minutes=minutes))


def test_overlap_is_any_shared_minute_and_back_to_back_is_fine() -> None:
    calendar = Calendar("anna", 3, (slot("a", 9), slot("b", 11)))
    assert calendar.clash(utc(2026, 5, 4, 9, 30), utc(2026, 5, 4, 10, 30)) == slot("a", 9)
    assert calendar.clash(utc(2026, 5, 4, 8, 0), utc(2026, 5, 4, 12, 0)) == slot("a", 9)  # around both
    assert calendar.clash(utc(2026, 5, 4, 10, 0), utc(2026, 5, 4, 11, 0)) is None  # between them
    assert calendar.clash(utc(2026, 5, 4, 8, 0), utc(2026, 5, 4, 9, 0)) is None
    assert calendar.clash(utc(2026, 5, 4, 9, 0), utc(2026, 5, 4, 10, 0), ignore="a") is None  # itself, moved


def test_each_change_is_the_next_version_and_ended_slots_are_dropped() -> None:
    calendar = Calendar("anna")
    now = utc(2026, 5, 4, 10, 30)
    booked = calendar.with_slot(slot("a", 9), utc(2026, 5, 4, 8, 0)).with_slot(slot("b", 11), now)
    assert booked.version == 2
    assert [s.appointment_id for s in booked.slots] == ["b"]  # "a" ended at 10:00
    moved = booked.with_slot(slot("b", 13), now)
    assert [(s.appointment_id, s.start.hour) for s in moved.slots] == [("b", 13)]
    assert moved.without("b", now).slots == () and moved.without("b", now).version == 4
    assert Slot.from_dict(slot("b", 13).as_dict()) == slot("b", 13)


# --- attention and statistics -------------------------------------------------------------------


def entry(action: str, **detail: str) -> HistoryEntry:
    return HistoryEntry("2026-05-04T08:00:00.000000+00:00", action, "lmu-klinikum", None, dict(detail))


def test_a_2_stays_open_until_its_appointment_is_handled() -> None:
    history = [
        entry(SMS_ATTENTION, reason="cannot_come", appointment_id="a"),
        entry(SMS_ATTENTION, reason="cannot_come", appointment_id="b"),
        entry(APPOINTMENT_RESCHEDULED, appointment_id="a"),
    ]
    assert [(f["reason"], f["appointment_id"]) for f in open_attention(history)] == [("cannot_come", "b")]
    assert open_attention([*history, entry(APPOINTMENT_CANCELLED, appointment_id="b")]) == []


def test_a_cancel_naming_no_appointment_is_handled_by_any_appointment_action() -> None:
    history = [entry(SMS_ATTENTION, reason="cancel_opt_out")]
    assert [f["reason"] for f in open_attention(history)] == ["cancel_opt_out"]
    assert open_attention([*history, entry(ATTENDANCE_RECORDED, appointment_id="z")]) == []
    assert open_attention([*history, entry("claimed")]) != []  # other case events leave it open


def test_staff_resolve_one_flag_by_its_reason_and_appointment() -> None:
    history = [
        entry(SMS_ATTENTION, reason="sms_not_delivered", appointment_id="a"),
        entry(SMS_ATTENTION, reason="cannot_come", appointment_id="a"),
        entry(SMS_ATTENTION, reason="sms_not_delivered"),
        entry(ATTENTION_RESOLVED, reason="sms_not_delivered", appointment_id="a"),
    ]
    assert [(f["reason"], f["appointment_id"]) for f in open_attention(history)] == [
        ("cannot_come", "a"),
        ("sms_not_delivered", None),
    ]
    assert is_open_attention(history, "sms_not_delivered", None)
    assert not is_open_attention(history, "sms_not_delivered", "a")
    resolved = [*history, entry(ATTENTION_RESOLVED, reason="sms_not_delivered")]
    assert [f["reason"] for f in open_attention(resolved)] == ["cannot_come"]
    # A later failure of the same kind is a new flag: the resolution before it does not hide it.
    again = [*resolved, entry(SMS_ATTENTION, reason="sms_not_delivered", appointment_id="a")]
    assert ("sms_not_delivered", "a") in [(f["reason"], f["appointment_id"]) for f in open_attention(again)]


def test_an_undelivered_confirmation_waits_for_staff_not_for_any_appointment() -> None:
    """Booking or moving an appointment says nothing about whether the number works; a CANCEL naming
    no appointment is still handled by any appointment's cancellation or move."""
    history = [entry(SMS_ATTENTION, reason="sms_not_delivered"), entry(SMS_ATTENTION, reason="cancel_opt_out")]
    moved = [*history, entry(APPOINTMENT_RESCHEDULED, appointment_id="a")]
    assert [(f["reason"], f["appointment_id"]) for f in open_attention(moved)] == [("sms_not_delivered", None)]


def test_an_erased_cases_flags_are_gone_with_their_reason() -> None:
    # Erasure keeps only codes from the allow-list (domain/privacy.py): a flag's reason is not one.
    assert open_attention([entry(SMS_ATTENTION), entry("erased", reason="applicant_request")]) == []


def test_the_resolve_schema_names_every_reason_a_flag_can_have() -> None:
    assert load_schema("attention-resolve")["properties"]["reason"]["enum"] == list(ATTENTION_REASONS)


def test_attendance_counters_for_first_recording_and_corrections() -> None:
    assert attendance_counters(None, True) == (("attended", 1),)
    assert attendance_counters(None, False) == (("no_shows", 1),)
    assert attendance_counters(True, False) == (("attended", -1), ("no_shows", 1))
    assert attendance_counters(False, False) == ()


def test_the_change_schema_describes_the_same_fields_as_the_booking_schema() -> None:
    # Two files (a PATCH needs no required fields); one set of field rules.
    assert load_schema("appointment-change")["properties"] == load_schema("appointment")["properties"]
