"""Reading HTTP request bodies into plain data, with the errors the API promises."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from chalicelib.errors import FieldError, PayloadTooLargeError, UnsupportedMediaTypeError, ValidationError
from chalicelib.validation import json_path

# Routes that read JSON accept these at the Chalice level, so that *we* answer a wrong
# content type with the documented error shape instead of Chalice's own 415.
ANY_CONTENT_TYPE = [
    "application/json",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "application/xml",
    "text/xml",
    "application/octet-stream",
]


def parse_json_body(content_type: str | None, raw_body: bytes | None, max_bytes: int) -> Any:
    """The JSON document of a request, or a 413/415/400 domain error."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        given = f"not {media_type}" if media_type else "and it is missing"
        raise UnsupportedMediaTypeError(f"Content-Type must be application/json, {given}.", field="Content-Type")
    body = raw_body or b""
    if len(body) > max_bytes:
        raise PayloadTooLargeError(f"The body is larger than {max_bytes // 1024} KiB.", limit=max_bytes)
    if not body.strip():
        raise ValidationError([FieldError("(body)", "required", "The request body is empty; send a JSON object.")])
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValidationError(
            [FieldError("(body)", "invalid_json", f"The body is not valid JSON: {error}.")]
        ) from error
    if _SURROGATE_ESCAPE.search(body) and (errors := list(_unpaired_surrogates(document, []))):
        raise ValidationError(errors)
    return document


# JSON may spell a lone UTF-16 surrogate as an escape ("\ud800"); Python decodes it into a str
# that cannot be encoded again, so hashing, storing or logging it would fail later. Only an
# escape can carry one (UTF-8 bytes cannot), which keeps the common body free of the walk.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _unpaired_surrogates(value: Any, path: list[Any]) -> Iterator[FieldError]:
    field = json_path(path) or "(body)"
    if isinstance(value, str):
        if _SURROGATE.search(value):
            yield FieldError(
                field,
                "invalid_text",
                "The text contains an unpaired UTF-16 surrogate (an escape such as \\ud800 without its pair); "
                "send valid Unicode.",
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                yield FieldError(field, "invalid_text", "A field name contains an unpaired UTF-16 surrogate.")
            else:
                yield from _unpaired_surrogates(item, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unpaired_surrogates(item, [*path, index])


_CASE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def request_log_line(event: Any, response: Any, seconds: float) -> dict[str, Any]:
    """What one request leaves in the logs: never bodies, query strings or headers."""
    context = getattr(event, "context", None) or {}
    params = getattr(event, "uri_params", None) or {}
    case_id = params.get("case_id")
    if case_id is None and response is not None and isinstance(response.body, str) and '"case_id"' in response.body:
        try:
            case_id = json.loads(response.body).get("case_id")
        except (ValueError, AttributeError):
            case_id = None
    if not (isinstance(case_id, str) and _CASE_ID.fullmatch(case_id)):
        # A path is whatever the client sent: a whole status-link fragment (`<id>.<secret>`, which
        # opens the applicant's data) or a name. Only a case id's shape is logged as one.
        case_id = None
    return {
        "event": "request",
        "method": getattr(event, "method", None),
        "route": context.get("resourcePath") or getattr(event, "path", None),
        "status": response.status_code if response is not None else 500,
        "latency": round(seconds * 1000, 1),  # milliseconds
        "case_id": case_id,
        "request_id": context.get("requestId"),
    }


# Chalice answers some requests itself (a content type a route does not list, a method it lacks);
# its codes are class names. Ours are snake_case, the same for the same problem whoever answers.
_CHALICE_CODES = {"InternalServerError": "internal"}


def chalice_error_code(name: str) -> str:
    """UnsupportedMediaType → unsupported_media_type, MethodNotAllowedError → method_not_allowed."""
    if name in _CHALICE_CODES:
        return _CHALICE_CODES[name]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return snake.removesuffix("_error") or "error"
