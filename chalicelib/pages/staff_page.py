"""The staff workspace page (`GET /staff`): one server-rendered shell, driven by staff*.js.

The page itself holds no case data and needs no token: the scripts sign in (a pasted local
token, or the Cognito hosted UI with code + PKCE in production), keep the ID token in
sessionStorage and call the JSON API with it. German and English, chosen with `?lang=`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from chalicelib.config import PACKAGE_DIR, Settings
from chalicelib.domain.staff import CLOSE_OUTCOMES
from chalicelib.errors import NotFoundError
from chalicelib.pages.assets import asset_url
from chalicelib.pages.html import CONTENT_SECURITY_POLICY, attrs, document, esc, json_block
from chalicelib.pages.intake_page import schema_url
from chalicelib.pages.labels import labels as intake_labels

STAFF_LABELS_DIR = PACKAGE_DIR / "data" / "labels" / "staff"
STAFF_LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
DURATIONS = (15, 30, 45, 60, 90, 120)
DEFAULT_DURATION = 45
# Option names the case view shows, taken from the intake page's label files (one source).
OPTION_FIELDS = ("qualification.profession_group", "qualification.level", "german_level", "goals")
SCRIPTS = ("schema-validate.js", "staff-core.js", "staff-case.js", "staff-privacy.js", "staff-metrics.js", "staff.js")
STYLESHEETS = ("base.css", "staff.css")
OAUTH_SCOPES = "openid email profile"
# Button and heading texts the script swaps in (the rest of "page" is rendered here).
PAGE_TEXTS_FOR_SCRIPT = (
    "claim",
    "release",
    "book",
    "save_change",
    "appointment_new",
    "appointment_edit",
    "transfer_submit",
    "reassign_submit",
    "choose",
    "filter_all_partners",
    "queue_routed",
    "queue_mine",
    "queue_closed",
    "queue_network",
    "routing_partner",
    "routing_rule",
    "routing_reason",
    "routing_now",
    "routing_moved_reason",
)


@cache
def staff_labels(language: str) -> dict[str, Any]:
    with (STAFF_LABELS_DIR / f"{language}.json").open(encoding="utf-8") as handle:
        return dict(json.load(handle))


def choose_language(asked: str | None, accept_language: str | None) -> str:
    """`?lang=` (de or en; anything else is a 404 like /{language}), else the browser's language, else German."""
    if asked is not None:
        if asked not in STAFF_LANGUAGES:
            raise NotFoundError(f"No staff page in language {asked[:16]!r}; try one of: {', '.join(STAFF_LANGUAGES)}.")
        return asked
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        if params.strip() in ("q=0", "q=0.0"):
            continue
        primary = tag.strip().lower().split("-")[0]
        if primary in STAFF_LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def auth_config(settings: Settings) -> dict[str, Any]:
    """What the script needs to sign people in on this stage (never a secret: the client is public)."""
    if settings.auth_mode == "local":
        return {"mode": "local"}
    domain, client, redirect = settings.cognito_domain, settings.cognito_app_client_id, settings.staff_redirect_url
    if not (domain and client and redirect):
        return {"mode": "unconfigured"}
    return {
        "mode": "cognito",
        "authorize_url": f"{domain}/oauth2/authorize",
        "token_url": f"{domain}/oauth2/token",
        "logout_url": f"{domain}/logout",
        "client_id": client,
        "redirect_uri": redirect,
        "scope": OAUTH_SCOPES,
    }


def content_security_policy(settings: Settings) -> str:
    """The pages' strict policy; in production the script may also POST to the hosted UI's token endpoint."""
    domain = settings.cognito_domain if settings.auth_mode != "local" else ""
    if not domain:
        return CONTENT_SECURITY_POLICY
    parts = urlsplit(domain)
    origin = f"{parts.scheme}://{parts.netloc}"
    return CONTENT_SECURITY_POLICY.replace("connect-src 'self'", f"connect-src 'self' {origin}")


def _options(language: str) -> dict[str, dict[str, str]]:
    fields = intake_labels(language).get("fields", {})
    return {path: dict(fields.get(path, {}).get("options") or {}) for path in OPTION_FIELDS}


def _select(element_id: str, label: str, options: list[tuple[str, str]], extra: str = "") -> str:
    choices = "".join(f'<option value="{esc(value)}">{esc(text)}</option>' for value, text in options)
    return (
        f'<div class="field"><label for="{element_id}">{esc(label)}</label>'
        f'<select id="{element_id}" name="{element_id}"{extra}>{choices}</select>'
        f'<p class="error" id="{element_id}-error" hidden></p></div>'
    )


def _input(element_id: str, label: str, kind: str = "text", help_text: str = "", **extra: Any) -> str:
    described = [f"{element_id}-help"] if help_text else []
    help_html = f'<p class="help" id="{element_id}-help">{esc(help_text)}</p>' if help_text else ""
    tag = "textarea" if kind == "textarea" else "input"
    values = {"id": element_id, "name": element_id, **({} if tag == "textarea" else {"type": kind}), **extra}
    if described:
        values["aria-describedby"] = " ".join(described)
    control = f"<{tag}{attrs(values)}></textarea>" if tag == "textarea" else f"<{tag}{attrs(values)}>"
    return (
        f'<div class="field"><label for="{element_id}">{esc(label)}</label>{help_html}{control}'
        f'<p class="error" id="{element_id}-error" hidden></p></div>'
    )


def _signin(texts: dict[str, str], mode: str) -> str:
    if mode == "local":
        body = (
            f'<p>{esc(texts["signin_intro_local"])}</p><pre class="command"><code>{esc(texts["signin_command"])}'
            '</code></pre><form id="token-form" novalidate>'
            + _input(
                "token",
                texts["token_label"],
                "textarea",
                texts["token_help"],
                autocomplete="off",
                spellcheck="false",
                autocapitalize="off",
                rows="4",
                required=True,
            )
            + f'<button type="submit" class="primary" id="token-submit" disabled>{esc(texts["signin_button"])}'
            "</button></form>"
        )
    elif mode == "cognito":
        body = (
            f"<p>{esc(texts['signin_intro_hosted'])}</p>"
            f'<button type="button" class="primary" id="hosted-signin" disabled>{esc(texts["signin_hosted"])}</button>'
        )
    else:
        body = f'<p class="notice">{esc(texts["signin_unconfigured"])}</p>'
    return (
        '<section id="signin" class="signin" aria-labelledby="signin-title">'
        f'<h1 id="signin-title">{esc(texts["signin_title"])}</h1>'
        '<div id="signin-message" class="problem" role="alert" tabindex="-1" hidden></div>'
        f'<noscript><p class="notice">{esc(texts["noscript"])}</p></noscript>{body}</section>'
    )


def _tabs(texts: dict[str, str]) -> str:
    tabs = [("routed", False), ("mine", False), ("closed", False), ("network", True), ("metrics", True)]
    buttons = "".join(
        f'<button type="button" role="tab" id="tab-{view}" data-view="{view}" aria-selected="false" tabindex="-1"'
        f' aria-controls="{"panel-metrics" if view == "metrics" else "panel-queue"}"{" hidden" if hidden else ""}>'
        f"{esc(texts['tab_' + view])}</button>"
        for view, hidden in tabs
    )
    return f'<div class="tabs" role="tablist" id="tabs" aria-label="{esc(texts["views"])}">{buttons}</div>'


def _queue_panel(texts: dict[str, str]) -> str:
    columns = ("reference", "queued", "due", "profession", "language", "goals", "holder", "partner", "actions")
    head = "".join(f'<th scope="col" class="col-{c}">{esc(texts["col_" + c])}</th>' for c in columns)
    filters = (
        '<form id="network-filter" class="filters" hidden>'
        + _select("filter-partner", texts["filter_partner"], [("", texts["filter_all_partners"])])
        + _select("filter-status", texts["filter_status"], [])
        + f'<button type="submit" class="secondary">{esc(texts["filter_apply"])}</button></form>'
    )
    # The reference an applicant reads out on the phone opens their case (GET /staff/cases?reference=).
    find = (
        '<form id="find-form" class="filters find" role="search" novalidate>'
        + _input("find-reference", texts["find_label"], help_text=texts["find_help"], autocomplete="off",
                 spellcheck="false", autocapitalize="characters")
        + f'<button type="submit" class="secondary">{esc(texts["find"])}</button></form>'
    )  # fmt: skip
    return (
        '<section id="panel-queue" class="panel" role="tabpanel" aria-labelledby="queue-title">'
        f'<div class="panel-head"><h2 id="queue-title" tabindex="-1">{esc(texts["queue_routed"])}</h2>'
        f'<button type="button" id="queue-reload" class="secondary small">{esc(texts["reload"])}</button></div>'
        f'{find}{filters}<div class="table-wrap"><table id="queue-table" class="queue"><thead><tr>{head}</tr></thead>'
        '<tbody></tbody></table></div><p id="queue-empty" class="empty" hidden></p>'
        f'<button type="button" id="queue-more" class="secondary" hidden>{esc(texts["more"])}</button></section>'
    )


def _appointment_form(texts: dict[str, str], minutes: str) -> str:
    durations = [(str(d), minutes.replace("{n}", str(d))) for d in DURATIONS]
    mode = (
        f'<fieldset class="field mode"><legend>{esc(texts["mode"])}</legend>'
        '<label class="option"><input type="radio" name="appointment-mode" id="appointment-mode-place" value="place"'
        f" checked> {esc(texts['mode_place'])}</label>"
        '<label class="option"><input type="radio" name="appointment-mode" id="appointment-mode-online"'
        f' value="online"> {esc(texts["mode_online"])}</label></fieldset>'
    )
    return (
        '<form id="appointment-form" class="case-form" novalidate>'
        f'<h4 id="appointment-form-title">{esc(texts["appointment_new"])}</h4>'
        f'<p class="help">{esc(texts["timezone_note"])}</p><div class="row">'
        + _input("appointment-date", texts["date"], "date", required=True)
        + _input("appointment-time", texts["time"], "time", step="300", required=True)
        + _select("appointment-duration", texts["duration"], durations)
        + "</div>"
        + mode
        + _input("appointment-location", texts["location"], "text", autocomplete="street-address")
        + '<div id="online-url-field" hidden>'
        + _input("appointment-online_url", texts["online_url"], "url", inputmode="url", placeholder="https://")
        + "</div>"
        + _input("appointment-note", texts["appointment_note"], "textarea", rows="2", maxlength="500")
        + f'<div class="buttons"><button type="submit" class="primary" id="appointment-submit">{esc(texts["book"])}'
        f'</button><button type="button" class="secondary" id="appointment-cancel-edit" hidden>'
        f"{esc(texts['cancel_edit'])}</button></div></form>"
    )


def _move_form(texts: dict[str, str]) -> str:
    return (
        '<form id="transfer-form" class="case-form" novalidate>'
        + _select("transfer-partner", texts["transfer_partner"], [("", texts["choose"])], " required")
        + _input(
            "transfer-reason",
            texts["transfer_reason"],
            "textarea",
            texts["transfer_reason_help"],
            rows="3",
            required=True,
        )
        + f'<button type="submit" class="primary" id="transfer-submit">{esc(texts["transfer_submit"])}</button></form>'
    )


def _close_form(texts: dict[str, str], outcomes: dict[str, str]) -> str:
    choices = [("", texts["choose"])] + [(o, outcomes.get(o, o)) for o in CLOSE_OUTCOMES]
    return (
        '<form id="close-form" class="case-form" novalidate>'
        # Shown for a scheduled case: what the close does to its appointments, before staff press the button.
        + f'<p class="help" id="close-cancels" hidden>{esc(texts["close_cancels"])}</p>'
        + _select("close-outcome", texts["close_outcome"], choices, " required")
        + _input("close-note", texts["close_note"], "textarea", rows="2", maxlength="2000")
        + f'<button type="submit" class="primary" id="close-submit">{esc(texts["close_submit"])}</button></form>'
    )


@cache
def _erase_reasons() -> tuple[str, ...]:
    """The codes POST /coordinator/cases/{id}/erase accepts, from its schema (one source)."""
    from chalicelib.schemas import load_schema

    return tuple(load_schema("erase")["properties"]["reason"]["enum"])


def _privacy_form(texts: dict[str, str], reasons: dict[str, str]) -> str:
    """Coordinators only (the API refuses staff): an applicant's Art. 15 and Art. 17 requests by phone."""
    choices = [("", texts["choose"])] + [(r, reasons.get(r, r)) for r in _erase_reasons()]
    return (
        f'<p class="help">{esc(texts["privacy_help"])}</p>'
        f'<div class="buttons"><button type="button" class="secondary" id="privacy-export">{esc(texts["export_data"])}'
        "</button></div>"
        '<form id="erase-form" class="case-form" novalidate>'
        + _select("erase-reason", texts["erase_reason"], choices, " required")
        + '<div class="field check"><p class="error" id="erase-confirm-error" hidden></p>'
        '<label class="option" for="erase-confirm"><input type="checkbox" id="erase-confirm" name="erase-confirm"'
        f" required><span>{esc(texts['erase_confirm'])}</span></label></div>"
        f'<button type="submit" class="primary danger" id="erase-submit">{esc(texts["erase_submit"])}</button></form>'
    )


def _section(key: str, title: str, inner: str, hidden: bool = False) -> str:
    return (
        f'<section id="section-{key}" class="case-section" aria-labelledby="h-{key}"{" hidden" if hidden else ""}>'
        f'<h3 id="h-{key}">{esc(title)}</h3>{inner}</section>'
    )


def _case_panel(texts: dict[str, str], labels: dict[str, Any]) -> str:
    minutes = labels["script"]["minutes"]
    move_title = f'<span id="move-title-staff">{esc(texts["section_transfer"])}</span>'
    move_title += f'<span id="move-title-coordinator" hidden>{esc(texts["section_reassign"])}</span>'
    return (
        '<section id="case" class="panel case" aria-labelledby="case-title" hidden>'
        f'<div class="panel-head"><h2 id="case-title" tabindex="-1">{esc(texts["case"])} '
        '<span id="case-reference" class="ref"></span></h2>'
        f'<button type="button" id="case-back" class="secondary small">{esc(texts["back"])}</button></div>'
        '<p id="case-state" class="case-state"></p>'
        '<div id="case-problem" class="problem" role="alert" tabindex="-1" hidden></div>'
        f'<div class="buttons"><button type="button" id="case-claim" class="primary" hidden>{esc(texts["claim"])}'
        f'</button><button type="button" id="case-release" class="secondary" hidden>{esc(texts["release"])}</button>'
        "</div>"
        + _section("intake", texts["section_intake"], '<dl id="case-intake" class="facts"></dl>')
        + _section("routing", texts["section_routing"], '<dl id="case-routing" class="facts"></dl>')
        + _section(
            "appointments",
            texts["section_appointments"],
            '<ul id="appointments" class="items"></ul>' + _appointment_form(texts, minutes),
        )
        + _section(
            "messages",
            texts["section_messages"],
            '<div id="messages-flags"></div><ul id="messages" class="items"></ul>',
        )
        + f'<section id="section-move" class="case-section" aria-labelledby="h-move"><h3 id="h-move">{move_title}</h3>'
        + f'<p class="help" id="move-blocked" hidden>{esc(texts["move_blocked"])}</p>'
        + _move_form(texts)
        + "</section>"
        + _section("close", texts["section_close"], _close_form(texts, labels["outcomes"]))
        + _section("privacy", texts["section_privacy"], _privacy_form(texts, labels["erase_reasons"]), hidden=True)
        + _section("history", texts["section_history"], '<ol id="history" class="items"></ol>')
        + _section("audit", texts["section_audit"], '<ol id="audit" class="items"></ol>')
        + "</section>"
    )


def _metrics_panel(texts: dict[str, str]) -> str:
    return (
        '<section id="panel-metrics" class="panel metrics" role="tabpanel" aria-labelledby="metrics-title" hidden>'
        f'<h2 id="metrics-title">{esc(texts["metrics_title"])}</h2><p class="help">{esc(texts["metrics_intro"])}</p>'
        '<form id="metrics-form" class="filters" novalidate>'
        + _input("metrics-from", texts["metrics_from"], "date", required=True)
        + _input("metrics-to", texts["metrics_to"], "date", required=True)
        + f'<button type="submit" class="primary" id="metrics-show">{esc(texts["metrics_show"])}</button>'
        f'<button type="button" class="secondary" id="metrics-csv">{esc(texts["metrics_csv"])}</button>'
        '<button type="button" class="secondary" id="metrics-csv-excel">'
        f"{esc(texts['metrics_csv_excel'])}</button></form>"
        '<div id="metrics-summary" class="cards"></div><div id="metrics-charts" class="charts"></div></section>'
    )


def _language_switch(base: str, current: str, texts: dict[str, str]) -> str:
    here = ' aria-current="page"'
    links = "".join(
        f'<a href="{esc(base)}/staff?lang={code}" lang="{code}" hreflang="{code}" data-lang="{code}"'
        f"{here if code == current else ''}>{esc(staff_labels(code)['language_name'])}</a>"
        for code in STAFF_LANGUAGES
    )
    return f'<nav class="staff-lang" aria-label="{esc(texts["language_switch"])}">{links}</nav>'


def script_data(language: str, base: str, settings: Settings) -> dict[str, Any]:
    labels = staff_labels(language)
    return {
        "lang": language,
        "base": base,
        "auth": auth_config(settings),
        "schemas": {"transfer": schema_url(base, "transfer")},
        "texts": labels["script"],
        "page": {k: labels["page"][k] for k in PAGE_TEXTS_FOR_SCRIPT},
        "fields": labels["fields"],
        "statuses": labels["statuses"],
        "outcomes": labels["outcomes"],
        "actions": labels["actions"],
        "message_kinds": labels["message_kinds"],
        "message_statuses": labels["message_statuses"],
        "appointment_statuses": labels["appointment_statuses"],
        "attention_reasons": labels["attention_reasons"],
        "attention_kinds": labels["attention_kinds"],
        "erase_reasons": labels["erase_reasons"],
        "rules": labels["rules"],
        "message_reasons": labels["message_reasons"],
        "errors": labels["errors"],
        "problems": labels["problems"],
        "options": _options(language),
        "default_duration": DEFAULT_DURATION,
    }


def render_staff_page(language: str, base: str, settings: Settings) -> str:
    labels = staff_labels(language)
    texts: dict[str, str] = labels["page"]
    mode = auth_config(settings)["mode"]
    body = (
        f'<a class="skip" href="#main">{esc(texts["skip"])}</a>'
        f'<header class="top staff-top"><p class="brand">{esc(texts["brand"])}</p>'
        f"{_language_switch(base, language, texts)}"
        '<div id="who" class="who" hidden><span id="who-name"></span> <span id="who-detail" class="who-detail"></span>'
        f' <button type="button" id="sign-out" class="link-button">{esc(texts["sign_out"])}</button></div></header>'
        '<main id="main" class="staff" tabindex="-1">'
        '<p id="status" class="status" role="status" aria-live="polite"></p>'
        f"{_signin(texts, mode)}"
        '<section id="workspace" class="workspace" aria-labelledby="workspace-title" hidden>'
        f'<h1 id="workspace-title" class="visually-hidden">{esc(texts["workspace"])}</h1>'
        f'{_tabs(texts)}<div class="layout">{_queue_panel(texts)}{_metrics_panel(texts)}'
        f"{_case_panel(texts, labels)}</div></section></main>"
        f"{json_block('page-data', script_data(language, base, settings))}"
    )
    return document(
        lang=language,
        rtl=False,
        title=texts["title"],
        stylesheets=[asset_url(base, name) for name in STYLESHEETS],
        scripts=[asset_url(base, name) for name in SCRIPTS],
        head_extra='<meta name="robots" content="noindex">',
        body=body,
    )


def staff_page_headers(language: str, settings: Settings, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    from chalicelib.pages.html import page_headers

    headers = page_headers({"Content-Language": language, "Vary": "Accept-Language", **(extra or {})})
    headers["Content-Security-Policy"] = content_security_policy(settings)
    return headers
