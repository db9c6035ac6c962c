"""The signed-in staff desk and small helpers shared by the staff and appointment tests (a plain
module, so test modules import it instead of importing each other)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from tests.conftest import auth, post_json, twilio_signature

BERLIN = ZoneInfo("Europe/Berlin")
LMU = "lmu-klinikum"
VIA = "via-bayern"
TWILIO_TOKEN = "twilio-test-auth-token"
BASE = "https://abc123.execute-api.eu-central-1.amazonaws.com/api"
PHONE = "+4915112345678"  # valid_intake's number


class Desk:
    """One signed-in person at the HTTP API."""

    def __init__(self, client: Client, token: str) -> None:
        self.client, self.headers = client, auth(token)

    def _answer(self, response: Any) -> tuple[int, Any]:
        return response.status_code, json.loads(response.body)

    def get(self, path: str) -> tuple[int, Any]:
        return self._answer(self.client.http.get(path, headers=self.headers))

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        if body is None:
            return self._answer(self.client.http.post(path, headers=self.headers))
        return self._answer(post_json(self.client, path, body, self.headers))

    def patch(self, path: str, body: Any) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", **self.headers}
        return self._answer(self.client.http.request("PATCH", path, body=json.dumps(body).encode(), headers=headers))

    def delete(self, path: str) -> tuple[int, Any]:
        return self._answer(self.client.http.delete(path, headers=self.headers))

    def case(self, case_id: str) -> dict[str, Any]:
        status, body = self.get(f"/staff/cases/{case_id}")
        assert status == 200, body
        return body

    def queue(self, query: str = "") -> dict[str, Any]:
        status, body = self.get(f"/staff/queue{query}")
        assert status == 200, body
        return body

    def book(
        self, case_id: str, start: str, minutes: int = 60, note: str | None = None, **place: str
    ) -> tuple[int, Any]:
        body: dict[str, Any] = {"start": start, "duration_minutes": minutes, **(place or {"location": "Raum 2.14"})}
        if note is not None:
            body["note"] = note
        return self.post(f"/staff/cases/{case_id}/appointments", body)

    def claimed_case(self, submit_case: Callable[..., dict[str, Any]], group: str = "health") -> str:
        case_id = submit_case(group)["case_id"]
        status, body = self.post(f"/staff/cases/{case_id}/claim")
        assert status == 200, body
        return case_id


def sweep(client: Client) -> dict[str, Any]:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke("send_due_messages", event).payload


def settle(client: Client) -> dict[str, Any]:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke("settle_past_appointments", event).payload


def sms(case_id: str) -> list[dict[str, Any]]:
    return bootstrap.messaging_service().messages_for_case(case_id)


def by_kind(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((m["kind"], m["status"]) for m in messages)


def case_status(desk: Desk, case_id: str) -> str:
    status, body = desk.get(f"/staff/cases/{case_id}")
    assert status == 200, body
    return body["status"]


def twilio_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Twilio settings the SMS webhooks check signatures against."""
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)


def applicant_sends(client: Client, body: str, sid: str) -> str:
    """A signed inbound SMS from the applicant; returns the TwiML answer."""
    pairs = [("MessageSid", sid), ("SmsSid", sid), ("From", PHONE), ("To", "+4989123456"), ("Body", body)]
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, BASE + "/sms/inbound", pairs),
    }
    response = client.http.post("/sms/inbound", body=urlencode(pairs).encode(), headers=headers)
    assert response.status_code == 200, response.body
    return response.body.decode() if isinstance(response.body, bytes) else response.body
