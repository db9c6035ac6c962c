"""Turning a Chalice request from Twilio into a WebhookRequest: the body exactly as sent, the URL as Twilio saw it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from chalicelib.services.messaging_ports import FormParams, WebhookRequest


def form_params(raw_body: bytes | None) -> FormParams:
    """Every pair, in order, blank and repeated ones included, nothing trimmed (the signature covers them)."""
    text = (raw_body or b"").decode("utf-8", errors="replace")
    return FormParams(parse_qsl(text, keep_blank_values=True))


def public_url(request: Any, public_base_url: str) -> str:
    """PUBLIC_BASE_URL (with the API Gateway stage, e.g. https://x.execute-api…/api) + path + query.

    Without a configured base, the Host header and API Gateway's stage are used: right for the
    default execute-api domain, wrong behind a custom domain with a base path, hence the setting.
    """
    base = public_base_url.rstrip("/")
    if not base:
        headers = request.headers
        scheme = headers.get("x-forwarded-proto", "https")
        host = headers.get("host", "localhost")
        stage = (request.context or {}).get("stage") if "execute-api" in host else None
        base = f"{scheme}://{host}" + (f"/{stage}" if stage else "")
    url = base + (request.path or "")
    pairs: list[tuple[str, str]] = []
    query = request.query_params
    if query:
        for name in query:
            values = query.getlist(name) if hasattr(query, "getlist") else [query[name]]
            pairs.extend((name, value) for value in values)
    return url + ("?" + urlencode(pairs) if pairs else "")


def twilio_webhook(request: Any, public_base_url: str) -> WebhookRequest:
    query = {name: request.query_params[name] for name in (request.query_params or {})}
    return WebhookRequest(
        url=public_url(request, public_base_url),
        params=form_params(request.raw_body),
        signature=request.headers.get("x-twilio-signature"),
        signature_settings=request.headers.get("x-twilio-webhooks-signature-settings"),
        query=query,
    )
