"""Appointments, staff calendars and their case changes in DynamoDB.

Every appointment event is one TransactWrite of up to four items: the appointment (conditional
on its version), the holder's calendar (conditional on its version: this is what makes two
overlapping bookings of one person impossible, however they race), the case (conditional on
being unchanged since it was read) and the audit entry. A lost race raises StateChangedError;
the service re-reads and decides again. A close writes the same items for each appointment it
cancels inside its own transaction (`write_cancellations`, used by queue_store).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.audit_store import audit_put_condition, audit_to_model, worth_a_retry
from chalicelib.adapters.dynamodb.errors import retryable, storage_errors_retryable
from chalicelib.adapters.dynamodb.models import AppointmentModel, CaseModel, StaffCalendarModel
from chalicelib.domain.appointments import (
    BOOKED,
    SMS_ATTENTION,
    Appointment,
    Calendar,
    Cancellations,
    Change,
    Slot,
    is_open_attention,
    open_attention,
)
from chalicelib.domain.cases import CLOSED, Case, HistoryEntry, iso
from chalicelib.domain.staff import AuditEntry
from chalicelib.errors import StateChangedError
from chalicelib.services.messaging_ports import NumberCase

UPCOMING = "upcoming"  # the one partition of the sparse upcoming index


def _optional(attribute: Any, value: Any) -> Any:
    """SET when there is a value, REMOVE when there is none (DynamoDB stores no nulls here)."""
    return attribute.set(value) if value is not None else attribute.remove()


def to_appointment(item: AppointmentModel) -> Appointment:
    return Appointment(
        appointment_id=item.appointment_id,
        case_id=item.case_id,
        partner=item.partner,
        staff_id=item.staff_id,
        staff_name=item.staff_name,
        start=datetime.fromisoformat(item.start),
        duration_minutes=int(item.duration_minutes),
        location=item.location,
        online_url=item.online_url,
        note=item.note,
        status=item.status,
        created_at=item.created_at,
        updated_at=item.updated_at,
        booked_by=item.booked_by,
        version=int(item.version or 1),
        reschedules=int(item.reschedules or 0),
        attended=item.attended,
        attendance_recorded_at=item.attendance_recorded_at,
        cancelled_at=item.cancelled_at,
        cancel_reason=item.cancel_reason,
        settled=item.status == BOOKED and item.upcoming is None,
        booking_request_hash=item.booking_request_hash,
    )


def _upcoming(appointment: Appointment) -> str | None:
    return UPCOMING if appointment.status == BOOKED and not appointment.settled else None


def _appointment_actions(after: Appointment) -> list[Any]:
    model = AppointmentModel
    return [
        model.start.set(iso(after.start)),
        model.duration_minutes.set(after.duration_minutes),
        _optional(model.location, after.location),
        _optional(model.online_url, after.online_url),
        _optional(model.note, after.note),
        model.status.set(after.status),
        model.updated_at.set(after.updated_at),
        model.version.set(after.version),
        model.reschedules.set(after.reschedules),
        _optional(model.attended, after.attended),
        _optional(model.attendance_recorded_at, after.attendance_recorded_at),
        _optional(model.cancelled_at, after.cancelled_at),
        _optional(model.cancel_reason, after.cancel_reason),
        _optional(model.upcoming, _upcoming(after)),
        _optional(model.booking_request_hash, after.booking_request_hash),
    ]


def _new_appointment(appointment: Appointment) -> AppointmentModel:
    return AppointmentModel(
        appointment.case_id,
        appointment.appointment_id,
        partner=appointment.partner,
        staff_id=appointment.staff_id,
        staff_name=appointment.staff_name,
        start=iso(appointment.start),
        duration_minutes=appointment.duration_minutes,
        location=appointment.location,
        online_url=appointment.online_url,
        note=appointment.note,
        status=appointment.status,
        created_at=appointment.created_at,
        updated_at=appointment.updated_at,
        booked_by=appointment.booked_by,
        version=appointment.version,
        reschedules=appointment.reschedules,
        upcoming=_upcoming(appointment),
        booking_request_hash=appointment.booking_request_hash,
    )


def write_appointment(transaction: TransactWrite, before: Appointment | None, after: Appointment) -> None:
    """A new appointment, or the next version of the one read (conditional on its version)."""
    if before is None:
        transaction.save(_new_appointment(after), condition=AppointmentModel.appointment_id.does_not_exist())
        return
    transaction.update(
        AppointmentModel(after.case_id, after.appointment_id),
        actions=_appointment_actions(after),
        condition=AppointmentModel.version == before.version,
    )


def write_calendar(transaction: TransactWrite, before: Calendar | None, after: Calendar, updated_at: str) -> None:
    # The calendar item is ours alone and small, so it is written whole; the version condition
    # is what serialises one person's bookings.
    item = StaffCalendarModel(
        after.staff_id, version=after.version, slots=[s.as_dict() for s in after.slots], updated_at=updated_at
    )
    if before is None or before.version == 0:
        transaction.save(item, condition=StaffCalendarModel.staff_id.does_not_exist())
    else:
        transaction.save(item, condition=StaffCalendarModel.version == before.version)


def write_cancellations(transaction: TransactWrite, cancellations: Cancellations, updated_at: str) -> None:
    """The appointments, calendars and audit entries a case change (a close) cancels in its own write."""
    for before, after in cancellations.appointments:
        write_appointment(transaction, before, after)
    for calendar_before, calendar_after in cancellations.calendars:
        write_calendar(transaction, calendar_before, calendar_after, updated_at)
    for entry in cancellations.audit:
        transaction.save(audit_to_model(entry), condition=audit_put_condition())


def _case_unchanged(before: Case) -> Any:
    """Same status, partner and holder, and no other change since it was read (updated_at)."""
    condition = (
        (CaseModel.status == before.status)
        & (CaseModel.partner == before.partner)
        & (CaseModel.updated_at == before.updated_at)
    )
    if before.claimed_by is None:
        return condition & CaseModel.claimed_by.does_not_exist()
    return condition & (CaseModel.claimed_by == before.claimed_by)


def _is_condition_failure(error: TransactWriteError) -> bool:
    reasons = error.cancellation_reasons or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


@storage_errors_retryable
class DynamoAppointmentStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # --- reads (strongly consistent: every decision is checked again by a condition) ----------

    def get(self, case_id: str, appointment_id: str) -> Appointment | None:
        try:
            return to_appointment(AppointmentModel.get(case_id, appointment_id, consistent_read=True))
        except AppointmentModel.DoesNotExist:
            return None
        except PynamoDBException as error:
            raise self._translated(error) from error

    def for_case(self, case_id: str) -> list[Appointment]:
        try:
            found = [to_appointment(item) for item in AppointmentModel.query(case_id, consistent_read=True)]
        except PynamoDBException as error:
            raise self._translated(error) from error
        return sorted(found, key=lambda a: (a.start, a.appointment_id))

    def calendar(self, staff_id: str) -> Calendar:
        try:
            item = StaffCalendarModel.get(staff_id, consistent_read=True)
        except StaffCalendarModel.DoesNotExist:
            return Calendar(staff_id)
        except PynamoDBException as error:
            raise self._translated(error) from error
        slots = tuple(Slot.from_dict(s) for s in item.slots or [])
        return Calendar(staff_id, int(item.version), slots)

    def passed(self, now: datetime, page_size: int = 100) -> Iterator[tuple[str, str]]:
        """(case_id, appointment_id) of booked, unsettled appointments that began by `now`, oldest first."""
        try:
            for item in AppointmentModel.upcoming_index.query(
                UPCOMING, AppointmentModel.start <= iso(now), page_size=page_size
            ):
                yield item.case_id, item.appointment_id
        except PynamoDBException as error:
            raise self._translated(error) from error

    # --- the one write path -------------------------------------------------------------------

    def write(self, change: Change, audit: AuditEntry | None) -> None:
        """Apply `change` atomically, or raise StateChangedError when anything changed since it was read."""
        try:
            with TransactWrite(connection=self._connection) as transaction:
                write_appointment(transaction, change.appointment_before, change.appointment_after)
                if change.calendar_after is not None:
                    write_calendar(
                        transaction, change.calendar_before, change.calendar_after, change.case_after.updated_at
                    )
                self._case(transaction, change)
                if audit is not None:
                    transaction.save(audit_to_model(audit), condition=audit_put_condition())
        except TransactWriteError as error:
            if worth_a_retry(error):
                raise retryable(error) from error
            if _is_condition_failure(error):
                raise StateChangedError(
                    "the appointment, the calendar or the case changed since it was read"
                ) from error
            raise

    @staticmethod
    def _case(transaction: TransactWrite, change: Change) -> None:
        before, after = change.case_before, change.case_after
        new_history = [h.as_dict() for h in after.history[len(before.history) :]]
        counters = [getattr(CaseModel, name).add(by) for name, by in change.counters]
        if change.first_appointment_at is not None:
            counters.append(CaseModel.first_appointment_at.set(change.first_appointment_at))
        transaction.update(
            CaseModel(before.case_id),
            actions=[
                CaseModel.status.set(after.status),
                CaseModel.updated_at.set(after.updated_at),
                CaseModel.history.set(CaseModel.history.append(new_history)),
                *attention_seen(after.history),
                *counters,
            ],
            condition=_case_unchanged(before),
        )

    @staticmethod
    def _translated(error: PynamoDBException) -> Exception:
        return retryable(error) if worth_a_retry(error) else error


@storage_errors_retryable
class DynamoCaseAttention:
    """Messaging's CaseAttention: an applicant's `2` or CANCEL, or an SMS that finally failed, becomes
    an entry in the case history, which the staff case view lists as open until domain/appointments.py's
    open_attention says it is dealt with."""

    def flag(self, case_id: str, reason: str, appointment_id: str | None, at: datetime) -> None:
        try:
            item = CaseModel.get(case_id, attributes_to_get=["partner", "history"])
        except CaseModel.DoesNotExist:
            return
        history = [HistoryEntry.from_dict(h) for h in item.history or []]
        if is_open_attention(history, reason, appointment_id):
            return  # staff already see this one: a repeated `2` must not grow the case without bound
        entry = HistoryEntry(iso(at), SMS_ATTENTION, item.partner, None, {"reason": reason})
        if appointment_id:
            entry.detail["appointment_id"] = appointment_id
        # list_append only: no status or updated_at change, so no staff action loses its race to it.
        # A write that read the case before this flag sees no newer flag than it knew: the queue row
        # keeps showing this one until a later write has seen it dealt with (attention_seen).
        CaseModel(case_id).update(
            actions=[
                CaseModel.history.set(CaseModel.history.append([entry.as_dict()])),
                CaseModel.attention_at.set(entry.at),
            ],
            condition=CaseModel.case_id.exists(),
        )


def attention_seen(history: list[HistoryEntry]) -> list[Any]:
    """For a staff write of the case: when it leaves no flag open, the newest flag it knew of is
    dealt with, and the queue row stops saying "please check" unless a newer one was raised since."""
    if open_attention(history):
        return []
    newest = max((h.at for h in history if h.action == SMS_ATTENTION), default=None)
    return [] if newest is None else [CaseModel.attention_seen_through.set(newest)]


@storage_errors_retryable
class DynamoBookingCheck:
    """Messaging's BookingCheck: the appointment and the case's status, both read consistently, so a
    cancel or close written a moment ago is seen."""

    def __init__(self, connection: Connection) -> None:
        self._appointments = DynamoAppointmentStore(connection)

    def still_booked(self, case_id: str, appointment_id: str, start: datetime, place: str | None = None) -> bool:
        appointment = self._appointments.get(case_id, appointment_id)
        if appointment is None or not appointment.is_booked_at(start, place):
            return False
        return self._case_open(case_id)

    def still_ahead(self, case_id: str, appointment_id: str, now: datetime) -> bool:
        appointment = self._appointments.get(case_id, appointment_id)
        return appointment is not None and appointment.is_upcoming(now) and self._case_open(case_id)

    def case_of_number(self, case_id: str, now: datetime) -> NumberCase | None:
        try:
            case = CaseModel.get(case_id, consistent_read=True, attributes_to_get=["status", "language", "erased_at"])
        except CaseModel.DoesNotExist:
            return None
        if case.erased_at:
            return None
        if case.status == CLOSED:
            return NumberCase(case_id, case.language, open=False, next_appointment_id=None)
        ahead = [a for a in self._appointments.for_case(case_id) if a.is_upcoming(now)]
        nearest = min(ahead, key=lambda a: a.start, default=None)
        next_id = nearest.appointment_id if nearest else None
        return NumberCase(case_id, case.language, open=True, next_appointment_id=next_id)

    @staticmethod
    def _case_open(case_id: str) -> bool:
        try:
            case = CaseModel.get(case_id, consistent_read=True, attributes_to_get=["status"])
        except CaseModel.DoesNotExist:
            return False  # erased
        return case.status != CLOSED
