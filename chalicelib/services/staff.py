"""Staff use cases: the queue, reading a case, claim, release, transfer, close, resolving a "please
check" flag, the audit trail.

Visibility first: a case of another institution answers exactly like a missing one (404), on
every action. Then the domain rule; then one conditional transaction. A lost race re-reads the
case only to explain the outcome (409 with who holds it) or, if the new state still allows
the action, to try once more.

A retry of an action whose answer was lost (a 503 after the write had landed) finds the case
already changed by the caller's own request: a repeat within REPEAT_WINDOW is answered as done,
with the after-effects run again (they are idempotent), not with a 409 for a closed case or a 404
for a case the caller's own transfer moved out of sight.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain import sla
from chalicelib.domain.appointments import (
    ATTENTION_RESOLVED,
    Cancellations,
    attention_resolved,
    is_open_attention,
    open_attention,
)
from chalicelib.domain.cases import CLAIMED, CLOSED, ROUTED, SCHEDULED, Case, PartnerNotice, QueueEntry
from chalicelib.domain.reference import REFERENCE_FORMAT, normalise_reference
from chalicelib.domain.staff import (
    CLAIM,
    CLOSE,
    REASSIGN,
    RELEASE,
    RESOLVE_ATTENTION,
    TRANSFER,
    VIEW,
    AuditEntry,
    StaffIdentity,
    check_claim,
    check_close,
    check_not_erased,
    check_release,
    check_transfer,
    claimed,
    closed,
    released,
    repeats_last_step,
    transferred,
)
from chalicelib.domain.text import multi_line, visible_length
from chalicelib.errors import (
    AttentionNotOpenError,
    ConflictError,
    FieldError,
    ForbiddenError,
    NotFoundError,
    StateChangedError,
    ValidationError,
)
from chalicelib.ports import AuditLog, Clock, Directory, QueueStore
from chalicelib.schemas import load_schema
from chalicelib.validation import validate

log = logging.getLogger(__name__)

# `claimed` lists every held case (claimed or scheduled), `scheduled` those with an appointment to come.
QUEUE_STATUSES = (ROUTED, CLAIMED, SCHEDULED, CLOSED)
HELD_STATUSES = (CLAIMED, SCHEDULED)  # the listings `mine=true` can narrow to the caller's own cases
MAX_ATTEMPTS = 3
MIN_REASON_CHARS = 10

Decision = Callable[[Case, datetime], Case | None]
Repeat = Callable[[Case, datetime], bool]  # is the case already as this very request left it?


def not_found() -> NotFoundError:
    # One message for "missing" and "another institution's": no enumeration of case ids.
    return NotFoundError("No case has this id.")


def query_params(params: Mapping[str, str] | None, allowed: tuple[str, ...]) -> dict[str, str]:
    """The query string, with unknown parameters rejected by name (a typo should not be ignored)."""
    given = dict(params or {})
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValidationError(
            [FieldError(name, "not_allowed", f"Unknown query parameter {name!r} is not allowed.") for name in unknown]
        )
    return given


def choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    value = params.get(name, default)
    if value is not None and value not in allowed:
        raise ValidationError([FieldError(name, "invalid_choice", f"{name} must be one of: {', '.join(allowed)}.")])
    return value


def page_limit(params: Mapping[str, str], default: int, maximum: int = 100) -> int:
    raw = params.get("limit")
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ValidationError(
            [FieldError("limit", "out_of_range", f"limit must be a whole number from 1 to {maximum}.")]
        )
    return int(raw)


def checked_body(schema_name: str, body: Any) -> dict[str, Any]:
    errors = validate(schema_name, body)
    if errors:
        raise ValidationError([_explained(schema_name, e) for e in errors])
    return dict(body)


def _explained(schema_name: str, error: FieldError) -> FieldError:
    """validation.py words these two codes generically; say what is expected."""
    if error.code == "unknown_partner":
        return FieldError(error.field, error.code, f"{error.field} must be a partner id such as via-bayern.")
    if error.code != "too_short":
        return error
    minimum = load_schema(schema_name).get("properties", {}).get(error.field, {}).get("minLength")
    return FieldError(error.field, error.code, f"{error.field} is too short (at least {minimum} characters).")


def required_reason(reason: str) -> str:
    """The schema counts characters; blanks around a too-short reason must not pad it."""
    text = multi_line(reason)
    if visible_length(text) < MIN_REASON_CHARS:
        raise ValidationError(
            [
                FieldError(
                    "reason",
                    "too_short",
                    f"reason must explain the move in at least {MIN_REASON_CHARS} characters.",
                )
            ]
        )
    return text


@dataclass
class StaffService:
    store: QueueStore
    audit: AuditLog
    directory: Directory
    clock: Clock
    # Wiring spot for the `case_transferred` SMS (messaging issue): called after a transfer or a
    # reassignment has been stored, with the case as it is now and the partner it came from.
    on_transferred: Callable[[Case, str], None] | None = None
    # What a close cancels in its own write (the case's upcoming appointments, their holders' time):
    # given the case before and after the close, the case after with those cancellations.
    closing: Callable[[StaffIdentity, Case, Case, datetime], tuple[Case, Cancellations]] | None = None
    # Called after a close has been stored (appointments: stop the unsent SMS).
    on_closed: Callable[[Case], None] | None = None
    # Sends the `case.routed` notice a stored transfer or reassignment marked for the new partner
    # and clears the marker; never raises (the stream and notify_partners send what it cannot).
    announce: Callable[[PartnerNotice], object] | None = None

    # --- reading ---------------------------------------------------------------------------

    def queue(self, who: StaffIdentity, params: Mapping[str, str] | None) -> dict[str, Any]:
        given = query_params(params, ("status", "limit", "cursor", "mine", "partner"))
        status = choice(given, "status", QUEUE_STATUSES, ROUTED) or ROUTED
        mine = choice(given, "mine", ("true", "false"), "false") == "true"
        if mine and status not in HELD_STATUSES:
            raise ValidationError(
                [FieldError("mine", "invalid_choice", "mine=true needs status=claimed or status=scheduled.")]
            )
        partner = self._queue_partner(who, given.get("partner"))
        entries, next_cursor = self.store.queue_page(
            partner, status, page_limit(given, 25), given.get("cursor"), claimed_by=who.staff_id if mine else None
        )
        return {
            "partner": partner,
            "status": status,
            "cases": [self.listed(entry) for entry in entries],
            "next_cursor": next_cursor,
        }

    def find(self, who: StaffIdentity, params: Mapping[str, str] | None) -> dict[str, Any]:
        """The case an applicant names on the phone by its reference, if it is the caller's to see.

        Typed as heard: lower case, spaces and a missing dash are fine. A case of another partner is
        left out, as if there were none (no enumeration); the rows hold no personal data."""
        given = query_params(params, ("reference",))
        typed = (given.get("reference") or "").strip()
        if not typed:
            raise ValidationError(
                [FieldError("reference", "required", "reference is required: the code the applicant reads out.")]
            )
        reference = normalise_reference(typed)
        if not REFERENCE_FORMAT.fullmatch(reference):
            raise ValidationError(
                [FieldError("reference", "invalid_format", "reference looks like K7P3-Q9XA: 8 letters and digits.")]
            )
        rows = [e for e in self.store.find_by_reference(reference) if who.is_coordinator or e.partner == who.partner]
        return {"reference": reference, "cases": [self.listed(entry) for entry in rows]}

    def _queue_partner(self, who: StaffIdentity, asked: str | None) -> str:
        partners = self.directory.partners()
        if who.is_coordinator:
            partner = asked or who.partner
            if partner is None:
                raise ValidationError([FieldError("partner", "required", "partner is required for coordinators.")])
        else:
            if asked is not None and asked != who.partner:
                raise ForbiddenError("Staff can list only their own institution's queue.")
            partner = who.partner or ""
            if partner not in partners:  # the account, not the request, is wrong
                raise ForbiddenError(f"Your account's institution {partner!r} is not a partner of the network.")
        if partner not in partners:
            raise ValidationError([FieldError("partner", "unknown_partner", f"{partner!r} is not a known partner.")])
        return partner

    def listed(self, entry: QueueEntry) -> dict[str, Any]:
        """A queue row: no personal data; routed rows say when the SLA runs out."""
        row = entry.as_dict()
        partner = self.directory.partners().get(entry.partner)
        if entry.status == ROUTED and partner is not None:
            due = sla.due_at(datetime.fromisoformat(entry.queued_at), partner.sla_working_days)
            row["due_at"] = due.isoformat(timespec="seconds")
        return row

    def visible_case(self, who: StaffIdentity, case_id: str, repeat: Repeat | None = None) -> Case:
        """`repeat`: a case out of the caller's sight is still theirs to hear about when it is their own
        transfer, a moment ago, that moved it (the retry of a transfer whose answer was lost)."""
        case = self.store.get_case(case_id) if case_id else None
        if case is not None and repeat is not None and not who.can_see(case) and repeat(case, self.clock.now()):
            return case
        if case is None or not who.can_see(case):
            if case is not None:
                log.warning("cross-partner case access refused", extra={"staff_id": who.staff_id, "case_id": case_id})
            raise not_found()
        return case

    def case(self, who: StaffIdentity, case_id: str) -> Case:
        """The full case; every read is written to the audit log."""
        case = self.visible_case(who, case_id)
        self.audit.append(AuditEntry.of(who, case.case_id, VIEW, self.clock.now(), status=case.status))
        return case

    def case_view(self, who: StaffIdentity, case_id: str) -> dict[str, Any]:
        """The case as the staff page shows it, with the applicant SMS waiting for staff (a `2`, CANCEL)."""
        case = self.case(who, case_id)
        return {**case.as_dict(), "attention": open_attention(case.history)}

    def audit_trail(self, who: StaffIdentity, case_id: str, params: Mapping[str, str] | None) -> dict[str, Any]:
        given = query_params(params, ("limit", "cursor"))
        self.visible_case(who, case_id)
        entries, next_cursor = self.audit.entries(case_id, page_limit(given, 50), given.get("cursor"))
        return {"case_id": case_id, "entries": [e.as_dict() for e in entries], "next_cursor": next_cursor}

    # --- actions ---------------------------------------------------------------------------

    def claim(self, who: StaffIdentity, case_id: str) -> Case:
        def decide(case: Case, now: datetime) -> Case | None:
            return claimed(case, who, now) if check_claim(case, who) else None

        return self._act(who, case_id, CLAIM, decide, lambda case: {})

    def release(self, who: StaffIdentity, case_id: str) -> Case:
        def decide(case: Case, now: datetime) -> Case:
            check_release(case, who)
            return released(case, who, now)

        # A case's last step says its state: released → routed, closed → closed, moved → at `target`.
        def repeat(case: Case, now: datetime) -> bool:
            return repeats_last_step(case, who, now, "released")

        return self._act(
            who, case_id, RELEASE, decide, lambda case: {"previous_holder": case.claimed_by}, repeat=repeat
        )

    def close(self, who: StaffIdentity, case_id: str, body: Any) -> Case:
        data = checked_body("close", body)
        outcome, note = data["outcome"], multi_line(data.get("note") or "") or None

        def decide(case: Case, now: datetime) -> Case:
            check_close(case, who)
            return closed(case, who, now, outcome, note)

        def repeat(case: Case, now: datetime) -> bool:
            return repeats_last_step(case, who, now, "closed", outcome=outcome, note=note)

        # The note is free text that may name the applicant: it lives in the case, not the audit log.
        after = self._act(
            who,
            case_id,
            CLOSE,
            decide,
            lambda case: {"outcome": outcome, "has_note": note is not None},
            also=None if self.closing is None else functools.partial(self.closing, who),
            repeat=repeat,
        )
        if self.on_closed is not None:
            self.on_closed(after)
        return after

    def resolve_attention(self, who: StaffIdentity, case_id: str, body: Any) -> dict[str, Any]:
        """Mark an open "please check" flag dealt with (e.g. the applicant was called); any staff of
        the case's institution may, whoever holds it. Answers the case view, the flag gone."""
        data = checked_body("attention-resolve", body)
        reason, appointment_id = data["reason"], data.get("appointment_id")
        note = multi_line(data.get("note") or "") or None

        def decide(case: Case, now: datetime) -> Case:
            check_not_erased(case)
            if not is_open_attention(case.history, reason, appointment_id):
                raise AttentionNotOpenError(
                    "Nothing with this reason and appointment is waiting on this case: it was settled or "
                    "resolved already; reload the case."
                )
            return attention_resolved(case, who, now, reason, appointment_id, note)

        def repeat(case: Case, now: datetime) -> bool:
            return repeats_last_step(
                case, who, now, ATTENTION_RESOLVED, reason=reason, appointment_id=appointment_id, note=note
            )

        # The note is free text that may name the applicant: it lives in the case, not the audit log.
        after = self._act(
            who,
            case_id,
            RESOLVE_ATTENTION,
            decide,
            lambda case: (
                {"reason": reason, "has_note": note is not None}
                | ({"appointment_id": appointment_id} if appointment_id else {})
            ),
            repeat=repeat,
        )
        return {**after.as_dict(), "attention": open_attention(after.history)}

    def transfer(self, who: StaffIdentity, case_id: str, body: Any) -> Case:
        return self._move(who, case_id, body, TRANSFER, "transferred")

    def reassign(self, who: StaffIdentity, case_id: str, body: Any) -> Case:
        if not who.is_coordinator:
            raise ForbiddenError("Only network coordinators can reassign cases.")
        return self._move(who, case_id, body, REASSIGN, "reassigned")

    def _move(self, who: StaffIdentity, case_id: str, body: Any, action: str, history_action: str) -> Case:
        data = checked_body("transfer", body)
        target, reason = data["partner"], required_reason(data["reason"])
        partners = set(self.directory.partners())

        def decide(case: Case, now: datetime) -> Case:
            check_transfer(case, who, target, partners)
            return transferred(case, who, now, target, reason, history_action)

        def repeat(case: Case, now: datetime) -> bool:
            return repeats_last_step(case, who, now, history_action, to=target, reason=reason)

        # Reason text stays in the case history; the audit log keeps ids and codes only.
        after = self._act(
            who,
            case_id,
            action,
            decide,
            lambda case: {"from": case.partner, "to": target, "reason_chars": len(reason)},
            repeat=repeat,
            stored=self._announce,
        )
        previous = after.history[-1].detail.get("from", "")
        if self.on_transferred is not None:
            self.on_transferred(after, previous)
        return after

    def _announce(self, case: Case) -> None:
        if self.announce is not None:
            self.announce(PartnerNotice.of(case))

    def _act(
        self,
        who: StaffIdentity,
        case_id: str,
        action: str,
        decide: Decision,
        detail: Callable[[Case], dict[str, Any]],
        also: Callable[[Case, Case, datetime], tuple[Case, Cancellations]] | None = None,
        repeat: Repeat | None = None,
        stored: Callable[[Case], object] | None = None,
    ) -> Case:
        """`also`: what else the same write does (a close's cancellations), decided again on every attempt.
        `repeat`: whether the case already is as this request leaves it (its answer was lost): then
        it is returned as it is, with nothing written and nothing audited twice.
        `stored`: called with the case as written, once this request's write is stored."""
        case = self.visible_case(who, case_id, repeat)
        for _attempt in range(MAX_ATTEMPTS):
            now = self.clock.now()
            if repeat is not None and repeat(case, now):
                return case
            after = decide(case, now)  # raises the rule's own error (409/403/400), case unchanged
            if after is None:
                return case
            cancellations = None
            if also is not None:
                after, cancellations = also(case, after, now)
            try:
                audit = AuditEntry.of(who, case.case_id, action, now, **detail(case))
                self.store.apply(case, after, audit, cancellations)
            except StateChangedError:
                # Someone else acted first. Read again only to explain (or, rarely, to act on the new state).
                case = self.visible_case(who, case_id, repeat)
                continue
            if stored is not None:
                stored(after)
            return after
        raise ConflictError("The case changed while you were working on it; reload it and try again.")
