"""Checking X-Twilio-Signature with Twilio's own RequestValidator."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.services.messaging_ports import FormParams


class TwilioSignatureVerifier:
    def __init__(self, auth_token: Callable[[], str]) -> None:
        self._auth_token = auth_token

    def valid(self, url: str, params: FormParams, signature: str | None, settings_header: str | None) -> bool:
        if not signature:
            return False
        from twilio.request_validator import RequestValidator, get_signature_algorithm

        token = self._auth_token()
        if not token:
            return False  # no secret configured: nothing can be verified, so nothing is accepted
        algorithm = get_signature_algorithm(settings_header)
        return bool(RequestValidator(token).validate(url, params, signature, algorithm))
