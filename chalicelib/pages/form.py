"""Turns a JSON Schema into an accessible HTML form, labelled from the label files.

Generic on purpose: a property added to the schema appears in the form with a sensible
control (enum → radios or a select, array of enum → checkboxes, boolean → checkbox,
object → fieldset, string → text input). The few hints below only refine what a
browser offers (keyboard type, autofill); they never decide what is valid.
Every control is named by its JSON path, the same path the server reports errors under.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.pages.html import attrs, esc
from chalicelib.pages.labels import autonym, country_names

# Up to this many choices show as radios (one tap, all visible); more become a select.
MAX_RADIOS = 8
TEXTAREA_FROM_LENGTH = 500
WIDGETS = {"registered_with_employment_agency": "yesno"}
INPUT_HINTS: dict[str, dict[str, str]] = {
    "given_name": {"autocomplete": "given-name"},
    "family_name": {"autocomplete": "family-name"},
    "phone": {"autocomplete": "tel", "dir": "ltr"},
    "email": {"autocomplete": "email", "dir": "ltr"},
    "postcode": {"autocomplete": "postal-code", "inputmode": "numeric", "dir": "ltr"},
    "qualification.title": {"autocomplete": "off"},
}
COUNTRY_FIELDS = {"qualification.country"}
LANGUAGE_FIELDS = {"language"}
CONSENT_PATH = "consent"
# Should the schema record which consent texts were shown, the form sends the label file's version id.
CONSENT_VERSION_PATH = "consent.version"
CONSENT_LANGUAGE_PATH = "consent.language"  # the page's language: the one its consent texts are in


@dataclass
class FormContext:
    language: str
    labels: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)

    def field_labels(self, path: str) -> dict[str, Any]:
        return dict(self.labels.get("fields", {}).get(path) or {})

    def ui(self, key: str) -> str:
        return str(self.labels.get("page", {}).get(key, key))


def field_id(path: str) -> str:
    return "f-" + path.replace(".", "-")


def _label_text(ctx: FormContext, path: str, schema: dict[str, Any]) -> str:
    text = ctx.field_labels(path).get("label") or schema.get("title")
    return str(text or path.rsplit(".", 1)[-1].replace("_", " ").capitalize())


def _help(ctx: FormContext, path: str, schema: dict[str, Any]) -> tuple[str, str | None]:
    """The help paragraph and its id (None when the field has no help text)."""
    text = ctx.field_labels(path).get("help")
    if not text and path not in ctx.labels.get("fields", {}):
        text = schema.get("description")  # an unlabelled new field still explains itself
    if not text:
        return "", None
    help_id = field_id(path) + "-help"
    return f'<p class="help" id="{help_id}">{esc(text)}</p>', help_id


def _error_slot(path: str) -> str:
    return f'<p class="error" id="{field_id(path)}-error" hidden></p>'


def _legend_or_label(ctx: FormContext, path: str, schema: dict[str, Any], required: bool) -> str:
    optional = "" if required else f' <span class="optional">({esc(ctx.ui("optional"))})</span>'
    return f"{esc(_label_text(ctx, path, schema))}{optional}"


def _option_text(ctx: FormContext, path: str, value: Any) -> str:
    options = ctx.field_labels(path).get("options") or {}
    if str(value) in options:
        return str(options[str(value)])
    if path in LANGUAGE_FIELDS:
        return autonym(str(value))
    return str(value)


def _choices(ctx: FormContext, path: str, values: list[Any]) -> list[tuple[str, str]]:
    if path in COUNTRY_FIELDS:
        return list(country_names(ctx.language, tuple(str(v) for v in values)))
    return [(str(v), _option_text(ctx, path, v)) for v in values]


def _choice_group(
    ctx: FormContext, path: str, schema: dict[str, Any], required: bool, kind: str, choices: list[tuple[str, str]]
) -> str:
    """Radios or checkboxes in a fieldset: the legend is the question, each option has its label."""
    fid = field_id(path)
    help_html, help_id = _help(ctx, path, schema)
    selected = ctx.values.get(path)
    options = []
    for value, text in choices:
        option_id = f"{fid}-{value}".replace(" ", "_")
        control = attrs(
            {
                "type": kind,
                "id": option_id,
                "name": path,
                "value": value,
                "checked": selected is not None and str(selected) == value,
                "required": required and kind == "radio",
                "aria-describedby": help_id,
            }
        )
        options.append(f'<label class="option" for="{option_id}"><input{control}><span>{esc(text)}</span></label>')
    return (
        f'<fieldset class="field choice" id="{fid}" data-field="{esc(path)}">'
        f"<legend>{_legend_or_label(ctx, path, schema, required)}</legend>{help_html}{_error_slot(path)}"
        f'<div class="options">{"".join(options)}</div></fieldset>'
    )


def _select(ctx: FormContext, path: str, schema: dict[str, Any], required: bool, choices: list[tuple[str, str]]) -> str:
    fid = field_id(path)
    help_html, help_id = _help(ctx, path, schema)
    selected = ctx.values.get(path, schema.get("default"))
    options = [f'<option value="">{esc(ctx.ui("choose"))}</option>']
    for value, text in choices:
        chosen = " selected" if selected is not None and str(selected) == value else ""
        options.append(f'<option value="{esc(value)}"{chosen}>{esc(text)}</option>')
    control = attrs({"id": fid, "name": path, "required": required, "aria-describedby": help_id})
    return (
        f'<div class="field" data-field="{esc(path)}"><label for="{fid}">'
        f"{_legend_or_label(ctx, path, schema, required)}</label>{help_html}{_error_slot(path)}"
        f"<select{control}>{''.join(options)}</select></div>"
    )


def _checkbox(ctx: FormContext, path: str, schema: dict[str, Any], required: bool) -> str:
    """One checkbox; a long text (e.g. a consent) is shown in full right above it."""
    fid = field_id(path)
    labels = ctx.field_labels(path)
    help_html, help_id = _help(ctx, path, schema)
    text_html, described = "", [help_id] if help_id else []
    if labels.get("text"):
        paragraphs = [p for p in str(labels["text"]).split("\n\n") if p.strip()]
        text_html = f'<div class="long-text" id="{fid}-text">' + "".join(f"<p>{esc(p)}</p>" for p in paragraphs)
        text_html += "</div>"
        described.insert(0, f"{fid}-text")
    control = attrs(
        {
            "type": "checkbox",
            "id": fid,
            "name": path,
            "value": "true",
            "checked": bool(ctx.values.get(path, schema.get("default", False))),
            "required": schema.get("const") is True,
            "aria-describedby": " ".join(described) or None,
        }
    )
    return (
        f'<div class="field check" data-field="{esc(path)}">{text_html}{_error_slot(path)}'
        f'<label class="option" for="{fid}"><input{control}><span>{esc(_label_text(ctx, path, schema))}</span>'
        f"</label>{help_html}</div>"
    )


def _text_input(ctx: FormContext, path: str, schema: dict[str, Any], required: bool) -> str:
    fid = field_id(path)
    help_html, help_id = _help(ctx, path, schema)
    hints = dict(INPUT_HINTS.get(path, {}))
    kind = "text"
    if schema.get("format") == "email":
        kind = "email"
    elif schema.get("x-format") == "phone":
        kind = "tel"
    elif schema.get("type") in ("integer", "number"):
        hints.setdefault("inputmode", "numeric" if schema["type"] == "integer" else "decimal")
    common = {"id": fid, "name": path, "required": required, "aria-describedby": help_id, **hints}
    value = ctx.values.get(path)
    if schema.get("type") == "array":
        # A list of free answers (no choices to tick): one per line; intake.js sends the lines as the list.
        lines = "\n".join(str(v) for v in value) if isinstance(value, list) else ""
        control = f"<textarea{attrs({**common, 'rows': 4, 'data-list': 'lines'})}>{esc(lines)}</textarea>"
    elif schema.get("type") == "string" and int(schema.get("maxLength", 0)) >= TEXTAREA_FROM_LENGTH:
        control = f"<textarea{attrs({**common, 'rows': 5})}>{esc(value or '')}</textarea>"
    else:
        control = f"<input{attrs({'type': kind, **common, 'value': value})}>"
    return (
        f'<div class="field" data-field="{esc(path)}"><label for="{fid}">'
        f"{_legend_or_label(ctx, path, schema, required)}</label>{help_html}{_error_slot(path)}{control}</div>"
    )


def _group(ctx: FormContext, path: str, schema: dict[str, Any], required: bool) -> str:
    help_html, _ = _help(ctx, path, schema)
    note = ""
    if path == CONSENT_PATH and ctx.labels.get("consent_version"):
        version = esc(ctx.labels["consent_version"])
        note = f'<p class="note">{esc(ctx.ui("consent_version"))} <span data-consent-version>{version}</span></p>'
    inner = render_properties(ctx, schema, path)
    return (
        f'<fieldset class="group" id="{field_id(path)}" data-field="{esc(path)}">'
        f"<legend>{esc(_label_text(ctx, path, schema))}</legend>{help_html}{note}{_error_slot(path)}{inner}</fieldset>"
    )


def render_field(ctx: FormContext, path: str, schema: dict[str, Any], required: bool) -> str:
    """The control for one schema property, chosen from its type and keywords."""
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _group(ctx, path, schema, required)
    if isinstance(schema.get("const"), str):
        return f'<input type="hidden" name="{esc(path)}" value="{esc(schema["const"])}">'
    if path == CONSENT_VERSION_PATH:
        return f'<input type="hidden" name="{esc(path)}" value="{esc(ctx.labels.get("consent_version", ""))}">'
    if path == CONSENT_LANGUAGE_PATH:
        return f'<input type="hidden" name="{esc(path)}" value="{esc(ctx.language)}">'
    if kind == "array" and "enum" in (schema.get("items") or {}):
        return _choice_group(ctx, path, schema, required, "checkbox", _choices(ctx, path, schema["items"]["enum"]))
    if schema.get("const") is True or (kind == "boolean" and WIDGETS.get(path) != "yesno"):
        return _checkbox(ctx, path, schema, required)
    if kind == "boolean":
        yes_no = [("true", ctx.ui("yes")), ("false", ctx.ui("no"))]
        return _choice_group(ctx, path, schema, required, "radio", yes_no)
    if "enum" in schema:
        choices = _choices(ctx, path, schema["enum"])
        if len(choices) <= MAX_RADIOS and path not in LANGUAGE_FIELDS:
            return _choice_group(ctx, path, schema, required, "radio", choices)
        return _select(ctx, path, schema, required, choices)
    return _text_input(ctx, path, schema, required)


def render_properties(ctx: FormContext, schema: dict[str, Any], prefix: str = "") -> str:
    """Every property of an object schema, in schema order."""
    required = set(schema.get("required") or [])
    parts = []
    for name, subschema in (schema.get("properties") or {}).items():
        path = f"{prefix}.{name}" if prefix else name
        parts.append(render_field(ctx, path, subschema, name in required))
    return "".join(parts)
