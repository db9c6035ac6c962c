"""Cases in DynamoDB (PynamoDB): one item per case, which is also its queue entry and the
idempotency record of its submission, so an intake is one conditional write."""

from __future__ import annotations

from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import PutError, PynamoDBException

from chalicelib.adapters.dynamodb.audit_store import worth_a_retry
from chalicelib.adapters.dynamodb.case_facts import REPLAYABLE, DynamoCaseFacts
from chalicelib.adapters.dynamodb.confirm_outbox import CONFIRM_DUE
from chalicelib.adapters.dynamodb.errors import condition_failed, is_retryable, retryable, storage_errors_retryable
from chalicelib.adapters.dynamodb.models import CaseModel, TransferredEntryModel
from chalicelib.adapters.dynamodb.notice_outbox import NOTICE_DUE
from chalicelib.domain.cases import Case, HistoryEntry, QueueEntry
from chalicelib.domain.idempotency import IdempotencyRecord
from chalicelib.domain.staff import queue_status
from chalicelib.errors import IdempotencyKeyTakenError


def case_to_model(case: Case) -> CaseModel:
    qualification = case.intake.get("qualification") or {}
    in_queue = case.erased_at is None
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
        partner_status=f"{case.partner}#{queue_status(case.status)}" if in_queue else None,
        profession_group=qualification.get("profession_group", "other"),
        goals=list(case.intake.get("goals") or []),
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
        confirmation_pending=item.confirm_key is not None,
        first_appointment_at=item.first_appointment_at,
    )


def entry_from_index(item: CaseModel | TransferredEntryModel) -> QueueEntry:
    """A queue entry as a queue index projects it: a case's, or the trace of a transfer."""
    return QueueEntry(
        partner=item.partner,
        case_id=item.case_id,
        reference=item.reference,
        status=item.partner_status.rsplit("#", 1)[1],
        queued_at=item.queued_at,
        language=item.language,
        profession_group=item.profession_group or "other",
        goals=list(item.goals or []),
        rule=item.rule,
        claimed_by=item.claimed_by,
        claimed_by_name=item.claimed_by_name,
        overdue=bool(item.overdue),
        attention=_attention_waits(getattr(item, "attention_at", None), getattr(item, "attention_seen_through", None)),
    )


def _attention_waits(raised: str | None, seen_through: str | None) -> bool:
    """A flag raised after the last staff write that left none open (ISO times compare as text)."""
    return raised is not None and (seen_through is None or raised > seen_through)


def transferred_to_model(entry: QueueEntry) -> TransferredEntryModel:
    return TransferredEntryModel(
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


def idempotency_from_case(item: CaseModel) -> IdempotencyRecord | None:
    if item.idempotency_key is None or item.request_hash is None or item.idempotent_until is None:
        return None  # a case submitted without a key, or erased
    return IdempotencyRecord(
        key=item.idempotency_key,
        request_hash=item.request_hash,
        status_code=201,
        response=dict(item.idempotent_response or {}),
        created_at=datetime.fromisoformat(item.created_at),
        expires_at=item.idempotent_until,
        case_id=item.case_id,
    )


def load_case(case_id: str) -> Case | None:
    """The case as stored now (a consistent read), or None; RetryableError when DynamoDB did not answer."""
    if not case_id:
        return None  # DynamoDB refuses an empty key (a 500 for `/applicant//export`); no case has it
    try:
        return case_from_model(CaseModel.get(case_id, consistent_read=True))
    except CaseModel.DoesNotExist:
        return None
    except PynamoDBException as error:
        if worth_a_retry(error):  # a read is always safe to repeat
            raise retryable(error) from error
        raise


@storage_errors_retryable
class DynamoCaseStore:
    def __init__(self, connection: Connection, facts: DynamoCaseFacts) -> None:
        self._connection = connection
        self._facts = facts

    def create_case(self, case: Case, idempotency: IdempotencyRecord | None, *, confirm_by_sms: bool) -> None:
        """One conditional PutItem: the case, its queue entry (the queue index), the key's record
        and the outbox markers for the partner's notice and the applicant's confirmation SMS."""
        model = case_to_model(case)
        self._facts.on_intake(model, case)  # statistics and retention clock (issue 7)
        model.notice_key, model.notice_at = NOTICE_DUE, case.queued_at  # the partner hears of it
        if confirm_by_sms:
            model.confirm_key, model.confirm_at = CONFIRM_DUE, case.created_at
        if idempotency is not None:
            model.request_hash = idempotency.request_hash
            model.idempotent_response = idempotency.response
            model.idempotent_until = idempotency.expires_at
            model.replay_key = REPLAYABLE  # enforce_retention removes the copy once it expires
        try:
            model.save(condition=CaseModel.case_id.does_not_exist())
        except PutError as error:
            if is_retryable(error):  # first: without an answer there is no response code to read
                raise retryable(error) from error
            if condition_failed(error):
                raise IdempotencyKeyTakenError("a case with this id exists") from error
            raise

    def get_submission(self, case_id: str) -> tuple[Case, IdempotencyRecord | None] | None:
        """The case `case_id` with the idempotency record kept on it (None if it has none)."""
        try:
            item = CaseModel.get(case_id, consistent_read=True)
            return case_from_model(item), idempotency_from_case(item)
        except CaseModel.DoesNotExist:
            return None
        except PynamoDBException as error:
            if is_retryable(error):
                raise retryable(error) from error
            raise

    def get_case(self, case_id: str) -> Case | None:
        return load_case(case_id)
