"""Staff transitions on cases, and partners' queues, in DynamoDB.

Every transition is one TransactWrite: the case update carries the condition that the case
is still in the state the service checked (status, partner, holder), so among racing callers
exactly one wins; the audit entry is written in the same transaction, and so are the
appointments a close cancels. The case item is its own queue entry (its `partner_status` keys
the queue index), so the queue cannot disagree with the case; a transfer also leaves a trace
in the old partner's "transferred" list.
"""

from __future__ import annotations

import logging
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.appointment_store import attention_seen, write_cancellations
from chalicelib.adapters.dynamodb.audit_store import audit_put_condition, audit_to_model, worth_a_retry
from chalicelib.adapters.dynamodb.case_facts import DynamoCaseFacts
from chalicelib.adapters.dynamodb.case_store import entry_from_index, load_case, transferred_to_model
from chalicelib.adapters.dynamodb.confirm_outbox import clear_confirmation
from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.errors import (
    condition_failed,
    item_too_large,
    record_full,
    retryable,
    storage_errors_retryable,
)
from chalicelib.adapters.dynamodb.models import CaseModel, TransferredEntryModel
from chalicelib.adapters.dynamodb.notice_outbox import notice_due
from chalicelib.domain.appointments import Cancellations
from chalicelib.domain.cases import ROUTED, TRANSFERRED, Case, HistoryEntry, QueueEntry
from chalicelib.domain.staff import AuditEntry, queue_listing, queue_status
from chalicelib.errors import StateChangedError

log = logging.getLogger(__name__)

QUEUE_INDEX_KEYS = ("case_id", "partner_status", "queued_at")
MAX_REFERENCE_MATCHES = 10  # 29^8 codes: two cases sharing one is already next to impossible
TRANSFERRED_INDEX_KEYS = ("partner", "case_id", "partner_status", "queued_at")
# A filtered queue page (see queue_page) reads at most this many index items per request: with
# queue rows of well under 1 KB that is a few dozen read units, in at most five DynamoDB pages.
MAX_ITEMS_READ = 500
FIRST_FILTERED_READ = 25  # the first DynamoDB page of a filtered listing; each further one is twice as big


def _is_condition_failure(error: TransactWriteError) -> bool:
    reasons = error.cancellation_reasons or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


def _optional(attribute: Any, value: str | None) -> list[Any]:
    """SET when there is a value, REMOVE when there is none (DynamoDB stores no nulls here)."""
    return [attribute.set(value)] if value is not None else [attribute.remove()]


def _unflagged(attribute: Any) -> Any:
    """Not yet marked overdue (older items may lack the attribute)."""
    return attribute.does_not_exist() | (attribute == False)  # noqa: E712 (a DynamoDB condition)


def _moves(before: Case, after: Case) -> bool:
    return (before.status, before.partner, before.overdue) != (after.status, after.partner, after.overdue)


def _same_state(before: Case) -> Any:
    """The case is as the service saw it: same status, same partner, same holder, not erased since
    (erasure changes none of those three, and must not be written over)."""
    condition = (
        (CaseModel.status == before.status)
        & (CaseModel.partner == before.partner)
        & CaseModel.erased_at.does_not_exist()
    )
    if before.claimed_by is None:
        return condition & CaseModel.claimed_by.does_not_exist()
    return condition & (CaseModel.claimed_by == before.claimed_by)


@storage_errors_retryable
class DynamoQueueStore:
    def __init__(self, connection: Connection, facts: DynamoCaseFacts) -> None:
        self._connection = connection
        # Statistics and the retention clock change in the same transaction as the case (issue 7).
        self._facts = facts

    def get_case(self, case_id: str) -> Case | None:
        return load_case(case_id)

    def apply(self, before: Case, after: Case, audit: AuditEntry, cancellations: Cancellations | None = None) -> None:
        """Write `after` over `before` if the case is unchanged; else raise StateChangedError.

        With `cancellations` (a close), the appointments it cancels are written in the same
        transaction, and the case must be exactly as read: a booking since would otherwise escape.
        """
        new_history = [h.as_dict() for h in after.history[len(before.history) :]]
        counters = cancellations.counters if cancellations is not None else ()
        case_actions = [
            CaseModel.status.set(after.status),
            CaseModel.partner.set(after.partner),
            CaseModel.partner_status.set(f"{after.partner}#{queue_status(after.status)}"),
            CaseModel.queued_at.set(after.queued_at),
            CaseModel.updated_at.set(after.updated_at),
            # A step that moves the case (claim, transfer, release) settles the flag; one that leaves it
            # where it is (a resolved flag) must not undo a mark_overdue_cases that ran since the read.
            *([CaseModel.overdue.set(after.overdue)] if _moves(before, after) else []),
            *_optional(CaseModel.claimed_by, after.claimed_by),
            *_optional(CaseModel.claimed_by_name, after.claimed_by_name),
            CaseModel.history.set(CaseModel.history.append(new_history)),
            *attention_seen(after.history),
            *self._facts.on_transition(before, after),
            *(getattr(CaseModel, name).add(by) for name, by in counters),
        ]
        condition = _same_state(before)
        # A close with cancellations, and a step that leaves the case where it is (a resolved flag:
        # two people resolving the same one at once must not both write), need it exactly as read.
        if cancellations is not None or not _moves(before, after):
            condition &= CaseModel.updated_at == before.updated_at
        if after.partner != before.partner:
            case_actions += notice_due(after.queued_at)  # the new partner hears of it
            # case_transferred names the new partner and the reference: it replaces an unsent confirmation.
            case_actions += clear_confirmation()
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.update(CaseModel(before.case_id), actions=case_actions, condition=condition)
                if cancellations is not None:
                    write_cancellations(transaction, cancellations, after.updated_at)
                if after.partner != before.partner:
                    trace = transferred_to_model(self._trace(before))
                    self._facts.on_transferred_entry(trace, after)
                    transaction.save(trace)
                    # Back at a partner it once left: it is in their queue again, not "transferred".
                    transaction.delete(TransferredEntryModel(after.partner, after.case_id))
                transaction.save(audit_to_model(audit), condition=audit_put_condition())
        except TransactWriteError as error:
            if worth_a_retry(error):
                raise retryable(error) from error
            if _is_condition_failure(error):
                raise StateChangedError("the case changed since it was read") from error
            if item_too_large(error):
                raise record_full(error) from error
            raise

    @staticmethod
    def _trace(before: Case) -> QueueEntry:
        entry = QueueEntry.for_case(before)
        entry.status, entry.overdue = TRANSFERRED, False
        return entry

    def mark_overdue(self, entry: QueueEntry, history: HistoryEntry) -> bool:
        """Flag a still-routed, still-unflagged case; False if it moved on meanwhile."""
        routed_here = (
            (CaseModel.status == ROUTED)
            & (CaseModel.partner == entry.partner)
            & (CaseModel.queued_at == entry.queued_at)
            & _unflagged(CaseModel.overdue)
        )
        actions = [
            CaseModel.overdue.set(True),
            CaseModel.history.set(CaseModel.history.append([history.as_dict()])),
            *self._facts.on_overdue(),
        ]
        try:
            CaseModel(entry.case_id).update(actions=actions, condition=routed_here)
        except UpdateError as error:
            if worth_a_retry(error):
                raise retryable(error) from error
            if condition_failed(error):
                return False
            if item_too_large(error):
                log.warning("overdue not flagged: the case record is full", extra={"case_id": entry.case_id})
                return False  # one full case does not stop the sweep for the others
            raise
        return True

    def find_by_reference(self, reference: str) -> list[QueueEntry]:
        """The cases with this reference (one, as good as always) as queue rows with their own status:
        one Query on the reference index (keys only), then each case's item."""
        try:
            found = [item.case_id for item in CaseModel.reference_index.query(reference, limit=MAX_REFERENCE_MATCHES)]
            entries = [_with_own_status(item) for item in CaseModel.batch_get(found) if item.partner_status]
        except PynamoDBException as error:
            if worth_a_retry(error):
                raise retryable(error) from error
            raise
        return sorted(entries, key=lambda entry: entry.queued_at)

    def cursor_after(self, partner: str, status: str, entry: QueueEntry) -> str:
        """The cursor queue_page returns after `entry` of `partner`'s `status` listing, made from the
        entry itself (for a page cut shorter than the store read it)."""
        queue, _ = queue_listing(status)
        key = {"case_id": entry.case_id, "partner_status": f"{partner}#{queue}", "queued_at": entry.queued_at}
        if status == TRANSFERRED:
            key["partner"] = partner
        return encode_cursor({name: {"S": value} for name, value in key.items()}) or ""

    def queue_page(
        self,
        partner: str,
        status: str,
        limit: int,
        cursor: str | None,
        claimed_by: str | None = None,
        queued_until: str | None = None,
        only_unflagged: bool = False,
    ) -> tuple[list[QueueEntry], str | None]:
        """One page of a partner's queue, oldest first, from one Query on the queue index.

        Unfiltered, the Query reads one DynamoDB page of `limit` items. With a filter (the holder
        for mine=true, `scheduled` within the claimed queue, the sweep's unflagged), DynamoDB
        applies `Limit` before the filter, so one DynamoDB page could hold none of the caller's
        cases although many exist further on. The page is therefore filled: the same Query
        (same key condition and filter) is continued from its LastEvaluatedKey until it has
        `limit` matches, the index partition ends, or MAX_ITEMS_READ items have been read.
        That is still one index query per page in the issue's sense (one Query, never a Scan
        nor a query per case); each continuation is a page of it.
        """
        queue, only_status = queue_listing(status)
        partner_status = f"{partner}#{queue}"
        if status == TRANSFERRED:
            model: Any = TransferredEntryModel
            keys, fixed = TRANSFERRED_INDEX_KEYS, {"partner": partner, "partner_status": partner_status}
        else:
            model, keys, fixed = CaseModel, QUEUE_INDEX_KEYS, {"partner_status": partner_status}
        start = decode_cursor(cursor, keys, fixed)
        range_condition = model.queued_at <= queued_until if queued_until else None
        filters = []
        if only_status is not None:
            filters.append(model.status == only_status)
        if claimed_by is not None:
            filters.append(model.claimed_by == claimed_by)
        if only_unflagged:
            filters.append(_unflagged(model.overdue))
        filter_condition = None
        for condition in filters:
            filter_condition = condition if filter_condition is None else filter_condition & condition
        try:
            results = model.queue_index.query(
                partner_status,
                range_key_condition=range_condition,
                filter_condition=filter_condition,
                scan_index_forward=True,
                page_size=limit,
                last_evaluated_key=start,
            )
            if filter_condition is None:
                page = next(results.page_iter)
                items, after = page.get("Items", []), encode_cursor(page.get("LastEvaluatedKey"))
            else:
                items, after = _filled_page(results.page_iter, limit, keys)
        except PynamoDBException as error:
            if worth_a_retry(error):
                raise retryable(error) from error
            raise
        return [_queue_entry(model, raw) for raw in items], after


def _queue_entry(model: Any, raw: dict[str, Any]) -> QueueEntry:
    """A queue row showing the case's own status (`scheduled` in the claimed queue), which the
    queue index projects; the partition key names only the queue the case is in."""
    return _with_own_status(model.from_raw_data(raw))


def _with_own_status(item: CaseModel | TransferredEntryModel) -> QueueEntry:
    entry = entry_from_index(item)
    entry.status = item.status or entry.status
    return entry


def _filled_page(pages: Any, limit: int, keys: tuple[str, ...]) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` matching items of a filtered Query, and the cursor after the last one returned.

    Reads on (DynamoDB pages of growing size) for one match more than `limit`, so the cursor is
    None exactly when the partition holds no further match; stops after MAX_ITEMS_READ items
    evaluated and then returns what it has, with the cursor where reading stopped.
    """
    matches: list[dict[str, Any]] = []
    read, size = 0, max(limit + 1, FIRST_FILTERED_READ)
    while True:
        pages.page_size = min(size, MAX_ITEMS_READ - read)
        page = next(pages)
        read += int(page.get("ScannedCount", pages.page_size))
        matches += page.get("Items", [])
        if len(matches) > limit:
            # The next page starts right after the last row shown (an item's keys are a valid start key).
            return matches[:limit], encode_cursor({name: matches[limit - 1][name] for name in keys})
        if pages.last_evaluated_key is None:
            return matches, None
        if read >= MAX_ITEMS_READ:
            return matches, encode_cursor(pages.last_evaluated_key)
        size *= 2
