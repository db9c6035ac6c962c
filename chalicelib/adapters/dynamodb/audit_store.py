"""The append-only audit log in DynamoDB: put-if-absent and query; deliberately no update or delete."""

from __future__ import annotations

import uuid
from typing import Any

from pynamodb.exceptions import PynamoDBException

from chalicelib.adapters.dynamodb.cursors import decode_cursor, encode_cursor
from chalicelib.adapters.dynamodb.errors import is_retryable, retryable, storage_errors_retryable
from chalicelib.adapters.dynamodb.models import AuditModel
from chalicelib.domain.staff import AuditEntry

AUDIT_KEYS = ("case_id", "at_id")


def audit_to_model(entry: AuditEntry) -> AuditModel:
    """A new item; the uuid suffix keeps two entries in the same microsecond apart."""
    return AuditModel(
        entry.case_id,
        f"{entry.at}#{uuid.uuid4().hex}",
        at=entry.at,
        action=entry.action,
        staff_id=entry.staff_id,
        staff_name=entry.staff_name,
        role=entry.role,
        partner=entry.partner,
        detail=entry.detail,
    )


def audit_from_model(item: AuditModel) -> AuditEntry:
    return AuditEntry(
        at=item.at,
        case_id=item.case_id,
        action=item.action,
        staff_id=item.staff_id,
        staff_name=item.staff_name,
        role=item.role,
        partner=item.partner,
        detail=dict(item.detail or {}),
    )


def worth_a_retry(error: PynamoDBException) -> bool:
    """Throttling and collisions, and also a lost answer (timeout, reset): with no response code we
    cannot know whether a write applied, and every staff write is conditional, so a retry is safe."""
    return is_retryable(error) or (error.cause_response_code is None and error.cause is not None)


def audit_put_condition() -> Any:
    return AuditModel.at_id.does_not_exist()


@storage_errors_retryable
class DynamoAuditLog:
    def append(self, entry: AuditEntry) -> None:
        """Append one entry on its own (reads); actions add theirs inside their transaction."""
        try:
            audit_to_model(entry).save(condition=audit_put_condition())
        except PynamoDBException as error:
            if worth_a_retry(error):
                raise retryable(error) from error
            raise

    def entries(self, case_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEntry], str | None]:
        """One page, newest first, with one Query; the cursor is opaque to callers."""
        start = decode_cursor(cursor, AUDIT_KEYS, {"case_id": case_id})
        try:
            results = AuditModel.query(
                case_id, scan_index_forward=False, page_size=limit, last_evaluated_key=start, consistent_read=True
            )
            page = next(results.page_iter)
        except PynamoDBException as error:
            if worth_a_retry(error):
                raise retryable(error) from error
            raise
        items = [audit_from_model(AuditModel.from_raw_data(raw)) for raw in page.get("Items", [])]
        return items, encode_cursor(page.get("LastEvaluatedKey"))
