"""Booking retries: with an Idempotency-Key (without one: the same body from the same person right after),
a retry after a lost answer gets the booking, not a 409 or a second one."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from tests.conftest import FrozenClock, post_json
from tests.functional.appointment_desk import Desk, sms

BODY = {"start": "2025-03-12T10:00", "duration_minutes": 60, "location": "Raum 2.14"}


def book(
    client: Client, desk: Desk, case_id: str, key: str | None, body: dict[str, Any] = BODY
) -> tuple[int, Any, Any]:
    headers = {**desk.headers, "Idempotency-Key": key} if key is not None else desk.headers
    response = post_json(client, f"/staff/cases/{case_id}/appointments", body, headers)
    return response.status_code, json.loads(response.body), response.headers


def test_a_repeat_with_the_same_key_gets_the_same_booking_once(anna: Desk, case_id: str, client: Client) -> None:
    status, first, headers = book(client, anna, case_id, "book-1")
    assert status == 201 and "Idempotent-Replayed" not in headers
    status, again, headers = book(client, anna, case_id, "book-1")
    assert status == 201 and headers["Idempotent-Replayed"] == "true"
    assert again["appointment"] == first["appointment"] and again["case_status"] == "scheduled"
    assert sorted(m["kind"] for m in again["messages"]) == sorted(m["kind"] for m in first["messages"])
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert len(listed["appointments"]) == 1
    assert [m["kind"] for m in sms(case_id)].count("appointment_booked") == 1


# Without a key, the same request from the same person right after its booking gets that booking too.
KEYS = pytest.mark.parametrize("key", ["book-again", None], ids=["with a key", "without one"])


@KEYS
def test_the_retry_of_a_booking_whose_answer_was_lost_plans_the_sms_the_lost_answer_skipped(
    anna: Desk, case_id: str, client: Client, key: str | None
) -> None:
    from tests.reliability.faults import TIMEOUT, dynamodb_faults

    with dynamodb_faults() as faults:
        faults.inject("TransactWriteItems", TIMEOUT, after_applying=True)  # booked; the answer lost
        assert book(client, anna, case_id, key)[0] == 503
    assert sms(case_id) == []  # the booking is stored; its SMS were never planned
    for _ in range(2):  # the retry, and a double tap on it
        status, again, headers = book(client, anna, case_id, key)
        assert status == 201 and headers["Idempotent-Replayed"] == "true" and again["sms_planned"], again
        assert sorted(m["kind"] for m in again["messages"]) == ["appointment_booked", "reminder", "reminder"]
    kinds = [m["kind"] for m in sms(case_id)]
    assert (kinds.count("appointment_booked"), kinds.count("reminder")) == (1, 2), kinds
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert len(listed["appointments"]) == 1


@KEYS
def test_a_booking_whose_sms_step_finds_storage_busy_is_503_and_the_retry_plans_them(
    anna: Desk, case_id: str, client: Client, key: str | None
) -> None:
    from tests.reliability.faults import THROTTLING, dynamodb_faults

    with dynamodb_faults() as faults:
        faults.inject("PutItem", THROTTLING)  # the first SMS record's conditional put
        assert book(client, anna, case_id, key)[0] == 503
    status, again, headers = book(client, anna, case_id, key)
    assert status == 201 and headers["Idempotent-Replayed"] == "true" and again["sms_planned"], again
    kinds = [m["kind"] for m in sms(case_id)]
    assert (kinds.count("appointment_booked"), kinds.count("reminder")) == (1, 2), kinds


def test_without_a_key_only_the_same_request_right_after_is_answered_as_the_booking(
    anna: Desk, case_id: str, frozen_clock: FrozenClock
) -> None:
    """Another note for the same slot, or the same request after the repeat window, is a new booking: it clashes."""
    from chalicelib.domain.staff import REPEAT_WINDOW

    status, first = anna.post(f"/staff/cases/{case_id}/appointments", BODY)
    assert status == 201
    status, other = anna.post(f"/staff/cases/{case_id}/appointments", {**BODY, "note": "bring certificates"})
    assert status == 409 and other["code"] == "appointment_overlap", other
    frozen_clock.advance(seconds=(REPEAT_WINDOW + timedelta(minutes=1)).total_seconds())
    status, late = anna.post(f"/staff/cases/{case_id}/appointments", BODY)
    assert status == 409 and late["code"] == "appointment_overlap", late
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert [a["appointment_id"] for a in listed["appointments"]] == [first["appointment"]["appointment_id"]]


def test_the_same_key_with_another_body_is_409_and_books_nothing(anna: Desk, case_id: str, client: Client) -> None:
    assert book(client, anna, case_id, "book-2")[0] == 201
    status, body, _ = book(client, anna, case_id, "book-2", {**BODY, "start": "2025-03-12T14:00"})
    assert status == 409 and body["code"] == "idempotency_key_reused" and "Idempotency-Key" in body["error"]
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert [a["start_local"][11:16] for a in listed["appointments"]] == ["10:00"]


def test_a_repeat_answers_with_the_booking_as_it_stands_now(anna: Desk, case_id: str, client: Client) -> None:
    _, first, _ = book(client, anna, case_id, "book-3")
    appointment_id = first["appointment"]["appointment_id"]
    status, _ = anna.patch(f"/staff/cases/{case_id}/appointments/{appointment_id}", {"start": "2025-03-12T11:00"})
    assert status == 200
    status, again, headers = book(client, anna, case_id, "book-3")
    assert status == 201 and headers["Idempotent-Replayed"] == "true"
    assert again["appointment"]["start_local"][11:16] == "11:00" and again["appointment"]["reschedules"] == 1


def test_a_malformed_key_is_400_naming_it(anna: Desk, case_id: str, client: Client) -> None:
    status, body, _ = book(client, anna, case_id, "has space")
    assert status == 400 and [e["field"] for e in body["errors"]] == ["Idempotency-Key"]
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert listed["appointments"] == []


def test_the_key_belongs_to_its_case(
    anna: Desk, case_id: str, client: Client, submit_case: Callable[..., dict[str, Any]]
) -> None:
    other = anna.claimed_case(submit_case)
    _, first, _ = book(client, anna, case_id, "book-4")
    status, second, headers = book(client, anna, other, "book-4", {**BODY, "start": "2025-03-12T14:00"})
    assert status == 201 and "Idempotent-Replayed" not in headers
    assert second["appointment"]["appointment_id"] != first["appointment"]["appointment_id"]


@KEYS  # without a key: a double tap
def test_twins_sent_at_once_make_one_booking_and_both_get_it(
    monkeypatch: pytest.MonkeyPatch, anna: Desk, case_id: str, client: Client, atomic_dynamodb: None, key: str | None
) -> None:
    # The test client swaps os.environ per call; from many threads the swaps interleave.
    monkeypatch.setattr(os, "environ", os.environ)
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: book(client, anna, case_id, key), range(6)))
    assert {status for status, _, _ in answers} == {201}
    assert len({body["appointment"]["appointment_id"] for _, body, _ in answers}) == 1
    assert sum(1 for _, _, headers in answers if "Idempotent-Replayed" not in headers) == 1
    _, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert len(listed["appointments"]) == 1


def test_erasure_drops_the_booking_hash_with_the_note(anna: Desk, client: Client, valid_intake: dict[str, Any]) -> None:
    body = {**valid_intake, "qualification": {**valid_intake["qualification"], "profession_group": "health"}}
    created = json.loads(post_json(client, "/intake", body).body)
    case_id, secret = created["case_id"], created["status_link"].rsplit(".", 1)[1]
    anna.post(f"/staff/cases/{case_id}/claim")
    assert book(client, anna, case_id, "book-6", {**BODY, "note": "Layla Haddad, call her brother"})[0] == 201
    [booked] = bootstrap.appointment_service().store.for_case(case_id)
    assert booked.booking_request_hash is not None
    assert client.http.delete(f"/applicant/{case_id}", headers={"X-Status-Secret": secret}).status_code == 200
    [erased] = bootstrap.appointment_service().store.for_case(case_id)
    assert (erased.note, erased.booking_request_hash) == (None, None)
