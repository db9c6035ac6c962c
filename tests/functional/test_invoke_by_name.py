"""Issue 4: tests and operators invoke a scheduled function by its name, e.g.
`chalice.test.Client().lambda_.invoke('send_due_messages')` — with no payload at all."""

from __future__ import annotations

import pytest

from tests.conftest import intake_while_sqs_refuses, post_json, sqs_messages

SCHEDULED = [
    "mark_overdue_cases",
    "settle_past_appointments",
    "notify_partners",
    "send_due_messages",
    "enforce_retention",
]


@pytest.mark.parametrize("name", SCHEDULED)
@pytest.mark.parametrize("payload", [None, {}, {"note": "run by an operator"}])
def test_every_scheduled_function_runs_when_invoked_by_name_without_an_event(client, name, payload) -> None:
    report = client.lambda_.invoke(name, payload).payload
    assert isinstance(report, dict)


def test_invoking_send_due_messages_by_name_sends_the_intake_sms(
    frozen_clock, fake_sender, client, valid_intake
) -> None:
    created = post_json(client, "/intake", valid_intake).json_body
    report = client.lambda_.invoke("send_due_messages").payload
    assert report["sent"] == 1
    [sms] = fake_sender.accepted
    assert created["reference"] in sms.body


def test_invoking_notify_partners_by_name_delivers_a_notice_sqs_refused(
    frozen_clock, client, valid_intake, monkeypatch
) -> None:
    created = intake_while_sqs_refuses(client, valid_intake, monkeypatch)
    frozen_clock.advance(minutes=2)
    assert client.lambda_.invoke("notify_partners").payload["sent"] == 1
    assert [n["case_id"] for n in sqs_messages(created["partner"])] == [created["case_id"]]
