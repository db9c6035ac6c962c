"""Idempotent requests: the first answer to a key is the answer to every repeat."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class IdempotencyRecord:
    key: str
    request_hash: str
    status_code: int
    response: dict[str, Any]
    created_at: datetime
    expires_at: datetime  # the table's TTL attribute; DynamoDB may delete days later
    case_id: str | None = None


def request_hash(body: Any) -> str:
    """Same JSON meaning, same hash: key order and whitespace do not matter."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def valid_key(key: str) -> bool:
    return 1 <= len(key) <= 64 and key.isprintable()
