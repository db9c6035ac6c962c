"""Twilio → us: signed inbound SMS (STOP/START/HELP, answers 1/2, CANCEL) and status callbacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.domain.messages import render
from chalicelib.services.sms_webhooks import REPLIED_CANNOT_COME
from tests.conftest import EMPTY_STRINGS, auth, post_json, twilio_signature

TOKEN = "twilio-test-auth-token"
BASE = "https://abc123.execute-api.eu-central-1.amazonaws.com/api"  # API Gateway stage "api" in the path
PHONE = "+4915112345678"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _twilio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)


def post_form(
    client: Client,
    path: str,
    pairs: list[tuple[str, str]],
    signature: str | None = "sign",
    signed_url: str | None = None,
    token: str = TOKEN,
) -> Any:
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
    if signature == "sign":
        signature = twilio_signature(token, signed_url or BASE + path, pairs)
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    return client.http.post(path, body=urlencode(pairs).encode("utf-8"), headers=headers)


def inbound(body: str, sid: str, sender: str = PHONE) -> list[tuple[str, str]]:
    return [
        ("ToCountry", "DE"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("Body", body),
        ("From", sender),
        ("To", "+4989123456"),
        ("MessageSid", sid),
        ("AccountSid", "AC" + "1" * 32),
        ("FromCity", ""),  # Twilio sends blank fields; they are part of the signature
    ]


def message_text(response: Any) -> str | None:
    assert response.status_code == 200, response.body
    assert response.headers["Content-Type"].startswith("text/xml")
    body = response.body.decode() if isinstance(response.body, bytes) else response.body
    if "<Message>" not in body:
        return None
    return body.split("<Message>")[1].split("</Message>")[0]


@pytest.fixture
def applicant(frozen_clock: Any, fake_sender: Any, client: Client, valid_intake: dict[str, Any]) -> Any:
    """An Arabic-speaking applicant whose intake SMS and 24 h reminder have gone out."""
    created = json.loads(post_json(client, "/intake", valid_intake).body)
    case = bootstrap.intake_service().store.get_case(created["case_id"])
    partner = bootstrap.directory().partners()[case.partner]
    start = datetime(2025, 3, 11, 10, 0, tzinfo=BERLIN)
    appointment = SimpleNamespace(appointment_id="appt-1", start=start, location=None, online_url=None)
    _store_booked(case.case_id, case.partner, appointment.appointment_id, start)  # the sweep checks it stands
    bootstrap.messaging_service().plan_appointment_messages(case, appointment, partner)
    frozen_clock.set(datetime(2025, 3, 10, 10, 5, tzinfo=BERLIN))  # the 24 h reminder is due
    invoke_sweep(client)
    kinds = [m["kind"] for m in bootstrap.messaging_service().messages_for_case(case.case_id) if m["sent_at"]]
    assert sorted(kinds) == ["appointment_booked", "intake_received", "reminder"]
    return SimpleNamespace(case=case, partner=partner, appointment=appointment, clock=frozen_clock)


def _store_booked(case_id: str, partner: str, appointment_id: str, start: datetime) -> None:
    from chalicelib.adapters.dynamodb.models import AppointmentModel
    from chalicelib.domain.cases import iso

    made = iso(start - timedelta(days=2))
    AppointmentModel(
        case_id,
        appointment_id,
        partner=partner,
        staff_id="staff-1",
        staff_name="Anna Berger",
        start=iso(start),
        duration_minutes=30,
        status="booked",
        created_at=made,
        updated_at=made,
        booked_by="staff-1",
    ).save()


def invoke_sweep(client: Client) -> dict[str, Any]:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke("send_due_messages", event).payload


def case_messages(case_id: str) -> list[dict[str, Any]]:
    return bootstrap.messaging_service().messages_for_case(case_id)


# --- signatures -------------------------------------------------------------------------------


def test_unsigned_inbound_is_rejected(client: Client, fake_sender: Any) -> None:
    response = post_form(client, "/sms/inbound", inbound("STOP", "SM1"), signature=None)
    assert response.status_code == 403
    assert json.loads(response.body)["code"] == "invalid_signature"


def test_forged_inbound_is_rejected_and_changes_nothing(client: Client, fake_sender: Any) -> None:
    response = post_form(client, "/sms/inbound", inbound("STOP", "SM1"), token="not-the-token")
    assert response.status_code == 403
    assert not bootstrap.message_store().is_opted_out(_hash(PHONE))


def test_a_signature_for_other_fields_is_rejected(client: Client, fake_sender: Any) -> None:
    signed = twilio_signature(TOKEN, BASE + "/sms/inbound", inbound("HELP", "SM1"))
    response = post_form(client, "/sms/inbound", inbound("STOP", "SM1"), signature=signed)
    assert response.status_code == 403


def test_the_url_must_be_the_one_twilio_saw_with_the_stage(client: Client, fake_sender: Any) -> None:
    without_stage = "https://abc123.execute-api.eu-central-1.amazonaws.com/sms/inbound"
    response = post_form(client, "/sms/inbound", inbound("HELP", "SM1"), signed_url=without_stage)
    assert response.status_code == 403
    assert post_form(client, "/sms/inbound", inbound("HELP", "SM1")).status_code == 200


def test_blank_and_repeated_fields_are_kept_exactly(client: Client, fake_sender: Any) -> None:
    pairs = [*inbound("HELP", "SM7"), ("MediaUrl0", ""), ("AddOns", "a"), ("AddOns", "b"), ("Note", " spaced ")]
    assert post_form(client, "/sms/inbound", pairs).status_code == 200
    dropped_blank = [p for p in pairs if p[1] != ""]
    forged = twilio_signature(TOKEN, BASE + "/sms/inbound", dropped_blank)
    assert post_form(client, "/sms/inbound", pairs, signature=forged).status_code == 403


def test_unsigned_status_callbacks_are_rejected(client: Client, fake_sender: Any) -> None:
    pairs = [("MessageSid", "SM1"), ("MessageStatus", "delivered")]
    assert post_form(client, "/sms/status", pairs, signature=None).status_code == 403
    assert post_form(client, "/sms/status", pairs, token="forged").status_code == 403


# --- opt-out, opt-in, help ----------------------------------------------------------------------


@EMPTY_STRINGS
def test_stop_opts_out_confirms_once_in_the_applicants_language(client: Client, applicant: Any) -> None:
    reply = message_text(post_form(client, "/sms/inbound", inbound("Stop.", "SMstop1")))
    assert reply == render("reply_opted_out", "ar", no_values()).body
    assert message_text(post_form(client, "/sms/inbound", inbound("STOP", "SMstop2"))) is None  # only once


@EMPTY_STRINGS
def test_twilio_retries_of_one_message_are_answered_once(client: Client, applicant: Any) -> None:
    first = post_form(client, "/sms/inbound", inbound("ABMELDEN", "SMretry"))
    again = post_form(client, "/sms/inbound", inbound("ABMELDEN", "SMretry"))
    assert message_text(first) is not None
    assert again.body == first.body  # the same answer, not "already opted out" silence
    inbound_records = [m for m in case_messages(applicant.case.case_id) if m["direction"] == "inbound"]
    assert len(inbound_records) == 1


def test_stop_is_honoured_by_every_later_send(client: Client, applicant: Any, fake_sender: Any) -> None:
    post_form(client, "/sms/inbound", inbound("stop please", "SMs"))
    before = len(fake_sender.accepted)
    service = bootstrap.messaging_service()
    moved = SimpleNamespace(
        appointment_id="appt-1", start=datetime(2025, 3, 12, 15, 0, tzinfo=BERLIN), location=None, online_url=None
    )
    planned = service.replan_appointment_messages(applicant.case, moved, applicant.partner)
    assert planned and {m.status for m in planned} == {"suppressed"}
    assert {m.reason for m in planned} == {"opted_out"}
    applicant.clock.advance(days=3)
    invoke_sweep(client)
    assert len(fake_sender.accepted) == before  # nothing more, ever
    # Even a reminder planned before the STOP is stopped at send time.
    assert all(m["status"] != "pending" for m in case_messages(applicant.case.case_id))


def test_a_new_intake_from_a_stopped_number_gets_no_sms(
    client: Client, applicant: Any, fake_sender: Any, valid_intake: dict[str, Any]
) -> None:
    post_form(client, "/sms/inbound", inbound("STOP", "SMn"))
    before = len(fake_sender.accepted)
    again = json.loads(post_json(client, "/intake", valid_intake).body)  # same phone, new case
    assert invoke_sweep(client)["suppressed"] == 1
    assert len(fake_sender.accepted) == before
    [planned] = case_messages(again["case_id"])
    assert (planned["status"], planned["reason"]) == ("suppressed", "opted_out")


@EMPTY_STRINGS
def test_start_opts_back_in(client: Client, applicant: Any) -> None:
    post_form(client, "/sms/inbound", inbound("STOP", "SMa"))
    reply = message_text(post_form(client, "/sms/inbound", inbound("START", "SMb")))
    assert reply == render("reply_opted_in", "ar", no_values()).body
    assert not bootstrap.message_store().is_opted_out(_hash(PHONE))


@pytest.mark.parametrize("word", ["HELP", "hilfe"])
@EMPTY_STRINGS
def test_help_is_answered_in_the_applicants_language(client: Client, applicant: Any, word: str) -> None:
    reply = message_text(post_form(client, "/sms/inbound", inbound(word, "SMh" + word)))
    assert reply == render("reply_help", "ar", no_values()).body


def test_an_unknown_number_gets_german_help(client: Client, fake_sender: Any) -> None:
    reply = message_text(post_form(client, "/sms/inbound", inbound("HILFE", "SMx", sender="+4917700000000")))
    assert reply == render("reply_help", "de", no_values()).body


# --- answers to reminders ---------------------------------------------------------------------


@EMPTY_STRINGS
def test_a_2_is_recorded_on_the_reminder_and_shown_to_staff(client: Client, applicant: Any) -> None:
    reply = message_text(post_form(client, "/sms/inbound", inbound("2", "SMr2")))
    assert reply == render("reply_not_coming", "ar", no_values()).body
    messages = case_messages(applicant.case.case_id)
    reminder = next(m for m in messages if m["kind"] == "reminder" and m["sent_at"])
    assert reminder["reply"] == "2"
    flagged = [m for m in messages if m["direction"] == "inbound"]
    assert [(m["attention"], m["body"], m["appointment_id"]) for m in flagged] == [("cannot_come", "2", "appt-1")]


@EMPTY_STRINGS
@pytest.mark.parametrize(("body", "held"), [("2", True), ("1", False)])
def test_after_a_2_no_further_reminder_asks_again(client: Client, applicant: Any, body: str, held: bool) -> None:
    """The 2 h reminder would ask "1 or 2?" of someone who said they cannot come; staff call instead."""
    later = [m for m in case_messages(applicant.case.case_id) if m["kind"] == "reminder" and not m["sent_at"]]
    assert [m["status"] for m in later] == ["pending"]
    post_form(client, "/sms/inbound", inbound(body, "SMhold" + body))
    applicant.clock.set(applicant.appointment.start - timedelta(hours=2, minutes=-5))
    invoke_sweep(client)
    after = next(m for m in case_messages(applicant.case.case_id) if m["message_id"] == later[0]["message_id"])
    if held:
        assert (after["status"], after["reason"], after["sent_at"]) == ("cancelled", REPLIED_CANNOT_COME, None)
    else:
        assert after["status"] != "cancelled" and after["sent_at"]


@pytest.mark.parametrize(("body", "answer"), [("1", "1"), ("Ja", "1"), ("NEIN", "2")])
def test_digits_and_ja_nein_are_answers(client: Client, applicant: Any, body: str, answer: str) -> None:
    post_form(client, "/sms/inbound", inbound(body, "SMans" + body))
    reminder = next(m for m in case_messages(applicant.case.case_id) if m["kind"] == "reminder" and m["sent_at"])
    assert reminder["reply"] == answer


@EMPTY_STRINGS
def test_no_problem_is_not_taken_for_a_2(client: Client, applicant: Any) -> None:
    reply = message_text(post_form(client, "/sms/inbound", inbound("No problem, see you", "SMnp")))
    assert reply == render("reply_unknown", "ar", no_values()).body
    assert [m["attention"] for m in case_messages(applicant.case.case_id) if m["direction"] == "inbound"] == [None]
    reminder = next(m for m in case_messages(applicant.case.case_id) if m["kind"] == "reminder" and m["sent_at"])
    assert reminder.get("reply") is None


@EMPTY_STRINGS
def test_a_1_is_not_flagged(client: Client, applicant: Any) -> None:
    reply = message_text(post_form(client, "/sms/inbound", inbound("1", "SMr1")))
    assert reply == render("reply_coming", "ar", no_values()).body
    assert [m["attention"] for m in case_messages(applicant.case.case_id) if m["direction"] == "inbound"] == [None]


@EMPTY_STRINGS
def test_cancel_opts_out_and_flags_the_case_for_a_call(client: Client, applicant: Any) -> None:
    reply = message_text(post_form(client, "/sms/inbound", inbound("CANCEL", "SMc")))
    assert reply == render("reply_opted_out_cancel", "ar", no_values()).body
    assert bootstrap.message_store().is_opted_out(_hash(PHONE))
    flagged = [m["attention"] for m in case_messages(applicant.case.case_id) if m["direction"] == "inbound"]
    assert flagged == ["cancel_opt_out"]


@EMPTY_STRINGS
def test_a_2_about_an_appointment_moved_without_its_sms_still_reaches_staff(client: Client, applicant: Any) -> None:
    """Moved while the number had said STOP (its change SMS suppressed): the applicant answers the
    reminder they hold, and staff must still learn that they cannot come."""
    moved = datetime(2025, 3, 12, 15, 0, tzinfo=BERLIN)
    _store_booked(applicant.case.case_id, applicant.case.partner, "appt-1", moved)
    reply = message_text(post_form(client, "/sms/inbound", inbound("2", "SMmoved")))
    assert reply == render("reply_not_coming", "ar", no_values()).body
    flagged = [m for m in case_messages(applicant.case.case_id) if m["direction"] == "inbound"]
    assert [(m["attention"], m["appointment_id"]) for m in flagged] == [("cannot_come", "appt-1")]


@EMPTY_STRINGS
def test_a_2_about_a_cancelled_appointment_finds_none(client: Client, applicant: Any) -> None:
    from chalicelib.adapters.dynamodb.models import AppointmentModel

    AppointmentModel.get(applicant.case.case_id, "appt-1").update(actions=[AppointmentModel.status.set("cancelled")])
    reply = message_text(post_form(client, "/sms/inbound", inbound("2", "SMgone")))
    assert reply == render("reply_no_appointment", "ar", no_values()).body


def test_a_2_from_a_number_without_a_case_promises_nobody_will_call(client: Client, fake_sender: Any) -> None:
    reply = message_text(post_form(client, "/sms/inbound", inbound("2", "SMz", sender="+4917711111111")))
    assert reply == render("reply_no_case", "de", no_values()).body
    assert "meldet sich" not in reply


def _close(case_id: str, erase: bool = False) -> None:
    from chalicelib.adapters.dynamodb.models import AppointmentModel, CaseModel

    AppointmentModel.get(case_id, "appt-1").update(actions=[AppointmentModel.status.set("cancelled")])
    if erase:
        CaseModel.get(case_id).delete()
    else:
        CaseModel.get(case_id).update(actions=[CaseModel.status.set("closed")])


@EMPTY_STRINGS
@pytest.mark.parametrize("erase", [False, True], ids=["closed", "erased"])
def test_a_2_on_a_case_no_longer_handled_says_so_and_flags_nothing(client: Client, applicant: Any, erase: bool) -> None:
    """Nobody holds a closed or erased case: the reply must not promise that the office gets in touch."""
    _close(applicant.case.case_id, erase)
    reply = message_text(post_form(client, "/sms/inbound", inbound("2", "SMclosed")))
    assert reply == render("reply_no_case", "ar", no_values()).body
    inbound_sms = [m for m in case_messages(applicant.case.case_id) if m["direction"] == "inbound"]
    assert [(m["reply"], m["attention"]) for m in inbound_sms] == [("2", None)]


@EMPTY_STRINGS
def test_cancel_with_no_appointment_ahead_flags_an_open_case_without_promising_a_call(
    client: Client, applicant: Any, staff_token: Callable[..., str]
) -> None:
    from chalicelib.adapters.dynamodb.models import AppointmentModel

    AppointmentModel.get(applicant.case.case_id, "appt-1").update(actions=[AppointmentModel.status.set("cancelled")])
    reply = message_text(post_form(client, "/sms/inbound", inbound("CANCEL", "SMc0")))
    assert reply == render("reply_opted_out", "ar", no_values()).body
    flagged = [m for m in case_messages(applicant.case.case_id) if m["direction"] == "inbound"]
    assert [(m["attention"], m["appointment_id"]) for m in flagged] == [("cancel_opt_out", None)]
    staff = auth(staff_token(applicant.case.partner))
    case = json.loads(client.http.get(f"/staff/cases/{applicant.case.case_id}", headers=staff).body)
    assert [(a["reason"], a["appointment_id"]) for a in case["attention"]] == [("cancel_opt_out", None)]


@EMPTY_STRINGS
@pytest.mark.parametrize("erase", [False, True], ids=["closed", "erased"])
def test_cancel_on_a_closed_case_opts_out_without_a_flag(client: Client, applicant: Any, erase: bool) -> None:
    _close(applicant.case.case_id, erase)
    reply = message_text(post_form(client, "/sms/inbound", inbound("CANCEL", "SMc1")))
    assert reply == render("reply_opted_out", "ar", no_values()).body
    assert bootstrap.message_store().is_opted_out(_hash(PHONE))
    assert [m["attention"] for m in case_messages(applicant.case.case_id) if m["direction"] == "inbound"] == [None]


# --- status callbacks ------------------------------------------------------------------------


def test_status_callbacks_update_status_and_error_code(client: Client, applicant: Any) -> None:
    reminder = next(m for m in case_messages(applicant.case.case_id) if m["kind"] == "reminder" and m["sent_at"])
    path = f"/sms/status?m={reminder['message_id']}"
    sid = reminder["twilio_sid"]
    delivered = [("MessageSid", sid), ("MessageStatus", "delivered"), ("To", PHONE), ("ErrorCode", "")]
    assert post_form(client, path, delivered).status_code == 200
    late_sent = [("MessageSid", sid), ("MessageStatus", "sent"), ("To", PHONE)]
    post_form(client, path, late_sent)  # out of order: must not move the status back
    current = next(m for m in case_messages(applicant.case.case_id) if m["message_id"] == reminder["message_id"])
    assert current["status"] == "delivered"

    booked = next(m for m in case_messages(applicant.case.case_id) if m["kind"] == "appointment_booked")
    failed = [("MessageSid", booked["twilio_sid"]), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")]
    post_form(client, "/sms/status", failed)  # no message id in the URL: found by Twilio's SID
    current = next(m for m in case_messages(applicant.case.case_id) if m["message_id"] == booked["message_id"])
    assert (current["status"], current["error_code"]) == ("undelivered", "30003")


def test_a_status_callback_with_another_sid_than_the_messages_raises_no_flag(client: Client, applicant: Any) -> None:
    reminder = next(m for m in case_messages(applicant.case.case_id) if m["kind"] == "reminder" and m["sent_at"])
    other = [("MessageSid", "SManothersend0001"), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")]
    assert post_form(client, f"/sms/status?m={reminder['message_id']}", other).status_code == 200
    current = next(m for m in case_messages(applicant.case.case_id) if m["message_id"] == reminder["message_id"])
    assert (current["status"], current["twilio_sid"]) == (reminder["status"], reminder["twilio_sid"])
    assert current.get("error_code") is None and current.get("attention") is None


@pytest.mark.parametrize(
    ("path", "pairs", "field"),
    [
        ("/sms/inbound", [("MessageSid", "S" * 5000), ("From", PHONE), ("Body", "HILFE")], "MessageSid"),
        ("/sms/inbound", [("SmsSid", "SM 1"), ("From", PHONE), ("Body", "2")], "SmsSid"),
        ("/sms/status", [("MessageSid", "SM" + "0" * 3000), ("MessageStatus", "failed")], "MessageSid"),
        ("/sms/status?m=" + "f" * 3000, [("MessageSid", "SM1"), ("MessageStatus", "failed")], "m"),
    ],
)
def test_a_signed_webhook_with_an_impossible_id_is_a_400_naming_it(
    client: Client, applicant: Any, path: str, pairs: list[tuple[str, str]], field: str
) -> None:
    before = case_messages(applicant.case.case_id)
    response = post_form(client, path, pairs)
    assert response.status_code == 400, response.body
    assert [e["field"] for e in json.loads(response.body)["errors"]] == [field]
    assert case_messages(applicant.case.case_id) == before


def test_a_status_for_an_unknown_message_is_accepted_and_ignored(client: Client, fake_sender: Any) -> None:
    pairs = [("MessageSid", "SMnobody"), ("MessageStatus", "delivered")]
    assert post_form(client, "/sms/status", pairs).status_code == 200


def no_values() -> Any:
    from chalicelib.domain.messages import Values

    return Values()


def _hash(phone: str) -> str:
    from chalicelib.domain.messages import phone_hash

    return phone_hash(phone, bootstrap.phone_hash_key())


def test_timestamps_use_the_frozen_clock(applicant: Any) -> None:
    sent = [m["sent_at"] for m in case_messages(applicant.case.case_id) if m["sent_at"]]
    assert max(sent) <= (applicant.clock.now() + timedelta(seconds=1)).isoformat()
