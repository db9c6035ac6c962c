"""Small helpers every server-rendered page shares: escaping, base path, the page shell."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

# Pages load only what the app serves; data blocks (<script type="application/json">) are not executed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def esc(value: object) -> str:
    return escape(str(value), quote=True)


def attrs(values: Mapping[str, object]) -> str:
    """HTML attributes: True renders the bare name, None/False are left out."""
    parts = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        parts.append(f" {name}" if value is True else f' {name}="{esc(value)}"')
    return "".join(parts)


def json_block(element_id: str, data: Any) -> str:
    """Data for the page's script, inert to the browser and safe against `</script>`."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
    return f'<script type="application/json" id="{esc(element_id)}">{text}</script>'


def base_path(context: Mapping[str, Any] | None, route_path: str) -> str:
    """The URL prefix in front of the app's routes ("/api" behind API Gateway's stage, "" locally).

    `context["path"]` is the path the browser asked for (with any stage prefix),
    `route_path` the same path as the app sees it (e.g. "/de"); the difference is the prefix.
    """
    requested = str((context or {}).get("path") or route_path)
    if requested != "/" and requested.endswith("/"):
        requested = requested[:-1]
    route = "" if route_path == "/" else route_path.rstrip("/")
    if route and requested.endswith(route):
        return requested[: -len(route)].rstrip("/")
    if not route:
        return requested.rstrip("/")
    return ""


def page_headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
        **(extra or {}),
    }


def document(
    *, lang: str, rtl: bool, title: str, stylesheets: list[str], scripts: list[str], head_extra: str, body: str
) -> str:
    """A complete HTML document; scripts are deferred so the page paints before they run."""
    links = "".join(f'<link rel="stylesheet" href="{esc(href)}">' for href in stylesheets)
    script_tags = "".join(f'<script src="{esc(src)}" defer></script>' for src in scripts)
    return (
        f'<!doctype html><html lang="{esc(lang)}" dir="{"rtl" if rtl else "ltr"}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title)}</title><link rel="icon" href="data:,">{links}{head_extra}{script_tags}'
        f"</head><body>{body}</body></html>"
    )
