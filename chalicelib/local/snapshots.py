"""Local data that survives a restart: every DynamoDB table scanned into one JSON file.

Items keep DynamoDB's attribute-value format ({"S": ...}, {"N": "1"}, {"M": {...}}), with
binary values base64-encoded as on the wire, so any table (including ones added later)
round-trips without knowing its model. The file is replaced atomically: a crash leaves the
previous snapshot, never a torn one.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "dynamodb-snapshot.json"
FORMAT_VERSION = 1
_BATCH = 25  # BatchWriteItem's limit


def _to_json(value: dict[str, Any]) -> dict[str, Any]:
    """One attribute value from boto3 (bytes for binaries) to JSON-safe form."""
    (kind, inner), *_ = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode("ascii")}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode("ascii") for b in inner]}
    if kind == "M":
        return {"M": {k: _to_json(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_to_json(v) for v in inner]}
    return {kind: inner}


def _from_json(value: dict[str, Any]) -> dict[str, Any]:
    (kind, inner), *_ = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if kind == "M":
        return {"M": {k: _from_json(v) for k, v in inner.items()}}
    if kind == "L":
        return {"L": [_from_json(v) for v in inner]}
    return {kind: inner}


def table_names(client: Any) -> list[str]:
    names: list[str] = []
    for page in client.get_paginator("list_tables").paginate():
        names.extend(page.get("TableNames", []))
    return sorted(names)


def scan_table(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend({name: _to_json(value) for name, value in item.items()} for item in page.get("Items", []))
    return items


def take_snapshot(client: Any, path: Path) -> dict[str, int]:
    """Scan every table the endpoint lists into `path`; returns item counts per table."""
    tables = {name: scan_table(client, name) for name in table_names(client)}
    document = {
        "format": FORMAT_VERSION,
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": tables,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, separators=(",", ":"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return {name: len(items) for name, items in tables.items()}


def read_snapshot(path: Path) -> dict[str, list[dict[str, Any]]] | None:
    """The tables in a snapshot file, None when there is no file.

    A file that cannot be read is moved aside (never overwritten by the next snapshot) and
    treated as absent, so the stack still starts and the old data can be recovered by hand.
    """
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        tables = document["tables"]
        if document.get("format") != FORMAT_VERSION or not isinstance(tables, dict):
            raise ValueError(f"unknown snapshot format {document.get('format')!r}")
    except (OSError, ValueError, KeyError, TypeError) as error:
        aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
        os.replace(path, aside)
        log.error("snapshot %s could not be read (%s); kept it as %s and started empty", path, error, aside)
        return None
    return tables


def restore_snapshot(client: Any, path: Path) -> dict[str, int]:
    """Put every item of the snapshot back into tables that exist now; returns counts per table.

    Snapshot items overwrite seeded items with the same key: what the user changed survives.
    Tables no longer provisioned are skipped with a warning.
    """
    tables = read_snapshot(path)
    if not tables:
        return {}
    existing = set(table_names(client))
    restored: dict[str, int] = {}
    for table, items in tables.items():
        if table not in existing:
            log.warning(
                "snapshot has table %s which no longer exists; its %d items were not restored", table, len(items)
            )
            continue
        for start in range(0, len(items), _BATCH):
            batch = [{"PutRequest": {"Item": _item_from_json(item)}} for item in items[start : start + _BATCH]]
            _write_batch(client, table, batch)
        restored[table] = len(items)
    return restored


def _item_from_json(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _from_json(value) for name, value in item.items()}


def _write_batch(client: Any, table: str, requests: list[dict[str, Any]]) -> None:
    pending: dict[str, list[dict[str, Any]]] = {table: requests}
    for attempt in range(8):
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        if not pending:
            return
        time.sleep(0.05 * 2**attempt)
    raise RuntimeError(f"could not restore all items into {table}")
