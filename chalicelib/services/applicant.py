"""Applicants' rights through their status link: see status, export (Art. 15), erase (Art. 17).

Coordinators use the same export and erasure on an applicant's request; the retention
schedule uses the same erasure. What erasure does, table by table:
- cases: anonymised in place (names, contact data, free text, reference, status-link hash,
  idempotency key, keyed phone hash and retention clock go; the consent record and the
  statistics stay, so the figures survive);
- queue: the case's entries at every partner it passed through are deleted;
- idempotency: the record (it holds the sealed status link) is deleted;
- messages: every SMS of the case is deleted (number, text); pending ones are thereby never sent;
- appointments: note and place removed, upcoming ones cancelled and their slots freed;
  time, duration and staff id stay (staff-calendars hold ids and times only);
- audit: kept, it is append-only and holds ids, codes and staff names, never applicant data;
  the erasure adds its own entry;
- sms-opt-outs: kept, keyed by an HMAC of the number (never the number): a STOP must outlive
  erasure; sms-limits: kept until their 24 h TTL, same keyed hash (deleting them would let an
  erase-and-resubmit loop reset the SMS abuse limit); sms-webhooks: no personal data, 7-day TTL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from chalicelib.domain.appointments import BERLIN, Appointment
from chalicelib.domain.calendar import appointment_ics, calendar_place
from chalicelib.domain.cases import Case
from chalicelib.domain.privacy import ERASURE_REASONS, anonymise, secret_matches
from chalicelib.domain.staff import AuditEntry, StaffIdentity
from chalicelib.errors import FieldError, ForbiddenError, NotFoundError, StateChangedError, ValidationError
from chalicelib.ports import AuditLog, CaseReader, Clock, Directory
from chalicelib.validation import validate

APPLICANT = StaffIdentity(staff_id="applicant", name="applicant (status link)", role="applicant", partner=None)
RETENTION = StaffIdentity(staff_id="system", name="retention schedule", role="system", partner=None)
_NOT_FOUND = "No case matches this link."


class PrivacyStore(Protocol):
    def replace_with_anonymised(self, before: Case, after: Case, audit: AuditEntry) -> None: ...


class PersonalDataHolder(Protocol):
    """Anything else that keeps data per case (SMS messages, appointments, statistics): export and erase it.

    `erase_for_case` must be idempotent: erasure runs it before and after anonymising the case.
    """

    def export_for_case(self, case_id: str) -> Any: ...

    def erase_for_case(self, case_id: str) -> int: ...


class UpcomingAppointments(Protocol):
    def for_applicant(self, case_id: str) -> dict[str, list[dict[str, Any]]]: ...

    def appointment_not_over(self, case_id: str, appointment_id: str) -> Appointment | None: ...


# The applicant's texts in their language (the status page's label set): calendar_summary, reference_label.
Texts = Callable[[str], Mapping[str, str]]


@dataclass
class ApplicantService:
    cases: CaseReader
    store: PrivacyStore
    audit: AuditLog
    directory: Directory
    clock: Clock
    holders: dict[str, PersonalDataHolder] = field(default_factory=dict)
    appointments: UpcomingAppointments | None = None
    texts: Texts | None = None

    def _case_for_secret(self, case_id: str, secret: str | None) -> Case:
        case = self.cases.get_case(case_id)
        # Same answer for unknown case, wrong secret and erased case: nothing to enumerate.
        if not secret_matches(secret, case.status_secret_hash if case else None) or case is None:
            raise NotFoundError(_NOT_FOUND)
        return case

    def status(self, case_id: str, secret: str | None) -> dict[str, Any]:
        case = self._case_for_secret(case_id, secret)
        partner = self.directory.partners().get(case.partner)
        return {
            "case_id": case.case_id,
            "reference": case.reference,
            "status": case.status,
            "partner": case.partner,
            "partner_name": partner.name if partner else case.partner,
            "partner_address": partner.address if partner else None,
            "created_at": case.created_at,
            "updated_at": case.updated_at,
            "language": case.language,
            **(
                self.appointments.for_applicant(case.case_id)
                if self.appointments
                else {"appointments": [], "cancelled_appointments": []}
            ),
        }

    def calendar(self, case_id: str, secret: str | None, appointment_id: str) -> tuple[date, str]:
        """(Berlin day, iCalendar text) of one appointment not yet over, for the applicant's calendar."""
        case = self._case_for_secret(case_id, secret)
        found = self.appointments.appointment_not_over(case.case_id, appointment_id) if self.appointments else None
        if found is None:
            raise NotFoundError("The case has no such appointment, or it is over or cancelled.")
        texts = self.texts(case.language) if self.texts else {}
        partner = self.directory.partners().get(found.partner)
        name, address = (partner.name, partner.address) if partner else (found.partner, "")
        location, shown_address = calendar_place(found.location, found.online_url, address)
        reference = f"{texts.get('reference_label', 'Reference')}: {case.reference}"
        body = appointment_ics(
            found,
            summary=f"{texts.get('calendar_summary', 'Appointment')}: {name}",
            description="\n".join(part for part in (name, shown_address, reference) if part),
            location=location,
            now=self.clock.now(),
        )
        return found.start.astimezone(BERLIN).date(), body

    def export(self, case_id: str, secret: str | None) -> dict[str, Any]:
        case = self._case_for_secret(case_id, secret)
        self.audit.append(AuditEntry.of(APPLICANT, case.case_id, "export", self.clock.now()))
        return self.export_case(case)

    def export_case(self, case: Case) -> dict[str, Any]:
        """Everything stored about this applicant, and nothing about anyone else."""
        audit: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            entries, cursor = self.audit.entries(case.case_id, 100, cursor)
            audit.extend(e.as_dict() for e in entries)
            if cursor is None:
                break
        export = {
            "exported_at": self.clock.now().isoformat(),
            "case": case.as_dict(),
            "access_log": audit,
        }
        for name, holder in self.holders.items():
            export[name] = holder.export_for_case(case.case_id)
        return export

    def erase(self, case_id: str, secret: str | None) -> dict[str, Any]:
        return self.erase_case(self._case_for_secret(case_id, secret), APPLICANT, "applicant_request")

    def erase_case(self, case: Case, who: StaffIdentity, reason: str) -> dict[str, Any]:
        """Remove personal data everywhere; statistics (anonymous facts) remain. Idempotent.

        The other holders are erased before the case (so a failure leaves the link working for a
        retry) and again after it (whatever a concurrent action wrote in between, e.g. an SMS
        planned from a case read just before; an erased case gets nothing new planned).
        """
        self._erase_holders(case.case_id)  # also cancels pending SMS
        erased_at = self._anonymise(case, who, reason)
        self._erase_holders(case.case_id)
        return {"case_id": case.case_id, "erased": True, "erased_at": erased_at}

    def _erase_holders(self, case_id: str) -> None:
        for holder in self.holders.values():
            holder.erase_for_case(case_id)

    def _anonymise(self, case: Case, who: StaffIdentity, reason: str) -> str:
        for _attempt in range(3):
            if case.erased_at is not None:
                return case.erased_at
            now = self.clock.now()
            after = anonymise(case, now, reason)
            audit = AuditEntry.of(who, case.case_id, "erase", now, reason=reason)
            try:
                self.store.replace_with_anonymised(case, after, audit)
                return after.erased_at or ""
            except StateChangedError:
                fresh = self.cases.get_case(case.case_id)
                if fresh is None:
                    raise NotFoundError(_NOT_FOUND) from None
                case = fresh
        raise StateChangedError("The case kept changing; please try again.")

    # --- coordinators, on an applicant's request (by phone, letter, in person) ---------------

    def _coordinator_case(self, who: StaffIdentity, case_id: str) -> Case:
        if not who.is_coordinator:
            raise ForbiddenError("Only network coordinators can export or erase an applicant's data.")
        case = self.cases.get_case(case_id) if case_id else None
        if case is None:
            raise NotFoundError("No case has this id.")
        return case

    def coordinator_export(self, who: StaffIdentity, case_id: str) -> dict[str, Any]:
        """Art. 15 on request: the same export the applicant gets; the read is audited."""
        case = self._coordinator_case(who, case_id)
        self.audit.append(AuditEntry.of(who, case.case_id, "export", self.clock.now()))
        return self.export_case(case)

    def coordinator_erase(self, who: StaffIdentity, case_id: str, body: Any) -> dict[str, Any]:
        """Art. 17 on request; `reason` is a code (no free text: it goes into the audit log)."""
        errors = validate("erase", body)
        if errors:
            raise ValidationError(errors)
        reason = body["reason"]
        if reason not in ERASURE_REASONS:  # the schema's enum, checked again where it matters
            raise ValidationError([FieldError("reason", "invalid_choice", "reason is not an erasure reason code.")])
        return self.erase_case(self._coordinator_case(who, case_id), who, reason)
