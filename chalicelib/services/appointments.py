"""Appointments for staff: book, move, cancel, record attendance, list; the case's SMS log; and the
SMS these actions cause (booking, change, cancellation, reminders). What happens to appointments
otherwise (the settling schedule, transfers, closes, applicants' rights) is appointment_upkeep.py.

Visibility first (another institution's case answers 404 like a missing one, on every endpoint),
then the rule, then one conditional transaction per event (appointment, the holder's calendar,
the case, the audit entry). After a lost race the service re-reads and decides again: a second
booking of the same slot then sees the first and gets 409 `appointment_overlap`, unless it is the
same request again (same Idempotency-Key; or, without one, the same body from the same person
right after): that is answered with the first booking.

SMS are planned after the transaction, as records the `send_due_messages` sweep sends: a
planning failure never undoes a booking. Busy storage there is a 503, whose retry is answered as
done and plans them; any other failure is logged and the answer says `sms_planned: false`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain.appointments import (
    APPOINTMENT_BOOKED,
    APPOINTMENT_CANCELLED,
    APPOINTMENT_RESCHEDULED,
    ATTENDANCE_RECORDED,
    ATTENDED,
    BOOKED,
    CANCELLED,
    NO_SHOW,
    VIEW_APPOINTMENTS,
    VIEW_MESSAGES,
    Appointment,
    AppointmentRequest,
    Change,
    attendance_counters,
    case_event,
    case_status_after,
    check_attendance,
    check_can_book,
    check_can_change,
    check_start,
    earlier_first_appointment,
    open_attention,
    overlap_error,
)
from chalicelib.domain.cases import CLOSED, SCHEDULED, Case, iso
from chalicelib.domain.idempotency import key_error, keyed_appointment_id, request_hash
from chalicelib.domain.partners import Partner
from chalicelib.domain.staff import AuditEntry, StaffIdentity, repeats_last_step
from chalicelib.errors import (
    ConflictError,
    IdempotencyConflictError,
    NotFoundError,
    RetryableError,
    StateChangedError,
    ValidationError,
)
from chalicelib.ports import AuditLog, CaseReader, Clock, Directory
from chalicelib.services.appointment_changes import MAX_ATTEMPTS, audit_entry, cancelled, upcoming_besides
from chalicelib.services.appointment_ports import AppointmentStore
from chalicelib.services.appointment_requests import checked
from chalicelib.services.staff import not_found

if TYPE_CHECKING:
    from chalicelib.domain.messages import Message
    from chalicelib.services.messaging import MessagingService

log = logging.getLogger(__name__)

APPOINTMENT_UPDATED = "appointment_updated"  # only the note or duration changed: no SMS


def _message_summary(message: Message) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "kind": message.kind,
        "status": message.status,
        "due_at": message.due_at.isoformat() if message.due_at else None,
        "reason": message.reason,
    }


@dataclass
class AppointmentService:
    store: AppointmentStore
    cases: CaseReader
    audit: AuditLog
    directory: Directory
    clock: Clock
    messaging: MessagingService | None = None

    # --- reading -------------------------------------------------------------------------------

    def _visible(self, who: StaffIdentity, case_id: str) -> Case:
        case = self.cases.get_case(case_id) if case_id else None
        if case is None or not who.can_see(case):
            if case is not None:
                log.warning("cross-partner case access refused", extra={"staff_id": who.staff_id, "case_id": case_id})
            raise not_found()
        return case

    def _appointment(self, case: Case, appointment_id: str) -> Appointment:
        found = self.store.get(case.case_id, appointment_id) if appointment_id else None
        if found is None:
            raise NotFoundError("No appointment with this id on this case.")
        return found

    def appointments(self, who: StaffIdentity, case_id: str) -> dict[str, Any]:
        """Every appointment of the case, oldest first, with the applicant's answer to its reminder."""
        case = self._visible(who, case_id)
        now = self.clock.now()
        self.audit.append(AuditEntry.of(who, case.case_id, VIEW_APPOINTMENTS, now))
        replies: dict[str, str] = {}
        if self.messaging is not None:
            for message in self.messaging.messages_for_case(case.case_id):  # oldest first: the last answer wins
                if message["direction"] == "inbound" and message["reply"] and message["appointment_id"]:
                    replies[message["appointment_id"]] = message["reply"]
        listed = [
            {**a.as_dict(), "upcoming": a.is_upcoming(now), "applicant_reply": replies.get(a.appointment_id)}
            for a in self.store.for_case(case.case_id)
        ]
        return {
            "case_id": case.case_id,
            "case_status": case.status,
            "attention": open_attention(case.history),
            "appointments": listed,
        }

    def messages(self, who: StaffIdentity, case_id: str) -> dict[str, Any]:
        """The case's SMS log for staff: kinds, statuses, failures, replies, and the opt-out state."""
        from chalicelib.domain.cases import sms_recipient
        from chalicelib.domain.messages import phone_hash

        case = self._visible(who, case_id)
        self.audit.append(AuditEntry.of(who, case.case_id, VIEW_MESSAGES, self.clock.now()))
        messages: list[dict[str, Any]] = []
        opted_out = False
        if self.messaging is not None:
            messages = self.messaging.messages_for_case(case.case_id)
            phone = case.intake.get("phone")
            if isinstance(phone, str) and phone.startswith("+"):
                hashed = phone_hash(phone, self.messaging.policy.phone_hash_key)
                opted_out = self.messaging.store.is_opted_out(hashed)
        return {
            "case_id": case.case_id,
            "sms_consent": sms_recipient(case) is not None,
            "opted_out": opted_out,
            # A closed case's confirmation is dropped by the run, not sent.
            "confirmation_pending": case.confirmation_pending and case.status != CLOSED,
            "attention": open_attention(case.history),
            "messages": messages,
        }

    # --- actions -------------------------------------------------------------------------------

    def book(
        self, who: StaffIdentity, case_id: str, body: Any, idempotency_key: str | None = None
    ) -> tuple[dict[str, Any], bool]:
        """The booking and whether it is the replayed answer to an earlier request with this key."""
        bad_key = key_error(idempotency_key)
        if bad_key is not None:
            raise ValidationError([bad_key])
        first = self._visible(who, case_id)
        request = AppointmentRequest.from_body(checked("appointment", body, place_required=True))
        start, duration = request.start, int(request.duration_minutes or 0)
        assert start is not None  # required by the schema
        body_hash = request_hash(body)
        if idempotency_key is None:
            appointment_id = uuid.uuid4().hex
            replay = self._booked_just_now(first, who, body_hash)
        else:
            appointment_id = keyed_appointment_id(case_id, idempotency_key)
            replay = self._booked_already(first, appointment_id, body_hash)
        if replay is not None:
            return replay, True

        def decide(case: Case, now: datetime) -> Change:
            check_can_book(case, who)
            check_start(start, now)
            holder = case.claimed_by or ""
            calendar = self.store.calendar(holder)
            clash = calendar.clash(start, start + timedelta(minutes=duration))
            if clash is not None:
                raise overlap_error(clash)
            appointment = Appointment(
                appointment_id=appointment_id,
                case_id=case.case_id,
                partner=case.partner,
                staff_id=holder,
                staff_name=case.claimed_by_name or "",
                start=start,
                duration_minutes=duration,
                location=request.location,
                online_url=request.online_url,
                note=request.note,
                status=BOOKED,
                created_at=iso(now),
                updated_at=iso(now),
                booked_by=who.staff_id,
                booking_request_hash=body_hash,
            )
            after = case_event(case, who, now, APPOINTMENT_BOOKED, SCHEDULED, **appointment.codes())
            slot_taken = calendar.with_slot(appointment.slot(), now)
            first = earlier_first_appointment(case, start)
            counters = (("appointments", 1),)
            return Change(case, after, None, appointment, calendar, slot_taken, counters, first_appointment_at=first)

        try:
            change, now = _required(self._commit(who, first, decide))
        except ConflictError:
            # A twin request may have booked it meanwhile (its slot now clashes): answer as it did.
            current = self.cases.get_case(case_id) or first
            if idempotency_key is not None:
                replay = self._booked_already(current, appointment_id, body_hash)
            else:
                replay = self._booked_just_now(current, who, body_hash)
            if replay is None:
                raise
            return replay, True
        planned, ok = self._sms(
            change.case_after,
            lambda sms, partner: sms.plan_appointment_messages(
                change.case_after, change.appointment_after, partner, now
            ),
        )
        return self._result(change, planned, ok), False

    def _booked_already(self, case: Case, appointment_id: str, body_hash: str) -> dict[str, Any] | None:
        """The answer for the booking an Idempotency-Key already made on `case` (as read just now)."""
        existing = self.store.get(case.case_id, appointment_id)
        if existing is None:
            return None
        if existing.booking_request_hash != body_hash:
            raise IdempotencyConflictError(
                "This Idempotency-Key was already used with a different request body.", field="Idempotency-Key"
            )
        return self._replayed(case, existing)

    def _booked_just_now(self, case: Case, who: StaffIdentity, body_hash: str) -> dict[str, Any] | None:
        """The answer for a booking sent without an Idempotency-Key when the case's last step is this
        caller booking this very request, within REPEAT_WINDOW: the retry after a lost answer, which
        would otherwise clash with the booking it made. Anything else is booked (or refused) anew."""
        if not repeats_last_step(case, who, self.clock.now(), APPOINTMENT_BOOKED):
            return None
        booked = case.history[-1].detail.get("appointment_id")
        existing = self.store.get(case.case_id, booked) if isinstance(booked, str) else None
        if existing is None or existing.booking_request_hash != body_hash:
            return None
        return self._replayed(case, existing)

    def _replayed(self, case: Case, existing: Appointment) -> dict[str, Any]:
        now = self.clock.now()
        if existing.version == 1 and existing.is_upcoming(now):
            # Booked as it was first written: the first answer may have been lost before its SMS were
            # planned (a 503 after the write landed). Planning them again finds those already there.
            messages, ok = self._sms(
                case, lambda sms, partner: sms.plan_appointment_messages(case, existing, partner, now)
            )
        else:
            messages, ok = [], self.messaging is not None
            if self.messaging is not None:
                earlier = self.messaging.store.for_appointment(case.case_id, existing.appointment_id)
                messages = [_message_summary(m) for m in earlier]
        return {
            "appointment": existing.as_dict(),
            "case_status": case.status,
            "messages": messages,
            "sms_planned": ok,
        }

    def reschedule(self, who: StaffIdentity, case_id: str, appointment_id: str, body: Any) -> dict[str, Any]:
        first = self._visible(who, case_id)
        request = AppointmentRequest.from_body(checked("appointment-change", body))

        def decide(case: Case, now: datetime) -> Change:
            before = self._appointment(case, appointment_id)
            check_can_change(case, who, before, now, "reschedule")
            after = _changed(before, request, now)
            if after.start != before.start:
                check_start(after.start, now)
            calendar_before = calendar_after = None
            if (after.start, after.end) != (before.start, before.end):
                calendar_before = self.store.calendar(before.staff_id)
                clash = calendar_before.clash(after.start, after.end, ignore=appointment_id)
                if clash is not None:
                    raise overlap_error(clash)
                calendar_after = calendar_before.with_slot(after.slot(), now)
            action = APPOINTMENT_RESCHEDULED if _applicant_should_know(before, after) else APPOINTMENT_UPDATED
            detail = {**after.codes(), "previous_start": iso(before.start)}
            case_after = case_event(case, who, now, action, case_status_after(case, True), **detail)
            first = earlier_first_appointment(case, after.start) if after.start < before.start else None
            return Change(case, case_after, before, after, calendar_before, calendar_after, first_appointment_at=first)

        change, now = _required(self._commit(who, first, decide))
        before, after = change.appointment_before, change.appointment_after
        # Nothing left to change, right after this person moved it there: the retry of a reschedule
        # whose answer was lost, which skipped the SMS below. Planning them again is idempotent.
        repeated = after == before and repeats_last_step(
            change.case_before, who, now, APPOINTMENT_RESCHEDULED, appointment_id=appointment_id, start=iso(after.start)
        )
        if before is None or not (repeated or _applicant_should_know(before, after)):
            return self._result(change, [], True)
        # The unsent booking message and reminders are cancelled; `appointment_changed` names the new
        # time and place (the applicant may have seen the old one on the status page already).
        planned, ok = self._sms(
            change.case_after,
            lambda sms, partner: sms.replan_appointment_messages(change.case_after, after, partner, now),
        )
        return self._result(change, planned, ok)

    def cancel(self, who: StaffIdentity, case_id: str, appointment_id: str) -> dict[str, Any]:
        first = self._visible(who, case_id)

        def decide(case: Case, now: datetime) -> Change:
            before = self._appointment(case, appointment_id)
            if before.status == CANCELLED and repeats_last_step(
                case, who, now, APPOINTMENT_CANCELLED, appointment_id=appointment_id, reason="staff"
            ):
                # The retry of this very cancel, whose answer was lost: nothing to write; the SMS step
                # below runs again (idempotent), in case it was what the lost answer skipped.
                return Change(case, case, before, before)
            check_can_change(case, who, before, now, "cancel")
            return cancelled(self.store, case, who, before, now, "staff")

        change, now = _required(self._commit(who, first, decide))
        before = change.appointment_before
        assert before is not None
        planned, ok = self._sms(
            change.case_after,
            lambda sms, partner: sms.cancel_appointment_messages(change.case_after, before, partner, now),
        )
        return self._result(change, planned, ok)

    def record_attendance(self, who: StaffIdentity, case_id: str, appointment_id: str, body: Any) -> dict[str, Any]:
        """No-show tracking: attended true or false for any appointment not cancelled, at any time
        (corrections allowed). Recorded before the start, the appointment is over for the applicant:
        it no longer counts as upcoming (the case leaves `scheduled` unless another one is) and its
        unsent SMS (booking message, reminders) are cancelled."""
        first = self._visible(who, case_id)
        attended = bool(checked("attendance", body)["attended"])

        def decide(case: Case, now: datetime) -> Change:
            before = self._appointment(case, appointment_id)
            check_attendance(case, who, before)
            if before.attended is attended:
                # Recorded so already (often the retry of this very request after a lost answer):
                # nothing to write, no second history entry; the SMS step below runs again.
                return Change(case, case, before, before)
            after = replace(
                before,
                status=ATTENDED if attended else NO_SHOW,
                attended=attended,
                attendance_recorded_at=iso(now),
                version=before.version + 1,
                updated_at=iso(now),
            )
            status = case_status_after(case, upcoming_besides(self.store, case.case_id, appointment_id, now))
            detail = {"appointment_id": appointment_id, "attended": attended}
            if before.attended is not None:
                detail["corrected_from"] = before.attended
            case_after = case_event(case, who, now, ATTENDANCE_RECORDED, status, **detail)
            return Change(case, case_after, before, after, counters=attendance_counters(before.attended, attended))

        change, now = _required(self._commit(who, first, decide))
        return self._result(change, [], self._stop_messages(change.case_after, appointment_id, now))

    # --- helpers -------------------------------------------------------------------------------

    def _commit(
        self, who: StaffIdentity, first: Case, decide: Callable[[Case, datetime], Change | None]
    ) -> tuple[Change | None, datetime]:
        """Decide on the case as read and write; after a lost race read again and decide again.

        `decide` raises the rule's own error (400/403/409) with nothing written, or returns None
        (or an unchanged appointment) when there is nothing to write.
        """
        case = first
        for _attempt in range(MAX_ATTEMPTS):
            now = self.clock.now()
            change = decide(case, now)
            if change is None or change.appointment_after == change.appointment_before:
                return change, now
            try:
                self.store.write(change, audit_entry(who, change.case_after, now))
                return change, now
            except StateChangedError:
                case = self._visible(who, case.case_id)
        raise ConflictError("The appointment or the case changed while you were working on it; reload and try again.")

    def _stop_messages(self, case: Case, appointment_id: str, now: datetime) -> bool:
        """Attendance is recorded: SMS of the appointment not sent yet never will be. False if that failed."""
        if self.messaging is None:
            return True
        try:
            self.messaging.cancel_pending_for_appointment(case.case_id, appointment_id, now, "attendance recorded")
            return True
        except Exception:
            log.exception("appointment SMS could not be cancelled", extra={"case_id": case.case_id})
            return False

    def _sms(
        self, case: Case, plan: Callable[[MessagingService, Partner], list[Message]]
    ) -> tuple[list[dict[str, Any]], bool]:
        """The SMS step after a stored change. Storage busy: a 503, because the caller's retry of the
        same request comes back here (a repeat is answered as done, and planning is idempotent), so the
        applicant is not left untold. Any other failure: `sms_planned` false (logged)."""
        if self.messaging is None:
            return [], False
        try:
            partner = self.directory.partners()[case.partner]
            return [_message_summary(m) for m in plan(self.messaging, partner)], True
        except Exception as error:
            if isinstance(error, RetryableError):
                raise
            log.exception("appointment SMS could not be planned", extra={"case_id": case.case_id})
            return [], False

    @staticmethod
    def _result(change: Change, messages: list[dict[str, Any]], sms_planned: bool) -> dict[str, Any]:
        return {
            "appointment": change.appointment_after.as_dict(),
            "case_status": change.case_after.status,
            "messages": messages,
            "sms_planned": sms_planned,
        }


def _changed(before: Appointment, request: AppointmentRequest, now: datetime) -> Appointment:
    start = request.start or before.start
    duration = request.duration_minutes or before.duration_minutes
    location, online_url = before.location, before.online_url
    if request.location is not None:
        location, online_url = request.location, None
    if request.online_url is not None:
        location, online_url = None, request.online_url
    note = request.note if request.has_note else before.note
    moved = start != before.start
    after = replace(before, start=start, duration_minutes=duration, location=location, online_url=online_url, note=note)
    if after == before:
        return before
    return replace(after, version=before.version + 1, reschedules=before.reschedules + int(moved), updated_at=iso(now))


def _applicant_should_know(before: Appointment, after: Appointment) -> bool:
    """The SMS show the time and the place; a new duration or note alone is not worth a message."""
    return (after.start, after.location, after.online_url) != (before.start, before.location, before.online_url)


def _required(result: tuple[Change | None, datetime]) -> tuple[Change, datetime]:
    change, now = result
    if change is None:  # only decide() functions that may find nothing to do return None
        raise ConflictError("Nothing to change.")
    return change, now
