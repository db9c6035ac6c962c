"""A frozen-time week: 1,000 appointments, reschedules, cancellations, STOPs, the DST switch of
2027-03-28, 10% of Twilio calls failing (5xx, 429, timeouts) and two sweeper runs overlapping
at every tick. Every due message is sent exactly once, none in quiet hours, none to opted-out
numbers, none lost.

Both layers send through the real `twilio` client to the fake Twilio HTTP endpoint, which fails
10% of calls at random. The whole week runs through the service layer on an in-memory store with
DynamoDB's conditional semantics (moto's index queries scan every item: a week on moto would
take many minutes); a two-day slice across the DST switch runs on the DynamoDB store (moto),
jumping to the next 5-minute tick at which something is due.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.adapters.dynamodb.message_store import DynamoMessageStore
from chalicelib.adapters.sms.rate_limit import TokenBucket
from chalicelib.adapters.sms.twilio_sender import TwilioCredentials, TwilioSender
from chalicelib.data import default_partners
from chalicelib.domain.cases import Case
from chalicelib.domain.messages import LANGUAGES, QUEUED, REMINDER, SENT, phone_hash
from chalicelib.domain.partners import Partner
from chalicelib.domain.quiet_hours import QuietHours
from chalicelib.services.messaging import MessagingPolicy, MessagingService
from chalicelib.services.messaging_ports import FormParams, WebhookRequest
from chalicelib.services.sms_dispatch import DeliveryPolicy
from tests.conftest import EMPTY_STRINGS, FrozenClock
from tests.fakes.memory_messages import MemoryMessageStore

BERLIN = ZoneInfo("Europe/Berlin")
KEY = "week-key"
TICK = timedelta(minutes=5)
QUIET = QuietHours()
PARTNERS = [Partner.from_dict(p) for p in default_partners()] + [
    Partner.from_dict(
        {"id": "early-bird", "name": "Frühberatung", "address": "Sonnenstraße 1, 80331 München"}
        | {"reminder_offsets_minutes": [2880, 60]}  # a partner with its own offsets: 48 h and 1 h
    )
]


class AcceptAll:
    def valid(self, *args: Any) -> bool:
        return True


class Sleeper:
    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 1e-6)


@dataclass
class Slot:
    appointment_id: str
    start: datetime
    location: str | None = None
    online_url: str | None = None


@dataclass
class Plan:
    """What happens in the week, generated from a seed."""

    actions: list[tuple[datetime, int, str, Any]] = field(default_factory=list)
    stops: dict[str, datetime] = field(default_factory=dict)  # phone → when STOP arrived
    cases: dict[str, Case] = field(default_factory=dict)
    partner_of: dict[str, Partner] = field(default_factory=dict)
    final: dict[str, Slot | None] = field(default_factory=dict)  # appointment → last slot (None: cancelled)


def office_slot(rng: random.Random, earliest: datetime, latest: datetime) -> datetime:
    """A start on a quarter hour between 08:00 and 19:00 Berlin, often early morning (reminders move)."""
    while True:
        day = (earliest + timedelta(hours=rng.uniform(3, (latest - earliest).total_seconds() / 3600))).astimezone(
            BERLIN
        )
        hour = rng.choice([8, 8, 9, 9, 10, 11, 13, 14, 15, 16, 17, 18])
        start = datetime(day.year, day.month, day.day, hour, rng.choice([0, 15, 30, 45]), tzinfo=BERLIN)
        if earliest + timedelta(hours=3) <= start <= latest:
            return start


def make_plan(seed: int, appointments: int, begin: datetime, end: datetime) -> Plan:
    rng = random.Random(seed)
    plan = Plan()
    order = 0
    number = 0
    while number < appointments:
        case_number = len(plan.cases)
        phone = f"+49151{20000000 + case_number:08d}"
        language = LANGUAGES[case_number % len(LANGUAGES)]
        partner = PARTNERS[case_number % len(PARTNERS)]
        intake = {"phone": phone, "consent": {"sms": True}}
        case = Case(
            f"case-{case_number}", f"R{case_number:03d}-X", partner.id, "claimed", "r", "", language, intake, "", "", ""
        )
        plan.cases[case.case_id] = case
        plan.partner_of[case.case_id] = partner
        for _ in range(1 if rng.random() < 0.7 else 2):
            booked_at = begin + timedelta(minutes=rng.uniform(0, (end - begin).total_seconds() / 60 - 600))
            start = office_slot(rng, booked_at, end)
            slot = Slot(
                f"appt-{number}", start, online_url="https://meet.jit.si/MigraNet-K7P3Q9XA" if number % 4 == 0 else None
            )
            plan.actions.append((booked_at, order := order + 1, "book", (case, slot)))
            plan.final[slot.appointment_id] = slot
            roll = rng.random()
            if roll < 0.10:  # rescheduled
                when = booked_at + (start - booked_at) * rng.uniform(0.1, 0.9)
                moved = Slot(slot.appointment_id, office_slot(rng, when, end), online_url=slot.online_url)
                plan.actions.append((when, order := order + 1, "reschedule", (case, moved)))
                plan.final[slot.appointment_id] = moved
            elif roll < 0.15:  # cancelled
                when = booked_at + (start - booked_at) * rng.uniform(0.1, 0.9)
                plan.actions.append((when, order := order + 1, "cancel", (case, slot)))
                plan.final[slot.appointment_id] = None
            number += 1
        if rng.random() < 0.03:
            when = begin + timedelta(minutes=rng.uniform(0, (end - begin).total_seconds() / 60))
            word = rng.choice(["STOP", "Stop.", "stop please", "ABMELDEN", "STOPP", "CANCEL"])
            plan.actions.append((when, order := order + 1, "stop", (phone, word)))
            plan.stops[phone] = when
    plan.actions.sort(key=lambda action: (action[0], action[1]))
    return plan


def apply(service: MessagingService, clock: FrozenClock, action: tuple[datetime, int, str, Any], plan: Plan) -> None:
    when, _, kind, payload = action
    clock.set(when)
    if kind == "stop":
        phone, word = payload
        pairs = [("MessageSid", f"SMin{when.timestamp()}"), ("From", phone), ("Body", word)]
        service.handle_inbound(WebhookRequest("https://x/sms/inbound", FormParams(pairs), "sig"))
        return
    case, slot = payload
    partner = plan.partner_of[case.case_id]
    if kind == "book":
        service.plan_appointment_messages(case, slot, partner)
    elif kind == "reschedule":
        service.replan_appointment_messages(case, slot, partner)
    else:
        service.cancel_appointment_messages(case, slot, partner)


def overlapping_sweeps(service: MessagingService) -> list[Any]:
    barrier = threading.Barrier(2)
    reports: list[Any] = []

    def run() -> None:
        barrier.wait()
        reports.append(service.send_due())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return reports


def build(store: Any, sender: Any, clock: FrozenClock, callback_base: str = "") -> MessagingService:
    delivery = DeliveryPolicy(quiet=QUIET, status_callback_base=callback_base)
    sleeper = Sleeper()
    service = MessagingService(
        store=store,
        sender=sender,
        clock=clock,
        policy=MessagingPolicy(delivery=delivery, phone_hash_key=KEY),
        verifier=AcceptAll(),
        limiter=TokenBucket(10, monotonic=sleeper.monotonic, sleeper=sleeper.sleep),
    )
    service.dispatcher.random = random.Random(3)
    return service


@dataclass(frozen=True)
class Delivery:
    message_id: str
    to: str
    at: datetime


def check(deliveries: list[Delivery], messages: list[Any], plan: Plan) -> dict[str, int]:
    """The four promises, and the reasons behind anything not delivered."""
    messages = [m for m in messages if m.direction == "outbound"]
    by_id = {m.message_id: m for m in messages}
    counts = Counter(d.message_id for d in deliveries)
    # Exactly once: nothing delivered twice, and what the store calls sent is what the phone got.
    assert [mid for mid, n in counts.items() if n > 1] == []
    sent = {m.message_id for m in messages if m.status in (QUEUED, SENT)}
    assert set(counts) == sent
    # None lost: nothing is left pending or in flight, nothing ends unexplained.
    statuses = Counter(m.status for m in messages)
    assert statuses["pending"] == statuses["sending"] == 0, statuses
    assert statuses["failed"] == statuses["unknown"] == 0, statuses
    for message in messages:
        if message.status not in (QUEUED, SENT):
            assert message.reason, message
    for delivery in deliveries:
        message = by_id[delivery.message_id]
        # None in quiet hours.
        assert not QUIET.contains(delivery.at), delivery
        # None to an opted-out number.
        stop = plan.stops.get(delivery.to)
        assert stop is None or delivery.at < stop, delivery
        # Appointment messages never after the appointment began; no reminder for a slot that was moved or cancelled.
        if message.send_before is not None:
            assert delivery.at < message.send_before
        if message.kind == REMINDER:
            final = plan.final[message.appointment_id]
            assert final is not None or message.send_before is not None
    # Every reminder of an appointment that stayed booked went out (unless the number opted out).
    for appointment_id, slot in plan.final.items():
        if slot is None:
            continue
        reminders = [m for m in messages if m.appointment_id == appointment_id and m.kind == REMINDER]
        for reminder in reminders:
            if reminder.send_before == slot.start.astimezone(UTC) and reminder.status not in (QUEUED, SENT):
                assert reminder.status in ("suppressed", "cancelled"), reminder
    return dict(statuses)


def twilio_client_to(fake_twilio: Any, clock: FrozenClock, timeout: float) -> TwilioSender:
    """The real `twilio` client against the fake endpoint, which fails 10% of calls at random: 5xx,
    429/20429, and timeouts after the message was accepted (the client gives up after `timeout`)."""
    fake_twilio.clock = clock.now
    fake_twilio.failure_rate = 0.10
    fake_twilio.timeout_sleep = timeout * 2
    return TwilioSender(
        lambda: TwilioCredentials(fake_twilio.account_sid, fake_twilio.auth_token),
        messaging_service_sid="MG" + "2" * 32,
        timeout=timeout,
        api_base_url=fake_twilio.url,
    )


def delivered(fake_twilio: Any) -> list[Delivery]:
    """What the fake Twilio accepted (and would deliver), by our message id in the status callback."""
    return [Delivery(m["status_callback"].split("m=")[1], m["to"], m["_at"]) for m in fake_twilio.messages]


def test_a_week_of_1000_appointments_through_the_service_layer(fake_twilio: Any) -> None:
    # Ticks in UTC: Python adds to a Berlin time on the wall clock, which would stall at the DST switch.
    begin = datetime(2027, 3, 22, 8, 0, tzinfo=BERLIN).astimezone(UTC)
    end = datetime(2027, 3, 29, 19, 0, tzinfo=BERLIN).astimezone(UTC)
    plan = make_plan(seed=2027, appointments=1000, begin=begin, end=end)
    clock = FrozenClock(begin)
    store = MemoryMessageStore()
    # A timeout costs the test this much real time (~130 of the week's calls time out), but it must stay
    # well above a loopback call's time under load: the fake runs in this process, beside two sweepers.
    sender = twilio_client_to(fake_twilio, clock, timeout=0.4)
    service = build(store, sender, clock, callback_base="https://api.example.org/api")
    pending_actions = list(plan.actions)
    tick = begin
    reports = []
    while tick <= end + timedelta(hours=2):
        while pending_actions and pending_actions[0][0] <= tick:
            apply(service, clock, pending_actions.pop(0), plan)
        clock.set(tick)
        reports += overlapping_sweeps(service)
        tick += TICK
    messages = list(store.messages.values())
    deliveries = delivered(fake_twilio)
    statuses = check(deliveries, messages, plan)

    assert len({m.appointment_id for m in messages if m.appointment_id}) == 1000
    assert statuses["queued"] > 2500  # booking messages and reminders went out
    assert statuses["cancelled"] > 100 and statuses["suppressed"] > 0
    assert len(fake_twilio.posts()) > len(deliveries)  # failures happened…
    assert sum(r.retried for r in reports) > 100 and sum(r.reconciled for r in reports) > 10  # …and were handled
    assert sum(r.skipped for r in reports) > 0  # overlapping runs contended for the same messages
    # Early appointments: the 2 h reminder moved to 20:30 the evening before, across the DST switch too.
    early = [
        m
        for m in messages
        if m.kind == REMINDER and m.due_at is None and m.send_before and m.send_before.astimezone(BERLIN).hour == 8
    ]
    moved = [m for m in early if m.last_attempt_at and m.last_attempt_at.astimezone(BERLIN).hour == 20]
    assert moved
    dst_sunday = [d for d in deliveries if d.at.astimezone(BERLIN).date() == datetime(2027, 3, 28).date()]
    assert dst_sunday and all(d.at.astimezone(BERLIN).hour >= 8 for d in dst_sunday)


@pytest.mark.usefixtures("atomic_dynamodb")
@EMPTY_STRINGS
def test_a_dst_weekend_slice_through_dynamodb_and_the_real_twilio_client(aws: None, fake_twilio: Any) -> None:
    begin = datetime(2027, 3, 27, 8, 0, tzinfo=BERLIN).astimezone(UTC)
    end = datetime(2027, 3, 29, 19, 0, tzinfo=BERLIN).astimezone(UTC)
    plan = make_plan(seed=28, appointments=40, begin=begin, end=end)
    clock = FrozenClock(begin)
    sender = twilio_client_to(fake_twilio, clock, timeout=0.3)
    store = DynamoMessageStore()
    service = build(store, sender, clock, callback_base="https://api.example.org/api")
    pending_actions = list(plan.actions)
    tick = begin
    while tick <= end + timedelta(hours=2):
        while pending_actions and pending_actions[0][0] <= tick:
            apply(service, clock, pending_actions.pop(0), plan)
        clock.set(tick)
        overlapping_sweeps(service)
        # Jump to the next tick at which a message or an action is due (moto's queries are slow).
        upcoming = [t for t in (store.next_due_at(1), pending_actions[0][0] if pending_actions else None) if t]
        if not upcoming:
            break
        after = QUIET.next_allowed(max(min(upcoming), tick + TICK))  # nothing is sent at night anyway
        tick = begin + TICK * -(-(after - begin) // TICK)  # round up to the 5-minute grid
    messages = [m for case_id in plan.cases for m in store.for_case(case_id)]
    deliveries = delivered(fake_twilio)
    statuses = check(deliveries, messages, plan)
    assert statuses.get("sent", 0) + statuses.get("queued", 0) > 60
    posts = fake_twilio.posts()
    assert len(posts) > len(deliveries)  # 5xx and 429 were answered and retried
    assert all(p.field("MessagingServiceSid") == "MG" + "2" * 32 for p in posts)
    assert any(r.method == "GET" for r in fake_twilio.requests)  # timeouts were reconciled by listing
    hashed = {phone_hash(c.intake["phone"], KEY) for c in plan.cases.values()}
    assert all(m.phone_hash in hashed for m in messages)
