"""An SMS that never reached the applicant shows on the case ("please check": call or write to them),
and staff mark any such flag dealt with: POST /staff/cases/{case_id}/attention/resolve."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from chalicelib.adapters.dynamodb.queue_store import DynamoQueueStore
from chalicelib.domain.messages import Values, render
from tests.conftest import EMPTY_STRINGS, FrozenClock, twilio_signature
from tests.functional.appointment_desk import (
    BASE,
    BERLIN,
    LMU,
    TWILIO_TOKEN,
    VIA,
    Desk,
    applicant_sends,
    sms,
    sweep,
    twilio_configured,
)


@pytest.fixture(autouse=True)
def _twilio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    twilio_configured(monkeypatch)


@pytest.fixture
def booked(anna: Desk, case_id: str, client: Client) -> dict[str, Any]:
    """12 March 10:00, booked after the intake's confirmation SMS went out; its booking SMS waits."""
    sweep(client)
    status, body = anna.book(case_id, "2025-03-12T10:00")
    assert status == 201, body
    return body["appointment"]


def twilio_reports(client: Client, message: dict[str, Any], status: str, code: str = "") -> None:
    pairs = [("MessageSid", message["twilio_sid"]), ("MessageStatus", status), ("ErrorCode", code)]
    path = f"/sms/status?m={message['message_id']}"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, BASE + path, pairs),
    }
    response = client.http.post(path, body=urlencode(pairs).encode(), headers=headers)
    assert response.status_code == 200, response.body


def booking_sms_reported(client: Client, case_id: str, status: str, code: str) -> None:
    """The booking SMS goes out, then Twilio reports on it."""
    sweep(client)
    [sent] = [m for m in sms(case_id) if m["kind"] == "appointment_booked"]
    twilio_reports(client, sent, status, code)


def flags(desk: Desk, case_id: str) -> list[tuple[str, str | None]]:
    return [(f["reason"], f["appointment_id"]) for f in desk.case(case_id)["attention"]]


def resolve(desk: Desk, case_id: str, body: Any) -> tuple[int, Any]:
    return desk.post(f"/staff/cases/{case_id}/attention/resolve", body)


def test_a_booking_sms_twilio_refused_flags_the_case_until_a_colleague_resolves_it(
    anna: Desk, case_id: str, client: Client, booked: dict[str, Any], fake_sender: Any, desk: Callable[..., Desk]
) -> None:
    fake_sender.fail_next("21614")  # not a mobile number
    sweep(client)
    [refused] = [m for m in sms(case_id) if m["kind"] == "appointment_booked"]
    assert (refused["status"], refused["error_code"]) == ("failed", "21614")
    expected = [("sms_not_delivered", booked["appointment_id"])]
    assert flags(anna, case_id) == expected
    _, log = anna.get(f"/staff/cases/{case_id}/messages")
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert [(f["reason"], f["appointment_id"]) for f in log["attention"]] == expected
    assert [(f["reason"], f["appointment_id"]) for f in listed["attention"]] == expected

    # Lena, Anna's colleague, called the applicant: any staff of the institution may resolve it.
    lena = desk(LMU, name="Lena Huber")
    body = {"reason": "sms_not_delivered", "appointment_id": booked["appointment_id"], "note": "Called: she comes"}
    status, case = resolve(lena, case_id, body)
    assert status == 200, case
    assert (case["attention"], case["status"], case["claimed_by_name"]) == ([], "scheduled", "Anna Berger")
    last = case["history"][-1]
    assert (last["action"], last["detail"]["note"], last["detail"]["by_name"]) == (
        "attention_resolved",
        "Called: she comes",
        "Lena Huber",
    )
    assert flags(anna, case_id) == []
    # Her retry after a lost answer is answered as done, written once; Anna then finds nothing open.
    assert resolve(lena, case_id, body)[0] == 200
    assert [h["action"] for h in anna.case(case_id)["history"]].count("attention_resolved") == 1
    status, error = resolve(anna, case_id, body)
    assert (status, error["code"]) == (409, "attention_not_open")
    _, trail = anna.get(f"/staff/cases/{case_id}/audit")
    [entry] = [e for e in trail["entries"] if e["action"] == "resolve_attention"]
    assert entry["staff_name"] == "Lena Huber" and "Called" not in str(entry)  # the note stays in the case


def test_twilio_reporting_undelivered_flags_once_and_moving_the_appointment_settles_it(
    anna: Desk, case_id: str, client: Client, booked: dict[str, Any], frozen_clock: FrozenClock
) -> None:
    sweep(client)
    [sent] = [m for m in sms(case_id) if m["kind"] == "appointment_booked"]
    assert sent["twilio_sid"] and flags(anna, case_id) == []
    twilio_reports(client, sent, "undelivered", "30003")  # the phone is off or unreachable
    twilio_reports(client, sent, "undelivered", "30003")  # Twilio's retry of the same callback
    assert flags(anna, case_id) == [("sms_not_delivered", booked["appointment_id"])]
    assert [h["action"] for h in anna.case(case_id)["history"]].count("sms_attention") == 1
    frozen_clock.advance(minutes=5)
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment_id']}"
    assert anna.patch(path, {"start": "2025-03-13T10:00"})[0] == 200
    assert flags(anna, case_id) == []


def test_a_delivered_sms_and_an_opt_out_at_twilio_raise_no_flag(
    anna: Desk, case_id: str, client: Client, booked: dict[str, Any], fake_sender: Any
) -> None:
    sweep(client)
    [sent] = [m for m in sms(case_id) if m["kind"] == "appointment_booked"]
    twilio_reports(client, sent, "delivered")
    assert flags(anna, case_id) == []
    anna.book(case_id, "2025-03-19T10:00")
    fake_sender.fail_next("21610")  # unsubscribed at Twilio: the case shows the opt-out instead
    sweep(client)
    _, log = anna.get(f"/staff/cases/{case_id}/messages")
    assert log["opted_out"] is True and log["attention"] == [] and flags(anna, case_id) == []


def test_an_unsent_confirmation_flags_the_case_without_an_appointment(
    anna: Desk, case_id: str, client: Client, fake_sender: Any
) -> None:
    fake_sender.fail_next("21211")  # invalid number
    sweep(client)
    assert flags(anna, case_id) == [("sms_not_delivered", None)]
    assert resolve(anna, case_id, {"reason": "sms_not_delivered", "appointment_id": None})[0] == 200
    assert flags(anna, case_id) == []


def test_an_erased_case_keeps_no_flag(
    anna: Desk, case_id: str, client: Client, fake_sender: Any, desk: Callable[..., Desk]
) -> None:
    fake_sender.fail_next("21211")
    sweep(client)
    assert flags(anna, case_id) == [("sms_not_delivered", None)]
    clara = desk(None, role="coordinator", name="Clara Coordinator")
    status, body = clara.post(f"/coordinator/cases/{case_id}/erase", {"reason": "applicant_request"})
    assert status == 200, body
    assert flags(anna, case_id) == []  # nothing left to act on, and nothing that could be resolved


def test_twilio_reporting_an_unsubscribed_number_records_the_opt_out(
    anna: Desk, case_id: str, client: Client, booked: dict[str, Any]
) -> None:
    booking_sms_reported(client, case_id, "undelivered", "21610")
    _, log = anna.get(f"/staff/cases/{case_id}/messages")
    assert log["opted_out"] is True and log["attention"] == []
    anna.book(case_id, "2025-03-19T10:00")  # the next booking's SMS is not even tried
    assert sorted(m["status"] for m in sms(case_id) if m["kind"] == "appointment_booked") == [
        "suppressed",
        "undelivered",
    ]


def test_resolving_refuses_bad_input_and_other_institutions(
    anna: Desk, case_id: str, client: Client, fake_sender: Any, desk: Callable[..., Desk]
) -> None:
    fake_sender.fail_next("21211")
    sweep(client)
    before = anna.case(case_id)
    for body, field in [
        ({}, "reason"),
        ({"reason": "lost"}, "reason"),
        ({"reason": "sms_not_delivered", "appointment_id": ""}, "appointment_id"),
        ({"reason": "sms_not_delivered", "note": "x" * 2001}, "note"),
        ({"reason": "sms_not_delivered", "who": "me"}, "who"),
    ]:
        status, error = resolve(anna, case_id, body)
        assert status == 400 and [e["field"] for e in error["errors"]] == [field], error
    status, error = resolve(desk(VIA, name="Vera Vogel"), case_id, {"reason": "sms_not_delivered"})
    assert (status, error["code"]) == (404, "not_found")
    assert client.http.post(f"/staff/cases/{case_id}/attention/resolve").status_code == 401
    after = anna.case(case_id)
    assert after["attention"] == before["attention"] != [] and after["history"] == before["history"]


def test_resolving_on_an_unclaimed_case_keeps_an_overdue_mark_made_meanwhile(
    client: Client,
    submit_case: Callable[..., dict[str, Any]],
    fake_sender: Any,
    frozen_clock: FrozenClock,
    desk: Callable[..., Desk],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SLA sweep marks the case overdue between the resolve's read and its write: the resolve
    changes neither status nor partner, so it must not write the old `overdue: false` back."""
    case_id = submit_case("health")["case_id"]  # Friday 10:00, routed to the hospital
    fake_sender.fail_next("21211")
    sweep(client)
    frozen_clock.set(datetime(2025, 3, 11, 10, 0, tzinfo=BERLIN))  # Tuesday 10:00: two working days
    original = DynamoQueueStore.apply

    def apply_after_the_sla_sweep(store: Any, *args: Any, **kwargs: Any) -> None:
        event = client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        assert client.lambda_.invoke("mark_overdue_cases", event).payload["marked"] == 1
        monkeypatch.setattr(DynamoQueueStore, "apply", original)
        original(store, *args, **kwargs)

    monkeypatch.setattr(DynamoQueueStore, "apply", apply_after_the_sla_sweep)
    lena = desk(LMU, name="Lena Huber")
    assert resolve(lena, case_id, {"reason": "sms_not_delivered"})[0] == 200
    case = lena.case(case_id)
    assert (case["status"], case["overdue"], case["attention"]) == ("routed", True, [])
    assert [h["action"] for h in case["history"]][-2:] == ["overdue", "attention_resolved"]
    assert [c["overdue"] for c in lena.queue()["cases"] if c["case_id"] == case_id] == [True]


def queue_says_check(desk: Desk, case_id: str, query: str = "?status=claimed") -> bool:
    [row] = [c for c in desk.queue(query)["cases"] if c["case_id"] == case_id]
    return row["attention"]


def test_the_queue_row_says_please_check_while_a_flag_waits(
    anna: Desk, case_id: str, client: Client, booked: dict[str, Any], fake_sender: Any, frozen_clock: FrozenClock
) -> None:
    assert queue_says_check(anna, case_id) is False
    fake_sender.fail_next("21614")
    sweep(client)  # the booking SMS is refused
    assert queue_says_check(anna, case_id) is True
    body = {"reason": "sms_not_delivered", "appointment_id": booked["appointment_id"]}
    assert resolve(anna, case_id, body)[0] == 200
    assert queue_says_check(anna, case_id) is False
    # A later failure raises it again; moving the appointment it names settles it.
    frozen_clock.advance(minutes=5)
    path = f"/staff/cases/{case_id}/appointments/{booked['appointment_id']}"
    assert anna.patch(path, {"start": "2025-03-13T10:00"})[0] == 200
    fake_sender.fail_next("21614")
    sweep(client)  # the change SMS is refused too
    assert queue_says_check(anna, case_id) is True
    frozen_clock.advance(minutes=5)
    assert anna.patch(path, {"start": "2025-03-14T10:00"})[0] == 200
    assert queue_says_check(anna, case_id) is False and flags(anna, case_id) == []


def test_a_flag_raised_while_a_colleague_resolves_another_keeps_the_queue_row_marked(
    anna: Desk,
    case_id: str,
    client: Client,
    booked: dict[str, Any],
    fake_sender: Any,
    desk: Callable[..., Desk],
    frozen_clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second flag lands between the resolve's read and its write: the resolve did not see it,
    so neither the case nor its queue row may lose it."""
    fake_sender.fail_next("21614")
    sweep(client)
    original = DynamoQueueStore.apply

    def apply_after_another_flag(store: Any, *args: Any, **kwargs: Any) -> None:
        from chalicelib.adapters.dynamodb.appointment_store import DynamoCaseAttention

        monkeypatch.setattr(DynamoQueueStore, "apply", original)
        frozen_clock.advance(seconds=1)
        DynamoCaseAttention().flag(case_id, "cannot_come", booked["appointment_id"], frozen_clock.now())
        original(store, *args, **kwargs)

    monkeypatch.setattr(DynamoQueueStore, "apply", apply_after_another_flag)
    frozen_clock.advance(seconds=1)
    lena = desk(LMU, name="Lena Huber")
    assert resolve(lena, case_id, {"reason": "sms_not_delivered", "appointment_id": booked["appointment_id"]})[0] == 200
    assert flags(anna, case_id) == [("cannot_come", booked["appointment_id"])]
    assert queue_says_check(anna, case_id) is True


def test_two_colleagues_resolving_the_same_flag_at_once_write_it_once(
    anna: Desk,
    case_id: str,
    client: Client,
    fake_sender: Any,
    desk: Callable[..., Desk],
    frozen_clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Max's resolve lands between Lena's read and her write (interleaved by hand: chalice's test
    client is not safe to call from threads): hers must not be written too."""
    fake_sender.fail_next("21211")
    sweep(client)
    frozen_clock.advance(minutes=1)  # a case write's time tells it apart from the claim's
    lena, max_ = desk(LMU, name="Lena Huber"), desk(LMU, name="Max Weber")
    original = DynamoQueueStore.apply
    answers: list[tuple[int, Any]] = []

    def max_first(store: Any, *args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(DynamoQueueStore, "apply", original)
        answers.append(resolve(max_, case_id, {"reason": "sms_not_delivered"}))
        original(store, *args, **kwargs)

    monkeypatch.setattr(DynamoQueueStore, "apply", max_first)
    status, error = resolve(lena, case_id, {"reason": "sms_not_delivered"})
    assert answers[0][0] == 200 and (status, error["code"]) == (409, "attention_not_open")
    history = anna.case(case_id)["history"]
    assert [h["action"] for h in history].count("attention_resolved") == 1
    assert history[-1]["detail"]["by_name"] == "Max Weber"


@EMPTY_STRINGS  # the inbound SMS record
def test_a_2_to_an_sms_reported_undelivered_still_reaches_staff(
    anna: Desk, case_id: str, client: Client, booked: dict[str, Any]
) -> None:
    """Carriers sometimes report a delivered SMS as undelivered; the applicant's answer shows it arrived."""
    booking_sms_reported(client, case_id, "undelivered", "30003")
    answer = applicant_sends(client, "2", "SM-two-after-undelivered")
    assert render("reply_not_coming", "ar", Values()).body in answer  # not "we find no appointment"
    assert sorted(flags(anna, case_id)) == [
        ("cannot_come", booked["appointment_id"]),
        ("sms_not_delivered", booked["appointment_id"]),
    ]
