"""The applicant's intake page: server-rendered from the intake schema and the label files.

The HTML is complete without JavaScript (fast first paint, readable on any phone);
intake.js then validates with the same schema in the browser and submits as JSON.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.pages.assets import asset_url
from chalicelib.pages.form import FormContext, render_properties
from chalicelib.pages.html import document, esc, json_block
from chalicelib.pages.labels import autonym, is_rtl, labels, languages
from chalicelib.pages.schema_files import schema_file
from chalicelib.schemas import load_schema

SCHEMA_NAME = "intake"
# Strings the script needs after load (errors are chosen by the server's codes).
SCRIPT_TEXTS = (
    "sending",
    "error_summary",
    "network_error",
    "server_error",
    "conflict",
    "changes_not_saved",
    "retry",
    "link_copied",
)
GLOBE = (
    '<svg aria-hidden="true" focusable="false" width="20" height="20" viewBox="0 0 24 24" fill="none" '
    'stroke="currentColor" stroke-width="2"><circle cx="12" cy="12" r="10"/>'
    '<path d="M2 12h20M12 2a15 15 0 0 1 0 20M12 2a15 15 0 0 0 0 20"/></svg>'
)


def schema_url(base: str, name: str) -> str:
    return f"{base}/schemas/{name}.schema.json?v={schema_file(name).version}"


def _language_picker(base: str, current: str, texts: dict[str, Any]) -> str:
    items = []
    for language in languages():
        here = ' aria-current="page"' if language == current else ""
        direction = "rtl" if is_rtl(language) else "ltr"
        items.append(
            f'<li><a href="{esc(base)}/{language}" lang="{language}" hreflang="{language}" dir="{direction}"'
            f"{here}>{esc(autonym(language))}</a></li>"
        )
    return (
        f'<details class="lang-picker"><summary>{GLOBE}<span>{esc(texts["language_picker"])}: '
        f"{esc(autonym(current))}</span></summary><ul>{''.join(items)}</ul></details>"
    )


def _result_section(texts: dict[str, Any]) -> str:
    """Filled by the script with the reference and partner from the 201 response."""
    return (
        '<section id="result" class="result" hidden tabindex="-1" aria-labelledby="result-title">'
        f'<h2 id="result-title">{esc(texts["result_title"])}</h2>'
        '<p id="result-changes-lost" class="notice" hidden></p>'
        f'<p>{esc(texts["result_reference"])}</p><p class="reference" id="result-reference" dir="ltr"></p>'
        f"<p>{esc(texts['result_reference_help'])}</p>"
        f'<p>{esc(texts["result_partner"])}</p><p class="partner" id="result-partner" dir="auto"></p>'
        '<p id="result-partner-about"></p>'
        # SMS asked for to a number in a country SMS do not go to: said now, not left to silence.
        f'<p id="result-sms-not-possible" class="notice" hidden>{esc(texts["result_sms_not_possible"])}</p>'
        f"<p>{esc(texts['result_next'])}</p>"
        # The status link (issue 7): the only place the applicant ever sees its secret.
        f"<p>{esc(texts['result_status_link'])}</p>"
        '<p class="status-link" hidden><a id="result-status-link" dir="ltr" href=""></a></p>'
        # Shown once only, kept only in this tab: a copy into notes or a message keeps it.
        f'<p class="copy-link" hidden><button type="button" id="copy-status-link" class="secondary">'
        f'{esc(texts["copy_link"])}</button> <span id="copy-status-link-done" role="status"></span></p>'
        f'<button type="button" id="new-request" class="secondary">{esc(texts["new_request"])}</button></section>'
    )


@cache
def render_intake_page(language: str, base: str = "") -> str:
    """The whole page in `language`; cached per language because it only changes on deploy."""
    page_labels = labels(language)
    texts: dict[str, Any] = page_labels["page"]
    schema = load_schema(SCHEMA_NAME)
    form_fields = render_properties(FormContext(language, page_labels, {"language": language}), schema)
    script_data = {
        "lang": language,
        "schema": schema_url(base, SCHEMA_NAME),
        "endpoint": f"{base}/intake",
        "errors": page_labels["errors"],
        "texts": {key: texts[key] for key in SCRIPT_TEXTS},
        "partners": page_labels.get("partners", {}),
    }
    body = (
        f'<a class="skip" href="#intake">{esc(texts["skip_to_form"])}</a>'
        f'<header class="top"><p class="brand">{esc(texts["brand"])}</p>'
        f"{_language_picker(base, language, texts)}</header>"
        f'<main id="main"><h1>{esc(texts["title"])}</h1><p class="intro">{esc(texts["intro"])}</p>'
        f'<noscript><p class="notice">{esc(texts["noscript"])}</p></noscript>'
        '<div id="error-summary" class="error-summary" role="alert" tabindex="-1" hidden>'
        f"<h2>{esc(texts['error_summary'])}</h2><ul></ul></div>"
        f'<form id="intake" novalidate action="{esc(base)}/intake" method="post">{form_fields}'
        '<div id="send-problem" class="problem" role="alert" tabindex="-1" hidden><p id="send-problem-text"></p>'
        f'<button type="button" id="retry" class="secondary" hidden>{esc(texts["retry"])}</button></div>'
        '<p id="form-status" class="form-status" role="status" aria-live="polite"></p>'
        # Enabled by the script: without it the form cannot send JSON (the notice above says so).
        f'<button type="submit" id="submit" class="primary" disabled>{esc(texts["submit"])}</button></form>'
        f"{_result_section(texts)}</main>{json_block('page-data', script_data)}"
    )
    alternates = "".join(f'<link rel="alternate" hreflang="{lang}" href="{esc(base)}/{lang}">' for lang in languages())
    return document(
        lang=language,
        rtl=is_rtl(language),
        title=texts["title"],
        stylesheets=[asset_url(base, "base.css")],
        scripts=[asset_url(base, "schema-validate.js"), asset_url(base, "intake.js")],
        head_extra=alternates,
        body=body,
    )
