"""Idempotent requests: the first answer to a key is the answer to every repeat."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.errors import FieldError


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


def keyed_case_id(key: str, generation: int, secret: str) -> str:
    """The case a key creates: a repeat finds it by key alone, so one conditional write both
    creates the case and claims the key. A key reused after its record expired moves on to the
    next generation (rare: clients send a fresh key per submission).

    Keyed with a server secret (HMAC-SHA256), so the id is as unguessable as a random UUID4 even
    for a predictable key: knowing the key someone used does not give their case id.
    """
    digest = hmac.new(secret.encode(), f"case-id:{generation}:{key}".encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


# Appointment ids derived from a booking's Idempotency-Key, per case.
KEYED_APPOINTMENTS = uuid.UUID("0b9d7e3a-51c4-4b8e-8f0e-6d2a9c4e1b77")


def keyed_appointment_id(case_id: str, key: str) -> str:
    """The appointment a booking with this key creates on this case: a repeat finds it by key."""
    return uuid.uuid5(KEYED_APPOINTMENTS, f"{case_id}:{key}").hex


def key_error(key: str | None) -> FieldError | None:
    if key is None or valid_key(key):
        return None
    return FieldError(
        "Idempotency-Key", "invalid_format", "Idempotency-Key must be 1-64 visible ASCII characters (no spaces)."
    )


def valid_key(key: str) -> bool:
    """1-64 visible ASCII characters, as documented in /openapi.json (a header value survives
    every proxy unchanged only so)."""
    return 1 <= len(key) <= 64 and all("!" <= char <= "~" for char in key)
