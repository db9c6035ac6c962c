"""SMS to applicants: planning (with consent, opt-out, abuse limits, quiet hours), the due sweep
(sms_dispatch.py), the staff view of a case's messages, and Twilio's inbound and status webhooks
(sms_webhooks.py).

Planning only writes `pending` records (one conditional put each, ids derived from the
intent so planning twice writes once); the `send_due_messages` sweep sends them.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import phonenumbers

from chalicelib.domain.appointments import SMS_NOT_POSSIBLE
from chalicelib.domain.cases import CLOSED, Case, iso, sms_recipient
from chalicelib.domain.intake import DEFAULT_ALLOWED_COUNTRIES
from chalicelib.domain.messages import (
    APPOINTMENT_BOOKED,
    APPOINTMENT_CANCELLED,
    APPOINTMENT_CHANGED,
    CANCELLED_BY_CLOSE,
    CASE_TRANSFERRED,
    INTAKE_RECEIVED,
    MAYBE_SENT,
    PENDING,
    REMINDER,
    SUPPRESSED,
    Message,
    Values,
    forget_request,
    language_or_default,
    message_id,
    phone_hash,
    render,
)
from chalicelib.domain.partners import Partner
from chalicelib.domain.quiet_hours import reminder_due
from chalicelib.ports import Clock
from chalicelib.services.confirmations import IntakeConfirmations
from chalicelib.services.messaging_ports import (
    BookingCheck,
    CaseAttention,
    MessageStore,
    SignatureVerifier,
    SmsConsentLog,
    SmsSender,
)
from chalicelib.services.sms_dispatch import (
    DeliveryPolicy,
    Dispatcher,
    Limiter,
    SweepReport,
)
from chalicelib.services.sms_webhooks import SmsWebhooks

log = logging.getLogger(__name__)


class Appointment(Protocol):
    """What planning needs from an appointment (the appointments feature owns the real type)."""

    appointment_id: str
    start: Any  # aware datetime, or ISO 8601 text with offset
    location: str | None
    online_url: str | None


@dataclass(frozen=True)
class MessagingPolicy:
    delivery: DeliveryPolicy
    phone_hash_key: str
    allowed_countries: frozenset[str] = DEFAULT_ALLOWED_COUNTRIES
    # A reminder due within this time after the booking message would only repeat it.
    reminder_gap: timedelta = timedelta(hours=1)
    default_language: str = "de"


# Why an appointment's first SMS is not sent: SMS quiet hours last until after it has begun.
QUIET_UNTIL_START = "quiet_hours_until_start"
COUNTRY_NOT_ALLOWED = "country_not_allowed"
# The SMS whose loss staff must make up for (reminders repeat what the booking said).
TELLS_OF_NEWS = (INTAKE_RECEIVED, APPOINTMENT_BOOKED, APPOINTMENT_CHANGED, CASE_TRANSFERRED)


@dataclass
class MessagingService(SmsWebhooks):
    store: MessageStore
    sender: SmsSender
    clock: Clock
    policy: MessagingPolicy
    verifier: SignatureVerifier | None = None
    limiter: Limiter | None = None
    attention: CaseAttention | None = None
    consent: SmsConsentLog | None = None
    confirmations: IntakeConfirmations | None = None  # the intake outbox (intake_received)
    bookings: BookingCheck | None = None  # asked before an appointment's SMS is sent
    # START again: (the number's case ids, the inbound SMS's id, now) → the SMS its upcoming
    # appointments still need planned (appointment_upkeep.resume_after_opt_in).
    on_opt_in: Callable[[list[str], str, datetime], object] | None = None
    dispatcher: Dispatcher = field(init=False)

    def __post_init__(self) -> None:
        self.dispatcher = Dispatcher(
            self.store,
            self.sender,
            self.clock,
            self.policy.delivery,
            self.limiter,
            bookings=self.bookings,
            attention=self.attention,
        )

    def _now(self) -> datetime:
        return self.clock.now().astimezone(UTC)  # UTC arithmetic: a Berlin wall clock would skew at DST

    # --- planning ----------------------------------------------------------------------

    def intake_received(self, case: Case, partner: Partner, now: datetime | None = None) -> list[Message]:
        """On intake: the reference and who will contact the applicant.

        Due since the intake, not since the sweep planned it: an appointment booked in between has its
        SMS due earlier than this sweep, and the applicant should hear "received" before "booked"."""
        now = (now or self._now()).astimezone(UTC)
        values = Values(reference=case.reference, partner=partner.short_name)
        due = min(now, datetime.fromisoformat(case.created_at).astimezone(UTC)) if case.created_at else now
        planned = self._plan(case, INTAKE_RECEIVED, (case.case_id, INTAKE_RECEIVED), values, due, now, partner.id)
        return [planned] if planned else []

    def case_transferred(self, case: Case, new_partner: Partner, now: datetime | None = None) -> list[Message]:
        """Name the new partner; an unsent intake or transfer notice naming the old one is dropped, and
        so is any unsent SMS of an appointment with the old partner (one read of the case's messages)."""
        now = (now or self._now()).astimezone(UTC)
        # Keyed by the move (the case's last step), not by the clock: planning for the same transfer
        # again (the retry of a transfer whose answer was lost) finds this SMS, it does not add one.
        moved_at = case.history[-1].at if case.history else iso(now)
        key = (case.case_id, CASE_TRANSFERRED, new_partner.id, moved_at)
        planned_id = message_id(*key)
        for message in self.store.for_case(case.case_id):
            if message.status != PENDING or message.message_id == planned_id:
                continue
            if message.kind in (INTAKE_RECEIVED, CASE_TRANSFERRED):
                self.store.cancel_pending(message.message_id, now, "superseded by a transfer")
            elif message.appointment_id and message.kind != APPOINTMENT_CANCELLED:
                # A cancellation still goes out: the applicant must not keep expecting the old partner.
                self.store.cancel_pending(message.message_id, now, "case transferred")
        values = Values(reference=case.reference, partner=new_partner.short_name)
        planned = self._plan(case, CASE_TRANSFERRED, key, values, now, now, new_partner.id)
        return [planned] if planned else []

    def plan_appointment_messages(
        self, case: Case, appointment: Appointment, partner: Partner, now: datetime | None = None
    ) -> list[Message]:
        """A booked appointment: the booking message now, reminders at the partner's offsets."""
        now = (now or self._now()).astimezone(UTC)
        schedule = self._schedule(appointment, partner, now, APPOINTMENT_BOOKED)
        return self._appointment(case, appointment, partner, now, schedule)

    def replan_appointment_messages(
        self, case: Case, appointment: Appointment, partner: Partner, now: datetime | None = None
    ) -> list[Message]:
        """A rescheduled appointment: pending messages for it (an unsent booking message too) are
        cancelled, then `appointment_changed` and new reminders are planned for the new time and place,
        whether or not the booking message went out (the status page may have shown the old time)."""
        now = (now or self._now()).astimezone(UTC)
        # Each change gets its own records: moving back to an earlier time (or changing only the
        # place) must not find that time's cancelled reminders and take them for already planned.
        revision = getattr(appointment, "version", None)
        change = f"v{revision}" if revision is not None else iso(now)
        schedule = self._schedule(appointment, partner, now, APPOINTMENT_CHANGED, change)
        # Not this change's own messages: planning it again (a repeated reschedule) must find them pending.
        own = {message_id(*key) for _, key, _ in schedule}
        unsent = self.store.for_appointment(case.case_id, appointment.appointment_id)
        self._cancel_pending([m for m in unsent if m.message_id not in own], now, "rescheduled")
        return self._appointment(case, appointment, partner, now, schedule)

    def cancel_appointment_messages(
        self, case: Case, appointment: Appointment, partner: Partner, now: datetime | None = None
    ) -> list[Message]:
        """A cancelled appointment: its unsent messages (booking message, reminders) are cancelled, and
        while its time is still ahead the applicant is told by `appointment_cancelled`, whether or not
        the booking message went out (the status page may have shown it). Only with SMS consent; to an
        opted-out number it is recorded as suppressed, never sent."""
        now = (now or self._now()).astimezone(UTC)
        # Not the cancellation SMS itself: planning it again (a repeated cancel) must find it pending.
        unsent = self.store.for_appointment(case.case_id, appointment.appointment_id)
        self._cancel_pending([m for m in unsent if m.kind != APPOINTMENT_CANCELLED], now, "appointment cancelled")
        return self.tell_cancelled(case, appointment, partner, now)

    def tell_cancelled(self, case: Case, appointment: Appointment, partner: Partner, now: datetime) -> list[Message]:
        """`appointment_cancelled` for an appointment whose time is still ahead (idempotent)."""
        start = _aware(appointment.start)
        if start <= now:
            return []
        values = Values(reference=case.reference, partner=partner.short_name, at=start)
        key = (appointment.appointment_id, APPOINTMENT_CANCELLED)
        due = self.policy.delivery.quiet.next_allowed(now)
        # Called off by closing the case: the usual "we will contact you" would promise what no one will do.
        template = CANCELLED_BY_CLOSE if case.status == CLOSED else APPOINTMENT_CANCELLED
        planned = self._plan(
            case, APPOINTMENT_CANCELLED, key, values, due, now, partner.id, appointment, start, template=template
        )
        return [planned] if planned else []

    def cancel_pending_for_appointment(self, case_id: str, appointment_id: str, now: datetime, reason: str) -> int:
        return self._cancel_pending(self.store.for_appointment(case_id, appointment_id), now, reason)

    def cancel_pending_for_case(self, case_id: str, now: datetime, reason: str) -> int:
        """The unsent SMS of a closed case (one read of its messages): neither an appointment's SMS nor
        a notice that the case was received or moved ("… will contact you") is news any more. An
        appointment's cancellation stays: staff who want the applicant told cancel before closing."""
        messages = self.store.for_case(case_id)
        return self._cancel_pending([m for m in messages if m.kind != APPOINTMENT_CANCELLED], now, reason)

    def _cancel_pending(self, messages: list[Message], now: datetime, reason: str) -> int:
        cancelled = 0
        for message in messages:
            if message.status == PENDING and self.store.cancel_pending(message.message_id, now, reason):
                cancelled += 1
        return cancelled

    def _appointment(
        self,
        case: Case,
        appointment: Appointment,
        partner: Partner,
        now: datetime,
        schedule: list[tuple[str, tuple[str, ...], datetime]],
    ) -> list[Message]:
        """The messages of `schedule` (from `_schedule`), each naming the appointment's time and place."""
        start = _aware(appointment.start)
        place = appointment.online_url or appointment.location or partner.address
        values = Values(reference=case.reference, partner=partner.short_name, place=place, at=start)
        opted_out = functools.cache(self.store.is_opted_out)  # one number: one lookup for its messages
        planned: list[Message] = []
        for message_kind, key, due in schedule:
            message = self._plan(case, message_kind, key, values, due, now, partner.id, appointment, start, opted_out)
            if message is not None:
                planned.append(message)
        return planned

    def _schedule(
        self, appointment: Appointment, partner: Partner, now: datetime, kind: str, change: str = ""
    ) -> list[tuple[str, tuple[str, ...], datetime]]:
        """The first message (booking or change) now and the reminders, as (kind, key, due); `change`
        tells one change's records from another's (empty for the booking: planning it twice writes once)."""
        start = _aware(appointment.start)
        if start <= now:
            return []
        quiet = self.policy.delivery.quiet
        first_due = quiet.next_allowed(now)
        revision = (change,) if change else ()
        schedule = [(kind, (appointment.appointment_id, kind, iso(start), *revision), first_due)]
        seen: set[datetime] = set()
        for minutes in sorted(set(partner.reminder_offsets_minutes), reverse=True):
            due = reminder_due(start, timedelta(minutes=minutes), quiet)
            if due <= first_due + self.policy.reminder_gap or due >= start or due in seen:
                continue  # past, right after the booking message, or a duplicate after the quiet-hours move
            seen.add(due)
            key = (appointment.appointment_id, REMINDER, str(minutes), iso(start), *revision)
            schedule.append((REMINDER, key, due))
        return schedule

    def _plan(
        self,
        case: Case,
        kind: str,
        key: tuple[str, ...],
        values: Values,
        due: datetime,
        now: datetime,
        partner_id: str | None,
        appointment: Appointment | None = None,
        send_before: datetime | None = None,
        opted_out: Callable[[str], bool] | None = None,
        template: str | None = None,
    ) -> Message | None:
        """`template`: the text's key in data/messages when it is not the kind's own."""
        to = sms_recipient(case)
        if to is None:
            return None  # no consent (or withdrawn, or no number): nothing is written
        language = language_or_default(case.language)
        rendered = render(template or kind, language, values)
        hashed = phone_hash(to, self.policy.phone_hash_key)
        message = Message(
            message_id=message_id(*key),
            case_id=case.case_id,
            kind=kind,
            language=language,
            to=to,
            phone_hash=hashed,
            body=rendered.body,
            segments=rendered.segments,
            encoding=rendered.encoding,
            status=PENDING,
            created_at=now,
            due_at=self.policy.delivery.quiet.next_allowed(due),
            partner_id=partner_id,
            appointment_id=appointment.appointment_id if appointment else None,
            send_before=send_before,
            place=(values.place or None) if appointment else None,  # a cancellation names no place
        )
        reason = self._refusal(message, opted_out or self.store.is_opted_out)
        if reason is not None:
            message.status, message.reason, message.due_at = SUPPRESSED, reason, None
        # The put is conditional: planning the same message again finds the one first planned and
        # shows its verdict, not a new one. A first planning (nearly every one) costs this write only.
        if not self.store.add(message, self.policy.delivery.shard_count):
            return self.store.get(message.message_id)
        if reason is not None:
            log.info("sms.suppressed", extra={"case_id": case.case_id, "kind": kind, "reason": reason})
            if reason.startswith(COUNTRY_NOT_ALLOWED) and kind in TELLS_OF_NEWS and self.attention is not None:
                # Asked for and never coming: whoever works on the case has to call or write instead.
                self.attention.flag(case.case_id, SMS_NOT_POSSIBLE, None, now)
        return message

    def _refusal(self, message: Message, opted_out: Callable[[str], bool]) -> str | None:
        """Why this message must never be sent, as far as planning can tell, or None.

        The sweep checks opt-out again before every send and applies the per-number limit on
        intake_received there, so an intake writes its message and nothing else.
        """
        region = phonenumbers.region_code_for_number(phonenumbers.parse(message.to))
        if region not in self.policy.allowed_countries:
            return f"{COUNTRY_NOT_ALLOWED}: {region or 'unknown'}"
        if message.kind != INTAKE_RECEIVED and opted_out(message.phone_hash):
            return "opted_out"
        if message.send_before is not None and message.due_at is not None and message.due_at >= message.send_before:
            # Booked late in the evening for early next morning: said now, staff can still call.
            return QUIET_UNTIL_START
        return None

    # --- delivery and the staff view ---------------------------------------------------

    def send_due(self, budget_seconds: float | None = None) -> SweepReport:
        """Plan the confirmations new intakes asked for, then send everything due (them included)."""
        started = time.monotonic()
        confirmed = None
        if self.confirmations is not None:
            # At most half the run, so a backlog of new intakes never starves due reminders.
            half = None if budget_seconds is None else budget_seconds / 2
            confirmed = self.confirmations.plan_due(self.intake_received, half)
        remaining = None if budget_seconds is None else max(0.0, budget_seconds - (time.monotonic() - started))
        report = self.dispatcher.sweep(remaining)
        if confirmed is not None:
            report.confirmations_planned, report.confirmations_failed = confirmed.planned, confirmed.failed
        return report

    def messages_for_case(self, case_id: str) -> list[dict[str, Any]]:
        """Every SMS of a case, in and out, in the order they went, go or came: sent ones by when they
        were sent, waiting ones by when they are due (a confirmation planned after a booking was
        still sent first), the rest by when they were made. Status, failures and replies for staff."""
        found = sorted(
            self.store.for_case(case_id), key=lambda m: (m.sent_at or m.due_at or m.created_at, m.created_at)
        )
        return [m.as_dict() for m in found]

    # --- applicants' rights (the privacy feature's PersonalDataHolder) ---------------------

    def export_for_case(self, case_id: str) -> list[dict[str, Any]]:
        """Art. 15: every SMS of the case, with the number it went to (it is the applicant's own)."""
        messages = sorted(self.store.for_case(case_id), key=lambda m: (m.created_at, m.due_at or m.created_at))
        return [{**m.as_dict(), "phone": m.to} for m in messages]

    def erase_for_case(self, case_id: str) -> int:
        """Art. 17: delete every SMS record of the case; pending ones are thereby never sent.

        A sweep holding a claim finds the record gone and its conditional writes fail; opt-outs
        stay (a keyed hash, no number), so an erased applicant who said STOP is never texted again.
        What Twilio has of them (its message log: number and text) is deleted by the next sweeps,
        from a request per SID written first (see domain.messages.FORGET).
        """
        erased = 0
        now = self.clock.now()
        for message in self.store.for_case(case_id):
            sid = message.twilio_sid or message.provider_sid
            if sid:
                self.store.add(forget_request(sid, now), self.policy.delivery.shard_count)
            self.store.delete(message.message_id)
            erased += 1
        return erased

    def resume_after_opt_in(
        self, case: Case, appointment: Appointment, partner: Partner, now: datetime, tag: str
    ) -> list[Message]:
        """START again: an upcoming appointment whose current time and place the applicant was not sent
        (booked or moved while the number had said STOP) gets its booking or change SMS and reminders
        now, as a move would. One they were told of keeps the reminders still pending: nothing new."""
        start = _aware(appointment.start)
        place = appointment.online_url or appointment.location or partner.address
        known = self.store.for_appointment(case.case_id, appointment.appointment_id)
        told = [m for m in known if m.kind in (APPOINTMENT_BOOKED, APPOINTMENT_CHANGED) and m.status in MAYBE_SENT]
        if any(m.send_before is not None and _aware(m.send_before) == start and m.place in (None, place) for m in told):
            return []
        kind = APPOINTMENT_CHANGED if told else APPOINTMENT_BOOKED
        schedule = self._schedule(appointment, partner, now, kind, f"start-{tag}")
        own = {message_id(*key) for _, key, _ in schedule}
        stale = [m for m in known if m.message_id not in own and m.kind != APPOINTMENT_CANCELLED]
        self._cancel_pending(stale, now, "rescheduled")  # reminders of a time they never heard of
        return self._appointment(case, appointment, partner, now, schedule)


def _aware(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("appointment start must carry a time zone offset")
    return moment
