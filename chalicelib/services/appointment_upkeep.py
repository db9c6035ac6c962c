"""What happens to appointments besides staff's own appointment actions: the settling schedule
(`settle_past_appointments`), what a transfer and a close cause (wired into the staff service in
bootstrap), and the applicant's rights over them (status page, export, erasure).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.appointments import (
    APPOINTMENT_CANCELLED,
    APPOINTMENT_PASSED,
    BOOKED,
    SYSTEM,
    Appointment,
    Calendar,
    Cancellations,
    Change,
    case_event,
    case_status_after,
)
from chalicelib.domain.cases import CLOSED, Case, iso
from chalicelib.domain.staff import AuditEntry, StaffIdentity
from chalicelib.errors import ConflictError, InvalidTransitionError, RetryableError, StateChangedError
from chalicelib.ports import CaseReader, Clock, Directory
from chalicelib.services.appointment_changes import (
    MAX_ATTEMPTS,
    audit_entry,
    called_off,
    cancelled,
    upcoming_besides,
)
from chalicelib.services.appointment_ports import AppointmentStore

if TYPE_CHECKING:
    from chalicelib.services.messaging import MessagingService

log = logging.getLogger(__name__)

# A close and its cancellations are one transaction: 2 items per appointment plus calendars, case
# and audit entry stay well inside DynamoDB's 100 items.
MAX_CANCELLED_BY_CLOSE = 30
CASE_CLOSED = "case_closed"  # why a close's appointments were cancelled (history, audit, appointment)


def _called_off_by_close(case: Case) -> bool:
    """Whether the case's last close cancelled appointments (its history says so, after "closed")."""
    for entry in reversed(case.history):
        if entry.action == "closed":
            return False
        if entry.action == APPOINTMENT_CANCELLED and entry.detail.get("reason") == CASE_CLOSED:
            return True
    return False


@dataclass
class AppointmentUpkeep:
    store: AppointmentStore
    cases: CaseReader
    directory: Directory
    clock: Clock
    messaging: MessagingService | None = None

    # --- the system --------------------------------------------------------------------------

    def settle_passed(self) -> dict[str, int]:
        """`settle_past_appointments`: a case whose last upcoming appointment has begun goes from
        `scheduled` back to `claimed`. One index query on the sparse upcoming index; idempotent."""
        now = self.clock.now()
        settled = skipped = 0
        for case_id, appointment_id in list(self.store.passed(now)):
            try:
                done = self._settle(case_id, appointment_id, now)
            except (ConflictError, StateChangedError):
                done = False  # the next run tries again
            settled, skipped = settled + done, skipped + (not done)
        return {"settled": settled, "skipped": skipped}

    def _settle(self, case_id: str, appointment_id: str, now: datetime) -> bool:
        for _attempt in range(MAX_ATTEMPTS):
            case, before = self.cases.get_case(case_id), self.store.get(case_id, appointment_id)
            if case is None or before is None or before.status != BOOKED or before.settled or before.start > now:
                return False
            after = replace(before, settled=True, version=before.version + 1, updated_at=iso(now))
            status = case_status_after(case, upcoming_besides(self.store, case_id, appointment_id, now))
            case_after = case_event(case, SYSTEM, now, APPOINTMENT_PASSED, status, appointment_id=appointment_id)
            try:
                self.store.write(Change(case, case_after, before, after), None)
                return True
            except StateChangedError:
                continue
        return False

    # --- what staff actions elsewhere cause (wired in bootstrap) ------------------------------

    def after_transfer(self, case: Case, previous_partner: str) -> None:
        """Transfer or reassignment: the applicant learns the new partner; old appointment SMS stop."""
        if self.messaging is None:
            return
        try:
            self.messaging.case_transferred(case, self.directory.partners()[case.partner], self.clock.now())
        except RetryableError:
            # The transfer is stored; the caller's retry of it (a repeat, answered 200) plans the SMS
            # again, and planning is idempotent. Swallowed, the applicant would never hear of the move.
            raise
        except Exception:
            log.exception("case_transferred SMS could not be planned", extra={"case_id": case.case_id})

    def cancellations_for_close(
        self, who: StaffIdentity, before: Case, closed: Case, now: datetime
    ) -> tuple[Case, Cancellations]:
        """What a close cancels in its own write: every upcoming appointment of the case, its
        holder's time freed, one history and audit entry each. Read consistently; the close's
        conditions (case unchanged, appointment and calendar versions) catch anything newer.

        The applicant is told of each by `appointment_cancelled` once the close is stored (after_close).
        """
        upcoming = [a for a in self.store.for_case(before.case_id) if a.is_upcoming(now)]
        if len(upcoming) > MAX_CANCELLED_BY_CLOSE:
            raise InvalidTransitionError(
                f"This case has {len(upcoming)} upcoming appointments; a close cancels at most "
                f"{MAX_CANCELLED_BY_CLOSE}. Cancel some of them first."
            )
        calendars: dict[str, tuple[Calendar, Calendar]] = {}
        called, audit, case = [], [], closed
        for appointment in upcoming:
            read, current = calendars.get(appointment.staff_id) or (self.store.calendar(appointment.staff_id),) * 2
            calendars[appointment.staff_id] = (read, current.without(appointment.appointment_id, now))
            detail = {**appointment.codes(), "reason": CASE_CLOSED}
            case = case_event(case, who, now, APPOINTMENT_CANCELLED, CLOSED, **detail)
            called.append((appointment, called_off(appointment, now, CASE_CLOSED)))
            audit.append(audit_entry(who, case, now))
        return case, Cancellations(tuple(called), tuple(calendars.values()), tuple(audit))

    def after_close(self, case: Case) -> None:
        """The closed case's unsent SMS are cancelled: its appointments' (cancelled with the close) and
        a transfer or intake notice not yet sent. Then the applicant is told of each appointment the
        close called off whose time is still ahead, as when staff cancel one (an SMS with SMS consent):
        they may hold its booking SMS or the status page's word for it, and would come in vain.

        If the cancelling fails, the sweep still sends no appointment SMS: it checks that the case is
        open first. If the telling fails with storage busy, the close's retry (a repeat, answered 200)
        plans it again; planning is idempotent.
        """
        if self.messaging is None:
            return
        now = self.clock.now()
        try:
            self.messaging.cancel_pending_for_case(case.case_id, now, "case closed")
        except Exception:
            log.exception("SMS of a closed case could not be cancelled", extra={"case_id": case.case_id})
        if not _called_off_by_close(case):
            return  # the usual close: nothing booked, nothing more to read
        try:
            called_off = [a for a in self.store.for_case(case.case_id) if a.cancel_reason == CASE_CLOSED]
            partner = self.directory.partners()[case.partner]
            for appointment in called_off:
                self.messaging.tell_cancelled(case, appointment, partner, now)
        except RetryableError:
            raise  # the close is stored; its retry (a repeat, answered 200) tells them then
        except Exception:
            log.exception("appointment_cancelled SMS of a close not planned", extra={"case_id": case.case_id})

    def resume_after_opt_in(self, case_ids: list[str], tag: str, now: datetime) -> int:
        """START again (messaging's on_opt_in): each open case's upcoming appointments get the SMS the
        applicant missed while the number had said STOP (MessagingService.resume_after_opt_in)."""
        if self.messaging is None:
            return 0
        planned = 0
        for case_id in case_ids:
            case = self.cases.get_case(case_id)
            if case is None or case.erased_at is not None or case.status == CLOSED:
                continue
            upcoming = [a for a in self.store.for_case(case_id) if a.is_upcoming(now)]
            if upcoming:
                partner = self.directory.partners()[case.partner]
                for appointment in upcoming:
                    planned += len(self.messaging.resume_after_opt_in(case, appointment, partner, now, tag))
        return planned

    # --- applicants' rights (a PersonalDataHolder of the privacy feature) --------------------

    def export_for_case(self, case_id: str) -> list[dict[str, Any]]:
        return [a.as_dict() for a in self.store.for_case(case_id)]

    def appointment_not_over(self, case_id: str, appointment_id: str) -> Appointment | None:
        """One booked appointment of the case that has not ended yet, else None (the applicant's calendar file)."""
        appointment = self.store.get(case_id, appointment_id)
        return appointment if appointment is not None and appointment.is_not_over(self.clock.now()) else None

    def for_applicant(self, case_id: str) -> dict[str, list[dict[str, Any]]]:
        """The status page's appointments, soonest first, from one read: `appointments` booked and
        not yet ended (the link stays for someone running late); `cancelled_appointments` called off
        while their time is still ahead (an applicant without SMS would otherwise see one vanish
        without a word)."""
        now = self.clock.now()
        stored = sorted(self.store.for_case(case_id), key=lambda a: a.start)
        return {
            "appointments": [a.for_applicant() for a in stored if a.is_not_over(now)],
            "cancelled_appointments": [a.cancellation_for_applicant() for a in stored if a.is_called_off(now)],
        }

    def erase_for_case(self, case_id: str) -> int:
        """Staff notes may name the applicant: dropped. Upcoming appointments are cancelled (slot freed)."""
        erased = 0
        for appointment in self.store.for_case(case_id):
            for _attempt in range(MAX_ATTEMPTS):
                case, now = self.cases.get_case(case_id), self.clock.now()
                current = self.store.get(case_id, appointment.appointment_id)
                if case is None or current is None:
                    break
                change = self._erased(case, current, now)
                if change is None:
                    break
                try:
                    self.store.write(change, AuditEntry.of(SYSTEM, case_id, "appointment_erased", now))
                    erased += 1
                    break
                except StateChangedError:
                    continue
        return erased

    def _erased(self, case: Case, current: Appointment, now: datetime) -> Change | None:
        # The place can be personal too (a home visit, a meeting link with the applicant's name).
        gone = {"note": None, "location": None, "online_url": None, "booking_request_hash": None}
        if current.is_upcoming(now):
            change = cancelled(self.store, case, SYSTEM, current, now, "erased")
            return replace(change, appointment_after=replace(change.appointment_after, **gone))
        if all(getattr(current, name) is None for name in gone):
            return None
        after = replace(current, **gone, version=current.version + 1, updated_at=iso(now))
        return Change(case, case_event(case, SYSTEM, now, "appointment_note_erased", case.status), current, after)
