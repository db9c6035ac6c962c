"""Changes to an appointment that staff actions and the system make alike: calling one off (with
its holder's time freed and the case's status after it) and the audit entry of a staff step."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from chalicelib.domain.appointments import (
    APPOINTMENT_CANCELLED,
    CANCELLED,
    Appointment,
    Change,
    case_event,
    case_status_after,
)
from chalicelib.domain.cases import Case, iso
from chalicelib.domain.staff import AuditEntry, StaffIdentity
from chalicelib.services.appointment_ports import AppointmentStore

MAX_ATTEMPTS = 5  # one person's bookings share a calendar version: a few quick retries under contention


def upcoming_besides(store: AppointmentStore, case_id: str, appointment_id: str, now: datetime) -> bool:
    """Whether the case keeps another upcoming appointment (then it stays `scheduled`)."""
    return any(a.is_upcoming(now) for a in store.for_case(case_id) if a.appointment_id != appointment_id)


def cancelled(
    store: AppointmentStore, case: Case, who: StaffIdentity, before: Appointment, now: datetime, reason: str
) -> Change:
    after = called_off(before, now, reason)
    calendar = store.calendar(before.staff_id)
    status = case_status_after(case, upcoming_besides(store, case.case_id, before.appointment_id, now))
    detail = {**before.codes(), "reason": reason}
    case_after = case_event(case, who, now, APPOINTMENT_CANCELLED, status, **detail)
    freed = calendar.without(before.appointment_id, now)
    return Change(case, case_after, before, after, calendar, freed, counters=(("appointments", -1),))


def called_off(before: Appointment, now: datetime, reason: str) -> Appointment:
    return replace(
        before,
        status=CANCELLED,
        cancelled_at=iso(now),
        cancel_reason=reason,
        version=before.version + 1,
        updated_at=iso(now),
    )


def audit_entry(who: StaffIdentity, case_after: Case, now: datetime) -> AuditEntry:
    """The audit entry says what the case's last history entry says, minus the name: ids, times and codes."""
    event = case_after.history[-1]
    detail = {k: v for k, v in event.detail.items() if k != "by_name"}
    return AuditEntry.of(who, case_after.case_id, event.action, now, **detail)
