"""The interfaces messaging needs: an SMS sender, a message store, and the sender's errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.domain.messages import Message


@dataclass(frozen=True)
class OutgoingSms:
    message_id: str
    to: str
    body: str
    status_callback: str | None = None


@dataclass(frozen=True)
class SendResult:
    sid: str
    status: str  # Twilio's: accepted, queued, sent, ...


class SendError(Exception):
    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientSendError(SendError):
    """Not sent (5xx, 429/20429, connection refused): safe to try again later."""


class ForgetFailedError(SendError):
    """The provider still has the message's record: try again later."""


class PermanentSendError(SendError):
    """Twilio refused this message for good (21211 invalid number, 21610 unsubscribed, 21614 not mobile, ...)."""


class UnknownOutcomeError(SendError):
    """The request left but no answer came (read timeout, connection lost): it may have been sent."""


class LookupFailedError(SendError):
    """Reconciliation could not ask the provider (it is down): try again later."""


class SmsSender(Protocol):
    def send(self, sms: OutgoingSms) -> SendResult:
        """Raises TransientSendError, PermanentSendError or UnknownOutcomeError."""
        ...

    def find_sent(self, to: str, body: str, since: datetime) -> str | None:
        """The SID of a message with this body sent to `to` since `since`, if the provider has one.

        Raises LookupFailedError when the provider cannot be asked.
        """
        ...

    def forget(self, sid: str) -> None:
        """Delete the provider's record of a message (number and text): erasure reaches the processor.

        A record the provider no longer has counts as deleted. Raises ForgetFailedError otherwise
        (unreachable, or a message still in flight, which cannot be deleted yet).
        """
        ...


class MessageStore(Protocol):
    """Conditional writes throughout: a state change that lost a race returns False or None."""

    def add(self, message: Message, shard_count: int) -> bool: ...

    def get(self, message_id: str) -> Message | None: ...

    def due(self, now: datetime, shard_count: int, page_size: int = 100) -> list[Message]: ...

    def next_due_at(self, shard_count: int) -> datetime | None: ...

    def claim(self, message_id: str, now: datetime, lease: timedelta, token: str) -> Message | None: ...

    def mark_sent(self, message: Message, sid: str, status: str, now: datetime, reconciled: bool) -> bool: ...

    def reschedule(
        self,
        message: Message,
        due_at: datetime,
        now: datetime,
        reason: str,
        code: str | None,
        needs_reconcile: bool,
        shard_count: int,
    ) -> bool: ...

    def finish(self, message: Message, status: str, now: datetime, reason: str, code: str | None) -> bool:
        """Leave the due index with a final status (failed, suppressed, expired, unknown)."""
        ...

    def cancel_pending(self, message_id: str, now: datetime, reason: str) -> bool:
        """Cancel a message still waiting and certainly not at Twilio; False for one whose last send
        timed out (the sweep reconciles it, then cancels it if its appointment no longer stands)."""
        ...

    def for_case(self, case_id: str) -> list[Message]: ...

    def delete(self, message_id: str) -> None: ...

    def for_appointment(self, case_id: str, appointment_id: str) -> list[Message]: ...

    def recent_for_phone(self, phone_hash: str, limit: int = 20) -> list[Message]: ...

    def by_sid(self, sid: str) -> Message | None: ...

    def update_delivery(self, message_id: str, status: str, code: str | None, sid: str, now: datetime) -> bool: ...

    def record_reply(self, message_id: str, reply: str, at: datetime) -> None: ...

    def is_opted_out(self, phone_hash: str) -> bool: ...

    def set_opt_out(self, phone_hash: str, opted_out: bool, at: datetime, keyword: str) -> bool:
        """True when this changed the state (so the change is confirmed exactly once)."""
        ...

    def take_limit_slot(
        self, phone_hash: str, kind: str, now: datetime, limit: int, window: timedelta, holder: str
    ) -> bool:
        """The first of `limit` slots per number and kind that is free (`window` after its last use)
        or already held by `holder` (a message id): a retried send does not use up a second slot."""
        ...

    def first_webhook(self, key: str, now: datetime, keep: timedelta) -> bool:
        """True the first time `key` is seen within `keep` (Twilio retries webhooks)."""
        ...

    def webhook_reply(self, key: str) -> str | None: ...

    def save_webhook_reply(self, key: str, reply: str) -> None: ...

    def forget_webhook(self, key: str) -> None: ...


class FormParams(dict[str, str]):
    """A form body exactly as sent: every pair kept (blank and repeated), `getall` for the validator."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        self.pairs = list(pairs)
        for name, value in self.pairs:
            self.setdefault(name, value)

    def getall(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


@dataclass(frozen=True)
class WebhookRequest:
    url: str  # as Twilio requested it: public base URL + path + query
    params: FormParams
    signature: str | None
    signature_settings: str | None = None
    query: dict[str, str] | None = None


class WebhookSignatureError(Exception):
    """Unsigned or forged: the route answers 403 and nothing is processed."""


class SignatureVerifier(Protocol):
    def valid(self, url: str, params: FormParams, signature: str | None, settings_header: str | None) -> bool: ...


class CaseAttention(Protocol):
    """Told when an SMS needs staff (the applicant's `2` or CANCEL, or an SMS to them that finally
    failed); the staff workspace shows it until it is dealt with."""

    def flag(self, case_id: str, reason: str, appointment_id: str | None, at: datetime) -> None: ...


class BookingCheck(Protocol):
    """Asked by the sweep before an appointment's SMS goes out. A cancel, move or close that could
    not cancel the pending SMS it made stale (DynamoDB throttled after the change was written) must
    not send the applicant to an appointment that no longer stands."""

    def still_booked(self, case_id: str, appointment_id: str, start: datetime, place: str | None = None) -> bool:
        """The appointment is booked for `start` at `place` (None: not known) and its case is open."""
        ...

    def still_ahead(self, case_id: str, appointment_id: str, now: datetime) -> bool:
        """The appointment is booked, at whatever time and place, still after `now`, its case open."""
        ...

    def case_of_number(self, case_id: str, now: datetime) -> NumberCase | None:
        """A case of the number, as the applicant's SMS may concern it; None when erased or gone."""
        ...


@dataclass(frozen=True)
class NumberCase:
    """A case of the number an applicant's `1`, `2`, CANCEL or HELP comes from."""

    case_id: str
    language: str  # of its messages: the reply's language
    open: bool  # staff still handle it (not closed)
    next_appointment_id: str | None  # its earliest booked appointment still ahead (open cases)


class SmsConsentLog(Protocol):
    """Records an SMS opt-out (STOP) or opt-in (START) in the consent record of every case of
    the number (GDPR Art. 7(3)): the keyed phone hash finds them, never the number itself."""

    def record_sms_consent(self, hashed: str, withdrawn: bool, at: datetime, keyword: str) -> int: ...

    def cases_of_phone(self, hashed: str) -> list[str]:
        """The ids of the number's cases."""
        ...
