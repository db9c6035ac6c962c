"""Cases and their queue entries: plain data, no storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.routing import conditions_of

ROUTED = "routed"
CLAIMED = "claimed"
SCHEDULED = "scheduled"
CLOSED = "closed"
TRANSFERRED = "transferred"  # a queue entry left behind when the case moved to another partner

CASE_STATUSES = (ROUTED, CLAIMED, SCHEDULED, CLOSED)
QUEUE_STATUSES = (ROUTED, CLAIMED, CLOSED, TRANSFERRED)


def iso(moment: datetime) -> str:
    """UTC with fixed precision, so timestamps sort as strings (the queue index relies on it)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass
class HistoryEntry:
    at: str
    action: str
    partner: str
    by: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at, "action": self.action, "partner": self.partner, "by": self.by, "detail": self.detail}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryEntry:
        return cls(data["at"], data["action"], data["partner"], data.get("by"), dict(data.get("detail") or {}))


@dataclass
class Case:
    case_id: str
    reference: str
    partner: str
    status: str
    rule: str
    routing_reason: str
    language: str
    intake: dict[str, Any]
    created_at: str
    updated_at: str
    queued_at: str
    claimed_by: str | None = None
    claimed_by_name: str | None = None
    overdue: bool = False
    history: list[HistoryEntry] = field(default_factory=list)
    # Which consent texts (by version) were accepted, when, in which language; SMS withdrawal.
    consent: dict[str, Any] = field(default_factory=dict)
    # Only the hash of the applicant's status-link secret is ever stored.
    status_secret_hash: str | None = None
    # So that erasure can also remove the idempotency record of the submission.
    idempotency_key: str | None = None
    erased_at: str | None = None
    # The intake_received SMS is still to be planned by the next send_due_messages run (staff see it waiting).
    confirmation_pending: bool = False
    # Statistics (time to first appointment): the earliest start ever booked, UTC ISO (sorts as text).
    first_appointment_at: str | None = None

    @property
    def routed_partner(self) -> str:
        routed = next((h for h in self.history if h.action == "routed"), None)
        return routed.partner if routed else self.partner

    def as_dict(self) -> dict[str, Any]:
        """What staff and exports see: everything but the secret hash and the idempotency key."""
        return {
            "case_id": self.case_id,
            "reference": self.reference,
            "partner": self.partner,
            "status": self.status,
            # The routing decision as made at intake; a later transfer shows in `partner` and history.
            "routing": {
                "rule": self.rule,
                "partner": self.routed_partner,
                "reason": self.routing_reason,
                "conditions": conditions_of(self.routing_reason),  # the reason, for pages in other languages
            },
            "language": self.language,
            "intake": self.intake,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "queued_at": self.queued_at,
            "claimed_by": self.claimed_by,
            "claimed_by_name": self.claimed_by_name,
            "overdue": self.overdue,
            "history": [h.as_dict() for h in self.history],
            "consent": self.consent,
            "erased_at": self.erased_at,
        }


@dataclass(frozen=True)
class PartnerNotice:
    """`case.routed` for a partner's systems: ids only, never personal data."""

    case_id: str
    partner: str
    reference: str
    at: str  # when the case entered this partner's queue

    @classmethod
    def of(cls, case: Case) -> PartnerNotice:
        """The notice the routing write of `case` (an intake, a transfer) marked for its partner."""
        return cls(case.case_id, case.partner, case.reference, case.queued_at)

    def as_dict(self) -> dict[str, str]:
        return {
            "type": "case.routed",
            "case_id": self.case_id,
            "reference": self.reference,
            "partner": self.partner,
            "at": self.at,
        }


@dataclass
class QueueEntry:
    """One case in one partner's queue. Holds no personal data, only what sorting and triage need."""

    partner: str
    case_id: str
    reference: str
    status: str
    queued_at: str
    language: str
    profession_group: str
    goals: list[str]
    rule: str
    claimed_by: str | None = None
    claimed_by_name: str | None = None
    overdue: bool = False
    attention: bool = False  # a "please check" flag waits on the case (an SMS staff must act on)

    @classmethod
    def for_case(cls, case: Case) -> QueueEntry:
        qualification = case.intake.get("qualification", {})
        return cls(
            partner=case.partner,
            case_id=case.case_id,
            reference=case.reference,
            status=ROUTED,
            queued_at=case.queued_at,
            language=case.language,
            profession_group=qualification.get("profession_group", "other"),
            goals=list(case.intake.get("goals", [])),
            rule=case.rule,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "reference": self.reference,
            "partner": self.partner,
            "status": self.status,
            "queued_at": self.queued_at,
            "language": self.language,
            "profession_group": self.profession_group,
            "goals": self.goals,
            "rule": self.rule,
            "claimed_by": self.claimed_by,
            "claimed_by_name": self.claimed_by_name,
            "overdue": self.overdue,
            "attention": self.attention,
        }


def sms_recipient(case: Case) -> str | None:
    """The E.164 number when the applicant consented to SMS and has not withdrawn; else None."""
    if getattr(case, "erased_at", None):
        return None
    consent = getattr(case, "consent", None) or case.intake.get("consent") or {}
    if not consent.get("sms") or consent.get("sms_withdrawn_at"):
        return None
    phone = case.intake.get("phone")
    return phone if isinstance(phone, str) and phone.startswith("+") else None
