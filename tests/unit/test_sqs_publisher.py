"""The case.routed publisher: the queue URL from the stack's prefix, or asked from SQS once."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.adapters.sqs import SqsPublisher
from chalicelib.domain.cases import PartnerNotice

NOTICE = PartnerNotice("c-1", "lmu-klinikum", "ABCD-EFGH", "2026-11-25T09:30:00.000000+00:00")


class RecordingSqs:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get_queue_url(self, **params: Any) -> dict[str, str]:
        self.calls.append(("GetQueueUrl", params))
        return {"QueueUrl": f"https://sqs.example/asked/{params['QueueName']}"}

    def send_message(self, **params: Any) -> dict[str, str]:
        self.calls.append(("SendMessage", params))
        return {"MessageId": "m-1"}


def test_with_the_stacks_prefix_the_first_notice_needs_no_get_queue_url() -> None:
    sqs = RecordingSqs()
    publisher = SqsPublisher(
        sqs, lambda partner: f"migranet-prod-{partner}", "https://sqs.eu-central-1.amazonaws.com/1/"
    )
    publisher.publish(NOTICE)
    [(operation, params)] = sqs.calls
    assert operation == "SendMessage"
    assert params["QueueUrl"] == "https://sqs.eu-central-1.amazonaws.com/1/migranet-prod-lmu-klinikum"
    assert json.loads(params["MessageBody"])["case_id"] == "c-1"


def test_without_it_the_url_is_asked_once_per_queue() -> None:
    sqs = RecordingSqs()
    publisher = SqsPublisher(sqs, lambda partner: f"migranet-local-{partner}")
    publisher.publish(NOTICE)
    publisher.publish(NOTICE)
    assert [operation for operation, _ in sqs.calls] == ["GetQueueUrl", "SendMessage", "SendMessage"]
    assert sqs.calls[2][1]["QueueUrl"] == "https://sqs.example/asked/migranet-local-lmu-klinikum"
