"""An in-memory sender for tests and the `fake` backend: records what Twilio would have received."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.services.messaging_ports import (
    ForgetFailedError,
    LookupFailedError,
    OutgoingSms,
    PermanentSendError,
    SendResult,
    TransientSendError,
    UnknownOutcomeError,
)

# Scripted outcomes for the next calls (or drawn at random with `failure_rate`).
OK = "ok"
SERVER_ERROR = "5xx"
TOO_MANY = "429"
TIMEOUT = "timeout"  # accepted by the provider, but the answer never arrives
REFUSED = "refused"  # the connection never opened: certainly not sent
RANDOM_FAILURES = (SERVER_ERROR, TOO_MANY, TIMEOUT)
PERMANENT_CODES = ("21211", "21610", "21614")  # script one of these to get Twilio's refusal


@dataclass(frozen=True)
class Delivered:
    """One message the provider accepted."""

    sid: str
    message_id: str
    to: str
    body: str
    at: datetime


class FakeSender:
    def __init__(self, clock: Callable[[], datetime] | None = None, failure_rate: float = 0.0, seed: int = 0) -> None:
        self._clock = clock or (lambda: datetime.now(UTC))
        self.failure_rate = failure_rate
        self._random = random.Random(seed)
        self._script: list[str | Exception] = []
        self._lock = threading.Lock()
        self.accepted: list[Delivered] = []  # what reached the provider (and so the phone)
        self.calls = 0
        self.lookups = 0
        self.lookup_failures = 0  # the next n lookups fail
        self.forgotten: list[str] = []  # SIDs whose record the provider deleted
        self.forget_failures = 0  # the next n deletions fail

    def fail_next(self, *outcomes: str | Exception) -> None:
        with self._lock:
            self._script.extend(outcomes)

    def _outcome(self) -> str | Exception:
        with self._lock:
            self.calls += 1
            if self._script:
                return self._script.pop(0)
            if self.failure_rate and self._random.random() < self.failure_rate:
                return self._random.choice(RANDOM_FAILURES)
            return OK

    def send(self, sms: OutgoingSms) -> SendResult:
        outcome = self._outcome()
        if isinstance(outcome, Exception):
            raise outcome
        if outcome == SERVER_ERROR:
            raise TransientSendError("HTTP 503 from provider", "503")
        if outcome == TOO_MANY:
            raise TransientSendError("Too many requests", "20429")
        if outcome in PERMANENT_CODES:
            raise PermanentSendError(f"Twilio 400 {outcome}", outcome)
        if outcome == REFUSED:
            raise TransientSendError("connection refused")
        sid = "SM" + uuid.uuid4().hex
        with self._lock:
            self.accepted.append(Delivered(sid, sms.message_id, sms.to, sms.body, self._clock()))
        if outcome == TIMEOUT:
            raise UnknownOutcomeError("read timeout after the request was sent")
        return SendResult(sid, "queued")

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        with self._lock:
            self.lookups += 1
            if self.lookup_failures:
                self.lookup_failures -= 1
                raise LookupFailedError("provider unavailable for lookup")
            for item in reversed(self.accepted):
                if item.to == to and item.body == body and item.at >= since:
                    return item.sid
        return None

    def forget(self, sid: str) -> None:
        with self._lock:
            if self.forget_failures:
                self.forget_failures -= 1
                raise ForgetFailedError("provider unavailable for deletion", "503")
            self.forgotten.append(sid)  # `accepted` stays: what reached the phone, for the tests to count

    def sent_to(self, to: str) -> list[Delivered]:
        with self._lock:
            return [item for item in self.accepted if item.to == to]
