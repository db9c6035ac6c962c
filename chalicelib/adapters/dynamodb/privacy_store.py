"""Erasure in DynamoDB: one transaction so a case is never half erased."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.audit_store import audit_put_condition, audit_to_model
from chalicelib.adapters.dynamodb.case_store import case_to_model
from chalicelib.adapters.dynamodb.errors import is_retryable, retryable
from chalicelib.adapters.dynamodb.models import CaseModel, IdempotencyModel, QueueEntryModel
from chalicelib.domain.cases import Case
from chalicelib.domain.staff import AuditEntry
from chalicelib.errors import StateChangedError


class DynamoPrivacyStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def replace_with_anonymised(self, before: Case, after: Case, audit: AuditEntry) -> None:
        """Swap the case for its anonymised form, drop its queue entries and idempotency record.

        Conditional on the case being unchanged since `before` was read (a staff action in
        between makes the caller re-read and anonymise again).
        """
        partners = sorted({before.partner} | {h.partner for h in before.history})
        unchanged = CaseModel.updated_at == before.updated_at
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(case_to_model(after), condition=unchanged & CaseModel.erased_at.does_not_exist())
                for partner in partners:
                    transaction.delete(QueueEntryModel(partner, before.case_id))
                if before.idempotency_key:
                    transaction.delete(IdempotencyModel(before.idempotency_key))
                transaction.save(audit_to_model(audit), condition=audit_put_condition())
        except TransactWriteError as error:
            if is_retryable(error):
                raise retryable(error) from error
            reasons = error.cancellation_reasons or []
            if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
                raise StateChangedError("the case changed while it was being erased") from error
            raise
