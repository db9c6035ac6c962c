"""Structured JSON logs with personal data redacted wherever it appears.

Two paths reach the logs: `emit()` writes one JSON line per event (request logs,
metrics such as sms.failed) to stdout, which Lambda ships to CloudWatch; and
ordinary `logging` calls from any library. Both pass through `redact()`. For the
logging path a record factory redacts every record when it is created, so no
handler, formatter or test capture can see the raw text.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from typing import Any, TextIO

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# International or national numbers with separators; ISO dates/times and UUIDs do not match.
PHONE = re.compile(r"(?<![\w:.-])(?:\+|00)?\d(?:[ ()/.-]{0,2}\d){6,16}(?![\w:-])")
# The same glued to a word or a punctuation mark ("Tel.0151…", "Nr:+49…", "phone=%2B49…"), where
# the pattern above stands back so as to spare ids and numbers in JSON: only a number that begins
# as a dialled one does (+, 00, 0, or a URL-encoded +) counts here.
GLUED_PHONE = re.compile(
    # After a letter that is no hex digit (ids and hashes are hex: "…-ae0123456789" is a UUID's tail),
    # such a letter and a sign, or any letter and ":" or "=" (never inside an id or a timestamp).
    r"(?:(?<=[^\W\d_a-fA-F])|(?<=[^\W\d_a-fA-F][./-])|(?<=[^\W\d_][:=]))"
    r"(?:\+|%2[bB]|0)\d(?:[ ()/.-]{0,2}\d){6,16}(?![\w:-])"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")

# Names and other free text of the applicant handled by the current request, longest first, each
# with its pattern: compiled once per request, and gone with it (a cache keyed by the names would
# keep every applicant's name in a warm Lambda for its whole life).
_sensitive: contextvars.ContextVar[tuple[tuple[str, re.Pattern[str]], ...]] = contextvars.ContextVar(
    "sensitive", default=()
)
_ASCII_WORD = re.compile(r"[A-Za-z0-9]")


def remember_sensitive(values: Iterable[Any]) -> None:
    """Mark strings (names, titles, messages) that must never appear in logs for this request."""
    known = dict(_sensitive.get())
    found = {v.strip() for v in values if isinstance(v, str) and len(v.strip()) >= 2} - set(known)
    if found:
        known.update((value, _sensitive_pattern(value)) for value in found)
        _sensitive.set(tuple(sorted(known.items(), key=lambda item: len(item[0]), reverse=True)))


def forget_sensitive() -> None:
    _sensitive.set(())


def _sensitive_pattern(value: str) -> re.Pattern[str]:
    """A value with Latin letters or digits only as a word of its own: a short name ("Ta", "Ed",
    "201") inside "status", "credentials" or a status code would otherwise break the log line. One
    in another script alone (no word boundaries in Chinese; our own log text is ASCII) anywhere."""
    escaped = re.escape(value)
    if _ASCII_WORD.search(value):
        escaped = rf"(?<!\w){escaped}(?!\w)"
    return re.compile(escaped, re.IGNORECASE)


def _phone_or_date(match: re.Match[str]) -> str:
    text = match.group(0)
    return text if _ISO_DATE.match(text) else "[phone]"


def redact(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = GLUED_PHONE.sub("[phone]", text)
    text = PHONE.sub(_phone_or_date, text)
    for _value, pattern in _sensitive.get():
        text = pattern.sub("[name]", text)
    return text


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string must still be logged, not crash
        message = str(record.msg)
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
    return record


# The AWS SDK's and PynamoDB's DEBUG lines carry whole request and response bodies (applicants' data that no
# pattern can recognise, such as a name read from a table): these loggers never go below INFO.
WIRE_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "pynamodb")


# What every LogRecord has, and what the Lambda runtime's handler adds: the rest came as `extra`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "aws_request_id",
    "tenant_id",
    "fields_shown",
}


class _ShowFields(logging.Filter):
    """Appends a record's `extra` fields (case_id, kind, report …) to its message as redacted JSON:
    the Lambda runtime's handler prints the message only, so "partner notice not sent" would
    reach CloudWatch without the case it is about."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "fields_shown", False):
            return True
        record.fields_shown = True
        fields = {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRIBUTES and not k.startswith("_")}
        if fields:
            shown = json.dumps(_redacted(fields), ensure_ascii=False, separators=(",", ":"))
            record.msg, record.args = f"{record.getMessage()} {shown}", None
        return True


SHOW_FIELDS = _ShowFields()


def install() -> None:
    """Idempotent; called when app.py is imported (in Lambda, after the runtime set up its handler)."""
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)
    for name in WIRE_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:
            logger.setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        if SHOW_FIELDS not in handler.filters:
            handler.addFilter(SHOW_FIELDS)


def emit(event: dict[str, Any], stream: TextIO | None = None) -> None:
    """One JSON line, its values redacted (not its keys and syntax, which stay valid JSON)."""
    line = json.dumps(_redacted(event), ensure_ascii=False, separators=(",", ":"))
    print(line, file=stream or sys.stdout, flush=True)


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redacted(item) for item in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(value if isinstance(value, str) else str(value))


# Free-text fields of the intake that identify a person; phone and e-mail are also caught by pattern.
PERSONAL_FIELDS = (("given_name",), ("family_name",), ("email",), ("phone",), ("message",), ("qualification", "title"))


def personal_values(body: Any) -> list[str]:
    values = []
    for path in PERSONAL_FIELDS:
        current = body
        for part in path:
            current = current.get(part) if isinstance(current, dict) else None
        if isinstance(current, str):
            values.append(current)
    return values
