"""Known personal data sent through every route of the app (and every scheduled function) never
reaches the logs: neither the JSON lines on stdout nor any `logging` record (message, extras, traceback).

Routes come from `app.routes`, so a new endpoint is covered as soon as it exists; one whose path
parameter this test cannot fill fails with a message saying what to add.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from chalice.test import Client

from app import app
from tests.conftest import EMPTY_STRINGS, FrozenClock, auth, post_json, twilio_signature
from tests.functional.gdpr_helpers import PUBLIC_BASE, TWILIO_TOKEN, submit, twilio_env

GIVEN, FAMILY = "Zaynab", "Qasemi"
PHONE_E164, PHONE_NATIONAL = "+491705550123", "0170 5550123"
EMAIL = "zaynab.qasemi@example.org"
NOTE = f"{GIVEN} {FAMILY} erreichbar unter {PHONE_NATIONAL} oder {EMAIL}"
# What must never appear in a log line, however a route or a library formats it.
NEVER_LOGGED = [GIVEN, FAMILY, "1705550123", "170 5550123", "5550123", EMAIL, "Wasserbau", "Dachauer Str"]
# Erasing or cancelling changes what later requests can do: these run last.
LAST = [
    ("DELETE", "/staff/cases/{case_id}/appointments/{appointment_id}"),
    ("POST", "/coordinator/cases/{case_id}/erase"),
    ("DELETE", "/applicant/{case_id}"),
]


def intake_body(base: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(base)
    body.update(given_name=GIVEN, family_name=FAMILY, phone=PHONE_NATIONAL, email=EMAIL)
    body["message"] = f"Ich bin {GIVEN} {FAMILY}, Dachauer Str. 5, Telefon {PHONE_E164}"
    body["qualification"]["title"] = f"Master Wasserbau ({FAMILY})"
    return body


def json_bodies(base: dict[str, Any], method: str, path: str) -> list[Any]:
    """A valid body where the route has one, and a wrong one full of personal data (error paths log too)."""
    wrong = {"note": NOTE, EMAIL: GIVEN, "phone": PHONE_E164, "reason": NOTE}
    valid: dict[tuple[str, str], Any] = {
        ("POST", "/intake"): intake_body(base),
        ("POST", "/routing/preview"): intake_body(base),
        ("POST", "/staff/cases/{case_id}/transfer"): {"partner": "via-bayern", "reason": NOTE},
        ("POST", "/coordinator/cases/{case_id}/reassign"): {"partner": "lmu-klinikum", "reason": NOTE},
        ("POST", "/staff/cases/{case_id}/close"): {"outcome": "counselled", "note": NOTE},
        ("POST", "/staff/cases/{case_id}/appointments"): {
            "start": "2025-03-20T11:00",
            "duration_minutes": 30,
            "location": f"Hausbesuch Dachauer Str. 5 bei {FAMILY}",
            "note": NOTE,
        },
        ("PATCH", "/staff/cases/{case_id}/appointments/{appointment_id}"): {"note": NOTE},
        ("POST", "/staff/cases/{case_id}/appointments/{appointment_id}/attendance"): {"attended": True},
        ("POST", "/coordinator/cases/{case_id}/erase"): {"reason": "applicant_request"},
    }
    return [b for b in (valid.get((method, path)), wrong) if b is not None]


def twilio_form(path: str, sid: str) -> list[tuple[str, str]]:
    if path == "/sms/status":
        return [("MessageSid", sid), ("MessageStatus", "failed"), ("ErrorCode", "30003"), ("To", PHONE_E164)]
    return [("MessageSid", "SMlog0001"), ("From", PHONE_E164), ("To", "+4989123456"), ("Body", f"STOP {NOTE}")]


def filled(path: str, values: dict[str, str]) -> str:
    for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
        if name not in values:
            pytest.fail(f"test_log_redaction_all_routes: give path parameter {name!r} of {path} a value")
        path = path.replace("{" + name + "}", quote(values[name], safe=""))
    return path


def logged_text(records: list[logging.LogRecord], stdout: str) -> str:
    parts = [stdout]
    for record in records:
        parts.append(record.getMessage())
        parts.append(json.dumps({k: v for k, v in record.__dict__.items() if k != "msg"}, default=str))
        parts.append(record.exc_text or "")
    return "\n".join(parts)


@EMPTY_STRINGS
def test_no_personal_data_reaches_the_logs_from_any_route(
    frozen_clock: FrozenClock,
    fake_sender: Any,
    client: Client,
    valid_intake: dict[str, Any],
    staff_token: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    twilio_env(monkeypatch)
    caplog.set_level(logging.DEBUG)
    created, secret = submit(client, intake_body(valid_intake), key="log-test-key")
    case_id, partner = created["case_id"], created["partner"]
    staff = staff_token(partner, name="Anna Berger")
    coordinator = staff_token(None, role="coordinator", name="Clara K")
    assert post_json(client, f"/staff/cases/{case_id}/claim", {}, auth(staff)).status_code == 200
    booked = post_json(
        client,
        f"/staff/cases/{case_id}/appointments",
        {"start": "2025-03-12T10:00", "duration_minutes": 60, "location": "Raum 2", "note": NOTE},
        auth(staff),
    )
    assert booked.status_code == 201, booked.body
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    client.lambda_.invoke("send_due_messages", event)
    [sms] = [d for d in fake_sender.accepted if d.to == PHONE_E164][:1]
    params = {
        "case_id": case_id,
        "appointment_id": json.loads(booked.body)["appointment"]["appointment_id"],
        "language": "ar",
        "name": "status.js",
    }

    routes = [(method, path) for path, entries in app.routes.items() for method in entries]
    ordered = sorted(set(routes) - set(LAST)) + [r for r in LAST if r in routes]
    answered: dict[tuple[str, str], list[int]] = {}
    for method, path in ordered:
        url = filled(path, {**params, "name": "intake.schema.json" if path.startswith("/schemas") else "status.js"})
        token = staff if path == "/staff/queue" else coordinator
        headers = {"Authorization": f"Bearer {token}", "X-Status-Secret": secret, "Accept-Language": "ar"}
        query = "?" + urlencode({"note": NOTE, "phone": PHONE_E164})  # stray query parameters, too
        content_types = app.routes[path][method].content_types
        statuses = answered.setdefault((method, path), [])
        if path.startswith("/sms/"):
            pairs = twilio_form(path, sms.sid)
            signed = {"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, PUBLIC_BASE + path, pairs)}
            form = {"Content-Type": "application/x-www-form-urlencoded", **signed}
            response = client.http.post(path, body=urlencode(pairs).encode(), headers=form)
            statuses.append(response.status_code)
        elif method in ("POST", "PATCH") and "application/json" in content_types:
            for body in json_bodies(valid_intake, method, path):
                sent = {**headers, "Content-Type": "application/json"}
                response = client.http.request(method, url, body=json.dumps(body).encode(), headers=sent)
                statuses.append(response.status_code)
        else:
            response = client.http.request(method, url + query, headers=headers)
            statuses.append(response.status_code)
    for function in sorted(source.name for source in app.event_sources):
        client.lambda_.invoke(function, event)

    assert set(answered) == set(routes)
    assert all(status < 500 for statuses in answered.values() for status in statuses), answered
    assert (
        200 in answered[("DELETE", "/applicant/{case_id}")]
        or 200 in answered[("POST", "/coordinator/cases/{case_id}/erase")]
    )
    stdout = capsys.readouterr().out
    request_lines = [line for line in stdout.splitlines() if '"event":"request"' in line]
    assert len(request_lines) >= sum(len(s) for s in answered.values())  # every request left its line
    text = logged_text(caplog.records, stdout)
    leaked = [value for value in [*NEVER_LOGGED, secret] if value.lower() in text.lower()]
    assert leaked == [], f"personal data in the logs: {leaked}"
