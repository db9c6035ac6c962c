"""What the page routes answer: pages, assets and schemas with caching headers, no Chalice types."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import NotFoundError
from chalicelib.pages.assets import StaticFile, asset, cache_headers
from chalicelib.pages.html import base_path, page_headers
from chalicelib.pages.intake_page import render_intake_page
from chalicelib.pages.labels import languages, negotiate
from chalicelib.pages.schema_files import public_schema
from chalicelib.pages.staff_page import choose_language, render_staff_page, staff_page_headers


@dataclass(frozen=True)
class PageResult:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


def _etag(body: str) -> str:
    return '"' + hashlib.sha256(body.encode("utf-8")).hexdigest()[:16] + '"'


def _conditional(body: str, headers: dict[str, str], if_none_match: str | None) -> PageResult:
    """A 304 without body when the browser already holds this version (slow connections)."""
    etag = headers.setdefault("ETag", _etag(body))
    if if_none_match and _none_match_fails(etag, if_none_match):
        return PageResult(304, "", headers)
    return PageResult(200, body, headers)


def _none_match_fails(etag: str, if_none_match: str) -> bool:
    """RFC 9110 13.1.2: `*` matches any current page, and If-None-Match compares weakly (a CDN that
    compresses a page sends our tag back as W/"…")."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


def intake_page(
    language: str | None,
    *,
    accept_language: str | None,
    context: Mapping[str, Any] | None,
    if_none_match: str | None = None,
) -> PageResult:
    """`GET /` (language from Accept-Language) and `GET /{language}`; unknown languages are a 404."""
    if language is None:
        chosen, route, extra = negotiate(accept_language), "/", {"Vary": "Accept-Language"}
    elif language in languages():
        chosen, route, extra = language, f"/{language}", {}
    else:
        raise NotFoundError(f"No intake page in language {language[:16]!r}; try one of: {', '.join(languages())}.")
    body = render_intake_page(chosen, base_path(context, route))
    return _conditional(body, page_headers({"Content-Language": chosen, **extra}), if_none_match)


def _static(found: StaticFile | None, what: str, version: str | None, if_none_match: str | None) -> PageResult:
    if found is None:
        raise NotFoundError(f"There is no {what}.")
    return _conditional(found.body, cache_headers(found, versioned=version == found.version), if_none_match)


def asset_file(name: str, *, version: str | None, if_none_match: str | None = None) -> PageResult:
    """`GET /assets/{name}`: the page's CSS and JS."""
    return _static(asset(name), f"asset {name!r}", version, if_none_match)


def schema_document(filename: str, *, version: str | None, if_none_match: str | None = None) -> PageResult:
    """`GET /schemas/{name}.schema.json`: the schema the browser validates with."""
    return _static(public_schema(filename), f"schema {filename!r}", version, if_none_match)


def staff_page(
    *,
    lang: str | None,
    accept_language: str | None,
    context: Mapping[str, Any] | None,
    settings: Settings,
    if_none_match: str | None = None,
) -> PageResult:
    """`GET /staff` (issue 5): the workspace shell in German or English; no token needed, no data in it."""
    language = choose_language(lang, accept_language)
    body = render_staff_page(language, base_path(context, "/staff"), settings)
    return _conditional(body, staff_page_headers(language, settings), if_none_match)
