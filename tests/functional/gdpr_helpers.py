"""Helpers for the data-protection tests: applicants, signed Twilio webhooks, and scanning every table."""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import urlencode

import boto3
from chalice.test import Client

from tests.conftest import auth, post_json, twilio_signature

TWILIO_TOKEN = "twilio-test-auth-token"
PUBLIC_BASE = "https://abc123.execute-api.eu-central-1.amazonaws.com/api"
LINK = re.compile(r"/status#(?P<case_id>[0-9a-f-]{36})\.(?P<secret>[A-Za-z0-9_-]+)$")


def twilio_env(monkeypatch: Any) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC_BASE)


def applicant(base: dict[str, Any], given: str, family: str, phone: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(base)
    body.update(given_name=given, family_name=family, phone=phone, email=f"{given.lower()}@example.org", **changes)
    return body


def submit(client: Client, body: dict[str, Any], key: str | None = None) -> tuple[dict[str, Any], str]:
    """The 201 body and the status-link secret."""
    response = post_json(client, "/intake", body, {"Idempotency-Key": key} if key else {})
    assert response.status_code == 201, response.body
    match = LINK.search(response.json_body["status_link"])
    assert match, response.json_body["status_link"]
    return response.json_body, match["secret"]


def post_form(client: Client, path: str, pairs: list[tuple[str, str]]) -> Any:
    """A Twilio webhook with a valid X-Twilio-Signature for the public URL Twilio used."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
        "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, PUBLIC_BASE + path, pairs),
    }
    return client.http.post(path, body=urlencode(pairs).encode("utf-8"), headers=headers)


def inbound_sms(client: Client, sender: str, text: str, sid: str) -> Any:
    pairs = [("MessageSid", sid), ("SmsSid", sid), ("From", sender), ("To", "+4989123456"), ("Body", text)]
    pairs += [("AccountSid", "AC" + "1" * 32), ("FromCity", "")]
    response = post_form(client, "/sms/inbound", pairs)
    assert response.status_code == 200, response.body
    return response


def status_callback(client: Client, sid: str, status: str, error_code: str | None = None) -> Any:
    pairs = [("MessageSid", sid), ("MessageStatus", status), ("AccountSid", "AC" + "1" * 32)]
    if error_code:
        pairs.append(("ErrorCode", error_code))
    response = post_form(client, "/sms/status", pairs)
    assert response.status_code == 200, response.body
    return response


def scan_all_tables() -> dict[str, str]:
    """Every item of every table (all pages), as JSON text per table."""
    dynamodb = boto3.client("dynamodb")
    found: dict[str, str] = {}
    for table in dynamodb.list_tables()["TableNames"]:
        items: list[Any] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=table):
            items.extend(page["Items"])
        found[table] = json.dumps(items, ensure_ascii=False)
    return found


def staff_post(client: Client, token: str, path: str, body: Any = None) -> Any:
    if body is None:
        return client.http.post(path, headers=auth(token))
    return post_json(client, path, body, auth(token))
