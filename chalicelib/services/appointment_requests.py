"""Checking an appointment request: the schema, plus clearer words than a schema can give
(which of location / online_url is missing or doubled, what a valid start looks like)."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import FieldError, ValidationError
from chalicelib.validation import validate

# Clear words for the schema's generic messages, by field.
_FIELD_MESSAGES = {
    "start": "start must be a date and time such as 2026-05-04T10:30 (Europe/Berlin) or 2026-05-04T08:30:00Z.",
    "duration_minutes": "duration_minutes must be a whole number of minutes from 15 to 480.",
    "online_url": "online_url must be an https:// link to the online meeting.",
    "attended": "attended must be true (the applicant came) or false (no-show).",
}


def _explained(error: FieldError) -> FieldError:
    if error.code in ("required", "not_allowed", "too_long", "wrong_type") or error.field not in _FIELD_MESSAGES:
        return error
    return FieldError(error.field, error.code, _FIELD_MESSAGES[error.field])


def _place_errors(body: Any, required: bool) -> list[FieldError]:
    """Exactly one of location / online_url (the schema says so too; these words say which)."""
    if not isinstance(body, dict):
        return []
    given = [name for name in ("location", "online_url") if name in body]
    if len(given) == 2:
        return [FieldError("online_url", "exclusive", "Give either location (in person) or online_url, not both.")]
    if not given and required:
        return [FieldError("location", "required", "Give location (in person) or online_url (online meeting).")]
    return []


def checked(schema_name: str, body: Any, place_required: bool = False) -> dict[str, Any]:
    if schema_name == "appointment-change" and body == {}:
        fields = "start, duration_minutes, location, online_url or note"
        raise ValidationError([FieldError("(body)", "required", f"Give at least one field to change: {fields}.")])
    errors = validate(schema_name, body)
    own = _place_errors(body, place_required) if schema_name != "attendance" else []
    if own:  # replace the schema's oneOf/not report with the clearer one
        errors = [e for e in errors if e.field not in ("(body)", "location", "online_url") or e.code == "too_long"]
    found = {e.field: _explained(e) for e in errors}
    for error in own:
        found.setdefault(error.field, error)
    if found:
        raise ValidationError(sorted(found.values(), key=lambda e: e.field))
    return dict(body)
