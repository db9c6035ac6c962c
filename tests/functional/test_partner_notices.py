"""The case.routed notice (issue 2): the request that routes a case (an intake, a transfer) sends
it to the partner's SQS queue before it answers, ids only, once. What SQS refused then, the cases
table's stream sends within about a second (announce_routed_cases), and what that could not send
either goes out with notify_partners after the grace period, exactly once; an erased case is not
announced."""

from __future__ import annotations

import json
from typing import Any

import boto3
from chalice.test import Client

from chalicelib.config import settings
from tests.conftest import MOTO_INTERNALS, auth, deliver_stream, intake_while_sqs_refuses, post_json, sqs_refusing


def received(partner_id: str) -> list[dict[str, Any]]:
    """The partner's queue as it is, without running notify_partners first."""
    sqs = boto3.client("sqs", region_name=settings().region)
    url = sqs.get_queue_url(QueueName=settings().queue_name(partner_id))["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def tick(client: Client) -> dict[str, Any]:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke("notify_partners", event).payload


def test_an_intake_is_announced_before_its_answer_once_and_without_personal_data(client, valid_intake) -> None:
    created = post_json(client, "/intake", valid_intake, {"Idempotency-Key": "notice-1"}).json_body
    partner = created["partner"]
    [notice] = received(partner)  # no stream or scheduled function ran: the request itself sent it
    assert notice == {
        "type": "case.routed",
        "case_id": created["case_id"],
        "reference": created["reference"],
        "partner": partner,
        "at": notice["at"],
    }
    assert "Layla" not in json.dumps(notice) and "+49" not in json.dumps(notice)
    assert deliver_stream(client) >= 1  # the stream sees the intake's write ...
    assert received(partner) == []  # ... and sends nothing more: the request cleared the marker
    post_json(client, "/intake", valid_intake, {"Idempotency-Key": "notice-1"})  # a replay announces nothing
    deliver_stream(client)
    assert received(partner) == []
    assert tick(client)["sent"] == 0 and received(partner) == []


def test_a_notice_sqs_refused_during_the_intake_is_sent_by_the_stream_once(client, valid_intake, monkeypatch) -> None:
    with sqs_refusing(monkeypatch):
        created = post_json(client, "/intake", valid_intake).json_body
    assert created["status"] == "routed"  # the applicant is not turned away for the partner's queue
    assert received(created["partner"]) == []
    deliver_stream(client)
    assert [n["case_id"] for n in received(created["partner"])] == [created["case_id"]]
    deliver_stream(client)
    assert tick(client)["sent"] == 0 and received(created["partner"]) == []


def test_a_case_erased_before_the_stream_sent_its_refused_notice_is_not_announced(
    client, valid_intake, monkeypatch
) -> None:
    with sqs_refusing(monkeypatch):
        created = post_json(client, "/intake", valid_intake).json_body
    case_id, secret = created["status_link"].split("#", 1)[1].split(".", 1)
    assert client.http.delete(f"/applicant/{case_id}", headers={"X-Status-Secret": secret}).status_code == 200
    deliver_stream(client)  # the intake and the erasure in one batch
    assert received(created["partner"]) == []


def test_a_claim_before_the_stream_sent_a_refused_notice_leaves_it_announced_once(
    client, valid_intake, staff_token, monkeypatch
) -> None:
    with sqs_refusing(monkeypatch):
        created = post_json(client, "/intake", valid_intake).json_body
    staff = auth(staff_token(created["partner"], name="Bernd Vogel"))
    assert client.http.post(f"/staff/cases/{created['case_id']}/claim", headers=staff).status_code == 200
    deliver_stream(client)
    assert [n["case_id"] for n in received(created["partner"])] == [created["case_id"]]


def test_a_transfer_announces_the_case_to_the_new_partner_before_it_answers(client, valid_intake, staff_token) -> None:
    created = post_json(client, "/intake", valid_intake).json_body
    received(created["partner"])
    staff = auth(staff_token(created["partner"], name="Bernd Vogel"))
    body = json.dumps({"partner": "via-bayern", "reason": "Needs intercultural counselling first."})
    moved = client.http.post(
        f"/staff/cases/{created['case_id']}/transfer", headers={**staff, "Content-Type": "application/json"}, body=body
    )
    assert moved.status_code == 200, moved.body
    assert [(n["case_id"], n["partner"]) for n in received("via-bayern")] == [(created["case_id"], "via-bayern")]
    deliver_stream(client)
    assert received("via-bayern") == [] and received(created["partner"]) == []
    assert tick(client)["sent"] == 0


def test_a_notice_sqs_refused_during_the_intake_goes_out_with_a_later_tick_exactly_once(
    frozen_clock, client, valid_intake, monkeypatch
) -> None:
    created = intake_while_sqs_refuses(client, valid_intake, monkeypatch)
    assert created["status"] == "routed"  # the applicant is not kept waiting for the partner's queue
    assert received(created["partner"]) == []
    assert tick(client)["sent"] == 0  # within the grace period a request may still be sending it
    frozen_clock.advance(minutes=2)
    assert tick(client)["sent"] == 1
    assert [n["case_id"] for n in received(created["partner"])] == [created["case_id"]]
    assert tick(client)["sent"] == 0 and received(created["partner"]) == []


def test_a_case_erased_before_its_delayed_notice_went_out_is_not_announced(
    frozen_clock, client, valid_intake, monkeypatch
) -> None:
    created = intake_while_sqs_refuses(client, valid_intake, monkeypatch)
    link = created["status_link"].split("#", 1)[1]
    case_id, secret = link.split(".", 1)
    erased = client.http.delete(f"/applicant/{case_id}", headers={"X-Status-Secret": secret})
    assert erased.status_code == 200, erased.body
    frozen_clock.advance(minutes=2)
    assert tick(client)["sent"] == 0
    assert received(created["partner"]) == []


def test_with_the_stacks_queue_url_prefix_the_notice_reaches_the_same_queue(client, valid_intake, monkeypatch) -> None:
    from chalicelib import bootstrap

    # What the stack sets (infrastructure/api.py); moto's queues live at AWS's URLs for its account.
    monkeypatch.setenv("QUEUE_URL_PREFIX", f"https://sqs.{settings().region}.amazonaws.com/123456789012/")
    bootstrap.reset()
    created = post_json(client, "/intake", valid_intake).json_body
    assert [n["case_id"] for n in received(created["partner"])] == [created["case_id"]]


@MOTO_INTERNALS
def test_the_stream_hands_on_each_write_once_and_moto_keeps_no_delivered_record(
    client, valid_intake, monkeypatch
) -> None:
    """The local pump (make run, and deliver_stream here) drops what it delivered from moto, which
    otherwise keeps every record and copies them into each transaction: delivery must go on after that."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    first = post_json(client, "/intake", valid_intake).json_body
    deliver_stream(client)
    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][settings().region].tables[settings().table("cases")].stream_shard
    assert shard.items == []
    with sqs_refusing(monkeypatch):
        second = post_json(client, "/intake", valid_intake).json_body
    assert deliver_stream(client) >= 1 and deliver_stream(client) == 0
    assert [n["case_id"] for n in received(first["partner"])] == [first["case_id"], second["case_id"]]
