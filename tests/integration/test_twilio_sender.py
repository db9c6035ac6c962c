"""The Twilio sender through the real `twilio` client against a fake Twilio HTTP server on loopback."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.sms.twilio_sender import TwilioCredentials, TwilioSender, ssm_credentials
from chalicelib.config import PROJECT_DIR
from chalicelib.services.messaging_ports import (
    ForgetFailedError,
    LookupFailedError,
    OutgoingSms,
    PermanentSendError,
    TransientSendError,
    UnknownOutcomeError,
)

TO = "+4915112345678"
CALLBACK = "https://api.example.org/api/sms/status?m=abc123"


def sender_for(fake: Any, timeout: float = 0.3, **kwargs: Any) -> TwilioSender:
    kwargs.setdefault("from_number", "MigraNet")
    return TwilioSender(
        lambda: TwilioCredentials(fake.account_sid, fake.auth_token), timeout=timeout, api_base_url=fake.url, **kwargs
    )


def test_the_request_is_exactly_what_twilio_expects(fake_twilio: Any) -> None:
    result = sender_for(fake_twilio).send(OutgoingSms("abc123", TO, "Erinnerung: Termin {1}", CALLBACK))
    [request] = fake_twilio.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    assert sorted(request.form) == sorted(
        [("To", TO), ("From", "MigraNet"), ("Body", "Erinnerung: Termin {1}"), ("StatusCallback", CALLBACK)]
    )
    assert request.auth == (fake_twilio.account_sid, fake_twilio.auth_token)
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert result.sid == fake_twilio.messages[0]["sid"] and result.sid.startswith("SM")


def test_a_messaging_service_replaces_the_sender_id(fake_twilio: Any) -> None:
    sender = sender_for(fake_twilio, from_number=None, messaging_service_sid="MG" + "1" * 32)
    sender.send(OutgoingSms("m", TO, "Привет 👋"))
    [request] = fake_twilio.requests
    assert request.field("MessagingServiceSid") == "MG" + "1" * 32
    assert request.field("From") is None
    assert request.field("Body") == "Привет 👋"  # UTF-8 form encoding survives the round trip


def test_the_http_client_has_an_explicit_timeout(fake_twilio: Any) -> None:
    sender = sender_for(fake_twilio, timeout=4.5)
    assert sender.client().http_client.timeout == 4.5
    with pytest.raises(ValueError):
        TwilioSender(lambda: TwilioCredentials("AC", "t"), from_number="X", timeout=0)
    with pytest.raises(ValueError):
        TwilioSender(lambda: TwilioCredentials("AC", "t"))  # neither a sender nor a Messaging Service


@pytest.mark.parametrize("failure", ["500", "503", "429"])
def test_server_errors_and_rate_limits_are_transient(fake_twilio: Any, failure: str) -> None:
    fake_twilio.fail_next(failure)
    with pytest.raises(TransientSendError) as raised:
        sender_for(fake_twilio).send(OutgoingSms("m", TO, "x"))
    assert raised.value.code == {"500": "20500", "503": "20503", "429": "20429"}[failure]
    assert fake_twilio.messages == []


@pytest.mark.parametrize("code", ["21211", "21610", "21614"])
def test_refusals_for_the_recipient_are_permanent(fake_twilio: Any, code: str) -> None:
    fake_twilio.fail_next(code)
    with pytest.raises(PermanentSendError) as raised:
        sender_for(fake_twilio).send(OutgoingSms("m", TO, "x"))
    assert raised.value.code == code


def test_a_timeout_after_the_request_left_is_an_unknown_outcome(fake_twilio: Any) -> None:
    fake_twilio.fail_next("timeout")
    started = time.monotonic()
    with pytest.raises(UnknownOutcomeError):
        sender_for(fake_twilio, timeout=0.3).send(OutgoingSms("m", TO, "Erinnerung"))
    assert time.monotonic() - started < 0.55  # the client gave up at its timeout, not the server's sleep
    assert len(fake_twilio.messages) == 1  # …yet Twilio has the message


def test_a_refused_connection_is_transient_because_nothing_left() -> None:
    sender = TwilioSender(
        lambda: TwilioCredentials("AC" + "0" * 32, "t"), from_number="X", timeout=0.3, api_base_url="http://127.0.0.1:9"
    )
    with pytest.raises(TransientSendError):
        sender.send(OutgoingSms("m", TO, "x"))


def test_wrong_credentials_are_retried_not_dropped(fake_twilio: Any) -> None:
    sender = TwilioSender(
        lambda: TwilioCredentials(fake_twilio.account_sid, "rotated"), from_number="X", api_base_url=fake_twilio.url
    )
    with pytest.raises(TransientSendError):
        sender.send(OutgoingSms("m", TO, "x"))


def test_reconciliation_lists_by_recipient_and_date_sent(fake_twilio: Any) -> None:
    sender = sender_for(fake_twilio)
    before = datetime.now(UTC) - timedelta(seconds=1)
    fake_twilio.fail_next("timeout")
    with pytest.raises(UnknownOutcomeError):
        sender.send(OutgoingSms("m", TO, "Erinnerung: Mo., 29. März"))
    sender.send(OutgoingSms("n", "+4915199999999", "Erinnerung: Mo., 29. März"))
    found = sender.find_sent(TO, "Erinnerung: Mo., 29. März", before)
    assert found == fake_twilio.sent_to(TO)[0]["sid"]
    gets = [r for r in fake_twilio.requests if r.method == "GET"]
    assert gets[0].path.endswith("/Messages.json")
    query = dict(gets[0].query)
    assert query["To"] == TO
    assert query["DateSent>"].endswith("Z")
    assert sender.find_sent(TO, "another text", before) is None
    assert sender.find_sent(TO, "Erinnerung: Mo., 29. März", datetime.now(UTC) + timedelta(hours=1)) is None


def test_a_failed_lookup_is_reported_as_such(fake_twilio: Any) -> None:
    sender = TwilioSender(
        lambda: TwilioCredentials(fake_twilio.account_sid, "wrong"), from_number="X", api_base_url=fake_twilio.url
    )
    with pytest.raises(LookupFailedError):
        sender.find_sent(TO, "x", datetime.now(UTC))


def test_forgetting_deletes_the_message_resource_at_twilio(fake_twilio: Any) -> None:
    """Erasure reaches the processor: Twilio's record of the SMS (number and text) is deleted."""
    sender = sender_for(fake_twilio)
    sid = sender.send(OutgoingSms("m", TO, "MigraNet: Ihre Anfrage ist angekommen.")).sid
    other = sender.send(OutgoingSms("n", "+4915199999999", "MigraNet: Ihre Anfrage ist angekommen.")).sid
    sender.forget(sid)
    [delete] = [r for r in fake_twilio.requests if r.method == "DELETE"]
    assert delete.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages/{sid}.json"
    assert delete.auth == (fake_twilio.account_sid, fake_twilio.auth_token)
    assert [m["sid"] for m in fake_twilio.messages] == [other]
    sender.forget(sid)  # 404: Twilio has it no more, which is what was asked


@pytest.mark.parametrize("failure", ["500", "429"])
def test_a_deletion_twilio_did_not_do_is_reported_to_be_tried_again(fake_twilio: Any, failure: str) -> None:
    sender = sender_for(fake_twilio)
    sid = sender.send(OutgoingSms("m", TO, "x")).sid
    fake_twilio.fail_next(failure)
    with pytest.raises(ForgetFailedError):
        sender.forget(sid)
    assert [m["sid"] for m in fake_twilio.messages] == [sid]


def test_a_deletion_while_twilio_cannot_be_reached_is_reported_to_be_tried_again() -> None:
    sender = TwilioSender(
        lambda: TwilioCredentials("AC" + "0" * 32, "t"), from_number="X", timeout=0.3, api_base_url="http://127.0.0.1:9"
    )
    with pytest.raises(ForgetFailedError):
        sender.forget("SM" + "0" * 32)


def test_credentials_come_from_ssm_securestrings_on_first_use_only() -> None:
    with mock_aws():
        ssm = boto3.client("ssm", region_name="eu-central-1")
        ssm.put_parameter(Name="/migranet/prod/twilio/account_sid", Value="AC" + "9" * 32, Type="SecureString")
        ssm.put_parameter(Name="/migranet/prod/twilio/auth_token", Value="s3cret", Type="SecureString")
        calls: list[int] = []

        def read(names: tuple[str, ...]) -> dict[str, bytes]:
            calls.append(1)
            answer = ssm.get_parameters(Names=list(names), WithDecryption=True)
            return {p["Name"]: p["Value"].encode() for p in answer["Parameters"]}

        load = ssm_credentials(read, "/migranet/prod/twilio/")
        TwilioSender(load, from_number="X")  # building the sender reads nothing
        assert calls == []
        assert load() == TwilioCredentials("AC" + "9" * 32, "s3cret")
        assert load() == TwilioCredentials("AC" + "9" * 32, "s3cret")
        assert calls == [1]  # read once per container


def test_twilio_is_not_imported_by_the_intake_path_or_the_sender_module() -> None:
    code = (
        "import sys\n"
        "import chalicelib.bootstrap, chalicelib.services.intake, chalicelib.services.messaging\n"
        "import chalicelib.adapters.sms.twilio_sender, chalicelib.adapters.dynamodb.message_store\n"
        "chalicelib.bootstrap.messaging_service\n"
        "assert 'twilio' not in sys.modules, 'twilio imported'\n"
        "assert 'babel.dates' not in sys.modules, 'babel imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_DIR)
