"""Cases and queue entries in DynamoDB (PynamoDB)."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.case_facts import DynamoCaseFacts
from chalicelib.adapters.dynamodb.errors import is_retryable, retryable
from chalicelib.adapters.dynamodb.models import CaseModel, IdempotencyModel, QueueEntryModel
from chalicelib.domain.cases import Case, HistoryEntry, QueueEntry
from chalicelib.domain.idempotency import IdempotencyRecord
from chalicelib.errors import IdempotencyKeyTakenError


def case_to_model(case: Case) -> CaseModel:
    return CaseModel(
        case.case_id,
        reference=case.reference,
        partner=case.partner,
        status=case.status,
        rule=case.rule,
        routing_reason=case.routing_reason,
        language=case.language,
        intake=case.intake,
        created_at=case.created_at,
        updated_at=case.updated_at,
        queued_at=case.queued_at,
        claimed_by=case.claimed_by,
        claimed_by_name=case.claimed_by_name,
        overdue=case.overdue,
        history=[h.as_dict() for h in case.history],
        consent=case.consent,
        status_secret_hash=case.status_secret_hash,
        idempotency_key=case.idempotency_key,
        erased_at=case.erased_at,
    )


def case_from_model(item: CaseModel) -> Case:
    return Case(
        case_id=item.case_id,
        reference=item.reference,
        partner=item.partner,
        status=item.status,
        rule=item.rule,
        routing_reason=item.routing_reason,
        language=item.language,
        intake=dict(item.intake or {}),
        created_at=item.created_at,
        updated_at=item.updated_at,
        queued_at=item.queued_at,
        claimed_by=item.claimed_by,
        claimed_by_name=item.claimed_by_name,
        overdue=bool(item.overdue),
        history=[HistoryEntry.from_dict(h) for h in (item.history or [])],
        consent=dict(item.consent or {}),
        status_secret_hash=item.status_secret_hash,
        idempotency_key=item.idempotency_key,
        erased_at=item.erased_at,
    )


def entry_to_model(entry: QueueEntry) -> QueueEntryModel:
    return QueueEntryModel(
        entry.partner,
        entry.case_id,
        partner_status=f"{entry.partner}#{entry.status}",
        status=entry.status,
        queued_at=entry.queued_at,
        reference=entry.reference,
        language=entry.language,
        profession_group=entry.profession_group,
        goals=list(entry.goals),
        rule=entry.rule,
        claimed_by=entry.claimed_by,
        claimed_by_name=entry.claimed_by_name,
        overdue=entry.overdue,
    )


def entry_from_model(item: QueueEntryModel) -> QueueEntry:
    return QueueEntry(
        partner=item.partner,
        case_id=item.case_id,
        reference=item.reference,
        status=item.status,
        queued_at=item.queued_at,
        language=item.language,
        profession_group=item.profession_group,
        goals=list(item.goals or []),
        rule=item.rule,
        claimed_by=item.claimed_by,
        claimed_by_name=item.claimed_by_name,
        overdue=bool(item.overdue),
    )


def idempotency_from_model(item: IdempotencyModel) -> IdempotencyRecord:
    return IdempotencyRecord(
        key=item.idempotency_key,
        request_hash=item.request_hash,
        status_code=int(item.status_code),
        response=dict(item.response),
        created_at=item.created_at,
        expires_at=item.expires_at,
        case_id=item.case_id,
    )


class DynamoCaseStore:
    def __init__(self, connection: Connection, facts: DynamoCaseFacts) -> None:
        self._connection = connection
        self._facts = facts

    def create_case(self, case: Case, entry: QueueEntry, idempotency: IdempotencyRecord | None) -> None:
        try:
            with TransactWrite(connection=self._connection) as transaction:
                if idempotency is not None:
                    record = IdempotencyModel(
                        idempotency.key,
                        request_hash=idempotency.request_hash,
                        status_code=idempotency.status_code,
                        response=idempotency.response,
                        case_id=idempotency.case_id,
                        created_at=idempotency.created_at,
                        expires_at=idempotency.expires_at,
                    )
                    # An expired record that TTL has not deleted yet must not block the key.
                    free = IdempotencyModel.idempotency_key.does_not_exist() | (
                        IdempotencyModel.expires_at <= idempotency.created_at
                    )
                    transaction.save(record, condition=free)
                model, entry_model = case_to_model(case), entry_to_model(entry)
                self._facts.on_intake(model, entry_model, case)  # statistics and retention clock (issue 7)
                transaction.save(model, condition=CaseModel.case_id.does_not_exist())
                transaction.save(entry_model, condition=QueueEntryModel.case_id.does_not_exist())
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            if (
                idempotency is not None
                and reasons
                and reasons[0] is not None
                and reasons[0].code == "ConditionalCheckFailed"
            ):
                raise IdempotencyKeyTakenError("idempotency key already used") from error
            if is_retryable(error):
                raise retryable(error) from error
            raise

    def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        try:
            return idempotency_from_model(IdempotencyModel.get(key, consistent_read=True))
        except IdempotencyModel.DoesNotExist:
            return None
        except PynamoDBException as error:
            if is_retryable(error):
                raise retryable(error) from error
            raise

    def get_case(self, case_id: str) -> Case | None:
        try:
            return case_from_model(CaseModel.get(case_id, consistent_read=True))
        except CaseModel.DoesNotExist:
            return None
