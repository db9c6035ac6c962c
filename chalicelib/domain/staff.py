"""Who acts on a case and which transitions they may make: rules only, no storage.

Each action has a `check_*` rule (raises a domain error that explains itself) and a pure
function producing the case after the action. The store writes the difference on the
condition that the case is still in the state the rule was checked against, so the rule is
decided by DynamoDB, not by the read: after a lost race the service re-reads and re-checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.cases import CLAIMED, CLOSED, ROUTED, SCHEDULED, Case, HistoryEntry, iso
from chalicelib.errors import (
    AlreadyClaimedError,
    FieldError,
    ForbiddenError,
    InvalidTransitionError,
    ValidationError,
)

STAFF = "staff"
COORDINATOR = "coordinator"
ROLES = (STAFF, COORDINATOR)

CLOSE_OUTCOMES = ("counselled", "referred_elsewhere", "no_response", "withdrawn", "duplicate")

# Audit actions; appointment actions (a later issue) add their own names.
VIEW, CLAIM, RELEASE, TRANSFER, REASSIGN, CLOSE = "view", "claim", "release", "transfer", "reassign", "close"
RESOLVE_ATTENTION = "resolve_attention"

# A request that arrives this soon after its own change was stored is that request again: its
# first answer was lost (a timeout, a 503 after the write landed) and the client retried. Later,
# the same request is a new one and meets the rules (closing a closed case is a 409).
REPEAT_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class StaffIdentity:
    """The verified caller: `sub`, `name`, `custom:partner` and `custom:role` of the token."""

    staff_id: str
    name: str
    role: str
    partner: str | None

    @property
    def is_coordinator(self) -> bool:
        return self.role == COORDINATOR

    def can_see(self, case: Case) -> bool:
        """Staff see their own institution's cases only; coordinators see every partner's."""
        return self.is_coordinator or case.partner == self.partner

    def as_dict(self) -> dict[str, Any]:
        return {"staff_id": self.staff_id, "name": self.name, "role": self.role, "partner": self.partner}


@dataclass(frozen=True)
class AuditEntry:
    """One line of the append-only audit log. `detail` holds ids and codes only, never free text."""

    at: str
    case_id: str
    action: str
    staff_id: str
    staff_name: str
    role: str
    partner: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, who: StaffIdentity, case_id: str, action: str, at: datetime, **detail: Any) -> AuditEntry:
        return cls(iso(at), case_id, action, who.staff_id, who.name, who.role, who.partner, detail)

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "case_id": self.case_id,
            "action": self.action,
            "staff_id": self.staff_id,
            "staff_name": self.staff_name,
            "role": self.role,
            "partner": self.partner,
            "detail": self.detail,
        }


def queue_status(case_status: str) -> str:
    """The queue a case is keyed in (`partner_status`): a scheduled case stays in the claimed queue
    of its partner (it is still held; booking an appointment does not move it between queues)."""
    return CLAIMED if case_status == SCHEDULED else case_status


def queue_listing(status: str) -> tuple[str, str | None]:
    """What a listing by `status` reads: the queue, and the one case status it keeps (None: all).

    `claimed` lists every held case, claimed and scheduled alike (a case with an appointment must
    not vanish from the claimed list); `scheduled` reads the same queue and keeps the scheduled
    ones. Rows always show the case's own status.
    """
    if status == SCHEDULED:
        return CLAIMED, SCHEDULED
    return queue_status(status), None


def _holder(case: Case) -> str:
    return case.claimed_by_name or "a colleague"


def _held_by_other(case: Case, who: StaffIdentity) -> bool:
    return case.claimed_by is not None and case.claimed_by != who.staff_id


def _require_holder(case: Case, who: StaffIdentity, verb: str) -> None:
    if _held_by_other(case, who) and not who.is_coordinator:
        raise ForbiddenError(
            f"{_holder(case)} holds this case; only they or a coordinator can {verb} it.",
            claimed_by_name=case.claimed_by_name,
        )


def check_not_erased(case: Case) -> None:
    """An erased case is its anonymised record for the statistics: nothing more is done with it."""
    if case.erased_at:
        raise InvalidTransitionError("This case's personal data has been erased; it can no longer be worked on.")


def check_claim(case: Case, who: StaffIdentity) -> bool:
    """True when the caller must claim; False when they already hold it (a repeated click)."""
    check_not_erased(case)
    if case.status == ROUTED:
        return True
    if case.status == CLOSED:
        raise InvalidTransitionError("This case is closed; it cannot be claimed.")
    if not _held_by_other(case, who):
        return False
    raise AlreadyClaimedError(f"{_holder(case)} is already working on this case.", claimed_by_name=case.claimed_by_name)


def check_release(case: Case, who: StaffIdentity) -> None:
    check_not_erased(case)
    if case.status == ROUTED:
        raise InvalidTransitionError("This case is not claimed; there is nothing to release.")
    if case.status == CLOSED:
        raise InvalidTransitionError("This case is closed; it cannot be released.")
    # Before the appointment: "cancel it first" would send someone who may not cancel it either.
    _require_holder(case, who, "release")
    if case.status == SCHEDULED:
        raise InvalidTransitionError("This case has an appointment; cancel the appointment before releasing it.")


def check_close(case: Case, who: StaffIdentity) -> None:
    check_not_erased(case)
    if case.status == ROUTED:
        raise InvalidTransitionError("Claim this case before closing it.")
    if case.status == CLOSED:
        raise InvalidTransitionError("This case is already closed.")
    _require_holder(case, who, "close")


def check_transfer(case: Case, who: StaffIdentity, target: str, known_partners: set[str]) -> None:
    """Transfer (staff) and reassign (coordinator) share one rule."""
    check_not_erased(case)
    if target not in known_partners:
        raise ValidationError(
            [FieldError("partner", "unknown_partner", f"partner {target!r} is not a partner of the network.")]
        )
    if target == case.partner:
        raise InvalidTransitionError(f"This case is already in the queue of {target}; choose another partner.")
    if case.status == CLOSED:
        raise InvalidTransitionError("This case is closed; it cannot be moved to another partner.")
    if case.status == SCHEDULED:
        raise InvalidTransitionError("This case has an appointment; cancel the appointment before moving it.")
    _require_holder(case, who, "transfer")


def repeats_last_step(case: Case, who: StaffIdentity, now: datetime, action: str, **detail: Any) -> bool:
    """True when the case's last step is `action` by this caller, with these details, within REPEAT_WINDOW."""
    if not case.history:
        return False
    last = case.history[-1]
    if last.action != action or last.by != who.staff_id:
        return False
    if any(last.detail.get(name) != value for name, value in detail.items()):
        return False
    return now - datetime.fromisoformat(last.at) <= REPEAT_WINDOW


def _step(case: Case, who: StaffIdentity, now: datetime, action: str, **changes: Any) -> Case:
    detail = changes.pop("detail", {})
    partner = changes.get("partner", case.partner)
    entry = HistoryEntry(iso(now), action, partner, who.staff_id, {"by_name": who.name, **detail})
    return replace(case, updated_at=iso(now), history=[*case.history, entry], **changes)


def claimed(case: Case, who: StaffIdentity, now: datetime) -> Case:
    return _step(
        case, who, now, "claimed", status=CLAIMED, claimed_by=who.staff_id, claimed_by_name=who.name, overdue=False
    )


def released(case: Case, who: StaffIdentity, now: datetime) -> Case:
    # queued_at stays: the applicant has been waiting since routing, and the SLA keeps counting.
    detail = {"released_for": case.claimed_by_name} if case.claimed_by != who.staff_id else {}
    return _step(case, who, now, "released", status=ROUTED, claimed_by=None, claimed_by_name=None, detail=detail)


def closed(case: Case, who: StaffIdentity, now: datetime, outcome: str, note: str | None) -> Case:
    detail: dict[str, Any] = {"outcome": outcome}
    if note:
        detail["note"] = note
    return _step(case, who, now, "closed", status=CLOSED, overdue=False, detail=detail)


def transferred(case: Case, who: StaffIdentity, now: datetime, target: str, reason: str, action: str) -> Case:
    """`action` is "transferred" (staff) or "reassigned" (coordinator); the SLA restarts at the new partner."""
    return _step(
        case,
        who,
        now,
        action,
        status=ROUTED,
        partner=target,
        queued_at=iso(now),
        claimed_by=None,
        claimed_by_name=None,
        overdue=False,
        detail={"from": case.partner, "to": target, "reason": reason},
    )
