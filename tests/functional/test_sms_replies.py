"""What an applicant's `1`, `2` or CANCEL reaches when no SMS we sent names an appointment ahead:
the number's own cases (a new intake whose confirmation is not planned yet, an appointment booked
whose SMS waits for the morning, an applicant without SMS consent who knows their appointment)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.domain.messages import Values, render
from tests.conftest import EMPTY_STRINGS
from tests.functional.appointment_desk import Desk, applicant_sends, sms, sweep, twilio_configured


@pytest.fixture(autouse=True)
def _twilio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    twilio_configured(monkeypatch)


def reply(twiml: str) -> str | None:
    return twiml.split("<Message>")[1].split("</Message>")[0] if "<Message>" in twiml else None


def text(key: str, language: str) -> str:
    return render(key, language, Values()).body


def flags(desk: Desk, case_id: str) -> list[tuple[str, str | None]]:
    return [(f["reason"], f["appointment_id"]) for f in desk.case(case_id)["attention"]]


def inbound(case_id: str) -> list[tuple[str | None, str | None, str | None]]:
    return [(m["reply"], m["attention"], m["appointment_id"]) for m in sms(case_id) if m["direction"] == "inbound"]


@EMPTY_STRINGS
def test_a_1_before_the_confirmation_is_planned_finds_the_new_request(
    client: Client, anna: Desk, submit_case: Callable[..., dict[str, Any]]
) -> None:
    """The intake's confirmation is planned by the next sweep, minutes later; the applicant who
    answers before that has an open request and is answered in its language."""
    case_id = submit_case("health", language="uk")["case_id"]
    assert sms(case_id) == []
    assert reply(applicant_sends(client, "1", "SMnew1")) == text("reply_no_appointment", "uk")
    assert inbound(case_id) == [("1", None, None)]
    assert flags(anna, case_id) == []


@EMPTY_STRINGS
def test_cancel_before_any_sms_flags_the_new_request(
    client: Client, anna: Desk, submit_case: Callable[..., dict[str, Any]]
) -> None:
    case_id = submit_case("health", language="fr")["case_id"]
    assert reply(applicant_sends(client, "CANCEL", "SMnew2")) == text("reply_opted_out", "fr")
    assert flags(anna, case_id) == [("cancel_opt_out", None)]


@EMPTY_STRINGS
@pytest.mark.parametrize("texted", [True, False], ids=["booking-sms-waits", "no-sms-consent"])
def test_a_2_reaches_an_appointment_the_applicant_heard_of_elsewhere(
    client: Client, anna: Desk, submit_case: Callable[..., dict[str, Any]], texted: bool
) -> None:
    """Booked on the phone: its SMS waits for the sweep (at night, until 08:00), or there is none
    (no SMS consent). A `2` is still about that appointment, and staff must learn of it."""
    consent = {"data_processing": True, "share_with_partners": True, "sms": texted}
    case_id = submit_case("health", consent=consent)["case_id"]
    assert anna.post(f"/staff/cases/{case_id}/claim")[0] == 200
    status, booked = anna.book(case_id, "2025-03-12T10:00")
    assert status == 201, booked
    appointment_id = booked["appointment"]["appointment_id"]
    assert not [m for m in sms(case_id) if m["sent_at"]], "nothing has gone out yet"
    assert reply(applicant_sends(client, "2", "SMbooked2")) == text("reply_not_coming", "ar")
    assert flags(anna, case_id) == [("cannot_come", appointment_id)]
    status, listed = anna.get(f"/staff/cases/{case_id}/appointments")
    assert [a["applicant_reply"] for a in listed["appointments"]] == ["2"]


@EMPTY_STRINGS
def test_a_new_request_after_a_closed_one_is_the_one_answered(
    client: Client, anna: Desk, submit_case: Callable[..., dict[str, Any]]
) -> None:
    old = anna.claimed_case(submit_case)
    sweep(client)  # the old case's confirmation went out: the newest SMS of the number is the old case's
    assert anna.post(f"/staff/cases/{old}/close", {"outcome": "counselled"})[0] == 200
    new = submit_case("health", language="es")["case_id"]
    assert reply(applicant_sends(client, "2", "SMnewer")) == text("reply_no_appointment", "es")
    assert inbound(new) == [("2", None, None)]
    assert inbound(old) == []


@EMPTY_STRINGS
@pytest.mark.parametrize(("body", "key"), [("HILFE", "reply_help"), ("STOP", "reply_opted_out")])
def test_before_any_sms_of_ours_replies_are_in_the_cases_language(
    client: Client, anna: Desk, submit_case: Callable[..., dict[str, Any]], body: str, key: str
) -> None:
    """No SMS went to the number yet (the confirmation waits for the sweep, or no SMS consent): the
    reply speaks the case's language, not the default German."""
    submit_case("health", language="fa")
    assert reply(applicant_sends(client, body, "SMfa" + body)) == text(key, "fa")


@EMPTY_STRINGS
def test_a_2_on_a_closed_case_without_sms_consent_is_answered_in_its_language(
    client: Client, anna: Desk, submit_case: Callable[..., dict[str, Any]]
) -> None:
    consent = {"data_processing": True, "share_with_partners": True, "sms": False}
    case_id = submit_case("health", language="uk", consent=consent)["case_id"]
    assert anna.post(f"/staff/cases/{case_id}/claim")[0] == 200
    assert anna.post(f"/staff/cases/{case_id}/close", {"outcome": "counselled"})[0] == 200
    assert reply(applicant_sends(client, "2", "SMuk2")) == text("reply_no_case", "uk")
