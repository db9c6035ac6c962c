"""Turning DynamoDB's throttling and transaction conflicts into a retryable domain error."""

from __future__ import annotations

from pynamodb.exceptions import PynamoDBException

from chalicelib.errors import RetryableError

RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TransactionConflictException",
        "TransactionInProgressException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
RETRYABLE_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


def is_retryable(error: PynamoDBException) -> bool:
    if error.cause_response_code in RETRYABLE_CODES:
        return True
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(r is not None and r.code in RETRYABLE_REASONS for r in reasons)


def retryable(error: PynamoDBException) -> RetryableError:
    return RetryableError("Storage is busy; please retry in a moment.", retry_after_seconds=1)
