"""The partner notice outbox in DynamoDB: a marker on the case item, found by a sparse index.

The marker is written in the same write as the case (intake) or its transfer, so a notice can
neither be lost nor sent for a case that was not stored; the stream's function sends and clears it
(case_stream.py), and `notify_partners` whatever that could not (services/notices.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.adapters.dynamodb.errors import condition_failed, storage_errors_retryable
from chalicelib.adapters.dynamodb.models import CaseModel
from chalicelib.domain.cases import PartnerNotice

NOTICE_DUE = "due"


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
