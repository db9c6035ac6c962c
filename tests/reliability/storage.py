"""What is stored and queued, read straight from DynamoDB and SQS (moto) for assertions."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

import boto3

from chalicelib.config import settings
from chalicelib.ports import Clock
from chalicelib.services.notices import SEND_NOW_GRACE

# The tables an intake leads to: the case (its own queue entry, idempotency record and outbox) and,
# once send_due_messages has planned it, the intake_received SMS. A rejected or failed request must
# change none of them.
INTAKE_TABLES = ("cases", "messages")


def item_counts(tables: tuple[str, ...] = INTAKE_TABLES) -> dict[str, int]:
    current = settings()
    client = boto3.client("dynamodb", region_name=current.region, endpoint_url=current.dynamodb_endpoint)
    paginator = client.get_paginator("scan")
    return {
        name: sum(page["Count"] for page in paginator.paginate(TableName=current.table(name), Select="COUNT"))
        for name in tables
    }


def plan_confirmations() -> None:
    """Plan the intake_received SMS the outbox holds, as `send_due_messages` does first every run."""
    from chalicelib import bootstrap

    messaging = bootstrap.messaging_service()
    assert messaging.confirmations is not None
    messaging.confirmations.plan_due(messaging.intake_received)


class _AfterTheGrace:
    """The app's clock as notify_partners' next run sees it: past the grace period of every notice
    marked so far, so a notice the stream's function sent but could not clear is sent again (and counted)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now() + SEND_NOW_GRACE + timedelta(seconds=1)


def queued_messages(partner_id: str) -> list[dict[str, Any]]:
    """Send the pending partner notices (as `notify_partners` does every minute, after the grace
    period), then receive and delete every message waiting for one partner (so the next read sees
    only new ones)."""
    from chalicelib import bootstrap

    service = bootstrap.notice_service()
    dataclasses.replace(service, clock=_AfterTheGrace(service.clock)).deliver()
    current = settings()
    sqs = boto3.client("sqs", region_name=current.region, endpoint_url=current.sqs_endpoint)
    url = sqs.get_queue_url(QueueName=current.queue_name(partner_id))["QueueUrl"]
    messages: list[dict[str, Any]] = []
    while True:
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not received:
            return messages
        for message in received:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
