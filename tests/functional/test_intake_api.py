"""POST /intake through chalice.test.Client against moto: what applicants and partners see."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from chalicelib.adapters.dynamodb.models import CaseModel
from chalicelib.domain.reference import ALPHABET
from tests.conftest import deliver_stream, post_json, sqs_messages
from tests.reliability.faults import THROTTLING, TIMEOUT, dynamodb_faults


def count_items() -> tuple[int, int, int]:
    """Cases stored, cases in a partner's queue, idempotency records."""
    cases = list(CaseModel.scan())
    return (
        len(cases),
        sum(1 for case in cases if case.partner_status),
        sum(1 for case in cases if case.request_hash and case.idempotent_until),
    )


def test_valid_intake_is_stored_routed_and_queued(client, valid_intake):
    response = post_json(client, "/intake", valid_intake)
    assert response.status_code == 201
    body = response.json_body
    assert body["status"] == "routed"
    assert body["partner"] == "akademie-ingenieure"
    assert body["partner_name"] == "Akademie der Ingenieure GmbH"
    assert body["rule"] == "engineering-construction"
    assert uuid.UUID(body["case_id"]).version == 4

    case = CaseModel.get(body["case_id"])
    assert case.partner == "akademie-ingenieure"
    assert case.rule == "engineering-construction"
    assert case.routing_reason == "qualification.profession_group is engineering"
    assert case.intake["phone"] == "+4915112345678"
    assert case.reference == body["reference"]

    [entry] = CaseModel.queue_index.query("akademie-ingenieure#routed")
    assert entry.case_id == body["case_id"] and entry.reference == body["reference"]
    assert entry.profession_group == "engineering"
    assert "Layla" not in json.dumps(entry.attribute_values, default=str)  # the index holds no personal data


def test_consent_without_the_sms_answer_means_no_sms(client, valid_intake):
    consent = {"data_processing": True, "share_with_partners": True}  # `sms` is optional in the issue
    response = post_json(client, "/intake", {**valid_intake, "consent": consent})
    assert response.status_code == 201, response.body
    case = CaseModel.get(response.json_body["case_id"])
    assert case.intake["consent"]["sms"] is False and case.consent["sms"] is False
    assert case.confirm_key is None  # no intake_received SMS is planned


def test_the_consent_record_names_the_language_the_texts_were_shown_in(client, valid_intake):
    """The German page, messages chosen in Ukrainian: the applicant accepted the German texts."""
    consent = {**valid_intake["consent"], "language": "de"}
    response = post_json(client, "/intake", {**valid_intake, "language": "uk", "consent": consent})
    assert response.status_code == 201, response.body
    case = CaseModel.get(response.json_body["case_id"])
    assert (case.consent["language"], case.language) == ("de", "uk")
    bad = post_json(client, "/intake", {**valid_intake, "consent": {**consent, "language": "xx"}})
    assert bad.status_code == 400 and bad.json_body["errors"][0]["field"] == "consent.language"


def test_reference_is_readable_on_the_phone(client, valid_intake):
    reference = post_json(client, "/intake", valid_intake).json_body["reference"]
    assert len(reference) == 9 and reference[4] == "-"
    assert set(reference.replace("-", "")) <= set(ALPHABET)
    assert not set(reference) & set("0O1I")


def test_partner_queue_gets_a_case_routed_message_without_personal_data(client, valid_intake):
    valid_intake["qualification"]["profession_group"] = "health"
    body = post_json(client, "/intake", valid_intake).json_body
    deliver_stream(client)
    messages = sqs_messages("lmu-klinikum")
    assert messages == [
        {
            "type": "case.routed",
            "case_id": body["case_id"],
            "reference": body["reference"],
            "partner": "lmu-klinikum",
            "at": messages[0]["at"],
        }
    ]
    assert sqs_messages("akademie-ingenieure") == []


def test_invalid_fields_are_listed_and_nothing_is_stored(client, valid_intake):
    valid_intake["postcode"] = "12"
    valid_intake["qualification"]["country"] = "XX"
    valid_intake["phone"] = "0151"
    valid_intake["favourite_colour"] = "blue"
    response = post_json(client, "/intake", valid_intake)
    assert response.status_code == 400
    errors = {e["field"]: e["code"] for e in response.json_body["errors"]}
    assert errors == {
        "postcode": "invalid_postcode",
        "qualification.country": "invalid_choice",
        "favourite_colour": "not_allowed",
    }
    assert all(e["message"] for e in response.json_body["errors"])
    assert count_items() == (0, 0, 0)


def test_undialable_phone_is_rejected_after_schema_checks(client, valid_intake):
    valid_intake["phone"] = "0151"
    response = post_json(client, "/intake", valid_intake)
    assert response.status_code == 400
    assert response.json_body["errors"] == [
        {"field": "phone", "code": "invalid_phone", "message": "phone is not a valid phone number."}
    ]
    assert count_items() == (0, 0, 0)


def test_a_premium_rate_number_with_sms_consent_is_refused_and_nothing_is_stored(client, valid_intake):
    """SMS-pumping fraud sends to premium-rate numbers; no applicant can read an SMS on one."""
    valid_intake["phone"], valid_intake["consent"]["sms"] = "0900 1234567", True
    response = post_json(client, "/intake", valid_intake)
    assert response.status_code == 400
    [error] = response.json_body["errors"]
    assert (error["field"], error["code"]) == ("phone", "invalid_phone")
    assert "cannot receive text messages" in error["message"]
    assert count_items() == (0, 0, 0)


@pytest.mark.parametrize(
    ("raw", "code"),
    [(b"{not json", "invalid_json"), (b"", "required"), (b"\xff\xfe", "invalid_json"), (b"[" * 100000, "invalid_json")],
)
def test_broken_bodies_get_400(client, raw, code):
    response = client.http.post("/intake", body=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 413)
    if response.status_code == 400:
        assert response.json_body["errors"][0]["code"] == code
    assert count_items() == (0, 0, 0)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"given_name": "\ud800"}, "given_name"),
        ({"message": "Hallo \udfff"}, "message"),
        ({"goals": ["recognition", "\ud83d"]}, "goals[1]"),
        ({"qualification": {"title": "Ingenieur \udc00", "profession_group": "engineering"}}, "qualification.title"),
    ],
)
def test_an_unpaired_surrogate_escape_gets_400_naming_the_field(client, valid_intake, change, field):
    # Valid JSON ("\ud800" is a legal escape) but not valid Unicode: it reached the request hash and failed with 500.
    # json.dumps escapes it (ensure_ascii), as a client sends it.
    body = json.dumps({**valid_intake, **change})
    response = client.http.post(
        "/intake", body=body, headers={"Content-Type": "application/json", "Idempotency-Key": "k1"}
    )
    assert response.status_code == 400
    assert {"field": field, "code": "invalid_text"}.items() <= response.json_body["errors"][0].items()
    assert count_items() == (0, 0, 0)


def test_a_paired_surrogate_escape_is_just_an_emoji(client, valid_intake):
    body = json.dumps({**valid_intake, "message": "Danke \U0001f600"})  # sent as \ud83d\ude00
    assert "\\ud83d\\ude00" in body
    response = client.http.post("/intake", body=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 201


@pytest.mark.parametrize(
    "content_type",
    # the last three are refused by Chalice itself (the route does not list them): same code
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
        "text/csv",
        "image/png",
        "application/vnd.api+json",
    ],
)
def test_non_json_body_gets_415(client, valid_intake, content_type):
    response = client.http.post("/intake", body=json.dumps(valid_intake), headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert response.json_body["code"] == "unsupported_media_type"
    assert count_items() == (0, 0, 0)


def test_a_missing_content_type_is_415_saying_so(client, valid_intake):
    response = client.http.post("/intake", body=json.dumps(valid_intake), headers={})
    assert response.status_code == 415
    assert response.json_body["error"] == "Content-Type must be application/json, and it is missing."
    assert count_items() == (0, 0, 0)


def test_json_with_charset_is_accepted(client, valid_intake):
    response = client.http.post(
        "/intake", body=json.dumps(valid_intake), headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 201


def test_body_over_64_kib_gets_413(client, valid_intake):
    valid_intake["message"] = "x" * (65 * 1024)
    response = post_json(client, "/intake", valid_intake)
    assert response.status_code == 413
    assert response.json_body["code"] == "payload_too_large"
    assert count_items() == (0, 0, 0)


def test_same_key_same_body_returns_first_response_and_creates_nothing(client, valid_intake):
    headers = {"Idempotency-Key": "form-fill-1"}
    first = post_json(client, "/intake", valid_intake, headers)
    # Key order differs: the same request in JSON terms.
    reordered = dict(reversed(list(valid_intake.items())))
    second = post_json(client, "/intake", reordered, headers)
    assert first.status_code == second.status_code == 201
    assert second.json_body == first.json_body
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert count_items() == (1, 1, 1)
    deliver_stream(client)
    assert len(sqs_messages("akademie-ingenieure")) == 1


@pytest.mark.parametrize("fault", [TIMEOUT, THROTTLING])
def test_a_repeat_whose_write_gets_no_clear_answer_is_answered_as_the_first(client, valid_intake, fault):
    """The repeat's conditional PutItem is refused (the key's case exists), but the answer is lost
    or throttled: the app finds a case under that id. It is the first request's, so the repeat
    gets the first answer, not a reference and status link of a case that was never stored."""
    headers = {"Idempotency-Key": "form-fill-lost-" + fault}
    first = post_json(client, "/intake", valid_intake, headers)
    assert first.status_code == 201
    with dynamodb_faults() as faults:
        faults.inject("PutItem", fault)
        second = post_json(client, "/intake", valid_intake, headers)
    assert faults.injected == [f"PutItem:{fault}"]
    assert second.status_code == 201
    assert second.json_body == first.json_body
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert CaseModel.get(first.json_body["case_id"]).reference == first.json_body["reference"]
    assert count_items() == (1, 1, 1)


def test_same_key_different_body_gets_409(client, valid_intake):
    headers = {"Idempotency-Key": "form-fill-2"}
    assert post_json(client, "/intake", valid_intake, headers).status_code == 201
    valid_intake["postcode"] = "80333"
    response = post_json(client, "/intake", valid_intake, headers)
    assert response.status_code == 409
    assert response.json_body["code"] == "idempotency_key_reused"
    assert count_items() == (1, 1, 1)


@pytest.mark.parametrize("key", ["", "k" * 65])
def test_bad_idempotency_keys_are_rejected(client, valid_intake, key):
    response = post_json(client, "/intake", valid_intake, {"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.json_body["errors"][0]["field"] == "Idempotency-Key"
    assert count_items() == (0, 0, 0)


def test_without_key_each_submission_is_a_new_case(client, valid_intake):
    post_json(client, "/intake", valid_intake)
    post_json(client, "/intake", valid_intake)
    assert count_items() == (2, 2, 0)


def test_twenty_concurrent_repeats_create_one_case(client, valid_intake, atomic_dynamodb):
    headers = {"Idempotency-Key": "double-tap-" + uuid.uuid4().hex}
    barrier = threading.Barrier(20)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def submit() -> None:
        barrier.wait()
        response = post_json(client, "/intake", valid_intake, headers)
        with lock:
            results.append((response.status_code, response.json_body.get("case_id", "")))

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20
    assert {status for status, _ in results} == {201}
    assert len({case_id for _, case_id in results}) == 1
    assert count_items() == (1, 1, 1)


def test_expired_idempotency_record_does_not_block_the_key(client, valid_intake):
    from datetime import UTC, datetime, timedelta

    headers = {"Idempotency-Key": "old-key"}
    first = post_json(client, "/intake", valid_intake, headers).json_body
    record = CaseModel.get(first["case_id"])
    record.update(actions=[CaseModel.idempotent_until.set(datetime.now(UTC) - timedelta(minutes=1))])
    valid_intake["postcode"] = "80333"
    second = post_json(client, "/intake", valid_intake, headers)
    assert second.status_code == 201
    assert second.json_body["case_id"] != first["case_id"]
    again = post_json(client, "/intake", valid_intake, headers)  # a retry of the second submission
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json_body == second.json_body
    assert count_items() == (2, 2, 2)  # the first case stays, in its queue; its record is just stale


def test_routing_preview_decides_without_storing(client, valid_intake):
    valid_intake["qualification"]["profession_group"] = "it"
    valid_intake["goals"] = ["job"]
    valid_intake["registered_with_employment_agency"] = True
    response = post_json(client, "/routing/preview", valid_intake)
    assert response.status_code == 200
    assert response.json_body == {
        "partner": "arbeitsagentur-muenchen",
        "partner_name": "Agentur für Arbeit München",
        "rule": "job-placement",
        "reason": "registered_with_employment_agency is true and goals contains job",
    }
    assert count_items() == (0, 0, 0)
    deliver_stream(client)
    assert sqs_messages("arbeitsagentur-muenchen") == []


def test_routing_preview_validates_like_intake(client):
    response = post_json(client, "/routing/preview", {"language": "de"})
    assert response.status_code == 400
    assert {"given_name", "postcode"} <= {e["field"] for e in response.json_body["errors"]}


def test_partners_lists_the_five_institutions(client):
    response = client.http.get("/partners")
    assert response.status_code == 200
    partners = {p["id"]: p for p in response.json_body["partners"]}
    assert set(partners) == {
        "servicestelle-muenchen",
        "via-bayern",
        "arbeitsagentur-muenchen",
        "akademie-ingenieure",
        "lmu-klinikum",
    }
    assert partners["lmu-klinikum"]["name"] == "LMU Klinikum München"
    assert "de" in partners["via-bayern"]["languages"]
    assert partners["servicestelle-muenchen"]["offers"]
    assert "sla_working_days" not in partners["via-bayern"]


def test_unknown_route_gets_json_error(client):
    response = client.http.get("/nope")
    assert response.status_code in (403, 404)


def test_a_case_id_made_from_a_guessable_idempotency_key_is_still_unguessable(client, valid_intake):
    # The id a key creates is derived from it (one conditional write makes the case and claims the
    # key), but keyed with a server secret: knowing the key is not enough to name the case.
    from chalicelib.domain.idempotency import keyed_case_id

    first = post_json(client, "/intake", valid_intake, {"Idempotency-Key": "form-fill-1"}).json_body
    case_id = uuid.UUID(first["case_id"])
    assert case_id.version == 4 and case_id.variant == uuid.RFC_4122
    assert str(case_id) != str(uuid.uuid5(uuid.UUID("6f2c51a4-3c1e-4f55-9a57-2b1d0f8e7c10"), "0:form-fill-1"))
    assert str(case_id) != keyed_case_id("form-fill-1", 0, "")  # not an unkeyed hash either
    repeat = post_json(client, "/intake", valid_intake, {"Idempotency-Key": "form-fill-1"})
    assert repeat.json_body["case_id"] == first["case_id"]
    assert count_items() == (1, 1, 1)


def test_each_request_leaves_one_json_log_line_with_route_status_latency_and_case_id(client, valid_intake, capsys):
    capsys.readouterr()
    created = post_json(client, "/intake", valid_intake).json_body
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"event":"request"' in line]
    [line] = lines
    assert (line["route"], line["status"], line["case_id"]) == ("/intake", 201, created["case_id"])
    assert isinstance(line["latency"], float) and line["latency"] >= 0  # milliseconds
    assert "Layla" not in json.dumps(line) and "4915112345678" not in json.dumps(line)


@pytest.mark.parametrize(
    "path",
    [
        "/applicant/5f2ee19d-1111-4222-8333-944445555666.R0_Som1Rqa8x94Oi7M1JZQ",  # a status-link fragment
        "/applicant/Pathname%20Layla",
    ],
)
def test_a_path_that_is_no_case_id_is_not_logged_as_one(client, capsys, path):
    """The status link's secret opens the applicant's data; a name is personal data: neither reaches the log."""
    capsys.readouterr()
    response = client.http.get(path, headers={"X-Status-Secret": "x"})
    assert response.status_code == 404
    [line] = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"event":"request"' in x]
    assert line["case_id"] is None and "R0_Som1Rqa8x94Oi7M1JZQ" not in json.dumps(line)
    assert "Pathname" not in json.dumps(line)
