"""Counting DynamoDB calls and the items they write and read, through a botocore event hook.

Every botocore client emits `before-call.dynamodb.<Operation>` / `after-call.dynamodb.<Operation>`;
the hook is registered on each DynamoDB client as it is created, so PynamoDB's own clients
(one per thread) are counted as well as boto3's.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import botocore.session

WRITES_IN_TRANSACTION = ("Put", "Update", "Delete")


def item_size(item: dict[str, Any]) -> int:
    """Approximate DynamoDB item size in bytes (attribute names + values, as AWS bills them)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, inner),) = value.items()
    if kind in ("S", "B"):
        return len(inner.encode() if isinstance(inner, str) else inner)
    if kind == "N":
        return math.ceil(len(inner.lstrip("-").replace(".", "")) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + item_size(inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(len(str(v)) for v in inner)
    return 0


@dataclass
class Usage:
    calls: Counter[str] = field(default_factory=Counter)
    items_written: int = 0
    items_read: int = 0
    write_units: float = 0.0  # WRU: 1 KB per unit, transactional writes cost 2
    read_units: float = 0.0  # RRU: 4 KB per unit, eventually consistent 0.5, transactional 2
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.items_written = self.items_read = 0
            self.write_units = self.read_units = 0.0

    def _write(self, item: dict[str, Any], transactional: bool) -> None:
        self.items_written += 1
        self.write_units += math.ceil(max(item_size(item), 1) / 1024) * (2 if transactional else 1)

    def _read(self, size: int, consistent: bool, transactional: bool = False) -> None:
        self.items_read += 1
        units = math.ceil(max(size, 1) / 4096)
        self.read_units += units * (2 if transactional else 1 if consistent else 0.5)

    def before(self, operation: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.calls[operation] += 1
            if operation == "PutItem":
                self._write(params["Item"], False)
            elif operation in ("UpdateItem", "DeleteItem"):
                self._write(params.get("Key", {}), False)  # billed on the item's size; key is a floor
            elif operation == "TransactWriteItems":
                for entry in params["TransactItems"]:
                    ((kind, body),) = entry.items()
                    if kind in WRITES_IN_TRANSACTION:
                        self._write(body.get("Item") or body.get("Key", {}), True)
            elif operation == "BatchWriteItem":
                for requests in params["RequestItems"].values():
                    for request in requests:
                        self._write(request.get("PutRequest", {}).get("Item", {}), False)

    def after(self, operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> None:
        with self._lock:
            consistent = bool(params.get("ConsistentRead"))
            if operation == "GetItem":
                if "Item" in parsed:
                    self._read(item_size(parsed["Item"]), consistent)
                else:  # a miss reads nothing but is billed like a read of a small item
                    self.read_units += 1 if consistent else 0.5
            elif operation == "BatchGetItem":
                for table, items in parsed.get("Responses", {}).items():
                    table_consistent = bool(params["RequestItems"][table].get("ConsistentRead"))
                    for item in items:
                        self._read(item_size(item), table_consistent)
            elif operation in ("Query", "Scan"):
                # Query bills the summed size of what it read, rounded up per request.
                size = sum(item_size(i) for i in parsed.get("Items", []))
                count = int(parsed.get("ScannedCount", parsed.get("Count", 0)))
                self.items_read += count
                self.read_units += math.ceil(max(size, 1) / 4096) * (1 if consistent else 0.5)
            elif operation == "TransactGetItems":
                for response in parsed.get("Responses", []):
                    self._read(item_size(response.get("Item", {})), True, transactional=True)


@contextmanager
def counting() -> Iterator[Usage]:
    """Count every DynamoDB call made by clients created inside this block (reset cached clients first)."""
    usage = Usage()
    original_create = botocore.session.Session.create_client

    def create_client(self: botocore.session.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        client = original_create(self, service_name, *args, **kwargs)
        if service_name == "dynamodb":
            _hook(client, usage)
        return client

    with mock.patch.object(botocore.session.Session, "create_client", create_client):
        yield usage


def _hook(client: Any, usage: Usage) -> None:
    pending: dict[int, dict[str, Any]] = {}

    def provide_params(params: dict[str, Any], model: Any, **_: Any) -> None:
        pending[threading.get_ident()] = params
        usage.before(model.name, params)

    def after_call(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        usage.after(model.name, pending.pop(threading.get_ident(), {}), parsed)

    client.meta.events.register("provide-client-params.dynamodb.*", provide_params)
    client.meta.events.register("after-call.dynamodb.*", after_call)
