"""Erasure in DynamoDB: one transaction so a case is never half erased."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.adapters.dynamodb.audit_store import audit_put_condition, audit_to_model
from chalicelib.adapters.dynamodb.case_facts import DynamoCaseFacts
from chalicelib.adapters.dynamodb.errors import is_retryable, retryable, storage_errors_retryable
from chalicelib.adapters.dynamodb.models import CaseModel, TransferredEntryModel
from chalicelib.domain.cases import Case
from chalicelib.domain.staff import AuditEntry
from chalicelib.errors import StateChangedError


@storage_errors_retryable
class DynamoPrivacyStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def replace_with_anonymised(self, before: Case, after: Case, audit: AuditEntry) -> None:
        """Overwrite the personal attributes with their anonymised form, take the case out of the
        queues, the retention and phone indexes, drop the idempotency record and transfer traces.

        An update, not a put: statistics maintained beside the case (counters, claimed_at, ...)
        stay as they are, even when a counter is added to while this runs. Conditional on the
        case being unchanged since `before` was read (a change in between makes the caller
        re-read and anonymise again).
        """
        partners = sorted({before.partner} | {h.partner for h in before.history})
        unchanged = (CaseModel.updated_at == before.updated_at) & CaseModel.erased_at.does_not_exist()
        actions = [
            CaseModel.reference.set(after.reference),
            CaseModel.intake.set(after.intake),
            CaseModel.history.set([h.as_dict() for h in after.history]),
            CaseModel.consent.set(after.consent),
            CaseModel.language.set(after.language),
            CaseModel.erased_at.set(after.erased_at),
            CaseModel.updated_at.set(after.updated_at),
            CaseModel.claimed_by_name.remove(),
            CaseModel.status_secret_hash.remove(),
            CaseModel.idempotency_key.remove(),
            CaseModel.partner_status.remove(),
            *DynamoCaseFacts.on_erase(),
        ]
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.update(CaseModel(before.case_id), actions=actions, condition=unchanged)
                for partner in partners:
                    if partner != before.partner:
                        transaction.delete(TransferredEntryModel(partner, before.case_id))
                transaction.save(audit_to_model(audit), condition=audit_put_condition())
        except TransactWriteError as error:
            if is_retryable(error):
                raise retryable(error) from error
            reasons = error.cancellation_reasons or []
            # PynamoDB sends deletes, then puts, then updates: the case's condition is not first.
            if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
                raise StateChangedError("the case changed while it was being erased") from error
            raise
