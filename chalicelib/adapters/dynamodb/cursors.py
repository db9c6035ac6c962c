"""Opaque page cursors: url-safe base64 of a query's LastEvaluatedKey (string keys only).

A cursor that does not decode to exactly the expected keys, or that points into another
partition than the caller's query, is rejected as a 400 naming `cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from chalicelib.errors import FieldError, ValidationError

MAX_CURSOR_CHARS = 2048


def encode_cursor(last_evaluated_key: Mapping[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    plain = {name: value["S"] for name, value in sorted(last_evaluated_key.items())}
    raw = json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _invalid() -> ValidationError:
    return ValidationError(
        [FieldError("cursor", "invalid_cursor", "cursor is not one this API issued; start again without it.")]
    )


def decode_cursor(
    cursor: str | None, keys: tuple[str, ...], expected: Mapping[str, str]
) -> dict[str, dict[str, str]] | None:
    """The ExclusiveStartKey for a cursor, checked against the keys and fixed values of the query."""
    if cursor is None or cursor == "":
        return None
    if len(cursor) > MAX_CURSOR_CHARS:
        raise _invalid()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw.decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise _invalid() from error
    if not isinstance(plain, dict) or set(plain) != set(keys):
        raise _invalid()
    if not all(isinstance(v, str) and v for v in plain.values()):
        raise _invalid()
    if any(plain[name] != value for name, value in expected.items()):
        raise _invalid()
    return {name: {"S": value} for name, value in plain.items()}
