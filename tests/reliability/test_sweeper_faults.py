"""DynamoDB faults during the SMS sweep: nothing lost, nothing sent twice.

Throttling, transaction conflicts and lost answers are injected below PynamoDB into every kind
of call the sweeper makes (the due-index Query, reads of the case and the opt-out list, the
confirmations it plans, the claim and the status updates, and the check that an appointment's
SMS still has its appointment); after the faults clear, the next sweeps must have delivered every
planned message exactly once.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from tests.conftest import FrozenClock, post_json
from tests.functional.appointment_desk import LMU, Desk
from tests.reliability.faults import THROTTLING, TIMEOUT, dynamodb_faults

APPLICANTS = 4


def _sweep(client: Client) -> Any:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke("send_due_messages", event)


def _faulty_sweep_then_clean_ones(
    client: Client, clock: FrozenClock, operation: str, code: str, after_applying: bool = False
) -> None:
    with dynamodb_faults() as faults:
        faults.inject(operation, code, times=2, after_applying=after_applying)
        with contextlib.suppress(Exception):  # a failed tick is retried by the schedule, as in Lambda
            _sweep(client)
        assert faults.injected, "the fault was never hit: the test would prove nothing"
    # A claim whose answer was lost holds its lease; the next runs after it expires settle it.
    clock.advance(minutes=5)
    _sweep(client)
    clock.advance(minutes=5)
    _sweep(client)


@pytest.mark.parametrize(
    ("operation", "code", "after_applying"),
    [
        *itertools.product(["Query", "GetItem"], [THROTTLING, TIMEOUT], [False]),
        *itertools.product(["UpdateItem", "PutItem"], [THROTTLING, TIMEOUT], [False, True]),
    ],
)
def test_a_faulty_sweep_then_a_clean_one_sends_each_message_once(
    frozen_clock: FrozenClock,
    client: Client,
    fake_sender: Any,
    valid_intake: dict[str, Any],
    operation: str,
    code: str,
    after_applying: bool,
) -> None:
    for number in range(APPLICANTS):
        body = {**valid_intake, "phone": f"+49151234567{number:02d}", "given_name": f"Sweep {number}"}
        assert post_json(client, "/intake", body).status_code == 201

    _faulty_sweep_then_clean_ones(client, frozen_clock, operation, code, after_applying)

    sent_to = Counter(delivery.to for delivery in fake_sender.accepted)
    assert sent_to == {f"+49151234567{n:02d}": 1 for n in range(APPLICANTS)}


@pytest.mark.parametrize("code", [THROTTLING, TIMEOUT])
def test_a_faulty_check_of_the_appointments_then_clean_sweeps_send_each_booking_message_once(
    frozen_clock: FrozenClock,
    client: Client,
    fake_sender: Any,
    staff_token: Callable[..., str],
    submit_case: Callable[..., dict[str, Any]],
    code: str,
) -> None:
    """The sweep reads the appointment and its case before an appointment's SMS; those reads fail."""
    anna = Desk(client, staff_token(LMU, name="Anna Berger"))
    cases = [anna.claimed_case(submit_case) for _ in range(3)]
    _sweep(client)  # the intake SMS go out first, so the reads below are the appointments' check
    booked = []
    for day, case_id in enumerate(cases):
        status, body = anna.book(case_id, f"2025-03-1{2 + day}T10:00")
        assert status == 201, body
        booked += [m["message_id"] for m in body["messages"] if m["kind"] == "appointment_booked"]
    already = len(fake_sender.accepted)

    _faulty_sweep_then_clean_ones(client, frozen_clock, "GetItem", code)

    sent = Counter(delivery.message_id for delivery in fake_sender.accepted[already:])
    assert sent == dict.fromkeys(booked, 1)
