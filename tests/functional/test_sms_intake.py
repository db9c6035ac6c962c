"""The intake_received SMS: consent, abuse limits (3 per number per 24 h, allowed countries), quiet hours."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from tests.conftest import auth, post_json

BERLIN = ZoneInfo("Europe/Berlin")


def submit(client: Client, intake: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(intake)
    body.update(changes)
    response = post_json(client, "/intake", body)
    assert response.status_code == 201, response.body
    return json.loads(response.body)


def sweep(client: Client) -> dict[str, Any]:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke("send_due_messages", event).payload


def messages(case_id: str) -> list[dict[str, Any]]:
    return bootstrap.messaging_service().messages_for_case(case_id)


def test_intake_received_names_the_reference_and_the_partner(
    frozen_clock: Any, fake_sender: Any, client: Client, valid_intake: dict[str, Any]
) -> None:
    created = submit(client, valid_intake, language="de")
    # The intake request writes the case only; the next sweep plans the SMS and sends it.
    assert messages(created["case_id"]) == [] and fake_sender.accepted == []
    report = sweep(client)
    assert (report["confirmations_planned"], report["sent"]) == (1, 1)
    [sms] = fake_sender.accepted
    assert sms.to == "+4915112345678"
    assert created["reference"] in sms.body
    partner = bootstrap.directory().partners()[created["partner"]]
    assert partner.short_name in sms.body
    assert sms.body.startswith("MigraNet: Ihre Anfrage ist angekommen")
    [sent] = messages(created["case_id"])
    assert sent["status"] == "queued" and sent["twilio_sid"] == sms.sid
    assert "phone" not in json.dumps(sent) and "+49151" not in json.dumps(sent)  # staff view: no number


def test_no_sms_without_consent(
    frozen_clock: Any, fake_sender: Any, client: Client, valid_intake: dict[str, Any]
) -> None:
    consent = {"data_processing": True, "share_with_partners": True, "sms": False}
    created = submit(client, valid_intake, consent=consent)
    assert messages(created["case_id"]) == []
    sweep(client)
    assert fake_sender.accepted == []


def test_at_most_three_intake_sms_per_number_per_24_hours(
    frozen_clock: Any, fake_sender: Any, client: Client, valid_intake: dict[str, Any]
) -> None:
    cases = [submit(client, valid_intake)["case_id"] for _ in range(4)]
    report = sweep(client)
    assert (report["sent"], report["suppressed"]) == (3, 1)
    assert len(fake_sender.accepted) == 3  # the fourth intake is stored and routed, but no Twilio call
    # The four were submitted at the same (frozen) instant, so any one of them may be the fourth.
    latest = {case_id: messages(case_id)[0] for case_id in cases}
    assert sorted(m["status"] for m in latest.values()) == ["queued", "queued", "queued", "suppressed"]
    [refused] = [case_id for case_id, m in latest.items() if m["status"] == "suppressed"]
    assert latest[refused]["reason"].startswith("rate_limited")
    case = bootstrap.intake_service().store.get_case(refused)
    assert case is not None and case.status == "routed"
    frozen_clock.advance(hours=23, minutes=59)
    late = submit(client, valid_intake)["case_id"]
    assert sweep(client)["suppressed"] == 1
    assert messages(late)[0]["status"] == "suppressed"
    frozen_clock.advance(minutes=2)  # the first three are now older than 24 h: rolling window
    fresh = submit(client, valid_intake)["case_id"]
    assert sweep(client)["sent"] == 1
    assert messages(fresh)[0]["status"] == "queued"
    assert len(fake_sender.accepted) == 4


def test_another_number_has_its_own_limit(
    frozen_clock: Any, fake_sender: Any, client: Client, valid_intake: dict[str, Any]
) -> None:
    for _ in range(3):
        submit(client, valid_intake)
    other = submit(client, valid_intake, phone="+43 664 1234567")  # Austria
    assert sweep(client)["sent"] == 4
    assert messages(other["case_id"])[0]["status"] == "queued"


@pytest.mark.parametrize(
    ("phone", "allowed"),
    [
        ("+43 664 1234567", True),  # Austria (EU)
        ("+41 79 123 45 67", True),  # Switzerland
        ("+380 50 123 4567", True),  # Ukraine
        ("+47 412 34 567", True),  # Norway (EEA)
        ("+1 415 555 2671", False),  # USA
        ("+44 7911 123456", False),  # Guernsey (a UK Crown Dependency)
        ("+234 803 123 4567", False),  # Nigeria: a classic SMS-pumping destination
    ],
)
def test_only_allowed_countries_get_sms(
    frozen_clock: Any,
    fake_sender: Any,
    client: Client,
    valid_intake: dict[str, Any],
    staff_token: Callable[..., str],
    phone: str,
    allowed: bool,
) -> None:
    created = submit(client, valid_intake, phone=phone)
    # The applicant learns at once whether the SMS they asked for can come (the form says so).
    assert created["sms"] == ("planned" if allowed else "not_possible")
    sweep(client)
    [planned] = messages(created["case_id"])
    if allowed:
        assert planned["status"] == "queued"
    else:
        assert planned["status"] == "suppressed"
        assert planned["reason"].startswith("country_not_allowed")
    assert len(fake_sender.accepted) == int(allowed)
    # Staff see "please check: no SMS to this number's country", and call or write instead.
    token = staff_token(created["partner"])
    log = client.http.get(f"/staff/cases/{created['case_id']}/messages", headers=auth(token)).json_body
    assert [a["reason"] for a in log["attention"]] == ([] if allowed else ["sms_not_possible"])
    if not allowed:  # called the applicant: dealt with
        claimed = client.http.post(f"/staff/cases/{created['case_id']}/claim", headers=auth(token))
        assert claimed.status_code == 200, claimed.body
        resolve = {"reason": "sms_not_possible", "note": "Called, we talk on the phone."}
        path = f"/staff/cases/{created['case_id']}/attention/resolve"
        assert post_json(client, path, resolve, auth(token)).status_code == 200
        log = client.http.get(f"/staff/cases/{created['case_id']}/messages", headers=auth(token)).json_body
        assert log["attention"] == []


def test_without_sms_asked_for_the_answer_says_so(client: Client, valid_intake: dict[str, Any]) -> None:
    body = copy.deepcopy(valid_intake)
    body["consent"] = {**body["consent"], "sms": False}
    assert submit(client, body)["sms"] == "not_requested"


def test_the_allow_list_is_configurable(
    monkeypatch: pytest.MonkeyPatch, frozen_clock: Any, fake_sender: Any, client: Client, valid_intake: dict[str, Any]
) -> None:
    monkeypatch.setenv("SMS_ALLOWED_COUNTRIES", "DE, at")
    bootstrap.messaging_service.cache_clear()
    bootstrap.intake_service.cache_clear()
    swiss = submit(client, valid_intake, phone="+41 79 123 45 67")
    austrian = submit(client, valid_intake, phone="+43 664 1234567")
    assert sweep(client)["sent"] == 1
    assert messages(swiss["case_id"])[0]["status"] == "suppressed"
    assert messages(austrian["case_id"])[0]["status"] == "queued"


def test_a_night_intake_is_answered_at_8(
    frozen_clock: Any, fake_sender: Any, client: Client, valid_intake: dict[str, Any]
) -> None:
    frozen_clock.set(datetime(2025, 3, 7, 23, 10, tzinfo=BERLIN))
    created = submit(client, valid_intake)
    night = sweep(client)
    assert night["quiet_hours"] is True and night["confirmations_planned"] == 1  # planned at night, not sent
    [planned] = messages(created["case_id"])
    assert datetime.fromisoformat(planned["due_at"]) == datetime(2025, 3, 8, 8, 0, tzinfo=BERLIN)
    frozen_clock.set(datetime(2025, 3, 8, 7, 55, tzinfo=BERLIN))
    assert sweep(client)["sent"] == 0
    frozen_clock.set(datetime(2025, 3, 8, 8, 0, tzinfo=BERLIN))
    assert sweep(client)["sent"] == 1


def test_a_confirmation_that_cannot_be_planned_waits_for_the_next_sweep(
    monkeypatch: pytest.MonkeyPatch, frozen_clock: Any, fake_sender: Any, client: Client, valid_intake: dict[str, Any]
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("messages table down")

    monkeypatch.setattr(bootstrap.message_store(), "add", broken)
    created = submit(client, valid_intake)
    assert created["status"] == "routed"  # the intake never touches the messages table
    down = sweep(client)
    assert (down["confirmations_planned"], down["confirmations_failed"], down["sent"]) == (0, 1, 0)
    monkeypatch.undo()
    up = sweep(client)
    assert (up["confirmations_planned"], up["sent"]) == (1, 1)
    assert sweep(client)["confirmations_planned"] == 0  # done once, not again
    [sms] = fake_sender.accepted
    assert created["reference"] in sms.body


def test_a_replayed_intake_plans_no_second_sms(
    frozen_clock: Any, fake_sender: Any, client: Client, valid_intake: dict[str, Any]
) -> None:
    headers = {"Idempotency-Key": "retry-1"}
    first = post_json(client, "/intake", valid_intake, headers)
    again = post_json(client, "/intake", valid_intake, headers)
    assert json.loads(first.body)["case_id"] == json.loads(again.body)["case_id"]
    sweep(client)
    assert len(fake_sender.accepted) == 1


def test_a_case_transferred_before_the_sweep_gets_only_the_transfer_sms(
    anna: Any, case_id: str, client: Client, fake_sender: Any
) -> None:
    status, body = anna.post(f"/staff/cases/{case_id}/transfer", {"partner": "via-bayern", "reason": "Job search"})
    assert status == 200, body
    report = sweep(client)
    assert (report["confirmations_planned"], report["sent"]) == (0, 1)
    assert [m["kind"] for m in messages(case_id)] == ["case_transferred"]  # it carries the reference too
    [sms] = fake_sender.accepted
    assert bootstrap.directory().partners()["via-bayern"].short_name in sms.body


def test_a_case_closed_or_erased_before_the_sweep_gets_no_confirmation(
    anna: Any, case_id: str, client: Client, fake_sender: Any, valid_intake: dict[str, Any]
) -> None:
    status, _ = anna.post(f"/staff/cases/{case_id}/close", {"outcome": "withdrawn"})
    assert status == 200
    created = submit(client, valid_intake)
    case, secret = created["status_link"].split("#", 1)[1].split(".", 1)
    assert client.http.delete(f"/applicant/{case}", headers={"X-Status-Secret": secret}).status_code == 200
    report = sweep(client)
    assert (report["confirmations_planned"], report["sent"]) == (0, 0)
    assert messages(case_id) == [] and messages(case) == [] and fake_sender.accepted == []


def test_a_case_booked_before_the_sweep_hears_received_before_booked(
    anna: Any, case_id: str, client: Client, fake_sender: Any, frozen_clock: Any
) -> None:
    """The sweep plans the confirmation and sends in the same run; the booking's SMS, due since the
    booking, must not overtake it ("your appointment …" before "we have received your request")."""
    frozen_clock.advance(minutes=2)
    assert anna.book(case_id, "2025-03-12T10:00")[0] == 201
    frozen_clock.advance(minutes=3)
    assert sweep(client)["sent"] == 2
    kinds = {m["message_id"]: m["kind"] for m in messages(case_id)}
    assert [kinds[sent.message_id] for sent in fake_sender.accepted] == ["intake_received", "appointment_booked"]
    # The staff's message log lists them in the order they went or will go: the reminders, planned
    # before the confirmation was, come after it.
    listed = [m["kind"] for m in messages(case_id)]
    assert listed.index("intake_received") < listed.index("reminder") and listed[-1] == "reminder"


def test_staff_see_the_confirmation_waiting_for_the_sweep(anna: Any, case_id: str, client: Client) -> None:
    status, log = anna.get(f"/staff/cases/{case_id}/messages")
    assert status == 200, log
    assert log["confirmation_pending"] is True and log["messages"] == []
    sweep(client)
    status, log = anna.get(f"/staff/cases/{case_id}/messages")
    assert log["confirmation_pending"] is False
    assert [m["kind"] for m in log["messages"]] == ["intake_received"]


def test_no_confirmation_waits_without_consent_or_on_a_closed_case(anna: Any, client: Client, submit_case: Any) -> None:
    consent = {"data_processing": True, "share_with_partners": True, "sms": False}
    no_sms = anna.claimed_case(lambda group: submit_case(group, consent=consent))
    closed = anna.claimed_case(submit_case)
    assert anna.post(f"/staff/cases/{closed}/close", {"outcome": "withdrawn"})[0] == 200
    for case in (no_sms, closed):
        status, log = anna.get(f"/staff/cases/{case}/messages")
        assert status == 200 and log["confirmation_pending"] is False, log
