"""The partner notice outbox in DynamoDB: a marker on the case item, found by a sparse index.

The marker is written in the same write as the case (intake) or its transfer, so a notice can
neither be lost nor sent for a case that was not stored; the request sends and clears it once that
write is stored, the stream's function what the request could not (case_stream.py), and
`notify_partners` whatever is still marked after that (services/notices.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.adapters.dynamodb.errors import condition_failed, storage_errors_retryable
from chalicelib.adapters.dynamodb.models import CaseModel
from chalicelib.domain.cases import PartnerNotice

NOTICE_DUE = "due"
BATCH_GET_LIMIT = 100  # keys per BatchGetItem, DynamoDB's limit


def notice_due(queued_at: str) -> list[Any]:
    """Update actions that put the case (back) into the outbox for its current partner."""
    return [CaseModel.notice_key.set(NOTICE_DUE), CaseModel.notice_at.set(queued_at)]


def clear_notice() -> list[Any]:
    return [CaseModel.notice_key.remove(), CaseModel.notice_at.remove()]


@storage_errors_retryable
class DynamoNoticeOutbox:
    def pending(self, due_before: str, page_size: int = 100) -> Iterator[PartnerNotice]:
        """Oldest first; one paged Query on the sparse index, whatever the table size."""
        due = CaseModel.notice_at < due_before
        for item in CaseModel.notice_index.query(NOTICE_DUE, due, page_size=page_size):
            yield PartnerNotice(item.case_id, item.partner, item.reference, item.notice_at)

    def still_due(self, notices: list[PartnerNotice]) -> list[PartnerNotice]:
        """Those still marked as they were (not sent by their request meanwhile): one consistent
        BatchGetItem of three attributes per 100 notices."""
        marked: set[tuple[str, str]] = set()
        names = [CaseModel.case_id.attr_name, CaseModel.notice_key.attr_name, CaseModel.notice_at.attr_name]
        for start in range(0, len(notices), BATCH_GET_LIMIT):
            keys = list({n.case_id for n in notices[start : start + BATCH_GET_LIMIT]})
            for item in CaseModel.batch_get(keys, consistent_read=True, attributes_to_get=names):
                if item.notice_key == NOTICE_DUE and item.notice_at:
                    marked.add((item.case_id, item.notice_at))
        return [n for n in notices if (n.case_id, n.at) in marked]

    def sent(self, notice: PartnerNotice) -> bool:
        """Clear the marker unless the case was routed anew meanwhile (its newer notice stays)."""
        try:
            # Not Model.update(): it asks for the whole item back (ReturnValues ALL_NEW), a case of ~35
            # attributes read, sent and parsed for nothing on every intake.
            CaseModel._get_connection().update_item(
                notice.case_id, actions=clear_notice(), condition=CaseModel.notice_at == notice.at
            )
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise
        return True
