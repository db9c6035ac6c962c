"""Appointments: reading the time staff typed (Europe/Berlin), the rules for booking and changing,
and each staff member's calendar that makes double bookings impossible. No I/O.

Times are kept in UTC (aware datetimes) and shown with Berlin's offset; durations are absolute
minutes, so an appointment across a DST change still lasts what was booked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.cases import CLAIMED, CLOSED, ROUTED, SCHEDULED, Case, HistoryEntry, iso
from chalicelib.domain.staff import AuditEntry, StaffIdentity, check_not_erased
from chalicelib.domain.text import multi_line, one_line
from chalicelib.errors import (
    AppointmentOverlapError,
    AppointmentStartedError,
    FieldError,
    ForbiddenError,
    InvalidTransitionError,
    StartInThePastError,
    ValidationError,
)

BERLIN = ZoneInfo("Europe/Berlin")
MAX_AHEAD = timedelta(days=366)  # a year and a day: a typo such as 2062 is refused, next year's date is not

# Appointment statuses.
BOOKED = "booked"
CANCELLED = "cancelled"
ATTENDED = "attended"
NO_SHOW = "no_show"

# Audit and history actions (issue 3 left appointment actions to this feature).
APPOINTMENT_BOOKED = "appointment_booked"
APPOINTMENT_RESCHEDULED = "appointment_rescheduled"
APPOINTMENT_CANCELLED = "appointment_cancelled"
ATTENDANCE_RECORDED = "attendance_recorded"
APPOINTMENT_PASSED = "appointment_passed"  # the system: the appointment began, nothing upcoming is left
VIEW_APPOINTMENTS = "view_appointments"
VIEW_MESSAGES = "view_messages"
SMS_ATTENTION = "sms_attention"  # an SMS staff must act on (a `2`, CANCEL, or one that never arrived)
ATTENTION_RESOLVED = "attention_resolved"  # staff dealt with a flag themselves (e.g. called the applicant)

# Who acts when no person does (the settling schedule, closing a case's leftovers).
SYSTEM = StaffIdentity(staff_id="system", name="appointment schedule", role="system", partner=None)

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?$")


def _start_error(code: str, message: str) -> ValidationError:
    return ValidationError([FieldError("start", code, message)])


def parse_start(text: str, zone: ZoneInfo = BERLIN) -> datetime:
    """ISO 8601 with an offset, or a wall-clock time read in `zone`; returned in UTC.

    A local time that the spring-forward change skips does not exist: refused, naming `start`.
    A local time that the autumn change repeats is read as the earlier one (fold=0, summer time).
    """
    if not _TIMESTAMP.match(text.strip()):
        raise _start_error(
            "invalid_datetime",
            "start must be a date and time such as 2026-05-04T10:30 (Europe/Berlin) or 2026-05-04T08:30:00Z.",
        )
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise _start_error("invalid_datetime", f"start is not a valid date and time ({error}).") from error
    if moment.tzinfo is None:
        local = moment.replace(tzinfo=zone, fold=0)
        if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment:
            raise _start_error(
                "nonexistent_local_time",
                f"start {text.strip()} does not exist in {zone.key}: the clocks jump forward over that hour "
                "(summer time begins). Choose a time outside it or give an explicit offset.",
            )
        moment = local
    return moment.astimezone(UTC)


def check_start(start: datetime, now: datetime) -> None:
    """A past (or this very) moment is a conflict (409 `in_the_past`); a typo of a year is invalid (400)."""
    if start <= now:
        raise StartInThePastError(
            f"start {berlin_text(start)} is in the past (now {berlin_text(now)}); appointments need a future time."
        )
    if start > now + MAX_AHEAD:
        raise _start_error("too_far_ahead", "start is more than a year ahead; check the year.")


def berlin_text(moment: datetime) -> str:
    return moment.astimezone(BERLIN).isoformat(timespec="minutes")


@dataclass(frozen=True)
class Slot:
    """One booking in a staff member's calendar: [start, end)."""

    appointment_id: str
    case_id: str
    start: datetime
    end: datetime

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end  # back to back (end == start) is fine

    def as_dict(self) -> dict[str, str]:
        return {
            "appointment_id": self.appointment_id,
            "case_id": self.case_id,
            "start": iso(self.start),
            "end": iso(self.end),
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Slot:
        start, end = datetime.fromisoformat(data["start"]), datetime.fromisoformat(data["end"])
        return cls(data["appointment_id"], data["case_id"], start, end)


@dataclass(frozen=True)
class Calendar:
    """A staff member's booked time. `version` 0 means no item is stored yet.

    Every booking, move and cancellation writes the next version on the condition that the
    stored one is still the version read, so two bookings of one person can never both pass
    the overlap check (the loser re-reads and sees the winner's slot).
    """

    staff_id: str
    version: int = 0
    slots: tuple[Slot, ...] = ()

    def clash(self, start: datetime, end: datetime, ignore: str | None = None) -> Slot | None:
        return next((s for s in self.slots if s.appointment_id != ignore and s.overlaps(start, end)), None)

    def _next(self, slots: list[Slot], now: datetime) -> Calendar:
        # Ended slots are dropped: new appointments are always in the future, and the item stays small.
        kept = sorted((s for s in slots if s.end > now), key=lambda s: s.start)
        return replace(self, version=self.version + 1, slots=tuple(kept))

    def with_slot(self, slot: Slot, now: datetime) -> Calendar:
        return self._next([s for s in self.slots if s.appointment_id != slot.appointment_id] + [slot], now)

    def without(self, appointment_id: str, now: datetime) -> Calendar:
        return self._next([s for s in self.slots if s.appointment_id != appointment_id], now)


@dataclass
class Appointment:
    appointment_id: str
    case_id: str
    partner: str
    staff_id: str  # whose calendar: the holder of the case
    staff_name: str
    start: datetime  # aware, UTC
    duration_minutes: int
    location: str | None
    online_url: str | None
    note: str | None
    status: str
    created_at: str
    updated_at: str
    booked_by: str
    version: int = 1
    reschedules: int = 0
    attended: bool | None = None
    attendance_recorded_at: str | None = None
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    settled: bool = False  # the start has passed and the case no longer counts it as upcoming
    # With an Idempotency-Key: the hash of the booking request, so a repeat is answered, not rebooked.
    booking_request_hash: str | None = None

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.duration_minutes)

    @property
    def mode(self) -> str:
        return "online" if self.online_url else "in_person"

    def is_upcoming(self, now: datetime) -> bool:
        return self.status == BOOKED and self.start > now

    def is_not_over(self, now: datetime) -> bool:
        """Booked and not yet ended: an applicant running late still finds the room or the meeting link."""
        return self.status == BOOKED and self.end > now

    def is_booked_at(self, start: datetime, place: str | None = None) -> bool:
        """Still booked, for this start and `place` (what an SMS planned for it names; None: not known).

        Without a place of its own the SMS named the partner's address, which staff cannot change here.
        """
        if self.status != BOOKED or self.start != start:
            return False
        own = self.online_url or self.location
        return place is None or own is None or own == place

    def is_called_off(self, now: datetime) -> bool:
        """Cancelled before it was due to begin, and that moment is still ahead."""
        return self.status == CANCELLED and self.start > now

    def slot(self) -> Slot:
        return Slot(self.appointment_id, self.case_id, self.start, self.end)

    def codes(self) -> dict[str, Any]:
        """What the audit log and the case history may hold: ids, times and codes, no free text."""
        return {
            "appointment_id": self.appointment_id,
            "start": iso(self.start),
            "duration_minutes": self.duration_minutes,
            "mode": self.mode,
            "staff_id": self.staff_id,
        }

    def _when(self) -> dict[str, Any]:
        return {
            "appointment_id": self.appointment_id,
            "start": iso(self.start),
            "end": iso(self.end),
            "duration_minutes": self.duration_minutes,
            "mode": self.mode,
        }

    def for_applicant(self) -> dict[str, Any]:
        """What the applicant's status page shows: when and where, never the staff note or staff ids."""
        return {**self._when(), "location": self.location, "online_url": self.online_url}

    def cancellation_for_applicant(self) -> dict[str, Any]:
        """A cancelled appointment on the status page: which one it was, never why or by whom."""
        return {**self._when(), "cancelled_at": self.cancelled_at}

    def as_dict(self) -> dict[str, Any]:
        return {
            "appointment_id": self.appointment_id,
            "case_id": self.case_id,
            "partner": self.partner,
            "staff_id": self.staff_id,
            "staff_name": self.staff_name,
            "start": iso(self.start),
            "start_local": berlin_text(self.start),
            "end": iso(self.end),
            "end_local": berlin_text(self.end),
            "duration_minutes": self.duration_minutes,
            "mode": self.mode,
            "location": self.location,
            "online_url": self.online_url,
            "note": self.note,
            "status": self.status,
            "attended": self.attended,
            "attendance_recorded_at": self.attendance_recorded_at,
            "cancelled_at": self.cancelled_at,
            "cancel_reason": self.cancel_reason,
            "reschedules": self.reschedules,
            "booked_by": self.booked_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class AppointmentRequest:
    """A checked booking or change: every field optional for a change (None = keep)."""

    start: datetime | None = None
    duration_minutes: int | None = None
    location: str | None = None
    online_url: str | None = None
    note: str | None = None
    has_note: bool = False  # an empty note clears it

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> AppointmentRequest:
        def text(name: str, clean: Callable[[str], str] = one_line) -> str | None:
            value = body.get(name)
            return (clean(value) or None) if isinstance(value, str) else None

        return cls(
            start=parse_start(body["start"]) if "start" in body else None,
            duration_minutes=body.get("duration_minutes"),
            location=text("location"),
            online_url=text("online_url"),
            note=text("note", multi_line),
            has_note="note" in body,
        )


@dataclass(frozen=True)
class Change:
    """One appointment event, written at once: the appointment, the calendar, the case and the audit entry."""

    case_before: Case
    case_after: Case
    appointment_before: Appointment | None
    appointment_after: Appointment
    calendar_before: Calendar | None = None  # None: the calendar is not touched
    calendar_after: Calendar | None = None
    # Anonymous statistics on the case (issue 7), added in the same transaction: ("appointments", 1), ...
    counters: tuple[tuple[str, int], ...] = ()
    # The case's new earliest booked start (time to first appointment), when this one is earlier.
    first_appointment_at: str | None = None


@dataclass(frozen=True)
class Cancellations:
    """Upcoming appointments a case change cancels in its own write (a close): each appointment
    before and after, each holder's calendar before and after, and an audit entry per appointment.
    One write, so a closed case can never keep an appointment that holds someone's time."""

    appointments: tuple[tuple[Appointment, Appointment], ...] = ()
    calendars: tuple[tuple[Calendar, Calendar], ...] = ()
    audit: tuple[AuditEntry, ...] = ()

    @property
    def counters(self) -> tuple[tuple[str, int], ...]:
        return (("appointments", -len(self.appointments)),) if self.appointments else ()


# --- rules -----------------------------------------------------------------------------------


def _require_holder(case: Case, who: StaffIdentity, verb: str) -> None:
    if case.claimed_by != who.staff_id and not who.is_coordinator:
        holder = case.claimed_by_name or "a colleague"
        raise ForbiddenError(
            f"{holder} holds this case; only they or a coordinator can {verb} its appointments.",
            claimed_by_name=case.claimed_by_name,
        )


def check_can_book(case: Case, who: StaffIdentity) -> None:
    check_not_erased(case)
    if case.status == ROUTED:
        raise InvalidTransitionError("Claim this case before booking an appointment.")
    if case.status == CLOSED:
        raise InvalidTransitionError("This case is closed; it cannot get new appointments.")
    if case.claimed_by is None:
        raise InvalidTransitionError("Nobody holds this case; claim it before booking an appointment.")
    _require_holder(case, who, "book")


def check_can_change(case: Case, who: StaffIdentity, appointment: Appointment, now: datetime, verb: str) -> None:
    """Rescheduling and cancelling: the holder (or a coordinator), a booked appointment not yet begun."""
    done = {"cancel": "cancelled", "reschedule": "rescheduled"}.get(verb, f"{verb}d")
    check_not_erased(case)
    if case.status == CLOSED:
        raise InvalidTransitionError(f"This case is closed; its appointments cannot be {done}.")
    _require_holder(case, who, verb)
    if appointment.status == CANCELLED:
        raise InvalidTransitionError(f"This appointment is cancelled; it cannot be {done}. Book a new one.")
    if appointment.status != BOOKED:
        raise InvalidTransitionError(f"Attendance is recorded for this appointment; it cannot be {done}.")
    if appointment.start <= now:
        raise AppointmentStartedError(
            f"This appointment began at {berlin_text(appointment.start)}; it cannot be {done}. "
            "Record attendance instead, and book a new appointment if needed."
        )


def check_attendance(case: Case, who: StaffIdentity, appointment: Appointment) -> None:
    """Attendance may be recorded (or corrected) for any appointment not cancelled, at any time, also on
    a closed case. Recorded before the start, the appointment is over for the applicant: the service
    stops its unsent SMS, and it no longer counts as upcoming."""
    check_not_erased(case)
    _require_holder(case, who, "record attendance for")
    if appointment.status == CANCELLED:
        raise InvalidTransitionError("This appointment was cancelled; there is no attendance to record.")


def attendance_counters(previous: bool | None, attended: bool) -> tuple[tuple[str, int], ...]:
    """Statistics counters for recording (or correcting) attendance: attended / no_shows."""
    name = {True: "attended", False: "no_shows"}
    if previous == attended:
        return ()
    added = ((name[attended], 1),)
    return added if previous is None else ((name[previous], -1), *added)


def overlap_error(slot: Slot) -> AppointmentOverlapError:
    return AppointmentOverlapError(
        f"The staff member already has an appointment from {berlin_text(slot.start)} to "
        f"{berlin_text(slot.end)}; choose another time.",
        conflicting_appointment={
            "appointment_id": slot.appointment_id,
            "case_id": slot.case_id,
            "start": iso(slot.start),
            "end": iso(slot.end),
        },
    )


def earlier_first_appointment(case: Case, start: datetime) -> str | None:
    """`start` as the case's new first appointment if none booked before began earlier, else None."""
    at = iso(start)
    return at if case.first_appointment_at is None or at < case.first_appointment_at else None


def case_status_after(case: Case, upcoming_left: bool) -> str:
    """`scheduled` while an appointment is upcoming; a closed case stays closed."""
    if case.status == CLOSED:
        return CLOSED
    return SCHEDULED if upcoming_left else CLAIMED


def case_event(case: Case, who: StaffIdentity, now: datetime, action: str, status: str, **detail: Any) -> Case:
    """The case after an appointment event: its status and one more history entry."""
    entry = HistoryEntry(iso(now), action, case.partner, who.staff_id, {"by_name": who.name, **detail})
    return replace(case, status=status, updated_at=iso(now), history=[*case.history, entry])


# --- what needs staff's attention ----------------------------------------------------------

# Why a case shows "please check": the applicant replied 2 (cannot come), sent CANCEL (and opted
# out), an SMS to them finally failed (wrong or unreachable number: they may not know of the
# appointment), or the SMS they asked for cannot go to their number's country at all.
# schemas/attention-resolve.schema.json lists the same reasons.
CANNOT_COME = "cannot_come"
CANCEL_OPT_OUT = "cancel_opt_out"
SMS_NOT_DELIVERED = "sms_not_delivered"
SMS_NOT_POSSIBLE = "sms_not_possible"
ATTENTION_REASONS = (CANNOT_COME, CANCEL_OPT_OUT, SMS_NOT_DELIVERED, SMS_NOT_POSSIBLE)
# Only staff settle these: booking or moving an appointment says nothing about whether SMS reach the number.
_ABOUT_THE_NUMBER = (SMS_NOT_DELIVERED, SMS_NOT_POSSIBLE)

_RESOLVES = (APPOINTMENT_RESCHEDULED, APPOINTMENT_CANCELLED, ATTENDANCE_RECORDED)


def open_attention(history: list[HistoryEntry]) -> list[dict[str, Any]]:
    """SMS still waiting for staff, until the appointment they concern is moved, cancelled or its
    attendance recorded, or staff mark them resolved. A CANCEL naming no appointment is handled by
    any appointment's; an undelivered SMS naming none (the confirmation) only by staff: booking or
    moving an appointment says nothing about whether the number works. An erased case's flags have
    lost their reason with its free text: nothing is left to act on."""
    flags: list[HistoryEntry] = []
    for entry in history:
        if entry.action == SMS_ATTENTION and entry.detail.get("reason") in ATTENTION_REASONS:
            flags.append(entry)
        elif entry.action in _RESOLVES:
            done = entry.detail.get("appointment_id")
            flags = [f for f in flags if not _settled_by(f.detail, done)]
        elif entry.action == ATTENTION_RESOLVED:
            flags = [f for f in flags if not _same_flag(f.detail, entry.detail)]
    return [
        {"at": f.at, "reason": f.detail.get("reason"), "appointment_id": f.detail.get("appointment_id")} for f in flags
    ]


def _settled_by(flag: dict[str, Any], appointment_id: str | None) -> bool:
    named = flag.get("appointment_id")
    return named == appointment_id or (named is None and flag.get("reason") not in _ABOUT_THE_NUMBER)


def _same_flag(one: dict[str, Any], other: dict[str, Any]) -> bool:
    return one.get("reason") == other.get("reason") and one.get("appointment_id") == other.get("appointment_id")


def is_open_attention(history: list[HistoryEntry], reason: str, appointment_id: str | None) -> bool:
    return any(f["reason"] == reason and f["appointment_id"] == appointment_id for f in open_attention(history))


def attention_resolved(
    case: Case, who: StaffIdentity, now: datetime, reason: str, appointment_id: str | None, note: str | None
) -> Case:
    """The case after staff marked a flag resolved; its status and holder stay as they are."""
    detail: dict[str, Any] = {"reason": reason}
    if appointment_id is not None:
        detail["appointment_id"] = appointment_id
    if note:
        detail["note"] = note
    return case_event(case, who, now, ATTENTION_RESOLVED, case.status, **detail)
