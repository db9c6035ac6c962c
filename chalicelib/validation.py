"""Compiled JSON Schemas turned into `[{field, code, message}]` a person can act on.

jsonschema explains every problem but costs a cold Lambda ~50 ms (import, compiling the
validator). Most documents are valid, so `validate` first asks `quick_check`, which decides
a subset of the keywords exactly and answers "don't know" to everything else; only a document
it cannot prove valid goes to jsonschema, which also writes the error list (issue 8).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib.errors import FieldError
from chalicelib.schemas import load_schema

if TYPE_CHECKING:
    from jsonschema import ValidationError as SchemaError

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


# ECMA-262's classes, which differ from Python's on str: its \d and \w are ASCII only, and its \s
# has U+FEFF but not U+001C-U+001F or U+0085 (so "https://\x1f…" matched `^https://[^\s]+$` in the
# browser and in schemathesis, and was refused here).
_ECMA_CLASSES = {
    "d": "0-9",
    "w": "A-Za-z0-9_",
    "s": "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff",
}


@cache
def _ecma_regex(pattern: str) -> re.Pattern[str]:
    """JSON Schema patterns are ECMA-262: `$` ends the string. Python's `$` also matches before a
    trailing newline, which let "80331\n" pass as a postcode while the browser refused it."""
    translated, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
            ecma = _ECMA_CLASSES.get(char.lower())
            if ecma is not None and in_class and char.islower():
                translated[-1] = ecma  # replaces the backslash: the members join the enclosing class
            elif ecma is not None and not in_class:
                translated[-1] = f"[{'' if char.islower() else '^'}{ecma}]"
            else:
                translated.append(char)  # (\D, \S, \W inside a class: none in our schemas)
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
    from jsonschema import ValidationError as SchemaError

    if isinstance(instance, str) and not _ecma_regex(pattern).search(instance):
        yield SchemaError(f"{instance!r} does not match {pattern!r}")


@cache
def validator(schema_name: str) -> Any:
    """One compiled validator per schema, with formats checked (jsonschema skips them by default).
    The schema files themselves are checked against the 2020-12 meta-schema by the unit tests."""
    from jsonschema import Draft202012Validator, FormatChecker, validators

    extended = validators.extend(Draft202012Validator, {"pattern": _pattern})
    return extended(load_schema(schema_name), format_checker=FormatChecker())


# --- quick_check: True = valid, False = invalid, None = don't know (ask jsonschema) ----------------

_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "object": dict,
    "array": list,
    "boolean": bool,
    "null": type(None),
}
# Keywords that never make a document invalid: jsonschema ignores them (and unknown "x-…" ones).
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples", "default"})


def _all_of(results: Iterator[bool | None]) -> bool | None:
    unsure = False
    for result in results:
        if result is False:
            return False
        unsure = unsure or result is None
    return None if unsure else True


def _equals_one_of(candidates: list[Any], instance: Any) -> bool | None:
    # jsonschema's equality tells true from 1 and compares strings as strings; for candidates
    # that are strings, booleans or null that is "same type and ==". Numbers, lists: ask jsonschema.
    if not all(isinstance(c, (str, bool)) or c is None for c in candidates):
        return None
    return any(type(c) is type(instance) and c == instance for c in candidates)


def _object_keywords(schema: dict[str, Any], instance: dict[str, Any]) -> Iterator[bool | None]:
    properties = schema.get("properties", {})
    yield all(name in instance for name in schema.get("required", ()))
    for name, subschema in properties.items():
        if name in instance:
            yield quick_check(subschema, instance[name])
    extra = schema.get("additionalProperties", True)
    if extra is False:
        yield all(name in properties for name in instance)
    elif extra is not True:
        yield None


def _array_keywords(schema: dict[str, Any], instance: list[Any]) -> Iterator[bool | None]:
    yield len(instance) >= schema.get("minItems", 0)
    if "maxItems" in schema:
        yield len(instance) <= schema["maxItems"]
    if schema.get("uniqueItems") is True:
        yield len(set(instance)) == len(instance) if all(isinstance(i, str) for i in instance) else None
    if "items" in schema:
        yield from (quick_check(schema["items"], item) for item in instance)


def _string_keywords(schema: dict[str, Any], instance: str) -> Iterator[bool | None]:
    yield len(instance) >= schema.get("minLength", 0)
    if "maxLength" in schema:
        yield len(instance) <= schema["maxLength"]
    if "pattern" in schema:
        yield _ecma_regex(schema["pattern"]).search(instance) is not None
    if "format" in schema:
        # jsonschema's FormatChecker asks only for an "@" in an e-mail address; other formats: ask it.
        yield "@" in instance if schema["format"] == "email" else None


_BY_KIND: dict[type, tuple[frozenset[str], Callable[[dict[str, Any], Any], Iterator[bool | None]]]] = {
    dict: (frozenset({"properties", "required", "additionalProperties"}), _object_keywords),
    list: (frozenset({"minItems", "maxItems", "uniqueItems", "items"}), _array_keywords),
    str: (frozenset({"minLength", "maxLength", "pattern", "format"}), _string_keywords),
}
_KNOWN = frozenset().union(*(known for known, _ in _BY_KIND.values()), {"type", "enum", "const", "if", "then", "else"})


def _keywords(schema: dict[str, Any], instance: Any) -> Iterator[bool | None]:
    if "type" in schema:
        expected = _JSON_TYPES.get(schema["type"]) if isinstance(schema["type"], str) else None
        yield None if expected is None else isinstance(instance, expected)
    if "enum" in schema:
        yield _equals_one_of(schema["enum"], instance)
    if "const" in schema:
        yield _equals_one_of([schema["const"]], instance)
    kind = _BY_KIND.get(type(instance))
    if kind is not None:
        yield from kind[1](schema, instance)  # each keyword applies to its own kind of value only
    if "if" in schema:
        condition = quick_check(schema["if"], instance)
        branch = None if condition is None else schema.get("then" if condition else "else", True)
        yield None if branch is None else quick_check(branch, instance)


def quick_check(schema: Any, instance: Any) -> bool | None:
    """Whether `instance` is valid against `schema` for the keywords decided here, else None.

    Never answers True or False where jsonschema (2020-12, FormatChecker, ECMA `$`) would not;
    tests/unit/test_validation_quick.py compares the two on generated and mutated documents."""
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, dict):
        return None
    unknown = [k for k in schema if k not in _KNOWN and k not in _ANNOTATIONS and not k.startswith("x-")]
    if unknown:
        return None
    return _all_of(_keywords(schema, instance))


def json_path(parts: list[Any]) -> str:
    """A JSON path as the API's errors name a field: qualification.title, goals[1]."""
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
            FieldError(json_path([*path, name]), "required", f"{json_path([*path, name])} is required.")
            for name in missing
        ]
    if keyword == "additionalProperties":
        allowed = set((error.schema.get("properties") or {}).keys())
        unknown = [name for name in (error.instance or {}) if name not in allowed]
        return [
            FieldError(json_path([*path, name]), "not_allowed", f"Unknown field {name!r} is not allowed.")
            for name in unknown
        ]
    field = json_path(path) or "(body)"
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
    if quick_check(load_schema(schema_name), document) is True:
        return []
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
