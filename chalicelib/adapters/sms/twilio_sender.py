"""Twilio's Messages API through the official client, with an explicit timeout.

`twilio` is imported only here and only on first use: the intake path and cold starts
that never send an SMS do not pay for it. Credentials come from a callable, so in
production they are read from SSM on first send, not at import or build time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.services.messaging_ports import (
    ForgetFailedError,
    LookupFailedError,
    OutgoingSms,
    PermanentSendError,
    SendResult,
    TransientSendError,
    UnknownOutcomeError,
)

if TYPE_CHECKING:
    from twilio.rest import Client

# Twilio's http client logs request URLs and query strings (phone numbers) at INFO.
_quiet = logging.getLogger("migranet.twilio_http")
_quiet.setLevel(logging.WARNING)

# Refusals that concern the recipient and will not change on retry.
PERMANENT_CODES = frozenset({21211, 21610, 21614, 21612, 21408, 21217, 21606, 30004, 30005, 30006})
# Our account or configuration (e.g. a rotated token): retried, so a fix within minutes loses nothing.
ACCOUNT_STATUSES = frozenset({401, 403})
RETRYABLE_CODES = frozenset({20429, 20500, 20503, 30001})
# Clock skew between us and Twilio, and the time a request may spend in flight.
LOOKUP_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class TwilioCredentials:
    account_sid: str
    auth_token: str


class TwilioSender:
    def __init__(
        self,
        credentials: Callable[[], TwilioCredentials],
        *,
        messaging_service_sid: str | None = None,
        from_number: str | None = None,
        timeout: float = 10.0,
        api_base_url: str | None = None,
    ) -> None:
        if not (messaging_service_sid or from_number):
            raise ValueError("a Messaging Service SID or a sender (TWILIO_FROM) is required")
        if timeout <= 0:
            raise ValueError("timeout must be positive: Twilio's client has none by default")
        self._credentials = credentials
        self._messaging_service_sid = messaging_service_sid
        self._from = from_number
        self._timeout = timeout
        self._api_base_url = api_base_url
        self._client: Client | None = None
        self._lock = threading.Lock()

    def client(self) -> Client:
        with self._lock:
            if self._client is None:
                from twilio.http.http_client import TwilioHttpClient
                from twilio.rest import Client

                creds = self._credentials()
                http = TwilioHttpClient(timeout=self._timeout, logger=_quiet)
                client = Client(creds.account_sid, creds.auth_token, http_client=http)
                if self._api_base_url:  # tests: the fake Twilio server on loopback
                    client.api.base_url = self._api_base_url.rstrip("/")
                self._client = client
            return self._client

    def send(self, sms: OutgoingSms) -> SendResult:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        params: dict[str, Any] = {"to": sms.to, "body": sms.body}
        if self._messaging_service_sid:
            params["messaging_service_sid"] = self._messaging_service_sid
        else:
            params["from_"] = self._from
        if sms.status_callback:
            params["status_callback"] = sms.status_callback
        try:
            client = self.client()
        except Exception as error:  # credentials missing or SSM unreachable: certainly not sent
            raise TransientSendError(f"Twilio client unavailable: {type(error).__name__}") from error
        try:
            message = client.messages.create(**params)
        except TwilioRestException as error:
            raise _rest_error(error) from error
        except Exception as error:
            if _never_left(error):
                raise TransientSendError(f"connection failed: {type(error).__name__}") from error
            if isinstance(error, TwilioException) or _is_requests_error(error):
                raise UnknownOutcomeError(f"no answer from Twilio: {type(error).__name__}") from error
            raise
        return SendResult(str(message.sid), str(message.status))

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """Ask Twilio for messages to `to` since `since`; match the body exactly."""
        after = since - LOOKUP_SKEW
        try:
            # DateSent narrows the list; a message still queued has no DateSent yet, hence the second list.
            candidates = list(self.client().messages.list(to=to, date_sent_after=after, limit=50))
            candidates += list(self.client().messages.list(to=to, limit=20))
        except Exception as error:
            raise LookupFailedError(f"lookup at Twilio failed: {type(error).__name__}") from error
        for message in candidates:
            created = message.date_created or message.date_sent
            if message.body == body and (created is None or created >= after):
                return str(message.sid)
        return None

    def forget(self, sid: str) -> None:
        """DELETE the Message resource (its number and body go with it); 404: Twilio has it no more."""
        from twilio.base.exceptions import TwilioRestException

        try:
            self.client().messages(sid).delete()
        except TwilioRestException as error:
            if int(error.status or 0) == 404:
                return
            raise _forget_failed(error) from error  # e.g. 20009: a message still in flight
        except Exception as error:
            raise _forget_failed(error) from error


def _forget_failed(error: Exception) -> ForgetFailedError:
    status, code = getattr(error, "status", None), getattr(error, "code", None)
    if status is None:
        return ForgetFailedError(f"Twilio unreachable: {type(error).__name__}")
    return ForgetFailedError(f"Twilio {status} {code or ''}".strip(), str(code or status))


def _rest_error(error: Any) -> Exception:
    status, code = int(error.status or 0), error.code
    reason = f"Twilio {status} {code or ''}: {error.msg}".strip()
    if status == 429 or status >= 500 or code in RETRYABLE_CODES or status in ACCOUNT_STATUSES:
        return TransientSendError(reason, str(code or status))
    if code in PERMANENT_CODES or 400 <= status < 500:
        return PermanentSendError(reason, str(code or status))
    return TransientSendError(reason, str(code or status))


def _is_requests_error(error: BaseException) -> bool:
    import requests

    return isinstance(error, requests.exceptions.RequestException)


def _never_left(error: BaseException) -> bool:
    """True when the request certainly did not reach Twilio (connect failed), so a resend is safe."""
    import requests
    from urllib3.exceptions import NameResolutionError, NewConnectionError

    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(error, requests.exceptions.ConnectionError):
        return False
    # requests wraps urllib3's MaxRetryError, whose `reason` says what went wrong.
    for wrapped in error.args:
        if isinstance(getattr(wrapped, "reason", wrapped), NewConnectionError | NameResolutionError):
            return True
    return False


def ssm_credentials(
    read_parameters: Callable[[tuple[str, ...]], Mapping[str, bytes]], prefix: str
) -> Callable[[], TwilioCredentials]:
    """Read `<prefix>/account_sid` and `<prefix>/auth_token` (SecureString) once, on first use,
    with `read_parameters` (names → decrypted values; chalicelib/adapters/parameter_store.read)."""
    cache: list[TwilioCredentials] = []
    lock = threading.Lock()

    def load() -> TwilioCredentials:
        with lock:
            if not cache:
                base = prefix.rstrip("/")
                names = (f"{base}/account_sid", f"{base}/auth_token")
                values = read_parameters(names)
                missing = [n for n in names if n not in values]
                if missing:
                    raise RuntimeError(f"SSM parameters missing: {', '.join(missing)}")
                cache.append(TwilioCredentials(values[names[0]].decode(), values[names[1]].decode()))
            return cache[0]

    return load
