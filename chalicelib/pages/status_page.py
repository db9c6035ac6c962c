"""The applicant's status page, `GET /status#<case_id>.<secret>`: status, appointments, export, erasure.

The secret sits in the URL fragment, which the browser never sends: the server renders a page
without any case data, and status.js reads the fragment and calls the applicant API with the
secret in the X-Status-Secret header. The page opens in the browser's language and switches
to the language of the case once it is known (every language's texts are in the page, ~6 KB).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from chalicelib.pages.assets import asset_url
from chalicelib.pages.html import base_path, document, esc, json_block, page_headers
from chalicelib.pages.labels import is_rtl, labels, languages, negotiate
from chalicelib.pages.responses import PageResult, _conditional

SECTION = "status_page"


def _text(texts: dict[str, str], key: str, tag: str = "p", **attributes: str) -> str:
    """An element whose text the script can switch to another language (data-t names the key)."""
    extra = "".join(f' {name.rstrip("_").replace("_", "-")}="{esc(value)}"' for name, value in attributes.items())
    return f'<{tag} data-t="{key}"{extra}>{esc(texts[key])}</{tag}>'


def _case_section(texts: dict[str, str]) -> str:
    rows = "".join(
        f'<dt data-t="{label}">{esc(texts[label])}</dt><dd id="{value_id}"{extra}></dd>'
        for label, value_id, extra in (
            ("status_label", "case-status", ""),
            ("partner_label", "case-partner", ' dir="auto"'),
            ("reference_label", "case-reference", ' class="reference" dir="ltr"'),
            ("received_label", "case-received", ""),
        )
    )
    return (
        '<section id="case" class="result" hidden tabindex="-1" aria-labelledby="case-title">'
        f'{_text(texts, "case_title", "h2", id="case-title")}<dl class="case-facts">{rows}</dl>'
        '<p id="case-partner-address" dir="auto"></p>'
        '<div id="appointments" hidden>'
        f"{_text(texts, 'appointments_title', 'h2', id='appointments-title')}"
        f"{_text(texts, 'times_in_munich', id='times-in-munich', class_='help', hidden='hidden')}"
        '<ul id="appointment-list" class="appointments" aria-labelledby="appointments-title"></ul></div>'
        f"{_text(texts, 'data_title', 'h2')}{_text(texts, 'data_intro')}"
        f"{_text(texts, 'download', 'button', type='button', id='download', class_='secondary')}"
        f"{_text(texts, 'erase', 'button', type='button', id='erase', class_='danger')}"
        '<div id="confirm" class="confirm" hidden role="alertdialog" aria-labelledby="confirm-text">'
        f"{_text(texts, 'erase_confirm_text', id='confirm-text')}"
        f"{_text(texts, 'erase_confirm', 'button', type='button', id='erase-confirm', class_='danger')}"
        f"{_text(texts, 'erase_cancel', 'button', type='button', id='erase-cancel', class_='secondary')}"
        "</div></section>"
    )


@cache
def render_status_page(language: str, base: str = "") -> str:
    """The page shell in `language`; the case is filled in by status.js. Cached per language."""
    texts: dict[str, str] = labels(language)[SECTION]
    brand = labels(language)["page"]["brand"]
    script_data: dict[str, Any] = {
        "lang": language,
        "api": base,
        "rtl": [lang for lang in languages() if is_rtl(lang)],
        # The brand too: the page switches to the case's language ("MigraNet ميونخ", not the phone's).
        "texts": {lang: {**labels(lang)[SECTION], "brand": labels(lang)["page"]["brand"]} for lang in languages()},
    }
    body = (
        f'<header class="top"><p class="brand" data-t="brand">{esc(brand)}</p></header>'
        f'<main id="main">{_text(texts, "title", "h1")}{_text(texts, "intro", class_="intro")}'
        f'<noscript><p class="notice">{esc(texts["noscript"])}</p></noscript>'
        f"{_text(texts, 'loading', id='loading', role='status')}"
        f"{_text(texts, 'no_link', id='no-link', class_='notice', hidden='hidden')}"
        f"{_text(texts, 'not_found', id='not-found', class_='notice', hidden='hidden')}"
        f'<div id="problem" class="problem" role="alert" hidden>{_text(texts, "problem")}</div>'
        f"{_case_section(texts)}"
        '<section id="erased" class="result" hidden tabindex="-1">'
        f"{_text(texts, 'erased')}</section></main>{json_block('status-data', script_data)}"
    )
    return document(
        lang=language,
        rtl=is_rtl(language),
        title=texts["title"],
        stylesheets=[asset_url(base, "base.css"), asset_url(base, "status.css")],
        scripts=[asset_url(base, "status.js")],
        head_extra='<meta name="robots" content="noindex">',
        body=body,
    )


def status_page(
    *, accept_language: str | None, context: Mapping[str, Any] | None, if_none_match: str | None = None
) -> PageResult:
    """`GET /status`: the shell in the browser's language; it holds no data, so it may be revalidated."""
    language = negotiate(accept_language)
    body = render_status_page(language, base_path(context, "/status"))
    headers = page_headers({"Content-Language": language, "Vary": "Accept-Language", "X-Robots-Tag": "noindex"})
    return _conditional(body, headers, if_none_match)
