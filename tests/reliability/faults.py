"""DynamoDB faults injected below PynamoDB: the app sees exactly what botocore raises in production.

`dynamodb_faults()` patches `BaseClient._make_api_call` (above moto, below PynamoDB), so
every PynamoDB model and connection is covered, and it also records the calls made.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from botocore.client import BaseClient
from botocore.exceptions import ClientError, ReadTimeoutError

# What DynamoDB answers when it is overloaded or a transaction collides (botocore error codes).
THROTTLING = "ThrottlingException"
THROUGHPUT = "ProvisionedThroughputExceededException"
REQUEST_LIMIT = "RequestLimitExceeded"
TRANSACTION_CONFLICT = "TransactionConflictException"
TRANSACTION_CANCELED_BY_CONFLICT = "TransactionCanceledException"  # with TransactionConflict reasons
INTERNAL = "InternalServerError"
TIMEOUT = "ReadTimeout"  # the socket timed out: the request may or may not have been applied
# An item would exceed 400 KB: a ValidationException for one write; in a transaction DynamoDB
# cancels it with a `ValidationError` reason on that item (moto raises the ValidationException).
ITEM_TOO_LARGE = "ItemTooLarge"
SIZE_MESSAGE = "Item size to update has exceeded the maximum allowed size"

RETRYABLE_FAULTS = (THROTTLING, THROUGHPUT, REQUEST_LIMIT, TRANSACTION_CONFLICT, TRANSACTION_CANCELED_BY_CONFLICT)


@dataclass
class Fault:
    operation: str  # botocore operation name, e.g. "TransactWriteItems"
    code: str
    times: int = 1
    # True: DynamoDB applies the request and only the answer is lost (timeout, 500 after commit).
    after_applying: bool = False

    def error(self, params: dict[str, Any]) -> Exception:
        if self.code == TIMEOUT:
            return ReadTimeoutError(endpoint_url="https://dynamodb.eu-central-1.amazonaws.com")
        response: dict[str, Any] = {
            "Error": {"Code": self.code, "Message": f"injected {self.code}"},
            "ResponseMetadata": {"HTTPStatusCode": 500 if self.code == INTERNAL else 400, "HTTPHeaders": {}},
        }
        if self.code == ITEM_TOO_LARGE:
            return _item_too_large(self.operation, params)
        if self.code == TRANSACTION_CANCELED_BY_CONFLICT:
            items = params.get("TransactItems", [])
            reasons = [{"Code": "None"}] * len(items)
            reasons[-1] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
            response["CancellationReasons"] = reasons
        return ClientError(response, self.operation)


def _item_too_large(operation: str, params: dict[str, Any]) -> ClientError:
    meta = {"HTTPStatusCode": 400, "HTTPHeaders": {}}
    if operation != "TransactWriteItems":
        return ClientError(
            {"Error": {"Code": "ValidationException", "Message": SIZE_MESSAGE}, "ResponseMetadata": meta}, operation
        )
    reasons: list[dict[str, str]] = [{"Code": "None"} for _ in params.get("TransactItems", [])]
    reasons[0] = {"Code": "ValidationError", "Message": SIZE_MESSAGE}
    error = {
        "Code": "TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons",
    }
    return ClientError({"Error": error, "CancellationReasons": reasons, "ResponseMetadata": meta}, operation)


@dataclass
class DynamoFaults:
    faults: list[Fault] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    injected: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(self, operation: str, code: str, times: int = 1, after_applying: bool = False) -> None:
        with self._lock:
            self.faults.append(Fault(operation, code, times, after_applying))

    def _take(self, operation: str) -> Fault | None:
        with self._lock:
            self.calls.append(operation)
            for fault in self.faults:
                if fault.operation == operation and fault.times > 0:
                    fault.times -= 1
                    self.injected.append(f"{operation}:{fault.code}")
                    return fault
        return None


@contextmanager
def dynamodb_faults() -> Iterator[DynamoFaults]:
    state = DynamoFaults()
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name != "dynamodb":
            return original(client, operation, params)
        fault = state._take(operation)
        if fault is None:
            return original(client, operation, params)
        if fault.after_applying:
            original(client, operation, params)
        raise fault.error(params)

    with mock.patch.object(BaseClient, "_make_api_call", make_api_call):
        yield state
