"""Compiled JSON Schemas turned into `[{field, code, message}]` a person can act on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema import ValidationError as SchemaError

from chalicelib.errors import FieldError
from chalicelib.schemas import load_schema

# Codes are part of the API: the intake page translates them into the applicant's language.
_KEYWORD_CODES = {
    "required": "required",
    "additionalProperties": "not_allowed",
    "maxLength": "too_long",
    "minLength": "required",
    "enum": "invalid_choice",
    "const": "invalid_choice",
    "type": "wrong_type",
    "minItems": "required",
    "uniqueItems": "duplicate",
    "format": "invalid_format",
    "pattern": "invalid_format",
}


@cache
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    """JSON Schema patterns are ECMA-262: `$` ends the string. Python's `$` also matches before a
    trailing newline, which let "80331\n" pass as a postcode while the browser refused it."""
    translated, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            translated.append(char)
            escaped = False
        elif char == "\\":
            translated.append(char)
            escaped = True
        elif char == "[":
            in_class = True
            translated.append(char)
        elif char == "]":
            in_class = False
            translated.append(char)
        elif char == "$" and not in_class:
            translated.append(r"\Z")
        else:
            translated.append(char)
    return re.compile("".join(translated))


def _pattern(_validator: Any, pattern: str, instance: Any, _schema: dict[str, Any]) -> Iterator[SchemaError]:
    if isinstance(instance, str) and not _ecma_regex(pattern).search(instance):
        yield SchemaError(f"{instance!r} does not match {pattern!r}")


_Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})


@cache
def validator(schema_name: str) -> Any:
    """One compiled validator per schema, with formats checked (jsonschema skips them by default)."""
    schema = load_schema(schema_name)
    Draft202012Validator.check_schema(schema)
    return _Validator(schema, format_checker=FormatChecker())


def _path(parts: list[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _leaf_errors(error: SchemaError) -> list[SchemaError]:
    if error.validator in ("if", "then", "allOf", "anyOf", "oneOf") and error.context:
        return [leaf for sub in error.context for leaf in _leaf_errors(sub)]
    return [error]


def _field_errors(error: SchemaError) -> list[FieldError]:
    path = list(error.absolute_path)
    keyword = str(error.validator)
    if keyword == "required":
        missing = [name for name in error.validator_value if name not in (error.instance or {})]
        return [
            FieldError(_path([*path, name]), "required", f"{_path([*path, name])} is required.") for name in missing
        ]
    if keyword == "additionalProperties":
        allowed = set((error.schema.get("properties") or {}).keys())
        unknown = [name for name in (error.instance or {}) if name not in allowed]
        return [
            FieldError(_path([*path, name]), "not_allowed", f"Unknown field {name!r} is not allowed.")
            for name in unknown
        ]
    field = _path(path) or "(body)"
    code = error.schema.get("x-error-code") if isinstance(error.schema, dict) else None
    if keyword in ("type", "enum", "maxLength") or code is None:
        code = _KEYWORD_CODES.get(keyword, "invalid")
    return [FieldError(field, code, _message(error, field, code))]


def _message(error: SchemaError, field: str, code: str) -> str:
    keyword = str(error.validator)
    if keyword == "maxLength":
        return f"{field} is too long (at most {error.validator_value} characters)."
    if keyword == "enum":
        allowed = error.validator_value
        if len(allowed) > 12:
            return f"{field} is not a known code (e.g. {allowed[0]!r})."
        return f"{field} must be one of: {', '.join(map(str, allowed))}."
    if keyword == "type":
        return f"{field} must be of type {error.validator_value}."
    if code == "consent_required":
        return f"{field} must be accepted (true) to continue."
    if code == "required":
        return f"{field} must not be empty."
    if code == "invalid_phone":
        return f"{field} is not a valid phone number."
    if code == "invalid_email":
        return f"{field} is not a valid e-mail address."
    if code == "invalid_postcode":
        return f"{field} must be a 5-digit German postcode."
    if keyword == "uniqueItems":
        return f"{field} lists a value twice."
    return f"{field} is invalid ({keyword})."


def validate(schema_name: str, document: Any) -> list[FieldError]:
    """Every problem with `document`, one entry per field, sorted by field path."""
    found: dict[tuple[str, str], FieldError] = {}
    for error in validator(schema_name).iter_errors(document):
        for leaf in _leaf_errors(error):
            for field_error in _field_errors(leaf):
                found.setdefault((field_error.field, field_error.code), field_error)
    # A field reported twice (e.g. type and pattern) keeps only its first, clearest problem.
    by_field: dict[str, FieldError] = {}
    for field_error in found.values():
        by_field.setdefault(field_error.field, field_error)
    return sorted(by_field.values(), key=lambda e: e.field)
