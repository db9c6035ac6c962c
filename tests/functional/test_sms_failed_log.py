"""Issue 6: every finally failed SMS writes one `sms.failed` log line that the SmsFailed alarm counts.

The line is checked against the metric filter's own pattern (infrastructure/monitoring.py), evaluated
as CloudWatch would, and must carry no phone number, name or message text, without help from redaction.
"""

from __future__ import annotations

import json
import random
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.adapters.dynamodb.message_store import DynamoMessageStore
from chalicelib.adapters.sms.fake import FakeSender
from chalicelib.domain.cases import Case
from chalicelib.domain.partners import Partner
from chalicelib.domain.quiet_hours import QuietHours
from chalicelib.services.messaging import MessagingPolicy, MessagingService
from chalicelib.services.sms_dispatch import DeliveryPolicy
from infrastructure.monitoring import SMS_FAILED_PATTERN
from tests.conftest import FrozenClock, post_json, twilio_signature

TOKEN = "twilio-test-auth-token"
BASE = "https://abc123.execute-api.eu-central-1.amazonaws.com/api"
PHONE_FORMS = ("+4915112345678", "4915112345678", "015112345678", "15112345678", "0151 1234 5678")
NAMES = ("Layla", "Haddad")


@pytest.fixture(autouse=True)
def _twilio_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)


def post_form(client: Client, path: str, pairs: list[tuple[str, str]]) -> Any:
    """A status callback signed as Twilio signs it."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
        "X-Twilio-Signature": twilio_signature(TOKEN, BASE + path, pairs),
    }
    return client.http.post(path, body=urlencode(pairs).encode("utf-8"), headers=headers)


def invoke_sweep(client: Client) -> Any:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke("send_due_messages", event).payload


# --- the metric filter, evaluated the way CloudWatch Logs does ---------------------------------

_JSON_EQUALS = re.compile(r'^\{\s*\$\.([\w.]+)\s*=\s*"([^"*]*)"\s*\}$')
_TERM = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


def filter_matches(pattern: str, line: str) -> bool:
    """CloudWatch filter semantics for the forms a simple counter uses: `{ $.a.b = "value" }` (JSON
    events only), or space-separated terms that must all occur in the event, quoted or not."""
    pattern = pattern.strip()
    json_filter = _JSON_EQUALS.match(pattern)
    if json_filter:
        try:
            value: Any = json.loads(line)
        except ValueError:
            return False  # a JSON filter never matches a non-JSON event
        for key in json_filter.group(1).split("."):
            value = value.get(key) if isinstance(value, dict) else None
        return value == json_filter.group(2)
    if pattern.startswith("{") or pattern.startswith("[") or "?" in pattern.split() or " -" in f" {pattern}":
        raise AssertionError(f"metric filter syntax this test does not evaluate yet: {pattern!r}")
    terms = [quoted if quoted is not None else bare for quoted, bare in _TERM.findall(pattern)]
    assert terms, "an empty pattern would count every line"
    return all(term in line for term in terms)


def test_the_evaluator_reads_cloudwatch_patterns_as_cloudwatch_does() -> None:
    line = '{"event":"sms.failed","message_id":"m1"}'
    assert filter_matches('"sms.failed"', line)
    assert filter_matches('{ $.event = "sms.failed" }', line)
    assert not filter_matches('"sms.failed"', '{"event":"sms.send_due","failed":1}')
    assert not filter_matches('{ $.event = "sms.failed" }', "[INFO] sms.failed")


def failed_lines(output: str) -> list[dict[str, Any]]:
    """The log lines the SmsFailed metric would count, parsed (each must be one JSON object)."""
    lines = [line for line in output.splitlines() if filter_matches(SMS_FAILED_PATTERN, line)]
    for line in lines:
        assert_not_personal(line)
    return [json.loads(line) for line in lines]


def assert_not_personal(line: str, *texts: str) -> None:
    for forbidden in (*PHONE_FORMS, *NAMES, *texts):
        assert forbidden.lower() not in line.lower(), (forbidden, line)
    assert "[phone]" not in line and "[name]" not in line and "[email]" not in line, line  # not even redacted


# --- the sweep gives up -------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["21211", "21610", "21614"])
def test_a_permanently_failed_send_logs_one_sms_failed_line(
    client: Client,
    frozen_clock: FrozenClock,
    fake_sender: FakeSender,
    valid_intake: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    code: str,
) -> None:
    case_id = json.loads(post_json(client, "/intake", valid_intake).body)["case_id"]
    fake_sender.fail_next(code)
    capsys.readouterr()
    invoke_sweep(client)
    frozen_clock.advance(hours=2)
    invoke_sweep(client)  # nothing is retried, and nothing is logged again
    output = capsys.readouterr().out

    [message] = bootstrap.messaging_service().messages_for_case(case_id)
    assert (message["status"], message["error_code"]) == ("failed", code)
    [line] = failed_lines(output)
    assert line == {
        "event": "sms.failed",
        "message_id": message["message_id"],
        "case_id": case_id,
        "kind": "intake_received",
        "status": "failed",
        "reason": "rejected",
        "error_code": code,
        "attempts": 1,
    }
    raw = next(text for text in output.splitlines() if filter_matches(SMS_FAILED_PATTERN, text))
    assert_not_personal(raw, message["body"], valid_intake["email"])


def test_a_send_that_runs_out_of_attempts_logs_once(
    aws: None, atomic_dynamodb: None, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FrozenClock(datetime(2027, 3, 22, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    sender = FakeSender(clock=clock.now)
    policy = MessagingPolicy(delivery=DeliveryPolicy(quiet=QuietHours()), phone_hash_key="test-phone-key")
    service = MessagingService(store=DynamoMessageStore(), sender=sender, clock=clock, policy=policy)
    service.dispatcher.random = random.Random(7)
    partner = Partner(
        "via-bayern", "VIA Bayern e.V.", "VIA Bayern", "", (), ("de",), "Landwehrstraße 22, 80336 München"
    )
    intake = {"phone": PHONE_FORMS[0], "consent": {"sms": True}}
    case = Case("case-1", "K7P1-Q9XA", partner.id, "routed", "r", "", "de", intake, "", "", "")
    service.intake_received(case, partner, clock.now())
    sender.fail_next("5xx", "429", "5xx", "429", "5xx")
    capsys.readouterr()
    for _ in range(7):
        service.send_due()
        clock.advance(hours=1)
    [message] = service.messages_for_case(case.case_id)
    assert message["status"] == "failed" and sender.calls == 5
    [line] = failed_lines(capsys.readouterr().out)
    assert line["message_id"] == message["message_id"] and line["case_id"] == case.case_id
    assert (line["status"], line["reason"], line["error_code"], line["attempts"]) == (
        "failed",
        "retries_exhausted",
        "503",
        5,
    )


# --- Twilio reports it ---------------------------------------------------------------------------


def test_an_undelivered_status_callback_logs_one_sms_failed_line(
    client: Client,
    frozen_clock: FrozenClock,
    fake_sender: FakeSender,
    valid_intake: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    case_id = json.loads(post_json(client, "/intake", valid_intake).body)["case_id"]
    invoke_sweep(client)
    [sent] = bootstrap.messaging_service().messages_for_case(case_id)
    assert sent["twilio_sid"]
    capsys.readouterr()

    undelivered = [("MessageSid", sent["twilio_sid"]), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")]
    assert post_form(client, "/sms/status", undelivered).status_code == 200  # found by Twilio's SID
    # Twilio's retry of the same callback, and a later `failed`, find it already final: no second line.
    assert post_form(client, "/sms/status", undelivered).status_code == 200
    path = f"/sms/status?m={sent['message_id']}"
    failed = [("MessageSid", sent["twilio_sid"]), ("MessageStatus", "failed"), ("ErrorCode", "30008")]
    assert post_form(client, path, failed).status_code == 200
    output = capsys.readouterr().out

    [message] = bootstrap.messaging_service().messages_for_case(case_id)
    assert (message["status"], message["error_code"]) == ("undelivered", "30003")
    [line] = failed_lines(output)
    assert line == {
        "event": "sms.failed",
        "message_id": sent["message_id"],
        "case_id": case_id,
        "kind": "intake_received",
        "status": "undelivered",
        "reason": "reported_by_twilio",
        "error_code": "30003",
        "attempts": 1,
    }
    raw = next(text for text in output.splitlines() if filter_matches(SMS_FAILED_PATTERN, text))
    assert_not_personal(raw, sent["body"], valid_intake["email"])


def test_a_failed_status_callback_with_the_message_id_in_the_url_logs_once(
    client: Client,
    frozen_clock: FrozenClock,
    fake_sender: FakeSender,
    valid_intake: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    case_id = json.loads(post_json(client, "/intake", valid_intake).body)["case_id"]
    invoke_sweep(client)
    [sent] = bootstrap.messaging_service().messages_for_case(case_id)
    capsys.readouterr()
    path = f"/sms/status?m={sent['message_id']}"
    delivered_late = [("MessageSid", sent["twilio_sid"]), ("MessageStatus", "sent")]
    failed = [("MessageSid", sent["twilio_sid"]), ("MessageStatus", "failed"), ("ErrorCode", "30006")]
    for pairs in (delivered_late, failed, failed):
        assert post_form(client, path, pairs).status_code == 200
    [line] = failed_lines(capsys.readouterr().out)
    assert (line["message_id"], line["case_id"], line["status"], line["error_code"]) == (
        sent["message_id"],
        case_id,
        "failed",
        "30006",
    )
