"""GDPR across every table: export has everything and nothing of others, erasure leaves nothing,
coordinators can do both on request, SMS opt-outs are recorded in the consent (moto, frozen clock)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.adapters.dynamodb.models import AuditModel, CaseModel
from chalicelib.domain.messages import phone_hash
from tests.conftest import EMPTY_STRINGS, FrozenClock, auth, post_json
from tests.functional.gdpr_helpers import (
    applicant,
    inbound_sms,
    scan_all_tables,
    staff_post,
    status_callback,
    submit,
    twilio_env,
)

BERLIN = ZoneInfo("Europe/Berlin")
LAYLA_PHONE = "+4915112345678"
OKSANA_PHONE = "+380671234567"
# Tables that may keep the keyed hash (never the number) after erasure, and why (see the report).
HASH_MAY_STAY = {"migranet-local-sms-opt-outs", "migranet-local-sms-limits"}


@pytest.fixture(autouse=True)
def _twilio(monkeypatch: pytest.MonkeyPatch) -> None:
    twilio_env(monkeypatch)


def sweep(client: Client) -> dict[str, Any]:
    event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={}, resources=[])
    return client.lambda_.invoke("send_due_messages", event).payload


@pytest.fixture
def world(
    frozen_clock: FrozenClock,
    fake_sender: Any,
    client: Client,
    valid_intake: dict[str, Any],
    staff_token: Callable[..., str],
) -> dict[str, Any]:
    """Layla (the one who asks) with SMS, an inbound reply, a transfer, an appointment with a note;
    Oksana (someone else) with her own SMS, in the same partner's queue."""
    layla_body = applicant(valid_intake, "Layla", "Haddad", "0151 1234 5678")
    layla, layla_secret = submit(client, layla_body, key="layla-key-123")
    oksana_body = applicant(
        valid_intake, "Oksana", "Shevchenko", OKSANA_PHONE, message="Ich suche Arbeit als Ingenieurin."
    )
    oksana_body["qualification"]["title"] = "Diploma in Hydraulic Engineering"
    oksana, _ = submit(client, oksana_body)
    sweep(client)  # both intake_received SMS go out
    sent = {d.to: d for d in fake_sender.accepted}
    status_callback(client, sent[LAYLA_PHONE].sid, "delivered")
    inbound_sms(client, LAYLA_PHONE, "Hallo, hier ist Layla Haddad, bitte rufen Sie mich an", "SMin0001")

    akademie = staff_token("akademie-ingenieure", name="Bernd Vogel")
    assert staff_post(client, akademie, f"/staff/cases/{layla['case_id']}/claim").status_code == 200
    reason = {"partner": "lmu-klinikum", "reason": "Layla Haddad braucht eine medizinische Anerkennung"}
    assert staff_post(client, akademie, f"/staff/cases/{layla['case_id']}/transfer", reason).status_code == 200
    lmu = staff_token("lmu-klinikum", name="Anna Berger")
    assert staff_post(client, lmu, f"/staff/cases/{layla['case_id']}/claim").status_code == 200
    booking = {
        "start": "2025-03-14T10:00",
        "duration_minutes": 60,
        "location": "Hausbesuch bei Familie Haddad, Leopoldstraße 77",
        "note": "Layla Haddad bringt ihr Zeugnis mit",
    }
    booked = staff_post(client, lmu, f"/staff/cases/{layla['case_id']}/appointments", booking)
    assert booked.status_code == 201, booked.body
    return {
        "layla": layla,
        "secret": layla_secret,
        "oksana": oksana,
        "lmu": lmu,
        "appointment_id": json.loads(booked.body)["appointment"]["appointment_id"],
        "personal": [
            "Layla",
            "Haddad",
            "15112345678",
            "1234 5678",
            "layla@example.org",
            "Civil Engineering",
            "engineer in Munich",
            "Leopoldstraße 77",
            "bitte rufen Sie mich an",
            layla_secret,
            layla["reference"],
            "layla-key-123",
        ],
    }


@EMPTY_STRINGS
def test_export_holds_everything_about_the_applicant_and_nothing_of_anyone_else(
    client: Client, world: dict[str, Any]
) -> None:
    case_id = world["layla"]["case_id"]
    response = client.http.get(f"/applicant/{case_id}/export", headers={"X-Status-Secret": world["secret"]})
    assert response.status_code == 200
    export = json.loads(response.body)
    assert export["case"]["intake"]["given_name"] == "Layla"
    assert export["case"]["consent"]["version"].startswith("consent-")
    history = export["case"]["history"]
    assert [h["action"] for h in history][:4] == ["routed", "claimed", "transferred", "claimed"]
    assert "medizinische Anerkennung" in json.dumps(history, ensure_ascii=False)  # the transfer reason is hers
    kinds = sorted((m["direction"], m["kind"], m["status"]) for m in export["sms_messages"])
    assert ("outbound", "intake_received", "delivered") in kinds
    assert ("inbound", "inbound", "received") in kinds
    assert {m["phone"] for m in export["sms_messages"]} == {LAYLA_PHONE}
    [appointment] = export["appointments"]
    assert appointment["note"] == "Layla Haddad bringt ihr Zeugnis mit"
    statistics = export["retention_and_statistics"]["statistics"]
    assert statistics["sms_sent"] == 1 and statistics["sms_delivered"] == 1 and statistics["appointments"] == 1
    assert {e["action"] for e in export["access_log"]} >= {"claim", "transfer", "appointment_booked"}
    text = json.dumps(export, ensure_ascii=False)
    for other in ("Oksana", "Shevchenko", "380671234567", world["oksana"]["case_id"], world["oksana"]["reference"]):
        assert other not in text, other
    assert "status_secret_hash" not in text and world["secret"] not in text


@EMPTY_STRINGS
def test_erasure_leaves_no_personal_data_in_any_table_and_cancels_pending_sms(
    client: Client, world: dict[str, Any], fake_sender: Any, frozen_clock: FrozenClock
) -> None:
    case_id = world["layla"]["case_id"]
    pending = [m for m in bootstrap.messaging_service().messages_for_case(case_id) if m["status"] == "pending"]
    assert {m["kind"] for m in pending} >= {"reminder"}  # the 24 h and 2 h reminders wait

    response = client.http.delete(f"/applicant/{case_id}", headers={"X-Status-Secret": world["secret"]})
    assert response.status_code == 200, response.body

    tables = scan_all_tables()
    assert {"migranet-local-messages", "migranet-local-appointments", "migranet-local-sms-opt-outs"} <= set(tables)
    for table, text in tables.items():
        for value in world["personal"]:
            assert value.lower() not in text.lower(), f"{value!r} still in {table}"
        if table not in HASH_MAY_STAY:
            assert phone_hash(LAYLA_PHONE, bootstrap.phone_hash_key()) not in text, f"phone hash still in {table}"
    assert "Oksana" in tables["migranet-local-cases"] and OKSANA_PHONE in tables["migranet-local-messages"]

    # Nothing planned for her is ever sent: past both reminders and the appointment itself.
    already = len(fake_sender.accepted)
    frozen_clock.set(datetime(2025, 3, 14, 12, 0, tzinfo=BERLIN))
    sweep(client)
    assert [d.to for d in fake_sender.accepted[already:]] == []

    # What remains is the anonymous record, with its statistics.
    item = CaseModel.get(case_id)
    assert item.erased_at and item.reference == "ERASED" and item.partner == "lmu-klinikum"
    assert item.routed_partner == "akademie-ingenieure" and item.claimed_at is not None
    assert (item.sms_sent, item.sms_delivered) == (1, 1)
    assert item.expires_at is None and item.retention_key is None and item.phone_hash is None
    assert item.intake == {"goals": ["recognition", "job"], "qualification": {"profession_group": "engineering"}}
    # A language with a date and a profession can single someone out in a small cohort.
    assert item.language == "und" and "language" not in item.consent and item.consent["version"]
    erase = [e for e in AuditModel.query(case_id) if e.action == "erase"]
    assert [(e.staff_id, e.detail) for e in erase] == [("applicant", {"reason": "applicant_request"})]


@EMPTY_STRINGS
def test_erasure_reaches_twilio_its_record_of_each_sms_sent_and_received_is_deleted(
    client: Client, world: dict[str, Any], fake_sender: Any, frozen_clock: FrozenClock
) -> None:
    """Twilio's message log holds number and text of every SMS, both ways: a processor's copy, erased too."""
    case_id = world["layla"]["case_id"]
    ours = [m for m in bootstrap.messaging_service().messages_for_case(case_id) if m["twilio_sid"]]
    sent = {m["twilio_sid"] for m in ours}
    oksana_sids = {d.sid for d in fake_sender.accepted if d.to == OKSANA_PHONE}
    assert sent and oksana_sids
    fake_sender.forget_failures = 1  # Twilio unreachable at the first attempt
    response = client.http.delete(f"/applicant/{case_id}", headers={"X-Status-Secret": world["secret"]})
    assert response.status_code == 200, response.body

    first = sweep(client)
    assert first["retried"] == 1
    frozen_clock.advance(minutes=10)  # past the backoff
    second = sweep(client)
    assert first["forgotten"] + second["forgotten"] == len(sent) + 1
    assert sorted(fake_sender.forgotten) == sorted(sent | {"SMin0001"})  # hers, both ways, each once
    assert sweep(client)["forgotten"] == 0  # the requests are gone
    assert "SMin0001" not in scan_all_tables()["migranet-local-messages"]


@EMPTY_STRINGS
def test_an_erased_applicant_who_said_stop_is_never_texted_again(
    client: Client, world: dict[str, Any], fake_sender: Any, valid_intake: dict[str, Any]
) -> None:
    inbound_sms(client, LAYLA_PHONE, "STOP", "SMin0002")
    case_id = world["layla"]["case_id"]
    assert client.http.delete(f"/applicant/{case_id}", headers={"X-Status-Secret": world["secret"]}).status_code == 200
    already = len(fake_sender.accepted)
    submit(client, applicant(valid_intake, "Layla", "Haddad", LAYLA_PHONE))  # she comes back later
    sweep(client)
    assert [d.to for d in fake_sender.accepted[already:]] == []


# --- coordinators, on an applicant's request ------------------------------------------------


@EMPTY_STRINGS
def test_coordinator_exports_and_erases_on_request_audited_and_staff_may_not(
    client: Client, world: dict[str, Any], staff_token: Callable[..., str]
) -> None:
    case_id = world["layla"]["case_id"]
    coordinator = staff_token(None, role="coordinator", name="Clara Koordinatorin")
    for path, method in (
        (f"/coordinator/cases/{case_id}/export", "GET"),
        (f"/coordinator/cases/{case_id}/erase", "POST"),
    ):
        body = json.dumps({"reason": "applicant_request"}) if method == "POST" else None
        headers = {**auth(world["lmu"]), "Content-Type": "application/json"}
        refused = client.http.request(method, path, body=body, headers=headers)
        assert refused.status_code == 403, (path, refused.body)

    export = client.http.get(f"/coordinator/cases/{case_id}/export", headers=auth(coordinator))
    assert export.status_code == 200
    assert json.loads(export.body)["case"]["intake"]["family_name"] == "Haddad"
    assert "attachment" in export.headers["Content-Disposition"]

    bad = post_json(
        client, f"/coordinator/cases/{case_id}/erase", {"reason": "Layla asked me by phone"}, auth(coordinator)
    )
    assert bad.status_code == 400 and json.loads(bad.body)["errors"][0]["field"] == "reason"
    missing = post_json(client, "/coordinator/cases/00000000-0000-4000-8000-000000000000/erase",
                        {"reason": "applicant_request"}, auth(coordinator))  # fmt: skip
    assert missing.status_code == 404

    erased = post_json(client, f"/coordinator/cases/{case_id}/erase", {"reason": "objection"}, auth(coordinator))
    assert erased.status_code == 200 and json.loads(erased.body)["erased"] is True
    again = post_json(client, f"/coordinator/cases/{case_id}/erase", {"reason": "objection"}, auth(coordinator))
    assert again.status_code == 200 and json.loads(again.body)["erased_at"] == json.loads(erased.body)["erased_at"]

    entries = [(e.action, e.staff_id, e.role, e.detail) for e in AuditModel.query(case_id)]
    coordinator_entries = sorted((*e[0:2], json.dumps(e[3])) for e in entries if e[2] == "coordinator")
    staff_id = coordinator_entries[0][1]
    assert coordinator_entries == [("erase", staff_id, '{"reason": "objection"}'), ("export", staff_id, "{}")]
    assert "Haddad" not in json.dumps(entries, ensure_ascii=False)
    status = client.http.get(f"/applicant/{case_id}", headers={"X-Status-Secret": world["secret"]})
    assert status.status_code == 404


# --- SMS consent withdrawal ---------------------------------------------------------------------


@EMPTY_STRINGS
def test_stop_is_recorded_in_the_consent_of_every_case_of_that_number_and_start_renews_it(
    client: Client, world: dict[str, Any], valid_intake: dict[str, Any], frozen_clock: FrozenClock
) -> None:
    second, _ = submit(client, applicant(valid_intake, "Layla", "Haddad", LAYLA_PHONE))
    no_sms = applicant(valid_intake, "Layla", "Haddad", LAYLA_PHONE)
    no_sms["consent"] = {**no_sms["consent"], "sms": False}
    without_consent, _ = submit(client, no_sms)
    ids = [world["layla"]["case_id"], second["case_id"]]

    frozen_clock.advance(hours=1)
    inbound_sms(client, LAYLA_PHONE, "Stop.", "SMin0003")
    stopped_at = frozen_clock.now()
    for case_id in ids:
        item = CaseModel.get(case_id)
        assert datetime.fromisoformat(item.consent["sms_withdrawn_at"]) == stopped_at
        assert item.opted_out_at is not None
        assert item.history[-1]["action"] == "sms_consent_withdrawn"
    assert CaseModel.get(without_consent["case_id"]).consent["sms_withdrawn_at"] is None  # had none to withdraw
    assert CaseModel.get(world["oksana"]["case_id"]).consent["sms_withdrawn_at"] is None

    frozen_clock.advance(hours=1)
    inbound_sms(client, LAYLA_PHONE, "START", "SMin0004")
    for case_id in ids:
        consent = CaseModel.get(case_id).consent
        assert consent["sms_withdrawn_at"] is None
        assert datetime.fromisoformat(consent["sms_renewed_at"]) == frozen_clock.now()
        assert CaseModel.get(case_id).opted_out_at is not None  # the statistic keeps that she opted out once


@EMPTY_STRINGS
def test_stop_does_not_touch_an_erased_case(client: Client, world: dict[str, Any]) -> None:
    case_id = world["layla"]["case_id"]
    assert client.http.delete(f"/applicant/{case_id}", headers={"X-Status-Secret": world["secret"]}).status_code == 200
    before = CaseModel.get(case_id)
    inbound_sms(client, LAYLA_PHONE, "STOP", "SMin0005")
    after = CaseModel.get(case_id)
    assert after.consent == before.consent and after.updated_at == before.updated_at


# --- the status link and its page --------------------------------------------------------------


@EMPTY_STRINGS
def test_guessing_secrets_finds_nothing_and_tells_nothing(client: Client, world: dict[str, Any]) -> None:
    import secrets

    case_id = world["layla"]["case_id"]
    unknown = client.http.get("/applicant/00000000-0000-4000-8000-000000000000", headers={"X-Status-Secret": "x"})
    for _ in range(200):
        guess = secrets.token_urlsafe(16)
        for path in (f"/applicant/{case_id}", f"/applicant/{case_id}/export"):
            response = client.http.get(path, headers={"X-Status-Secret": guess})
            assert (response.status_code, response.body) == (404, unknown.body)
    assert client.http.delete(f"/applicant/{case_id}", headers={"X-Status-Secret": "guess"}).status_code == 404
    real = client.http.get(f"/applicant/{case_id}", headers={"X-Status-Secret": world["secret"]})
    assert real.status_code == 200


def test_the_status_page_holds_no_case_data_and_speaks_the_browsers_language(client: Client) -> None:
    response = client.http.get("/status", headers={"Accept-Language": "fa, en;q=0.5"})
    assert response.status_code == 200
    html = response.body.decode()
    assert '<html lang="fa" dir="rtl">' in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["Referrer-Policy"] == "no-referrer" and "noindex" in response.headers["X-Robots-Tag"]
    data = json.loads(html.split('id="status-data">')[1].split("</script>")[0])
    assert set(data["texts"]) == {"ar", "de", "en", "es", "fa", "fr", "pl", "ro", "ru", "tr", "uk"}
    assert data["texts"]["de"]["erase"] == "Meine Daten löschen"
    assert "/assets/status.js?v=" in html and "case_id" not in html


def test_coordinator_erases_a_transferred_case_with_sms_history(client, submit_case, staff_token) -> None:
    """Transfers plan SMS and touch the case; erasing it afterwards still succeeds (no 500)."""
    case_id = submit_case("health")["case_id"]
    staff = auth(staff_token("lmu-klinikum", name="Anna Berger"))
    coordinator = auth(staff_token("via-bayern", role="coordinator", name="Chris Koch"))
    assert client.http.post(f"/staff/cases/{case_id}/claim", headers=staff).status_code == 200
    day = (datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=10)).isoformat()
    slot = {"start": f"{day}T10:30", "duration_minutes": 45, "location": "Marchioninistraße 15"}
    booked = post_json(client, f"/staff/cases/{case_id}/appointments", slot, staff)
    assert booked.status_code == 201, booked.body
    appointment_id = booked.json_body["appointment"]["appointment_id"]
    cancelled = client.http.delete(f"/staff/cases/{case_id}/appointments/{appointment_id}", headers=staff)
    assert cancelled.status_code == 200
    move = {"partner": "servicestelle-muenchen", "reason": "Needs recognition counselling first"}
    assert post_json(client, f"/staff/cases/{case_id}/transfer", move, staff).status_code == 200
    again = {"partner": "via-bayern", "reason": "Applicant asked for Arabic-speaking counsel"}
    assert post_json(client, f"/coordinator/cases/{case_id}/reassign", again, coordinator).status_code == 200
    assert client.http.get(f"/coordinator/cases/{case_id}/export", headers=coordinator).status_code == 200
    erased = post_json(client, f"/coordinator/cases/{case_id}/erase", {"reason": "applicant_request"}, coordinator)
    assert erased.status_code == 200, erased.body
    assert CaseModel.get(case_id).erased_at is not None
