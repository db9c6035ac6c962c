"""A fake of Twilio's Messages API: a real HTTP server on 127.0.0.1:<free port>.

It speaks what the official `twilio` client sends and parses: POST .../Messages.json
(form fields To, From or MessagingServiceSid, Body, StatusCallback; Basic auth) answered
with 201 and a message resource, GET .../Messages.json filtered by To and DateSent, and
DELETE .../Messages/<sid>.json (204; 404 for a SID it does not have).
Failures are scripted (`fail_next`) or drawn at random (`failure_rate`): 5xx, 429/20429,
400 with 21211/21610/21614, and timeouts that record the message as sent and then sleep
past the client's timeout, as when Twilio accepted a message whose answer was lost.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from chalicelib.domain.messages import count_segments

OK = "ok"
TIMEOUT = "timeout"
RANDOM_FAILURES = ("500", "503", "429", TIMEOUT)
ERRORS = {
    "500": (500, 20500, "Internal Server Error"),
    "503": (503, 20503, "Service Unavailable"),
    "429": (429, 20429, "Too Many Requests"),
    "21211": (400, 21211, "The 'To' number is not a valid phone number."),
    "21610": (400, 21610, "Attempt to send to unsubscribed recipient"),
    "21614": (400, 21614, "'To' number is not a valid mobile number"),
}


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    auth: tuple[str, str] | None
    headers: dict[str, str]

    def field(self, name: str) -> str | None:
        return next((value for key, value in self.form if key == name), None)


class FakeTwilio:
    def __init__(
        self,
        account_sid: str = "AC" + "f" * 32,
        auth_token: str = "fake-auth-token",
        clock: Callable[[], datetime] | None = None,
        timeout_sleep: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.clock = clock or (lambda: datetime.now(UTC))
        self.timeout_sleep = timeout_sleep
        self.failure_rate = 0.0
        self.random = random.Random(seed)
        self.requests: list[Recorded] = []
        self.messages: list[dict[str, Any]] = []  # what Twilio accepted (and would deliver)
        self._script: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- control --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def fail_next(self, *outcomes: str) -> None:
        with self._lock:
            self._script.extend(outcomes)

    def sent_to(self, to: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages if m["to"] == to]

    def posts(self) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == "POST"]

    # --- the API ----------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode("utf-8") if length else ""
        recorded = Recorded(
            method,
            parts.path,
            parse_qsl(parts.query, keep_blank_values=True),
            parse_qsl(raw, keep_blank_values=True),
            _basic_auth(handler.headers.get("Authorization")),
            {k.lower(): v for k, v in handler.headers.items()},
        )
        with self._lock:
            self.requests.append(recorded)
        collection = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if recorded.auth != (self.account_sid, self.auth_token):
            return _json(handler, 401, _error(401, 20003, "Authentication Error - invalid username"))
        if method == "DELETE" and parts.path.startswith(collection[:-5] + "/"):
            return self._delete(handler, parts.path[len(collection) - 4 : -5])
        if parts.path != collection:
            return _json(handler, 404, _error(404, 20404, "The requested resource was not found"))
        if method == "GET":
            return _json(handler, 200, self._list(recorded, collection))
        return self._create(handler, recorded, collection)

    def _outcome(self) -> str:
        with self._lock:
            if self._script:
                return self._script.pop(0)
            if self.failure_rate and self.random.random() < self.failure_rate:
                return self.random.choice(RANDOM_FAILURES)
        return OK

    def _create(self, handler: BaseHTTPRequestHandler, request: Recorded, collection: str) -> None:
        to, body = request.field("To"), request.field("Body")
        sender, service = request.field("From"), request.field("MessagingServiceSid")
        if not to or body is None or not (sender or service):
            return _json(handler, 400, _error(400, 21604, "A 'To' phone number, a sender and a Body are required."))
        outcome = self._outcome()
        if outcome in ERRORS:
            status, code, text = ERRORS[outcome]
            return _json(handler, status, _error(status, code, text))
        now = self.clock()
        sid = "SM" + uuid.uuid4().hex
        resource = {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": format_datetime(now.astimezone(UTC), usegmt=True),
            "date_sent": format_datetime(now.astimezone(UTC), usegmt=True),
            "date_updated": format_datetime(now.astimezone(UTC), usegmt=True),
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or "MigraNet",
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(count_segments(body).segments),
            "price": None,
            "price_unit": "EUR",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "status_callback": request.field("StatusCallback"),
            "subresource_uris": {"media": f"{collection[:-5]}/{sid}/Media.json"},
            "to": to,
            "uri": f"{collection[:-5]}/{sid}.json",
            "_at": now,
        }
        with self._lock:
            self.messages.append(resource)
        if outcome == TIMEOUT:
            time.sleep(self.timeout_sleep)  # the client gave up; the message is sent all the same
        _json(handler, 201, {k: v for k, v in resource.items() if not k.startswith("_")})

    def _delete(self, handler: BaseHTTPRequestHandler, sid: str) -> None:
        outcome = self._outcome()
        if outcome in ERRORS:
            status, code, text = ERRORS[outcome]
            return _json(handler, status, _error(status, code, text))
        with self._lock:
            found = [m for m in self.messages if m["sid"] == sid]
            self.messages = [m for m in self.messages if m["sid"] != sid]
        if not found:
            return _json(handler, 404, _error(404, 20404, "The requested resource was not found"))
        handler.send_response(204)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _list(self, request: Recorded, collection: str) -> dict[str, Any]:
        query = dict(request.query)
        page_size = int(query.get("PageSize") or 50)
        with self._lock:
            found = [m for m in reversed(self.messages) if _matches(m, query)]  # newest first, like Twilio
        page = [{k: v for k, v in m.items() if not k.startswith("_")} for m in found[:page_size]]
        return {
            "messages": page,
            "end": max(0, len(page) - 1),
            "first_page_uri": f"{collection}?PageSize={page_size}&Page=0",
            "next_page_uri": None,
            "page": 0,
            "page_size": page_size,
            "previous_page_uri": None,
            "start": 0,
            "uri": f"{collection}?PageSize={page_size}&Page=0",
        }


def _matches(message: dict[str, Any], query: dict[str, str]) -> bool:
    if "To" in query and message["to"] != query["To"]:
        return False
    sent: datetime = message["_at"]
    for key, keep in (("DateSent>", lambda a, b: a >= b), ("DateSent<", lambda a, b: a <= b)):
        if key in query:
            bound, date_only = _when(query[key])
            if not keep(sent.date() if date_only else sent, bound.date() if date_only else bound):
                return False
    if "DateSent" in query:
        bound, _ = _when(query["DateSent"])
        if sent.date() != bound.date():
            return False
    return True


def _when(text: str) -> tuple[datetime, bool]:
    """Twilio takes YYYY-MM-DD; its Python client sends YYYY-MM-DDTHH:MM:SSZ."""
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC), True
    return datetime.fromisoformat(text.replace("Z", "+00:00")), False


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    return user, password


def _error(status: int, code: int, message: str) -> dict[str, Any]:
    more = f"https://www.twilio.com/docs/errors/{code}"
    return {"code": code, "message": message, "more_info": more, "status": status}


def _json(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode("utf-8")
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client timed out and left
