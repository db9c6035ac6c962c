"""The app's SMS backends end to end: the local outbox, and Twilio (configured by environment) via the fake server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from tests.conftest import post_json, twilio_signature

BASE = "https://abc123.execute-api.eu-central-1.amazonaws.com/api"


def sweep(client: Client) -> dict[str, Any]:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke("send_due_messages", event).payload


def test_the_local_stage_writes_sms_to_the_outbox_without_printing_the_number(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    frozen_clock: Any,
    aws: None,
    valid_intake: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    outbox = tmp_path / "outbox.jsonl"
    monkeypatch.setenv("OUTBOX_FILE", str(outbox))
    monkeypatch.delenv("SMS_BACKEND", raising=False)  # the local stage's default
    bootstrap.reset()
    from app import app

    with Client(app, stage_name="local") as client:
        created = json.loads(post_json(client, "/intake", valid_intake).body)
        assert sweep(client)["sent"] == 1
    [line] = [json.loads(raw) for raw in outbox.read_text(encoding="utf-8").splitlines()]
    assert line["to"] == "+4915112345678"
    assert created["reference"] in line["body"]
    assert line["segments"] <= 2
    printed = capsys.readouterr().out
    assert "[outbox] SMS" in printed and line["body"] in printed  # what the applicant would read
    assert "4915112345678" not in printed and "1234 5678" not in printed
    assert bootstrap.sms_sender().find_sent(line["to"], line["body"], frozen_clock.now()) == line["sid"]


@pytest.fixture
def twilio_backend(monkeypatch: pytest.MonkeyPatch, fake_twilio: Any) -> Any:
    monkeypatch.setenv("SMS_BACKEND", "twilio")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake_twilio.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", fake_twilio.auth_token)
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", "MG" + "3" * 32)
    monkeypatch.setenv("TWILIO_API_BASE_URL", fake_twilio.url)
    monkeypatch.setenv("TWILIO_TIMEOUT_SECONDS", "0.3")
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    return fake_twilio


def test_the_twilio_backend_sends_and_takes_signed_status_callbacks(
    twilio_backend: Any, frozen_clock: Any, client: Client, valid_intake: dict[str, Any]
) -> None:
    created = json.loads(post_json(client, "/intake", valid_intake).body)
    assert sweep(client)["sent"] == 1
    [request] = twilio_backend.posts()
    assert request.auth == (twilio_backend.account_sid, twilio_backend.auth_token)
    assert request.field("To") == "+4915112345678"
    assert request.field("MessagingServiceSid") == "MG" + "3" * 32
    callback = request.field("StatusCallback")
    assert callback.startswith(BASE + "/sms/status?m=")

    # Twilio calls back on the URL we gave it, signed with the account's token.
    pairs = [
        ("MessageSid", twilio_backend.messages[0]["sid"]),
        ("MessageStatus", "delivered"),
        ("To", "+4915112345678"),
    ]
    signature = twilio_signature(twilio_backend.auth_token, callback, pairs)
    query = urlsplit(callback).query
    response = client.http.post(
        "/sms/status?" + query,
        body=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
    )
    assert response.status_code == 200
    [message] = bootstrap.messaging_service().messages_for_case(created["case_id"])
    assert message["status"] == "delivered"
    assert message["message_id"] == parse_qs(query)["m"][0]


def test_a_twilio_timeout_is_reconciled_through_the_app(
    twilio_backend: Any, frozen_clock: Any, client: Client, valid_intake: dict[str, Any]
) -> None:
    created = json.loads(post_json(client, "/intake", valid_intake).body)
    twilio_backend.fail_next("timeout")
    assert sweep(client)["retried"] == 1
    frozen_clock.advance(minutes=5)
    assert sweep(client)["reconciled"] == 1
    assert len(twilio_backend.messages) == 1 and len(twilio_backend.posts()) == 1  # never sent twice
    [message] = bootstrap.messaging_service().messages_for_case(created["case_id"])
    assert message["twilio_sid"] == twilio_backend.messages[0]["sid"]


def test_the_outbox_echo_redacts_a_number_staff_typed_into_the_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.adapters.sms.outbox import OutboxSender
    from chalicelib.services.messaging_ports import OutgoingSms

    body = "MigraNet: Ihr Termin: Mi., 12. März, 10:00 Uhr, Hausbesuch, Tel. 0151 6665554. Ihre Nummer: K7P3-Q9XA"
    OutboxSender(tmp_path / "outbox.jsonl").send(OutgoingSms("m1", "+4915112345678", body))
    printed = capsys.readouterr().out
    assert "6665554" not in printed and "Hausbesuch, Tel. [phone]" in printed and "K7P3-Q9XA" in printed
    assert json.loads((tmp_path / "outbox.jsonl").read_text(encoding="utf-8"))["body"] == body  # the file: as sent


def test_the_local_outbox_stands_in_for_twilios_log_an_erased_applicants_lines_leave_it(tmp_path: Path) -> None:
    from chalicelib.adapters.sms.outbox import OutboxSender
    from chalicelib.services.messaging_ports import OutgoingSms

    outbox = OutboxSender(tmp_path / "outbox.jsonl", echo=False)
    hers = outbox.send(OutgoingSms("m1", "+4915112345678", "MigraNet: Ihre Anfrage ist angekommen.")).sid
    theirs = outbox.send(OutgoingSms("m2", "+4915199999999", "MigraNet: Ihre Anfrage ist angekommen.")).sid
    outbox.forget(hers)
    outbox.forget(hers)  # again: nothing left to delete, no error
    lines = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["sid"] for line in lines] == [theirs]
