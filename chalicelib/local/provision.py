"""Create tables and queues and seed the directory: the local stack and test fixtures."""

from __future__ import annotations

import json

import boto3

from chalicelib.adapters.dynamodb.directory_store import seed_directory
from chalicelib.adapters.dynamodb.models import create_tables
from chalicelib.config import Settings
from chalicelib.data import default_partners, default_routing_rules


def create_queues(settings: Settings, partner_ids: list[str]) -> dict[str, str]:
    """One queue per partner, all draining into one dead-letter queue after 5 failed receives."""
    sqs = boto3.client("sqs", region_name=settings.region, endpoint_url=settings.sqs_endpoint)
    dlq_url = sqs.create_queue(QueueName=settings.dead_letter_queue_name)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
    urls = {}
    for partner_id in partner_ids:
        name = settings.queue_name(partner_id)
        urls[partner_id] = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": redrive})["QueueUrl"]
    return urls


def provision(settings: Settings) -> None:
    """Idempotent: safe on every start of the local stack."""
    partners = default_partners()
    create_tables(settings)
    create_queues(settings, [p["id"] for p in partners])
    seed_directory(partners, default_routing_rules())
