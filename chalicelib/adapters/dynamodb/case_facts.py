"""The statistics and retention attributes of a case item in DynamoDB (issue 7).

Statistics (claimed_at, closed_at, outcome, counters of appointments and SMS, ...) are
written where the event happens, in the same conditional write or transaction where there
is one (claim, close, overdue), else as an atomic ADD on the case (SMS status changes).
They hold no personal data and erasure leaves them alone, so figures survive erasure.

Retention attributes (retention_key/retention_at for the sparse retention index, the
keyed phone hash for the sparse phone index, the TTL backstop `expires_at`) go away with
the personal data on erasure, which takes the case out of those indexes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.adapters.dynamodb.errors import condition_failed, item_too_large, storage_errors_retryable
from chalicelib.adapters.dynamodb.models import CaseModel, TransferredEntryModel
from chalicelib.domain.cases import CLAIMED, CLOSED, ROUTED, Case, HistoryEntry, iso
from chalicelib.domain.privacy import phone_hash
from chalicelib.domain.retention import CLOSED as CLOSED_CLOCK
from chalicelib.domain.retention import INACTIVE, UNCLAIMED, RetentionClock, RetentionPolicy

if TYPE_CHECKING:  # the statistics types load only where reports are made, not on an intake
    from chalicelib.domain.metrics import CaseStats

log = logging.getLogger(__name__)

COUNTERS = ("sms_sent", "sms_delivered", "sms_failed", "appointments", "attended", "no_shows")
RETENTION_ATTRIBUTES = ("phone_hash", "retention_key", "retention_at", "expires_at")
NOTICE_ATTRIBUTES = ("notice_key", "notice_at")  # an erased case is no longer announced
CONFIRM_ATTRIBUTES = ("confirm_key", "confirm_at")  # nor confirmed to the applicant
REPLAYABLE = "replayable"
REPLAY_ATTRIBUTES = ("request_hash", "idempotent_response", "idempotent_until", "replay_key")
CONSENT_ATTEMPTS = 3


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def never_claimed(case: Case) -> bool:
    return not any(h.action == "claimed" for h in case.history)


@storage_errors_retryable
class DynamoCaseFacts:
    def __init__(self, retention: RetentionPolicy | None, phone_hash_key: str) -> None:
        self.retention = retention or RetentionPolicy()
        self._phone_hash_key = phone_hash_key

    # --- written with the case ------------------------------------------------------------

    def on_intake(self, model: CaseModel, case: Case) -> None:
        """A new case: its statistics key, the unclaimed clock and the keyed phone hash."""
        created = datetime.fromisoformat(case.created_at)
        model.stats_month = case.created_at[:7]
        model.routed_partner = case.partner
        model.retention_key = UNCLAIMED
        model.retention_at = case.created_at
        model.expires_at = self.retention.backstop(UNCLAIMED, created)
        phone = case.intake.get("phone")
        if isinstance(phone, str) and phone.startswith("+"):
            model.phone_hash = phone_hash(phone, self._phone_hash_key)

    def on_transition(self, before: Case, after: Case) -> list[Any]:
        """Extra case update actions for a staff transition."""
        actions: list[Any] = []
        if after.status == CLAIMED and before.status == ROUTED:
            actions += [
                CaseModel.claimed_at.set(CaseModel.claimed_at | after.updated_at),
                CaseModel.claimed_partner.set(CaseModel.claimed_partner | after.partner),
            ]
        if after.status == CLOSED and before.status != CLOSED:
            closed = datetime.fromisoformat(after.updated_at)
            backstop = self.retention.backstop(CLOSED_CLOCK, closed)
            outcome = next((h.detail.get("outcome") for h in reversed(after.history) if h.action == "closed"), None)
            actions = [
                CaseModel.closed_at.set(after.updated_at),
                CaseModel.retention_key.set(CLOSED_CLOCK),
                CaseModel.retention_at.set(after.updated_at),
                CaseModel.expires_at.set(backstop),
            ]
            if outcome:
                actions.append(CaseModel.outcome.set(outcome))
            return actions
        if after.status != CLOSED and not never_claimed(after):
            # The first claim ended the unclaimed clock for good; each step of a case someone worked on
            # starts the inactive one anew (released, passed on or left open, it must not stay for ever).
            actions += self.inactive_clock(after.updated_at)
        return actions

    def inactive_clock(self, since: str) -> list[Any]:
        backstop = self.retention.backstop(INACTIVE, datetime.fromisoformat(since))
        return [
            CaseModel.retention_key.set(INACTIVE),
            CaseModel.retention_at.set(since),
            CaseModel.expires_at.set(backstop),
        ]

    def on_transferred_entry(self, entry: TransferredEntryModel, case: Case) -> None:
        """The trace of a never-claimed case follows its unclaimed clock (erasure deletes it earlier)."""
        if never_claimed(case):
            entry.expires_at = self.retention.backstop(UNCLAIMED, datetime.fromisoformat(case.created_at))

    @staticmethod
    def on_overdue() -> list[Any]:
        return [CaseModel.was_overdue.set(True)]

    @staticmethod
    def on_erase() -> list[Any]:
        names = (*RETENTION_ATTRIBUTES, *REPLAY_ATTRIBUTES, *NOTICE_ATTRIBUTES, *CONFIRM_ATTRIBUTES)
        return [getattr(CaseModel, name).remove() for name in names]

    # --- counters and consent -------------------------------------------------------------

    def count(self, case_id: str, counter: str, by: int = 1) -> bool:
        """Add to a counter of an existing case (never creates an item); False if there is no case."""
        if counter not in COUNTERS:
            raise ValueError(f"unknown counter {counter!r}")
        try:
            CaseModel(case_id).update(
                actions=[getattr(CaseModel, counter).add(by)], condition=CaseModel.case_id.exists()
            )
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def cases_of_phone(self, hashed: str) -> list[str]:
        return [item.case_id for item in CaseModel.phone_index.query(hashed)]

    def record_sms_consent(self, hashed: str, withdrawn: bool, at: datetime, keyword: str) -> int:
        """STOP (withdrawn) or START on every not-erased case of this number; returns cases changed."""
        changed = 0
        for case_id in self.cases_of_phone(hashed):
            changed += self._consent_one(case_id, withdrawn, at, keyword)
        return changed

    def _consent_one(self, case_id: str, withdrawn: bool, at: datetime, keyword: str) -> bool:
        when = iso(at)
        for _attempt in range(CONSENT_ATTEMPTS):
            try:
                item = CaseModel.get(case_id, consistent_read=True)
            except DoesNotExist:
                return False
            consent = dict(item.consent or {})
            if item.erased_at or not consent.get("sms"):
                return False
            if withdrawn == bool(consent.get("sms_withdrawn_at")):
                return False  # already so: a repeated STOP or START changes nothing
            if withdrawn:
                consent["sms_withdrawn_at"] = when
            else:
                consent["sms_withdrawn_at"] = None
                consent["sms_renewed_at"] = when
            action = "sms_consent_withdrawn" if withdrawn else "sms_consent_renewed"
            entry = HistoryEntry(when, action, item.partner, None, {"keyword": keyword})
            actions = [
                CaseModel.consent.set(consent),
                CaseModel.updated_at.set(when),
                CaseModel.history.set(CaseModel.history.append([entry.as_dict()])),
            ]
            if withdrawn:
                actions.append(CaseModel.opted_out_at.set(CaseModel.opted_out_at | when))
            unchanged = (CaseModel.updated_at == item.updated_at) & CaseModel.erased_at.does_not_exist()
            try:
                CaseModel(case_id).update(actions=actions, condition=unchanged)
                return True
            except UpdateError as error:
                if item_too_large(error):
                    # What is sent follows the number's opt-out list (written next), not this record.
                    log.warning("sms consent not recorded: the case record is full", extra={"case_id": case_id})
                    return False
                if not condition_failed(error):
                    raise
        log.warning("sms consent not recorded: the case kept changing", extra={"case_id": case_id})
        return False

    # --- reading: metrics and retention ---------------------------------------------------

    def created_between(self, start: datetime, end: datetime) -> Iterator[CaseStats]:
        """Cases created in [start, end): one Query per UTC month on the stats index."""
        low, high = iso(start), iso(end)
        month = datetime(start.astimezone(UTC).year, start.astimezone(UTC).month, 1, tzinfo=UTC)
        while iso(month) < high:
            key = iso(month)[:7]
            for item in CaseModel.stats_index.query(key, CaseModel.created_at.between(low, high)):
                if item.created_at < high:
                    yield to_stats(item)
            month = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)

    def due_for_retention(self, kind: str, cutoff: str, page_size: int = 100) -> Iterator[str]:
        """Case ids whose `kind` clock started at or before `cutoff`, oldest first, paged lazily."""
        for item in CaseModel.retention_index.query(kind, CaseModel.retention_at <= cutoff, page_size=page_size):
            yield item.case_id

    def not_due(
        self, kind: str, cutoff: str, page_size: int = 100, newest_first: bool = False
    ) -> Iterator[RetentionClock]:
        """The `kind` clocks started after `cutoff`: not due yet."""
        condition = CaseModel.retention_at > cutoff
        query = CaseModel.retention_index.query(
            kind, condition, page_size=page_size, scan_index_forward=not newest_first
        )
        for entry in query:
            yield RetentionClock(entry.case_id, entry.retention_at)

    def backstop_of(self, case_id: str) -> datetime | None:
        """The case's TTL; the retention index holds keys only, so one small consistent GetItem."""
        names = [CaseModel.case_id.attr_name, CaseModel.expires_at.attr_name]
        try:
            return CaseModel.get(case_id, consistent_read=True, attributes_to_get=names).expires_at
        except DoesNotExist:
            return None

    def rearm(self, kind: str, clock: RetentionClock, backstop: datetime) -> bool:
        """Move the case's TTL to `backstop` unless it is there already or the clock changed since."""
        unchanged = (CaseModel.retention_key == kind) & (CaseModel.retention_at == clock.started_at)
        try:
            CaseModel._get_connection().update_item(
                clock.case_id,
                actions=[CaseModel.expires_at.set(backstop)],
                condition=unchanged & (CaseModel.expires_at != backstop),
            )
        except UpdateError as error:
            if condition_failed(error):
                return False  # already re-armed, claimed, closed anew or erased meanwhile
            raise
        return True

    def restart_inactive(self, case_id: str, since: str) -> bool:
        """Start the inactive clock at the case's last change (`since`, its updated_at), unless changed since."""
        condition = (CaseModel.retention_key == INACTIVE) & (CaseModel.updated_at == since)
        try:
            CaseModel(case_id).update(actions=self.inactive_clock(since), condition=condition)
        except UpdateError as error:
            if condition_failed(error):
                return False  # a step, a close or an erasure came first and set its own clock
            raise
        return True

    def expired_replays(self, cutoff: datetime, page_size: int = 100) -> Iterator[str]:
        """Cases whose idempotency record expired at or before `cutoff`, oldest first."""
        condition = CaseModel.idempotent_until <= cutoff
        for item in CaseModel.replay_index.query(REPLAYABLE, condition, page_size=page_size):
            yield item.case_id

    def forget_replay(self, case_id: str, cutoff: datetime) -> bool:
        """Drop an expired idempotency record (the sealed copy of the first answer) from the case."""
        actions = [getattr(CaseModel, name).remove() for name in REPLAY_ATTRIBUTES]
        try:
            CaseModel(case_id).update(actions=actions, condition=CaseModel.idempotent_until <= cutoff)
        except UpdateError as error:
            if condition_failed(error):
                return False  # erased or already forgotten meanwhile
            raise
        return True

    # --- applicants' rights: statistics are part of what is stored about a case -------------

    def export_for_case(self, case_id: str) -> dict[str, Any]:
        try:
            item = CaseModel.get(case_id, consistent_read=True)
        except DoesNotExist:
            return {}
        values = {name: getattr(item, name) for name in ("stats_month", "routed_partner", "closed_at", "outcome")}
        values |= {name: getattr(item, name) for name in ("claimed_at", "first_appointment_at", "opted_out_at")}
        values["claimed_partner"] = item.claimed_partner
        values |= {name: int(getattr(item, name) or 0) for name in COUNTERS}
        values["was_overdue"] = bool(item.was_overdue)
        retention = {"clock": item.retention_key, "since": item.retention_at}
        if item.expires_at is not None:
            retention["deleted_by"] = item.expires_at.isoformat()
        return {"statistics": values, "retention": retention}

    def erase_for_case(self, case_id: str) -> int:
        return 0  # anonymous; the retention attributes go in the erasure transaction itself


def to_stats(item: CaseModel) -> CaseStats:
    from chalicelib.domain.metrics import CaseStats

    return CaseStats(
        case_id=item.case_id,
        created_at=datetime.fromisoformat(item.created_at),
        partner=item.partner,
        routed_partner=item.routed_partner or item.partner,
        rule=item.rule,
        claimed_at=_when(item.claimed_at),
        claimed_partner=item.claimed_partner,
        first_appointment_at=_when(item.first_appointment_at),
        appointments=int(item.appointments or 0),
        attended=int(item.attended or 0),
        no_shows=int(item.no_shows or 0),
        overdue=bool(item.was_overdue),
        closed_at=_when(item.closed_at),
        outcome=item.outcome,
        sms_sent=int(item.sms_sent or 0),
        sms_delivered=int(item.sms_delivered or 0),
        sms_failed=int(item.sms_failed or 0),
        opted_out=bool(item.opted_out_at),
    )
