"""The send_due sweep on the DynamoDB store (moto): claims, exactly-once, retries, reconciliation."""

from __future__ import annotations

import itertools
import random
import threading
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.adapters.dynamodb.message_store import DynamoMessageStore
from chalicelib.adapters.sms.fake import TIMEOUT, FakeSender
from chalicelib.adapters.sms.rate_limit import TokenBucket
from chalicelib.domain.cases import Case
from chalicelib.domain.messages import PENDING, SENDING, Message, message_id, phone_hash
from chalicelib.domain.partners import Partner
from chalicelib.domain.quiet_hours import QuietHours
from chalicelib.errors import RetryableError
from chalicelib.services.messaging import MessagingPolicy, MessagingService
from chalicelib.services.sms_dispatch import DeliveryPolicy, SweepReport
from tests.conftest import EMPTY_STRINGS, FrozenClock

BERLIN = ZoneInfo("Europe/Berlin")
KEY = "test-phone-key"
MONDAY = datetime(2027, 3, 22, 10, 0, tzinfo=BERLIN)
PARTNER = Partner(
    id="via-bayern",
    name="Verband für Interkulturelle Arbeit (VIA) Bayern e.V.",
    short_name="VIA Bayern",
    description="",
    offers=(),
    languages=("de",),
    address="Landwehrstraße 22, 80336 München",
    reminder_offsets_minutes=(1440, 120),
)
OTHER_PARTNER = Partner(
    id="lmu-klinikum",
    name="LMU Klinikum München",
    short_name="LMU Klinikum",
    description="",
    offers=(),
    languages=("de",),
    address="Marchioninistraße 15, 81377 München",
)


def make_case(number: int, language: str = "de", phone: str | None = None) -> Case:
    phone = phone or f"+4915{number:09d}"
    intake = {"phone": phone, "consent": {"sms": True}}
    return Case(f"case-{number}", f"K7P{number % 10}-Q9XA", PARTNER.id, "routed", "r", "", language, intake, "", "", "")


def appointment(appointment_id: str, start: datetime, online_url: str | None = None) -> Any:
    return SimpleNamespace(appointment_id=appointment_id, start=start, location=None, online_url=online_url)


class Sleeper:
    """The rate limiter's clock and sleep, without sleeping."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
            self.slept += seconds


def build(
    store: Any, sender: Any, clock: FrozenClock, sleeper: Sleeper | None = None, **delivery: Any
) -> MessagingService:
    policy = MessagingPolicy(delivery=DeliveryPolicy(quiet=QuietHours(), **delivery), phone_hash_key=KEY)
    sleeper = sleeper or Sleeper()
    limiter = TokenBucket(10, monotonic=sleeper.monotonic, sleeper=sleeper.sleep)
    service = MessagingService(store=store, sender=sender, clock=clock, policy=policy, limiter=limiter)
    service.dispatcher.random = random.Random(7)
    return service


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY)


@pytest.fixture
def store(aws: None, atomic_dynamodb: None) -> DynamoMessageStore:
    return DynamoMessageStore()


@pytest.fixture
def sender(clock: FrozenClock) -> FakeSender:
    return FakeSender(clock=clock.now)


def plan_intakes(service: MessagingService, count: int, now: datetime) -> list[Case]:
    cases = [make_case(n) for n in range(count)]
    for case in cases:
        service.intake_received(case, PARTNER, now)
    return cases


# --- exactly once --------------------------------------------------------------------------


def test_overlapping_sweeps_send_each_message_once(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    cases = plan_intakes(service, 30, clock.now())
    barrier = threading.Barrier(3)
    reports = []

    def run() -> None:
        barrier.wait()
        reports.append(service.send_due())

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(d.message_id for d in sender.accepted) == sorted(
        message_id(c.case_id, "intake_received") for c in cases
    )
    assert sum(r.sent for r in reports) == 30
    assert sum(r.skipped for r in reports) > 0  # the runs really overlapped and lost claims to each other
    assert service.send_due().sent == 0  # nothing is left to send


def test_a_claimed_message_is_not_claimed_again_while_its_lease_runs(
    store: DynamoMessageStore, clock: FrozenClock
) -> None:
    service = build(store, FakeSender(), clock)
    [case] = plan_intakes(service, 1, clock.now())
    mid = message_id(case.case_id, "intake_received")
    assert store.claim(mid, clock.now(), timedelta(minutes=2), "run-1") is not None
    assert store.claim(mid, clock.now(), timedelta(minutes=2), "run-2") is None
    assert store.claim(mid, clock.now() + timedelta(minutes=1), timedelta(minutes=2), "run-2") is None


def test_the_twilio_sid_is_recorded(store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock) -> None:
    service = build(store, sender, clock)
    [case] = plan_intakes(service, 1, clock.now())
    service.send_due()
    [sent] = service.messages_for_case(case.case_id)
    assert sent["twilio_sid"] == sender.accepted[0].sid
    assert sent["status"] == "queued" and sent["attempts"] == 1


# --- unknown outcomes: reconcile before any resend ---------------------------------------


def test_a_timeout_is_reconciled_not_resent(store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock) -> None:
    service = build(store, sender, clock)
    [case] = plan_intakes(service, 1, clock.now())
    sender.fail_next(TIMEOUT)  # Twilio took it; the answer was lost
    assert service.send_due().retried == 1
    assert service.send_due().sent == 0  # not before the reconcile delay
    clock.advance(minutes=3)
    report = service.send_due()
    assert report.reconciled == 1 and report.sent == 0
    assert len(sender.accepted) == 1 and sender.lookups == 1
    [message] = service.messages_for_case(case.case_id)
    assert message["status"] == "sent" and message["twilio_sid"] == sender.accepted[0].sid
    assert "found at Twilio" in message["reason"]


def test_an_unknown_outcome_that_twilio_never_got_is_sent_after_checking(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    from chalicelib.services.messaging_ports import UnknownOutcomeError

    service = build(store, sender, clock)
    plan_intakes(service, 1, clock.now())
    sender.fail_next(UnknownOutcomeError("connection reset"))  # lost before Twilio stored it
    service.send_due()
    clock.advance(minutes=3)
    assert service.send_due().sent == 1
    assert len(sender.accepted) == 1 and sender.lookups == 1


def test_when_twilio_cannot_be_asked_the_message_is_left_for_staff(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    [case] = plan_intakes(service, 1, clock.now())
    sender.fail_next(TIMEOUT)
    sender.lookup_failures = 100
    service.send_due()
    for _ in range(12):
        clock.advance(minutes=40)
        service.send_due()
    [message] = service.messages_for_case(case.case_id)
    assert message["status"] == "unknown"
    assert "check at Twilio" in message["reason"]
    assert len(sender.accepted) == 1  # never resent blindly


def test_a_sweeper_that_died_holding_a_claim_is_reconciled(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    [case] = plan_intakes(service, 1, clock.now())
    mid = message_id(case.case_id, "intake_received")
    claimed = store.claim(mid, clock.now(), timedelta(minutes=2), "crashed-run")
    assert claimed is not None and claimed.status == SENDING
    sender.send(SimpleNamespace(message_id=mid, to=claimed.to, body=claimed.body))  # it did reach Twilio
    assert service.send_due().sent == 0  # lease still running
    clock.advance(minutes=3)
    report = service.send_due()
    assert report.reconciled == 1 and len(sender.accepted) == 1


# --- transient and permanent failures -----------------------------------------------------


def test_transient_failures_back_off_and_give_up_after_5_attempts(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    [case] = plan_intakes(service, 1, clock.now())
    sender.fail_next("5xx", "429", "5xx", "429", "5xx")
    waits = []
    for _ in range(5):
        before = clock.now()
        service.send_due()
        [message] = service.messages_for_case(case.case_id)
        if message["status"] != "pending":
            break
        due = datetime.fromisoformat(message["due_at"])
        waits.append((due - before).total_seconds())
        clock.set(due)
    assert len(waits) == 4
    assert all(later > earlier for earlier, later in itertools.pairwise(waits))  # exponential
    assert 30 <= waits[0] <= 60  # first retry after 30–60 s (1 min with jitter)
    [message] = service.messages_for_case(case.case_id)
    assert message["status"] == "failed" and message["attempts"] == 5
    assert message["reason"].startswith("gave up after 5 attempts")
    assert sender.calls == 5 and sender.accepted == []


def test_a_transient_failure_then_success_sends_once(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    plan_intakes(service, 1, clock.now())
    sender.fail_next("429")
    service.send_due()
    clock.advance(minutes=2)
    assert service.send_due().sent == 1
    assert len(sender.accepted) == 1


def test_a_deletion_at_twilio_that_keeps_failing_is_logged_for_operations_with_its_sid_only(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    service = build(store, sender, clock)
    [case] = plan_intakes(service, 1, clock.now())
    service.send_due()
    [sid] = [d.sid for d in sender.accepted]
    assert service.erase_for_case(case.case_id) == 1
    sender.forget_failures = 99
    for _ in range(8):
        service.send_due()
        clock.advance(hours=1)
    assert sender.forgotten == []
    [request] = [m for m in store.due(clock.now() + timedelta(days=400), 1)] or [None]
    assert request is None  # no longer retried
    # (Once logs.install() ran, the message also carries the fields as JSON: hence "startswith".)
    [record] = [r for r in caplog.records if r.getMessage().startswith("sms.forget_failed")]
    assert record.levelname == "ERROR" and record.__dict__["sid"] == sid
    assert case.intake["phone"][3:] not in str(record.__dict__)


@pytest.mark.parametrize("code", ["21211", "21610", "21614"])
def test_permanent_failures_are_not_retried_and_shown_on_the_case(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock, code: str
) -> None:
    service = build(store, sender, clock)
    [case] = plan_intakes(service, 1, clock.now())
    sender.fail_next(code)
    service.send_due()
    clock.advance(hours=2)
    service.send_due()
    assert sender.calls == 1
    [message] = service.messages_for_case(case.case_id)
    assert (message["status"], message["error_code"]) == ("failed", code)
    assert code in message["reason"]
    unsubscribed = store.is_opted_out(phone_hash(case.intake["phone"], KEY))
    assert unsubscribed is (code == "21610")  # Twilio's opt-out is honoured by us too


# --- appointments ----------------------------------------------------------------------------


def test_booking_plans_the_message_and_reminders_at_the_partners_offsets(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    start = datetime(2027, 3, 25, 14, 0, tzinfo=BERLIN)
    planned = service.plan_appointment_messages(make_case(1), appointment("a1", start), PARTNER)
    assert [(m.kind, m.due_at) for m in planned] == [
        ("appointment_booked", clock.now()),
        ("reminder", start - timedelta(hours=24)),
        ("reminder", start - timedelta(hours=2)),
    ]
    again = service.plan_appointment_messages(make_case(1), appointment("a1", start), PARTNER)
    assert [m.message_id for m in again] == [m.message_id for m in planned]  # planning twice writes once


def test_planning_again_after_an_opt_out_keeps_the_first_verdict(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    """Planning checks the opt-out list and writes with a condition; a second planning of the same
    booking shows what was planned, not a fresh verdict (the sweep re-checks before every send)."""
    service = build(store, sender, clock)
    case, start = make_case(1), datetime(2027, 3, 25, 14, 0, tzinfo=BERLIN)
    planned = service.plan_appointment_messages(case, appointment("a1", start), PARTNER)
    store.set_opt_out(phone_hash(case.intake["phone"], KEY), True, clock.now(), "STOP")
    again = service.plan_appointment_messages(case, appointment("a1", start), PARTNER)
    assert [(m.message_id, m.status) for m in again] == [(m.message_id, PENDING) for m in planned]
    assert [m["status"] for m in service.messages_for_case(case.case_id)] == [PENDING] * 3


class Bookings:
    """A BookingCheck that answers from a set of (appointment id, start) still booked, and can be throttled."""

    def __init__(self, *booked: tuple[str, datetime]) -> None:
        self.booked, self.asked, self.throttled = set(booked), 0, 0

    def still_booked(self, case_id: str, appointment_id: str, start: datetime, place: str | None = None) -> bool:
        self.asked += 1
        if self.throttled:
            self.throttled -= 1
            raise RetryableError("throttled")
        return (appointment_id, start) in self.booked


def test_the_sweep_sends_an_appointments_sms_only_while_it_stands_and_asks_for_no_other(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    start = datetime(2027, 3, 25, 14, 0, tzinfo=BERLIN)
    bookings = Bookings(("a1", start))
    service = build(store, sender, clock)
    service.dispatcher.bookings = bookings
    service.plan_appointment_messages(make_case(1), appointment("a1", start), PARTNER)
    service.plan_appointment_messages(make_case(2), appointment("a2", start), PARTNER)  # since cancelled
    service.intake_received(make_case(3), PARTNER)
    report = service.send_due()
    assert (report.sent, report.cancelled, bookings.asked) == (2, 1, 2)  # the intake SMS is not asked about
    booked = [m["status"] for m in service.messages_for_case("case-2") if m["kind"] == "appointment_booked"]
    assert booked == ["cancelled"]


def test_a_booking_message_twilio_may_have_is_reconciled_before_the_booking_is_asked_about(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    """Twilio took the booking message but the answer was lost; then the appointment was cancelled.
    The log must say it was sent (the applicant has it), not that it was cancelled."""
    start = datetime(2027, 3, 25, 14, 0, tzinfo=BERLIN)
    bookings = Bookings(("a1", start))
    service = build(store, sender, clock)
    service.dispatcher.bookings = bookings
    service.plan_appointment_messages(make_case(1), appointment("a1", start), PARTNER)
    sender.fail_next(TIMEOUT)
    assert service.send_due().retried == 1
    bookings.booked.clear()  # cancelled, and its SMS step failed
    clock.advance(minutes=3)
    report = service.send_due()
    assert (report.reconciled, report.cancelled, report.sent) == (1, 0, 0)
    booked = [m for m in service.messages_for_case("case-1") if m["kind"] == "appointment_booked"]
    assert [m["status"] for m in booked] == ["sent"] and len(sender.accepted) == 1


def test_a_throttled_booking_check_delays_the_sms_and_sends_it_once(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    start = datetime(2027, 3, 25, 14, 0, tzinfo=BERLIN)
    bookings = Bookings(("a1", start))
    bookings.throttled = 1
    service = build(store, sender, clock)
    service.dispatcher.bookings = bookings
    service.plan_appointment_messages(make_case(1), appointment("a1", start), PARTNER)
    assert service.send_due().sent == 0
    clock.advance(minutes=3)  # the claim's lease has run out
    assert service.send_due().sent == 1
    clock.advance(minutes=3)
    assert service.send_due().sent == 0 and len(sender.accepted) == 1


def test_reschedule_cancels_old_reminders_and_sends_appointment_changed(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    case = make_case(1)
    service.plan_appointment_messages(case, appointment("a1", datetime(2027, 3, 25, 14, 0, tzinfo=BERLIN)), PARTNER)
    service.send_due()
    new_start = datetime(2027, 3, 26, 11, 0, tzinfo=BERLIN)
    planned = service.replan_appointment_messages(case, appointment("a1", new_start), PARTNER)
    assert [m.kind for m in planned] == ["appointment_changed", "reminder", "reminder"]
    statuses = {(m["kind"], m["status"]) for m in service.messages_for_case(case.case_id)}
    assert ("reminder", "cancelled") in statuses and ("appointment_booked", "queued") in statuses
    clock.set(datetime(2027, 3, 27, 12, 0, tzinfo=BERLIN))
    for hour in range(30):  # every sweep up to and past the new start
        clock.set(datetime(2027, 3, 22, 10, 5, tzinfo=BERLIN) + timedelta(hours=hour * 4))
        service.send_due()
    bodies = [d.body for d in sender.accepted]
    assert sum("Termin" in b and "verlegt" in b for b in bodies) == 1
    assert sum(b.startswith("Erinnerung") and "Fr., 26. März" in b for b in bodies) == 2
    assert not any(b.startswith("Erinnerung") and "25. März" in b for b in bodies)


@EMPTY_STRINGS
def test_cancellation_tells_the_applicant_and_stops_reminders(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    case = make_case(1)
    slot = appointment("a1", datetime(2027, 3, 25, 14, 0, tzinfo=BERLIN))
    service.plan_appointment_messages(case, slot, PARTNER)
    service.send_due()
    [cancelled] = service.cancel_appointment_messages(case, slot, PARTNER)
    assert cancelled.kind == "appointment_cancelled" and "fällt aus" in cancelled.body
    clock.advance(minutes=5)
    service.send_due()
    for _ in range(24):  # sweeps through the following days: no reminder for the cancelled slot
        clock.advance(hours=4)
        service.send_due()
    kinds = [m["kind"] for m in service.messages_for_case(case.case_id) if m["status"] in ("queued", "sent")]
    assert sorted(kinds) == ["appointment_booked", "appointment_cancelled"]


@EMPTY_STRINGS
def test_cancelling_before_anything_went_out_sends_only_the_cancellation(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    clock.set(datetime(2027, 3, 22, 22, 0, tzinfo=BERLIN))  # booked at night: the booking SMS waits for 08:00
    service = build(store, sender, clock)
    case = make_case(1)
    slot = appointment("a1", datetime(2027, 3, 25, 14, 0, tzinfo=BERLIN))
    service.plan_appointment_messages(case, slot, PARTNER)
    # The applicant may have seen the appointment on the status page: they are told it is off.
    [cancelled] = service.cancel_appointment_messages(case, slot, PARTNER)
    assert (cancelled.kind, cancelled.status) == ("appointment_cancelled", "pending")
    assert cancelled.due_at == datetime(2027, 3, 23, 8, 0, tzinfo=BERLIN)  # not at night either
    clock.advance(hours=12)
    service.send_due()
    [sent] = sender.accepted
    assert "fällt aus" in sent.body
    statuses = {m["kind"]: m["status"] for m in service.messages_for_case(case.case_id) if m["kind"] != "reminder"}
    assert statuses == {"appointment_booked": "cancelled", "appointment_cancelled": "queued"}


def test_rescheduling_before_anything_went_out_sends_the_change_not_the_booking(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    case = make_case(1)
    service.plan_appointment_messages(case, appointment("a1", datetime(2027, 3, 25, 14, 0, tzinfo=BERLIN)), PARTNER)
    moved = appointment("a1", datetime(2027, 3, 26, 11, 0, tzinfo=BERLIN))
    planned = service.replan_appointment_messages(case, moved, PARTNER)
    assert [(m.kind, m.status) for m in planned] == [
        ("appointment_changed", "pending"),
        ("reminder", "pending"),
        ("reminder", "pending"),
    ]
    service.send_due()
    [sent] = sender.accepted
    assert "verlegt" in sent.body and "26. März" in sent.body
    # Moving it back to the first time plans fresh reminders, not the cancelled ones of the booking.
    clock.advance(minutes=5)
    back = service.replan_appointment_messages(
        case, appointment("a1", datetime(2027, 3, 25, 14, 0, tzinfo=BERLIN)), PARTNER
    )
    assert [(m.kind, m.status) for m in back] == [
        ("appointment_changed", "pending"),
        ("reminder", "pending"),
        ("reminder", "pending"),
    ]


def test_a_reminder_is_never_sent_after_the_appointment_began(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    case = make_case(1)
    service.plan_appointment_messages(case, appointment("a1", datetime(2027, 3, 22, 15, 0, tzinfo=BERLIN)), PARTNER)
    clock.set(datetime(2027, 3, 22, 15, 0, tzinfo=BERLIN))  # the sweeper was down all afternoon
    service.send_due()
    assert sender.accepted == []
    statuses = [m["status"] for m in service.messages_for_case(case.case_id)]
    assert statuses == ["expired", "expired"]


def kinds_sent(sender: FakeSender, service: MessagingService, case: Case) -> list[str]:
    by_id = {m["message_id"]: m for m in service.messages_for_case(case.case_id)}
    return [by_id[d.message_id]["kind"] for d in sender.accepted]


def booked_tuesday_14_00(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> tuple[MessagingService, Case, datetime, list[Message]]:
    """Booked on Monday 10:00: the booking SMS goes out at once; reminders at 14:00 and Tuesday 12:00."""
    service = build(store, sender, clock)
    case = make_case(1)
    start = datetime(2027, 3, 23, 14, 0, tzinfo=BERLIN)
    planned = service.plan_appointment_messages(case, appointment("a1", start), PARTNER)
    service.send_due()
    return service, case, start, planned


def test_after_an_outage_the_applicant_gets_one_reminder_not_the_24_h_and_the_2_h_together(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service, case, start, planned = booked_tuesday_14_00(store, sender, clock)
    clock.set(start - timedelta(hours=1, minutes=30))  # the sweeper was down from Monday 13:00 to Tuesday 12:30
    service.send_due()
    clock.set(start - timedelta(minutes=50))
    service.send_due()
    assert kinds_sent(sender, service, case) == ["appointment_booked", "reminder"]
    assert sender.accepted[1].message_id == planned[2].message_id  # the 2 h reminder, not the day-before one
    held_up = store.get(planned[1].message_id)
    assert held_up is not None and held_up.status == "cancelled"
    assert held_up.reason == "held up until a later SMS about the appointment was due"


def test_a_reminder_sent_on_time_reads_nothing_more_than_before(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check for a newer SMS is for reminders held up by an outage only (one Query each)."""
    service, _, start, _ = booked_tuesday_14_00(store, sender, clock)
    looked_up: list[str] = []
    original = store.for_appointment
    monkeypatch.setattr(store, "for_appointment", lambda *args: looked_up.append(args[1]) or original(*args))
    clock.set(start - timedelta(hours=24, minutes=-5))  # the sweep 5 minutes after the 24 h reminder was due
    assert service.send_due().sent == 1
    assert looked_up == []
    clock.set(start - timedelta(hours=1, minutes=30))  # the 2 h reminder 30 minutes late: looked at once
    assert service.send_due().sent == 1
    assert looked_up == ["a1"]


def test_a_late_reminder_after_the_2_h_one_went_out_is_not_sent_as_well(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    """Another sweeper (or another shard) sent the 2 h reminder first; the 24 h one claimed after it stays."""
    service, case, start, planned = booked_tuesday_14_00(store, sender, clock)
    clock.set(start - timedelta(hours=1, minutes=30))
    day_before, two_hours = planned[1], planned[2]
    service.dispatcher._one(store.get(two_hours.message_id), SweepReport())  # the order a second shard gives
    clock.set(start - timedelta(hours=1, minutes=20))
    service.dispatcher._one(store.get(day_before.message_id), SweepReport())
    assert kinds_sent(sender, service, case) == ["appointment_booked", "reminder"]
    assert store.get(day_before.message_id).status == "cancelled"


def test_a_reminder_held_up_past_a_booking_sms_still_due_goes_out_with_it_once(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    case = make_case(1)
    clock.set(datetime(2027, 3, 22, 9, 0, tzinfo=BERLIN))
    start = datetime(2027, 3, 23, 11, 0, tzinfo=BERLIN)  # the 24 h reminder is due at 11:00 today, 2 h after booking
    service.plan_appointment_messages(case, appointment("a1", start), PARTNER)
    clock.set(datetime(2027, 3, 22, 11, 30, tzinfo=BERLIN))  # no sweep from 09:00 to 11:30
    service.send_due()
    assert kinds_sent(sender, service, case) == ["appointment_booked"]
    clock.set(start - timedelta(hours=2))
    service.send_due()
    assert kinds_sent(sender, service, case) == ["appointment_booked", "reminder"]


def test_a_reminder_an_hour_late_with_nothing_newer_due_is_still_sent(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    case = make_case(1)
    start = datetime(2027, 3, 25, 14, 0, tzinfo=BERLIN)
    service.plan_appointment_messages(case, appointment("a1", start), PARTNER)
    service.send_due()
    clock.set(start - timedelta(hours=23))  # the sweeper was down for the hour the 24 h reminder was due
    service.send_due()
    assert kinds_sent(sender, service, case) == ["appointment_booked", "reminder"]


def test_a_transfer_names_the_new_partner_and_drops_the_unsent_intake_sms(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    clock.set(datetime(2027, 3, 22, 23, 0, tzinfo=BERLIN))
    service = build(store, sender, clock)
    case = make_case(1)
    service.intake_received(case, PARTNER)
    clock.set(datetime(2027, 3, 23, 7, 30, tzinfo=BERLIN))
    service.case_transferred(case, OTHER_PARTNER)
    clock.set(datetime(2027, 3, 23, 8, 0, tzinfo=BERLIN))
    service.send_due()
    [sms] = sender.accepted
    assert "LMU Klinikum" in sms.body and "VIA Bayern" not in sms.body


def test_an_online_appointment_carries_its_link(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    service = build(store, sender, clock)
    link = "https://meet.jit.si/MigraNet-K7P3Q9XA"
    start = datetime(2027, 3, 24, 11, 0, tzinfo=BERLIN)
    planned = service.plan_appointment_messages(make_case(1, "uk"), appointment("a1", start, link), PARTNER)
    assert all(link in m.body and m.segments <= 2 for m in planned)


def test_a_long_meeting_link_is_sent_whole_in_every_message_of_a_ukrainian_applicant(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    """A Zoom link with its password does not fit 2 Cyrillic (UCS-2) segments next to the text: the
    messages grow a segment rather than leave the applicant without the link."""
    service = build(store, sender, clock)
    link = "https://us02web.zoom.us/j/81234567890?pwd=aBcDeFgHiJkLmNoPqRsTuVwXyZ12"
    start = datetime(2027, 3, 24, 11, 0, tzinfo=BERLIN)
    planned = service.plan_appointment_messages(make_case(1, "uk"), appointment("a1", start, link), PARTNER)
    assert {m.kind for m in planned} == {"appointment_booked", "reminder"}
    assert all(link in m.body and m.segments == 3 for m in planned), [(m.body, m.segments) for m in planned]


# --- rate and time budget -----------------------------------------------------------------


def test_the_send_rate_is_10_segments_per_second(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    sleeper = Sleeper()
    service = build(store, sender, clock, sleeper)
    start = datetime(2027, 3, 26, 14, 0, tzinfo=BERLIN)
    for number in range(20):  # 20 two-segment Ukrainian booking messages = 40 segments
        service.plan_appointment_messages(make_case(number, "uk"), appointment(f"a{number}", start), PARTNER)
    service.send_due()
    assert len(sender.accepted) == 20
    assert sleeper.slept == pytest.approx((40 - 10) / 10, abs=0.01)  # the first 10 go as a burst


def test_a_sweep_stops_when_its_time_budget_is_spent(
    store: DynamoMessageStore, sender: FakeSender, clock: FrozenClock
) -> None:
    sleeper = Sleeper()
    service = build(store, sender, clock, sleeper)
    service.dispatcher.monotonic = sleeper.monotonic
    plan_intakes(service, 30, clock.now())
    first = service.send_due(budget_seconds=1.0)
    assert first.stopped_early and 10 <= first.sent < 30
    rest = service.send_due()
    assert first.sent + rest.sent == 30 and len(sender.accepted) == 30


def test_pending_records_carry_no_more_than_they_need(store: DynamoMessageStore, clock: FrozenClock) -> None:
    service = build(store, FakeSender(), clock)
    [case] = plan_intakes(service, 1, clock.now())
    stored = store.get(message_id(case.case_id, "intake_received"))
    assert isinstance(stored, Message) and stored.status == PENDING
    assert stored.phone_hash == phone_hash(case.intake["phone"], KEY) and case.intake["phone"] not in stored.phone_hash
