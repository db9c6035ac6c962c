"""The sweep behind `send_due_messages`: claim each due message, send it once, record the outcome.

Twilio has no idempotency key, so the order is: the intent is already stored (pending);
a conditional claim (pending → sending, with a lease) makes this run its only sender;
only then the API call. When the call's outcome is unknown the message is not resent
blindly: the next attempt first asks Twilio whether it has it (reconciliation), and if
Twilio cannot be asked, the message ends as `unknown` for staff to check.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from chalicelib import logs
from chalicelib.domain.appointments import SMS_NOT_DELIVERED
from chalicelib.domain.messages import (
    APPOINTMENT_BOOKED,
    APPOINTMENT_CHANGED,
    CANCELLED,
    DELIVERED,
    EXPIRED,
    FAILED,
    FORGET,
    INTAKE_RECEIVED,
    PENDING,
    QUEUED,
    REMINDER,
    SENT,
    SUPPRESSED,
    UNKNOWN,
    Message,
)
from chalicelib.domain.quiet_hours import QuietHours
from chalicelib.ports import Clock
from chalicelib.services.messaging_ports import (
    BookingCheck,
    CaseAttention,
    ForgetFailedError,
    LookupFailedError,
    MessageStore,
    OutgoingSms,
    PermanentSendError,
    SmsSender,
    TransientSendError,
    UnknownOutcomeError,
)

log = logging.getLogger(__name__)
UNSUBSCRIBED_AT_TWILIO = "21610"

# The CloudWatch metric filter SmsFailedMetricFilter (infrastructure/monitoring.py) counts lines with this event.
SMS_FAILED_EVENT = "sms.failed"
FORGET_FAILED_EVENT = "sms.forget_failed"
REJECTED = "rejected"  # Twilio refused the message for good (21211 invalid number, 21610 unsubscribed, ...)
RETRIES_EXHAUSTED = "retries_exhausted"  # every attempt the policy allows failed
REPORTED_BY_TWILIO = "reported_by_twilio"  # a status callback said failed or undelivered
# The SMS that send the applicant to a booked appointment (appointment_cancelled is about one called off).
FOR_A_BOOKING = (APPOINTMENT_BOOKED, APPOINTMENT_CHANGED, REMINDER)
NO_LONGER_BOOKED = "the appointment was cancelled or moved, or the case closed"
SUPERSEDED = "held up until a later SMS about the appointment was due"
# Twilio error codes (5 digits) and HTTP statuses; anything else is not logged as it came.
_ERROR_CODE = re.compile(r"[A-Za-z0-9_-]{1,6}")


def flag_not_delivered(attention: CaseAttention | None, message: Message, code: str | None, now: datetime) -> None:
    """The case shows staff an SMS that finally failed ("please check"): the number may be wrong and
    the applicant may not know of their appointment. Not for a number unsubscribed at Twilio: the
    case shows the opt-out. Best effort: the message itself already says it failed, and the staff
    case view lists it either way."""
    if attention is None or code == UNSUBSCRIBED_AT_TWILIO:
        return
    try:
        attention.flag(message.case_id, SMS_NOT_DELIVERED, message.appointment_id, now)
    except Exception:
        log.exception("sms.attention_failed", extra={"case_id": message.case_id})


def log_sms_failed(
    message_id: str,
    case_id: str | None,
    kind: str | None,
    status: str,
    reason: str,
    code: str | None,
    attempts: int | None,
) -> None:
    """One structured line per message that finally failed, for the SmsFailed alarm.

    Ids, the kind, a fixed reason and the error code only: never the number, name or text, nor
    the provider's error message (Twilio's text for 21211 quotes the number it refused).
    """
    error_code = None if not code else code if _ERROR_CODE.fullmatch(code) else "other"
    logs.emit(
        {
            "event": SMS_FAILED_EVENT,
            "message_id": message_id,
            "case_id": case_id,
            "kind": kind,
            "status": status,
            "reason": reason,
            "error_code": error_code,
            "attempts": attempts,
        }
    )


@dataclass(frozen=True)
class DeliveryPolicy:
    quiet: QuietHours
    shard_count: int = 1
    max_attempts: int = 5
    backoff_base: timedelta = timedelta(minutes=1)
    backoff_cap: timedelta = timedelta(minutes=30)
    reconcile_delay: timedelta = timedelta(minutes=2)  # let an in-flight request land before asking Twilio
    lease: timedelta = timedelta(minutes=2)  # longer than the Twilio timeout plus the rate limiter's wait
    status_callback_base: str = ""
    # Abuse limit on intake_received, checked when sending (the intake itself stays one write).
    intake_limit: int = 3
    intake_window: timedelta = timedelta(hours=24)
    # A reminder held up this long (a sweeper outage) may find a later SMS about its appointment due
    # too; one sent within `repeat_window` before it would say the same thing again.
    late_after: timedelta = timedelta(minutes=15)
    repeat_window: timedelta = timedelta(hours=1)


@dataclass
class SweepReport:
    sent: int = 0
    reconciled: int = 0
    retried: int = 0
    failed: int = 0
    suppressed: int = 0
    expired: int = 0
    unknown: int = 0
    cancelled: int = 0  # its appointment no longer stands (see BookingCheck)
    forgotten: int = 0  # erased applicants' SMS deleted at Twilio
    skipped: int = 0  # claimed by an overlapping run, or already handled
    quiet_hours: bool = False
    stopped_early: bool = False
    # intake_received planned at the start of the run from the intake outbox (services/confirmations.py)
    confirmations_planned: int = 0
    confirmations_failed: int = 0

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


class Limiter:
    def acquire(self, tokens: float) -> float: ...


@dataclass
class Dispatcher:
    store: MessageStore
    sender: SmsSender
    clock: Clock
    policy: DeliveryPolicy
    limiter: Limiter | None = None
    random: random.Random | None = None
    monotonic: Callable[[], float] = time.monotonic
    bookings: BookingCheck | None = None
    attention: CaseAttention | None = None  # an SMS that finally failed shows on the case for staff

    def _now(self) -> datetime:
        return self.clock.now().astimezone(UTC)  # UTC arithmetic: a Berlin wall clock would skew at DST

    def sweep(self, budget_seconds: float | None = None) -> SweepReport:
        report = SweepReport()
        started = self.monotonic()
        now = self._now()
        if self.policy.quiet.contains(now):
            report.quiet_hours = True  # nothing goes out at night; not even a query
            return report
        for candidate in self.store.due(now, self.policy.shard_count):
            if budget_seconds is not None and self.monotonic() - started > budget_seconds:
                report.stopped_early = True  # the rest stays due for the next run
                break
            if self.policy.quiet.contains(self._now()):
                report.quiet_hours = True
                break
            try:
                self._one(candidate, report)
            except Exception:
                # The claim's lease runs out and the next run reconciles before any resend.
                log.exception("sms.sweep.error", extra={"message_id": candidate.message_id})
        log.info("sms.sweep", extra={"report": report.as_dict()})
        return report

    def _one(self, candidate: Message, report: SweepReport) -> None:
        now = self._now()
        message = self.store.claim(candidate.message_id, now, self.policy.lease, uuid.uuid4().hex)
        if message is None:
            report.skipped += 1
            return
        if message.kind == FORGET:
            self._forget(message, now, report)
            return
        if message.send_before is not None and now >= message.send_before:
            self.store.finish(message, EXPIRED, now, "too late: the appointment has begun", None)
            report.expired += 1
            return
        if self.store.is_opted_out(message.phone_hash):
            self.store.finish(message, SUPPRESSED, now, "opted_out", None)
            report.suppressed += 1
            return
        if message.kind == INTAKE_RECEIVED and not self._within_intake_limit(message, now):
            hours = int(self.policy.intake_window.total_seconds() // 3600)
            reason = f"rate_limited: at most {self.policy.intake_limit} {INTAKE_RECEIVED} per number per {hours} h"
            self.store.finish(message, SUPPRESSED, now, reason, None)
            log.info("sms.suppressed", extra={"case_id": message.case_id, "kind": message.kind, "reason": reason})
            report.suppressed += 1
            return
        if message.needs_reconcile and self._reconciled(message, candidate.last_attempt_at, report):
            return
        if message.attempts > self.policy.max_attempts:
            reason = f"not sent after {self.policy.max_attempts} attempts: {message.reason or 'unknown error'}"
            self._fail(message, now, reason, message.error_code, RETRIES_EXHAUSTED)
            report.failed += 1
            return
        # Last, right before the send: a message that may already be at Twilio was reconciled above
        # and is recorded as what it is, not as cancelled.
        if not self._booking_stands(message):
            self.store.finish(message, CANCELLED, now, NO_LONGER_BOOKED, None)
            report.cancelled += 1
            return
        if self._superseded(message, candidate.due_at, now):
            self.store.finish(message, CANCELLED, now, SUPERSEDED, None)
            report.cancelled += 1
            return
        self._send(message, report)

    def _booking_stands(self, message: Message) -> bool:
        if self.bookings is None or message.kind not in FOR_A_BOOKING:
            return True
        if message.appointment_id is None or message.send_before is None:
            return True  # not planned for an appointment: nothing to compare with
        return self.bookings.still_booked(message.case_id, message.appointment_id, message.send_before, message.place)

    def _forget(self, request: Message, now: datetime, report: SweepReport) -> None:
        """An erased applicant's SMS at Twilio: delete its record, retried with backoff like a send."""
        try:
            self.sender.forget(request.provider_sid or "")
        except ForgetFailedError as error:
            if request.attempts >= self.policy.max_attempts:
                # The SID is no personal data: operations can delete the record in Twilio's console.
                log.error(
                    FORGET_FAILED_EVENT, extra={"sid": request.provider_sid, "reason": error.reason, "code": error.code}
                )
                self.store.finish(request, FAILED, now, f"not deleted at Twilio: {error.reason}", error.code)
                report.failed += 1
            else:
                self._retry(request, now, error.reason, error.code, needs_reconcile=False)
                report.retried += 1
            return
        self.store.delete(request.message_id)
        report.forgotten += 1

    def _superseded(self, message: Message, planned: datetime | None, now: datetime) -> bool:
        """A late reminder next to a newer SMS about the same appointment: the applicant would get it twice.

        `planned` is the due time the sweep found (the claim moved `due_at` to the lease's end). Only a
        reminder held up past `late_after` is checked (one read), so one sent on time costs nothing more.
        """
        if message.kind != REMINDER or message.appointment_id is None or planned is None:
            return False
        if now - planned < self.policy.late_after:
            return False
        for other in self.store.for_appointment(message.case_id, message.appointment_id):
            if other.message_id == message.message_id or other.kind not in FOR_A_BOOKING:
                continue
            due = other.due_at if other.status == PENDING else None
            if due is not None and due <= now and (other.kind != REMINDER or due > planned):
                return True  # the booking SMS or a later reminder goes out in this sweep or the next
            sent_at = other.sent_at
            if other.status in (QUEUED, SENT, DELIVERED) and sent_at and now - sent_at < self.policy.repeat_window:
                return True
        return False

    def _within_intake_limit(self, message: Message, now: datetime) -> bool:
        """Someone typing a stranger's number into many intakes must not flood that phone."""
        policy = self.policy
        return self.store.take_limit_slot(
            message.phone_hash, INTAKE_RECEIVED, now, policy.intake_limit, policy.intake_window, message.message_id
        )

    def _reconciled(self, message: Message, previous_attempt: datetime | None, report: SweepReport) -> bool:
        """True when the message's fate is settled without sending (found at Twilio, or left for staff)."""
        now = self._now()
        since = previous_attempt or message.created_at
        try:
            sid = self.sender.find_sent(message.to, message.body, since)
        except LookupFailedError as error:
            if message.attempts > self.policy.max_attempts:
                reason = "outcome unknown and Twilio could not be asked: check at Twilio before resending"
                self.store.finish(message, UNKNOWN, now, reason, error.code)
                report.unknown += 1
            else:
                self._retry(message, now, error.reason, error.code, needs_reconcile=True)
                report.retried += 1
            return True
        if sid is None:
            return False  # Twilio never got it: sending now is the first delivery
        self.store.mark_sent(message, sid, SENT, now, reconciled=True)
        report.reconciled += 1
        return True

    def _send(self, message: Message, report: SweepReport) -> None:
        if self.limiter is not None:
            self.limiter.acquire(max(1, message.segments))
        callback = None
        if self.policy.status_callback_base:
            callback = f"{self.policy.status_callback_base}/sms/status?m={message.message_id}"
        sms = OutgoingSms(message.message_id, message.to, message.body, callback)
        try:
            result = self.sender.send(sms)
        except UnknownOutcomeError as error:
            delay = self.policy.reconcile_delay
            self._retry(message, self._now(), error.reason, error.code, needs_reconcile=True, delay=delay)
            report.retried += 1
            return
        except TransientSendError as error:
            now = self._now()
            if message.attempts >= self.policy.max_attempts:
                reason = f"gave up after {message.attempts} attempts: {error.reason}"
                self._fail(message, now, reason, error.code, RETRIES_EXHAUSTED)
                report.failed += 1
            else:
                self._retry(message, now, error.reason, error.code, needs_reconcile=False)
                report.retried += 1
            return
        except PermanentSendError as error:
            self._fail(message, self._now(), error.reason, error.code, REJECTED)
            if error.code == UNSUBSCRIBED_AT_TWILIO:  # Twilio knows of an opt-out we missed: honour it too
                self.store.set_opt_out(message.phone_hash, True, self._now(), "TWILIO_21610")
            report.failed += 1
            return
        status = SENT if result.status == SENT else QUEUED
        if not self.store.mark_sent(message, result.sid, status, self._now(), reconciled=False):
            log.warning("sms.lease_lost", extra={"message_id": message.message_id})
        report.sent += 1

    def _fail(self, message: Message, now: datetime, reason: str, code: str | None, why: str) -> None:
        """Final `failed`, logged and shown to staff once: only the run whose conditional write ends
        the message does it."""
        if self.store.finish(message, FAILED, now, reason, code):
            log_sms_failed(message.message_id, message.case_id, message.kind, FAILED, why, code, message.attempts)
            flag_not_delivered(self.attention, message, code, now)

    def _retry(
        self,
        message: Message,
        now: datetime,
        reason: str,
        code: str | None,
        needs_reconcile: bool,
        delay: timedelta | None = None,
    ) -> None:
        wait = delay if delay is not None else self.backoff(message.attempts)
        self.store.reschedule(message, now + wait, now, reason, code, needs_reconcile, self.policy.shard_count)

    def backoff(self, attempts: int) -> timedelta:
        """Exponential with "equal jitter": half fixed, half random, so retries of a burst spread out."""
        base = self.policy.backoff_base.total_seconds() * 2 ** max(0, attempts - 1)
        capped = min(base, self.policy.backoff_cap.total_seconds())
        spread = (self.random or random).uniform(0, capped / 2)
        return timedelta(seconds=capped / 2 + spread)
