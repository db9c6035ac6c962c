"""Staff transitions on cases and queue entries in DynamoDB.

Every transition is one TransactWrite: the case update carries the condition that the case
is still in the state the service checked (status, partner, holder), so among racing callers
exactly one wins; the queue entry and the audit entry change in the same transaction.
"""

from __future__ import annotations

from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.audit_store import audit_put_condition, audit_to_model, worth_a_retry
from chalicelib.adapters.dynamodb.case_facts import DynamoCaseFacts
from chalicelib.adapters.dynamodb.case_store import case_from_model, entry_from_model, entry_to_model
from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.errors import retryable
from chalicelib.adapters.dynamodb.models import CaseModel, QueueEntryModel
from chalicelib.domain.cases import ROUTED, TRANSFERRED, Case, HistoryEntry, QueueEntry
from chalicelib.domain.staff import AuditEntry, queue_status
from chalicelib.errors import StateChangedError

QUEUE_INDEX_KEYS = ("partner", "case_id", "partner_status", "queued_at")


def _is_condition_failure(error: TransactWriteError) -> bool:
    reasons = error.cancellation_reasons or []
    return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)


def _optional(attribute: Any, value: str | None) -> list[Any]:
    """SET when there is a value, REMOVE when there is none (DynamoDB stores no nulls here)."""
    return [attribute.set(value)] if value is not None else [attribute.remove()]


def _unflagged(attribute: Any) -> Any:
    """Not yet marked overdue (older items may lack the attribute)."""
    return attribute.does_not_exist() | (attribute == False)  # noqa: E712 (a DynamoDB condition)


def _same_state(before: Case) -> Any:
    """The case is as the service saw it: same status, same partner, same holder."""
    condition = (CaseModel.status == before.status) & (CaseModel.partner == before.partner)
    if before.claimed_by is None:
        return condition & CaseModel.claimed_by.does_not_exist()
    return condition & (CaseModel.claimed_by == before.claimed_by)


class DynamoQueueStore:
    def __init__(self, connection: Connection, facts: DynamoCaseFacts) -> None:
        self._connection = connection
        # Statistics and the retention clock change in the same transaction as the case (issue 7).
        self._facts = facts

    def get_case(self, case_id: str) -> Case | None:
        try:
            return case_from_model(CaseModel.get(case_id, consistent_read=True))
        except CaseModel.DoesNotExist:
            return None
        except PynamoDBException as error:
            if worth_a_retry(error):
                raise retryable(error) from error
            raise

    def apply(self, before: Case, after: Case, audit: AuditEntry) -> None:
        """Write `after` over `before` if the case is unchanged; else raise StateChangedError."""
        new_history = [h.as_dict() for h in after.history[len(before.history) :]]
        case_actions = [
            CaseModel.status.set(after.status),
            CaseModel.partner.set(after.partner),
            CaseModel.queued_at.set(after.queued_at),
            CaseModel.updated_at.set(after.updated_at),
            CaseModel.overdue.set(after.overdue),
            *_optional(CaseModel.claimed_by, after.claimed_by),
            *_optional(CaseModel.claimed_by_name, after.claimed_by_name),
            CaseModel.history.set(CaseModel.history.append(new_history)),
        ]
        fact_actions, entry_fact_actions = self._facts.on_transition(before, after)
        case_actions += fact_actions
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.update(CaseModel(before.case_id), actions=case_actions, condition=_same_state(before))
                if after.partner == before.partner:
                    self._update_entry(transaction, after.partner, after, entry_fact_actions)
                else:
                    self._leave_entry(transaction, before)
                    entry = entry_to_model(QueueEntry.for_case(after))
                    self._facts.on_new_entry(entry, after)
                    free = QueueEntryModel.case_id.does_not_exist() | (QueueEntryModel.status == TRANSFERRED)
                    transaction.save(entry, condition=free)
                transaction.save(audit_to_model(audit), condition=audit_put_condition())
        except TransactWriteError as error:
            if worth_a_retry(error):
                raise retryable(error) from error
            if _is_condition_failure(error):
                raise StateChangedError("the case changed since it was read") from error
            raise

    @staticmethod
    def _update_entry(transaction: TransactWrite, partner: str, after: Case, extra: list[Any] | None = None) -> None:
        status = queue_status(after.status)
        actions = [
            QueueEntryModel.status.set(status),
            QueueEntryModel.partner_status.set(f"{partner}#{status}"),
            QueueEntryModel.overdue.set(after.overdue),
            *_optional(QueueEntryModel.claimed_by, after.claimed_by),
            *_optional(QueueEntryModel.claimed_by_name, after.claimed_by_name),
            *(extra or []),
        ]
        # An update would create a missing item; the entry must already exist.
        transaction.update(
            QueueEntryModel(partner, after.case_id), actions=actions, condition=QueueEntryModel.case_id.exists()
        )

    @staticmethod
    def _leave_entry(transaction: TransactWrite, before: Case) -> None:
        actions = [
            QueueEntryModel.status.set(TRANSFERRED),
            QueueEntryModel.partner_status.set(f"{before.partner}#{TRANSFERRED}"),
            QueueEntryModel.overdue.set(False),
            QueueEntryModel.claimed_by.remove(),
            QueueEntryModel.claimed_by_name.remove(),
        ]
        transaction.update(
            QueueEntryModel(before.partner, before.case_id), actions=actions, condition=QueueEntryModel.case_id.exists()
        )

    def mark_overdue(self, entry: QueueEntry, history: HistoryEntry) -> bool:
        """Flag a still-routed, still-unflagged case and its entry; False if it moved on meanwhile."""
        routed_here = (
            (CaseModel.status == ROUTED)
            & (CaseModel.partner == entry.partner)
            & (CaseModel.queued_at == entry.queued_at)
            & _unflagged(CaseModel.overdue)
        )
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.update(
                    CaseModel(entry.case_id),
                    actions=[
                        CaseModel.overdue.set(True),
                        CaseModel.history.set(CaseModel.history.append([history.as_dict()])),
                        *self._facts.on_overdue(),
                    ],
                    condition=routed_here,
                )
                transaction.update(
                    QueueEntryModel(entry.partner, entry.case_id),
                    actions=[QueueEntryModel.overdue.set(True)],
                    condition=QueueEntryModel.partner_status == f"{entry.partner}#{ROUTED}",
                )
        except TransactWriteError as error:
            if worth_a_retry(error):
                raise retryable(error) from error
            if _is_condition_failure(error):
                return False
            raise
        return True

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
        """One page of a partner's queue, oldest first, with exactly one Query on the index."""
        partner_status = f"{partner}#{status}"
        start = decode_cursor(cursor, QUEUE_INDEX_KEYS, {"partner": partner, "partner_status": partner_status})
        range_condition = QueueEntryModel.queued_at <= queued_until if queued_until else None
        filters = []
        if claimed_by is not None:
            filters.append(QueueEntryModel.claimed_by == claimed_by)
        if only_unflagged:
            filters.append(_unflagged(QueueEntryModel.overdue))
        filter_condition = None
        for condition in filters:
            filter_condition = condition if filter_condition is None else filter_condition & condition
        try:
            results = QueueEntryModel.queue_index.query(
                partner_status,
                range_key_condition=range_condition,
                filter_condition=filter_condition,
                scan_index_forward=True,
                page_size=limit,
                last_evaluated_key=start,
            )
            page = next(results.page_iter)
        except PynamoDBException as error:
            if worth_a_retry(error):
                raise retryable(error) from error
            raise
        entries = [entry_from_model(QueueEntryModel.from_raw_data(raw)) for raw in page.get("Items", [])]
        return entries, encode_cursor(page.get("LastEvaluatedKey"))
