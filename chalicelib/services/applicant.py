"""Applicants' rights through their status link: see status, export (Art. 15), erase (Art. 17).

Coordinators use the same export and erasure on an applicant's request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.domain.cases import Case
from chalicelib.domain.privacy import anonymise, secret_matches
from chalicelib.domain.staff import AuditEntry, StaffIdentity
from chalicelib.errors import NotFoundError, StateChangedError
from chalicelib.ports import Clock, Directory

APPLICANT = StaffIdentity(staff_id="applicant", name="applicant (status link)", role="applicant", partner=None)
RETENTION = StaffIdentity(staff_id="system", name="retention schedule", role="system", partner=None)
_NOT_FOUND = "No case matches this link."


class CaseReader(Protocol):
    def get_case(self, case_id: str) -> Case | None: ...


class PrivacyStore(Protocol):
    def replace_with_anonymised(self, before: Case, after: Case, audit: AuditEntry) -> None: ...


class AuditReader(Protocol):
    def entries(self, case_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEntry], str | None]: ...


class PersonalDataHolder(Protocol):
    """Anything else that keeps personal data per case (SMS messages): export and erase it."""

    def export_for_case(self, case_id: str) -> list[dict[str, Any]]: ...

    def erase_for_case(self, case_id: str) -> int: ...


@dataclass
class ApplicantService:
    cases: CaseReader
    store: PrivacyStore
    audit: AuditReader
    directory: Directory
    clock: Clock
    holders: dict[str, PersonalDataHolder] = field(default_factory=dict)

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
        }

    def export(self, case_id: str, secret: str | None) -> dict[str, Any]:
        return self.export_case(self._case_for_secret(case_id, secret))

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
        """Remove personal data everywhere; statistics (anonymous facts) remain. Idempotent."""
        for holder in self.holders.values():
            holder.erase_for_case(case.case_id)  # also cancels pending SMS
        for _attempt in range(3):
            if case.erased_at is not None:
                return {"case_id": case.case_id, "erased": True, "erased_at": case.erased_at}
            now = self.clock.now()
            after = anonymise(case, now, reason)
            audit = AuditEntry.of(who, case.case_id, "erase", now, reason=reason)
            try:
                self.store.replace_with_anonymised(case, after, audit)
                return {"case_id": case.case_id, "erased": True, "erased_at": after.erased_at}
            except StateChangedError:
                fresh = self.cases.get_case(case.case_id)
                if fresh is None:
                    raise NotFoundError(_NOT_FOUND) from None
                case = fresh
        raise StateChangedError("The case kept changing; please try again.")
