"""Twilio's webhooks: an applicant's SMS (STOP/START/HELP, answers 1 and 2, CANCEL) and delivery
status callbacks. Mixed into MessagingService, which holds the store, the policy and the ports."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from chalicelib.domain import opt_out
from chalicelib.domain.appointments import CANCEL_OPT_OUT, CANNOT_COME
from chalicelib.domain.messages import (
    FAILED,
    INBOUND,
    MAYBE_SENT,
    OUTBOUND,
    PENDING,
    RECEIVED,
    REMINDER,
    TWILIO_STATUS,
    UNDELIVERED,
    Message,
    Values,
    message_id,
    phone_hash,
    render,
)
from chalicelib.errors import FieldError, RetryableError, ValidationError
from chalicelib.services.messaging_ports import (
    BookingCheck,
    CaseAttention,
    MessageStore,
    NumberCase,
    SignatureVerifier,
    SmsConsentLog,
    WebhookRequest,
    WebhookSignatureError,
)
from chalicelib.services.sms_dispatch import (
    FOR_A_BOOKING,
    REPORTED_BY_TWILIO,
    UNSUBSCRIBED_AT_TWILIO,
    flag_not_delivered,
    log_sms_failed,
)

if TYPE_CHECKING:
    from chalicelib.services.messaging import MessagingPolicy

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
WEBHOOK_MEMORY = timedelta(days=7)  # Twilio retries for far less; kept a week to be safe
# What a `1` or `2` can answer: an SMS that may have reached the phone, and one the carrier reported
# undelivered (such reports are sometimes wrong, and the reply itself shows it arrived).
REPLIED_TO = (*MAYBE_SENT, UNDELIVERED)
# As schemas/sms-*.schema.json and the `m` parameter in the OpenAPI document say. Only Twilio can
# sign a request, but a SID of kilobytes would still exceed DynamoDB's key size (it was a 500).
SID = re.compile(r"[!-~]{1,64}")  # visible ASCII: Twilio's are SM + 32 hex digits
OUR_MESSAGE_ID = re.compile(r"[0-9a-f]{32}")
# Why a reminder still planned was not sent: asking "1 or 2?" again after a `2` reads as if nobody
# listened, and staff are calling about a new appointment anyway (the flag).
REPLIED_CANNOT_COME = "the applicant replied 2: cannot come"


@dataclass(frozen=True)
class Answered:
    """What an applicant's SMS concerns: the case it is kept on, the appointment, the reply's language,
    our SMS it answers (its reply is noted there), and whether staff still handle the case."""

    case_id: str | None
    appointment_id: str | None
    language: str
    message: Message | None
    handled: bool


class SmsWebhooks:
    """The webhook half of MessagingService (a plain base class: the dataclass's fields are its own)."""

    store: MessageStore
    policy: MessagingPolicy
    verifier: SignatureVerifier | None
    attention: CaseAttention | None
    consent: SmsConsentLog | None
    bookings: BookingCheck | None
    on_opt_in: Callable[[list[str], str, datetime], object] | None

    def _now(self) -> datetime:
        raise NotImplementedError  # MessagingService's clock, in UTC

    def _verify(self, request: WebhookRequest) -> None:
        verifier = self.verifier
        if verifier is None or not verifier.valid(
            request.url, request.params, request.signature, request.signature_settings
        ):
            raise WebhookSignatureError("invalid or missing X-Twilio-Signature")

    def handle_inbound(self, request: WebhookRequest) -> str:
        """An SMS from an applicant → TwiML (possibly empty). Twilio's retries get the first answer."""
        self._verify(request)
        sid = _sid(request)
        sender = request.params.get("From", "")
        if not sid or not sender:
            return EMPTY_TWIML
        now = self._now()
        key = f"inbound#{sid}"
        if not self.store.first_webhook(key, now, WEBHOOK_MEMORY):
            return self.store.webhook_reply(key) or EMPTY_TWIML
        try:
            answer = self._inbound(sid, sender, request.params.get("Body", ""), now)
        except Exception:
            self.store.forget_webhook(key)  # let Twilio's retry try again
            raise
        twiml = _twiml(answer)
        self.store.save_webhook_reply(key, twiml)
        return twiml

    def _inbound(self, sid: str, sender: str, body: str, now: datetime) -> str | None:
        hashed = phone_hash(sender, self.policy.phone_hash_key)
        ours = [m for m in self.store.recent_for_phone(hashed) if m.direction == OUTBOUND]
        newest = ours[0] if ours else None
        opted_out = self.store.is_opted_out(hashed)
        intent = opt_out.classify(body, opted_out)
        if intent.is_cancel or intent.kind in (opt_out.COMING, opt_out.NOT_COMING):
            about = self._what_it_answers(hashed, ours, now)
        else:  # kept on the case of the newest SMS, about what it was about
            about = Answered(
                newest.case_id if newest else None,
                newest.appointment_id if newest else None,
                newest.language if newest else self._language_of_number(hashed, now),
                newest,
                handled=newest is not None,
            )
        reply_key: str | None = None
        attention: str | None = None
        answer: str | None = None
        if intent.kind == opt_out.OPT_OUT:
            # The consent record first: if it fails, Twilio's retry finds the opt-out not yet done.
            self._record_consent(hashed, True, now, intent.keyword or "STOP")
            changed = self.store.set_opt_out(hashed, True, now, intent.keyword or "STOP")
            # CANCEL may mean the appointment or the whole request: staff of an open case hear of it.
            attention = CANCEL_OPT_OUT if intent.is_cancel and about.handled else None
            if changed:  # confirmed once; a repeated STOP gets silence
                # "We will call about your appointment" only when there is one and staff were told.
                calls = intent.is_cancel and about.appointment_id is not None
                reply_key = "reply_opted_out_cancel" if calls else "reply_opted_out"
        elif intent.kind == opt_out.OPT_IN:
            self._record_consent(hashed, False, now, intent.keyword or "START")
            self.store.set_opt_out(hashed, False, now, intent.keyword or "START")
            opted_out, reply_key = False, "reply_opted_in"
            self._resume(hashed, sid, now)
        elif intent.kind == opt_out.HELP:
            reply_key = "reply_help"
        elif intent.kind in (opt_out.COMING, opt_out.NOT_COMING):
            answer = "1" if intent.kind == opt_out.COMING else "2"
            if about.appointment_id is None:
                reply_key = "reply_no_appointment" if about.handled else "reply_no_case"
            else:
                if about.message is not None:
                    self.store.record_reply(about.message.message_id, answer, now)
                attention = CANNOT_COME if answer == "2" else None
                reply_key = "reply_coming" if answer == "1" else "reply_not_coming"
        else:
            reply_key = "reply_unknown"
        self._keep_inbound(sid, sender, hashed, body, about, answer, attention, now)
        if attention == CANNOT_COME and about.case_id and about.appointment_id:
            self._hold_reminders(about.case_id, about.appointment_id, now)
        if opted_out and intent.kind != opt_out.OPT_OUT:
            return None  # nothing, ever, to a number that opted out
        return render(reply_key, about.language, Values()).body if reply_key else None

    def _hold_reminders(self, case_id: str, appointment_id: str, now: datetime) -> None:
        for message in self.store.for_appointment(case_id, appointment_id):
            if message.kind == REMINDER and message.status == PENDING:
                self.store.cancel_pending(message.message_id, now, REPLIED_CANNOT_COME)

    def _what_it_answers(self, hashed: str, ours: list[Message], now: datetime) -> Answered:
        """What a 1, 2 or CANCEL is about. The appointment the SMS we sent name first (the one the
        applicant read last); else a case of the number staff still handle, with its next appointment
        (booked by phone, its SMS not gone out yet) or none; else nothing anyone still handles."""
        upcoming = self._about_an_upcoming_appointment(ours, now)
        if upcoming is not None:
            return Answered(upcoming.case_id, upcoming.appointment_id, upcoming.language, upcoming, handled=True)
        found, seen = self._open_case(hashed, ours, now)
        if found is not None:
            return Answered(found.case_id, found.next_appointment_id, found.language, None, handled=True)
        newest = ours[0] if ours else None
        language = newest.language if newest else seen.language if seen else self.policy.default_language
        return Answered(newest.case_id if newest else None, None, language, None, handled=False)

    def _cases_of_number(self, hashed: str, ours: list[Message], now: datetime) -> Iterator[NumberCase]:
        """The number's cases not erased: those we texted, newest first, then the others (read lazily)."""
        if self.bookings is None:
            return
        case_ids = list(dict.fromkeys(m.case_id for m in ours))
        if self.consent is not None:
            case_ids += [c for c in self.consent.cases_of_phone(hashed) if c not in case_ids]
        for case_id in case_ids:
            found = self.bookings.case_of_number(case_id, now)
            if found is not None:
                yield found

    def _open_case(
        self, hashed: str, ours: list[Message], now: datetime
    ) -> tuple[NumberCase | None, NumberCase | None]:
        """The number's case staff still handle: one with an appointment ahead first, else the one we
        last texted about, else any (a new intake whose confirmation is not planned yet). Also the
        first case read, open or not, whose language a reply may use (so it is not read twice)."""
        first: NumberCase | None = None
        seen: NumberCase | None = None
        for found in self._cases_of_number(hashed, ours, now):
            seen = seen or found
            if found.open and found.next_appointment_id is not None:
                return found, seen
            if found.open and first is None:
                first = found
        return first, seen

    def _language_of_number(self, hashed: str, now: datetime) -> str:
        """No SMS of ours to this number yet (a new intake, or no SMS consent): its case's language."""
        found = next(self._cases_of_number(hashed, [], now), None)
        return found.language if found else self.policy.default_language

    def _about_an_upcoming_appointment(self, ours: list[Message], now: datetime) -> Message | None:
        """The newest SMS we sent about an appointment that is still ahead and still stands: a reminder,
        or the booking or change message when no reminder has gone out yet. Not one about an earlier,
        finished or cancelled appointment: a `2` must reach the appointment it can still change."""
        candidates = [
            m
            for m in ours
            if m.kind in FOR_A_BOOKING and m.status in REPLIED_TO and m.appointment_id is not None
            and m.send_before is not None and m.send_before > now
        ]  # fmt: skip
        # The one the applicant read last (booking and reminders are planned at once, sent apart);
        # sent in one sweep, the reminder is the one that asks for 1 or 2.
        candidates.sort(key=lambda m: (m.sent_at or m.last_attempt_at or m.created_at, m.kind == REMINDER))
        candidates.reverse()
        for message in candidates:
            if self.bookings is None or self.bookings.still_booked(
                message.case_id, message.appointment_id, message.send_before, message.place
            ):
                return message
        # Moved since the applicant last heard of it (its change SMS not sent: STOP then, or not yet):
        # their `1` or `2` is still about that appointment, which staff must learn of.
        earlier = [
            m
            for m in ours
            if m.kind in FOR_A_BOOKING and m.status in REPLIED_TO and m.appointment_id is not None
        ]  # fmt: skip
        earlier.sort(key=lambda m: m.sent_at or m.last_attempt_at or m.created_at, reverse=True)
        asked: set[str] = set()
        for message in earlier:
            if self.bookings is None or message.appointment_id in asked:
                continue
            asked.add(message.appointment_id)
            if self.bookings.still_ahead(message.case_id, message.appointment_id, now):
                return message
        return None

    def _resume(self, hashed: str, sid: str, now: datetime) -> None:
        """After START, what the number's upcoming appointments still need. Storage busy fails the
        webhook, so Twilio's retry (the same MessageSid: planning is keyed by it) does it again."""
        if self.on_opt_in is None or self.consent is None:
            return
        try:
            self.on_opt_in(self.consent.cases_of_phone(hashed), sid, now)
        except RetryableError:
            raise
        except Exception:
            log.exception("SMS of upcoming appointments not planned again after START")

    def _record_consent(self, hashed: str, withdrawn: bool, now: datetime, keyword: str) -> None:
        if self.consent is not None:
            self.consent.record_sms_consent(hashed, withdrawn, now, keyword)

    def _keep_inbound(
        self,
        sid: str,
        sender: str,
        hashed: str,
        body: str,
        about: Answered,
        answer: str | None,
        attention: str | None,
        now: datetime,
    ) -> None:
        if about.case_id is None:
            return  # a number we never texted and without a case: nothing to keep it on
        record = Message(
            message_id=message_id("inbound", sid),
            case_id=about.case_id,
            kind="inbound",
            language=about.language,
            to=sender,
            phone_hash=hashed,
            body=body,
            segments=0,
            encoding="",
            status=RECEIVED,
            created_at=now,
            appointment_id=about.appointment_id,
            direction=INBOUND,
            reply=answer,
            attention=attention,
            twilio_sid=None,  # the SID index finds our own messages for status callbacks; not this one
            provider_sid=sid,  # ...but erasure deletes Twilio's record of it too
        )
        self.store.add(record, self.policy.delivery.shard_count)
        if attention and self.attention is not None:
            try:
                self.attention.flag(about.case_id, attention, about.appointment_id, now)
            except Exception:
                log.exception("sms.attention_failed", extra={"case_id": about.case_id})

    def handle_status(self, request: WebhookRequest) -> None:
        """Twilio's status callback: forward-only status and error code on the message."""
        self._verify(request)
        sid = _sid(request)
        status = TWILIO_STATUS.get((request.params.get("MessageStatus") or "").lower())
        if not sid or status is None:
            return
        code = request.params.get("ErrorCode") or None
        target = (request.query or {}).get("m")
        if target is not None and not OUR_MESSAGE_ID.fullmatch(target):
            raise ValidationError([FieldError("m", "invalid_message_id", "m must be one of our message ids.")])
        found: Message | None = None
        if not target:
            found = self.store.by_sid(sid)
            target = found.message_id if found else None
        if not target or not self.store.update_delivery(target, status, code, sid, self._now()):
            return  # unknown, or not a step forward: a repeated or late callback changes and logs nothing
        if status in (FAILED, UNDELIVERED):
            # Only the callback whose conditional write moved the message to failed/undelivered gets here.
            message = found or self.store.get(target)
            log_sms_failed(
                target,
                message.case_id if message else None,
                message.kind if message else None,
                status,
                REPORTED_BY_TWILIO,
                code,
                message.attempts if message else None,
            )
            if message is not None:
                if code == UNSUBSCRIBED_AT_TWILIO:  # as when Twilio refuses the send: honour it too
                    self.store.set_opt_out(message.phone_hash, True, self._now(), "TWILIO_21610")
                flag_not_delivered(self.attention, message, code, self._now())


def _sid(request: WebhookRequest) -> str:
    for name in ("MessageSid", "SmsSid"):
        sid = request.params.get(name)
        if sid:
            if not SID.fullmatch(sid):
                raise ValidationError(
                    [
                        FieldError(
                            name, "invalid_sid", f"{name} must be 1-64 visible ASCII characters, as Twilio's SIDs are."
                        )
                    ]
                )
            return sid
    return ""


def _twiml(text: str | None) -> str:
    if not text:
        return EMPTY_TWIML
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(text)}</Message></Response>'
