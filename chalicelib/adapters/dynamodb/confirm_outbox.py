"""The intake confirmation outbox in DynamoDB: a marker on the case item, found by a sparse index.

The marker is written with the case (one PutItem per intake); `send_due_messages` plans the
applicant's `intake_received` SMS from it and clears it. A transfer or an erasure removes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.adapters.dynamodb.errors import condition_failed, storage_errors_retryable
from chalicelib.adapters.dynamodb.models import CaseModel

CONFIRM_DUE = "due"


def clear_confirmation() -> list[Any]:
    return [CaseModel.confirm_key.remove(), CaseModel.confirm_at.remove()]


@storage_errors_retryable
class DynamoConfirmationOutbox:
    def pending(self, page_size: int = 100) -> Iterator[tuple[str, str]]:
        """(case_id, marked_at), oldest first; one paged Query on the sparse index."""
        for item in CaseModel.confirm_index.query(CONFIRM_DUE, page_size=page_size):
            yield item.case_id, item.confirm_at

    def done(self, case_id: str, marked_at: str) -> bool:
        """Clear the marker; False if it is gone or was set anew meanwhile."""
        try:
            CaseModel(case_id).update(actions=clear_confirmation(), condition=CaseModel.confirm_at == marked_at)
        except UpdateError as error:
            if condition_failed(error):
                return False
            raise
        return True
