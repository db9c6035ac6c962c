"""Turning DynamoDB's throttling and transaction conflicts into a retryable domain error, and its
refusal of an item over 400 KB into a clear conflict."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import HTTPClientError
from pynamodb.exceptions import PynamoDBException

from chalicelib.errors import RecordFullError, RetryableError

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
# DynamoDB's words for an item over 400 KB ("Item size [to update] has exceeded the maximum allowed size").
_SIZE_REFUSED = "exceeded the maximum allowed size"


def condition_failed(error: PynamoDBException) -> bool:
    """A conditional write refused. Safe for errors without an answer (timeouts), for which
    PynamoDB's `cause_response_code` raises AttributeError."""
    response = getattr(error.cause, "response", None) or {}
    return response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def is_retryable(error: PynamoDBException) -> bool:
    # No answer (timeout, reset, endpoint unreachable): the write may or may not have landed;
    # a retry with the same Idempotency-Key settles which. Checked first: PynamoDB's
    # `cause_response_code` raises AttributeError for these (their `response` is None).
    if isinstance(error.cause, HTTPClientError | BotocoreConnectionError):
        return True
    if error.cause_response_code in RETRYABLE_CODES:
        return True
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(r is not None and r.code in RETRYABLE_REASONS for r in reasons)


def item_too_large(error: PynamoDBException) -> bool:
    """DynamoDB refused the write because an item would exceed 400 KB: a ValidationException
    ("Item size ... has exceeded the maximum allowed size") for a single write, a cancellation
    reason `ValidationError` saying so in a transaction (moto answers the transaction with the
    ValidationException instead)."""
    response = getattr(error.cause, "response", None) or {}
    answer = response.get("Error", {})
    if answer.get("Code") == "ValidationException" and _SIZE_REFUSED in (answer.get("Message") or ""):
        return True
    reasons = getattr(error, "cancellation_reasons", None) or []
    return any(r is not None and r.code == "ValidationError" and _SIZE_REFUSED in (r.message or "") for r in reasons)


def record_full(error: PynamoDBException) -> RecordFullError:
    return RecordFullError(
        "This record has reached the storage limit of 400 KB per item and cannot take this change; nothing was changed."
    )


def retryable(error: PynamoDBException) -> RetryableError:
    return RetryableError("Storage is busy; please retry in a moment.", retry_after_seconds=1)


_T = TypeVar("_T")


def _translated(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except PynamoDBException as error:
            if is_retryable(error):
                raise retryable(error) from error
            if item_too_large(error):
                raise record_full(error) from error
            raise

    return call


def storage_errors_retryable(cls: type[_T]) -> type[_T]:
    """Class decorator: every public method turns throttling and lost answers into RetryableError
    (503 + Retry-After) and an item refused for its size into RecordFullError (409), so no store
    method can leak them as a 500. Methods that handle a condition failure or a lost answer
    themselves still do; only what escapes is translated."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_"):
            continue
        if isinstance(member, staticmethod | classmethod):
            setattr(cls, name, type(member)(_translated(member.__func__)))
        elif callable(member):
            setattr(cls, name, _translated(member))
    return cls
