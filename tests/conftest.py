"""Shared fixtures: one moto context per test, provisioned like the local stack."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib.config import settings

TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_REGION": "eu-central-1",
    "STAGE": "local",
    "TABLE_PREFIX": "migranet-local",
    "QUEUE_PREFIX": "migranet-local",
}


@pytest.fixture(autouse=True)
def _test_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    # Never pick up a developer's running `make run` stack (chalicelib.local.stack.use_running_stack).
    monkeypatch.setenv("LOCAL_DATA_DIR", str(tmp_path / "local-data"))
    for name in ("DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh moto world with tables, queues and the seeded directory."""
    from chalicelib.local.provision import provision

    with mock_aws():
        bootstrap.reset()
        provision(settings())
        yield
        bootstrap.reset()


@pytest.fixture
def client(aws: None) -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="local") as test_client:
        yield test_client


@pytest.fixture
def valid_intake() -> dict[str, Any]:
    return {
        "language": "ar",
        "given_name": "Layla",
        "family_name": "Haddad",
        "phone": "0151 1234 5678",
        "email": "layla@example.org",
        "postcode": "80331",
        "qualification": {
            "country": "SY",
            "title": "Bachelor of Civil Engineering",
            "profession_group": "engineering",
            "level": "bachelor",
        },
        "german_level": "B1",
        "goals": ["recognition", "job"],
        "registered_with_employment_agency": False,
        "message": "I would like to work as an engineer in Munich.",
        "consent": {"data_processing": True, "share_with_partners": True, "sms": True},
    }


def post_json(client: Client, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(
        path, body=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})}
    )


def sqs_messages(partner_id: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=os.environ["AWS_REGION"])
    url = sqs.get_queue_url(QueueName=settings().queue_name(partner_id))["QueueUrl"]
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in received.get("Messages", [])]
