"""Applicants' rights through the one-time status link: status, export (Art. 15), erasure (Art. 17)."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from chalicelib.adapters.dynamodb.models import CaseModel
from chalicelib.domain.privacy import hash_secret
from tests.conftest import post_json
from tests.functional.test_staff_faults import assert_busy
from tests.reliability.faults import THROTTLING, dynamodb_faults

LINK = re.compile(r"/status#(?P<case_id>[0-9a-f-]{36})\.(?P<secret>[A-Za-z0-9_-]+)$")


def submit(client, body, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    response = post_json(client, "/intake", body, headers)
    assert response.status_code == 201, response.body
    match = LINK.search(response.json_body["status_link"])
    assert match, response.json_body["status_link"]
    return response.json_body, match["secret"]


def get(client, path, secret):
    return client.http.get(path, headers={"X-Status-Secret": secret} if secret is not None else {})


def test_intake_answer_carries_a_status_link_whose_secret_is_stored_only_hashed(client, valid_intake):
    body, secret = submit(client, valid_intake)
    assert len(secret) >= 22  # 16 random bytes, url-safe base64
    item = CaseModel.get(body["case_id"])
    assert item.status_secret_hash == hash_secret(secret)
    raw = json.dumps(boto3.client("dynamodb").scan(TableName="migranet-local-cases")["Items"])
    assert secret not in raw


def test_replay_returns_the_same_link_without_storing_the_secret_in_clear(client, valid_intake):
    first, secret = submit(client, valid_intake, key="k-status")
    again = post_json(client, "/intake", valid_intake, {"Idempotency-Key": "k-status"}).json_body
    assert again["status_link"] == first["status_link"]
    raw = json.dumps(boto3.client("dynamodb").scan(TableName="migranet-local-cases")["Items"])
    assert "idempotent_response" in raw and secret not in raw


def test_consent_is_recorded_with_version_time_and_language(client, valid_intake):
    body, _ = submit(client, valid_intake)
    consent = CaseModel.get(body["case_id"]).consent
    assert consent["version"] == "consent-2026-11"
    assert consent["language"] == "ar"
    assert consent["accepted_at"] == CaseModel.get(body["case_id"]).created_at
    assert (consent["data_processing"], consent["share_with_partners"], consent["sms"]) == (True, True, True)
    assert consent["sms_withdrawn_at"] is None


def test_status_with_the_secret(client, valid_intake):
    body, secret = submit(client, valid_intake)
    response = get(client, f"/applicant/{body['case_id']}", secret)
    assert response.status_code == 200
    assert response.json_body["status"] == "routed"
    assert response.json_body["reference"] == body["reference"]
    assert response.json_body["partner_name"] == "Akademie der Ingenieure GmbH"
    assert "intake" not in response.json_body


@pytest.mark.parametrize("path", ["/applicant/{id}", "/applicant/{id}/export"])
def test_wrong_missing_or_foreign_secret_gets_404(client, valid_intake, path):
    body, secret = submit(client, valid_intake)
    _, other_secret = submit(client, valid_intake)
    url = path.format(id=body["case_id"])
    for attempt in (None, "", secret[:-1] + ("A" if secret[-1] != "A" else "B"), other_secret, "x" * 200):
        response = get(client, url, attempt)
        assert response.status_code == 404, attempt
        assert response.json_body["code"] == "not_found"
    unknown = get(client, path.format(id="00000000-0000-4000-8000-000000000000"), secret)
    assert unknown.status_code == 404
    assert unknown.json_body == get(client, url, "wrong").json_body


def test_wrong_secret_cannot_erase(client, valid_intake):
    body, _ = submit(client, valid_intake)
    response = client.http.delete(f"/applicant/{body['case_id']}", headers={"X-Status-Secret": "guess"})
    assert response.status_code == 404
    assert CaseModel.get(body["case_id"]).intake["given_name"] == "Layla"


def test_export_contains_everything_about_the_applicant_and_nothing_of_others(client, valid_intake):
    body, secret = submit(client, valid_intake)
    other = dict(valid_intake, given_name="Oksana", family_name="Shevchenko", phone="+380671234567")
    submit(client, other)
    response = get(client, f"/applicant/{body['case_id']}/export", secret)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    export = response.json_body
    intake = export["case"]["intake"]
    assert (intake["given_name"], intake["family_name"], intake["phone"]) == ("Layla", "Haddad", "+4915112345678")
    assert intake["message"] == valid_intake["message"]
    assert export["case"]["consent"]["version"] == "consent-2026-11"
    assert export["case"]["routing"]["rule"] == "engineering-construction"
    text = json.dumps(export, ensure_ascii=False)
    assert "Oksana" not in text and "380671234567" not in text
    assert "status_secret_hash" not in text


def test_erasure_leaves_no_personal_data_in_any_table(client, valid_intake):
    body, secret = submit(client, valid_intake, key="erase-me")
    other = dict(valid_intake, given_name="Oksana", family_name="Shevchenko", phone="+380671234567")
    other.update(email="oksana@example.org", message="Hello", qualification=dict(valid_intake["qualification"]))
    other["qualification"]["title"] = "Diploma in Nursing"
    keep, _ = submit(client, other)
    response = client.http.delete(f"/applicant/{body['case_id']}", headers={"X-Status-Secret": secret})
    assert response.status_code == 200
    assert response.json_body["erased"] is True

    personal = ["Layla", "Haddad", "4915112345678", "layla@example.org", "Civil Engineering", "engineer in Munich"]
    personal += [secret, body["reference"], "erase-me"]
    dynamodb = boto3.client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        items = json.dumps(dynamodb.scan(TableName=table)["Items"], ensure_ascii=False)
        for value in personal:
            assert value not in items, f"{value!r} still in {table}"
    # Statistics remain: partner, rule, profession group, goals, dates.
    case = CaseModel.get(body["case_id"])
    assert case.partner == "akademie-ingenieure" and case.rule == "engineering-construction"
    assert case.intake["qualification"]["profession_group"] == "engineering"
    assert case.intake["goals"] == ["recognition", "job"]
    assert case.erased_at is not None
    # The other applicant is untouched; the erased case is gone from the queue and from the link.
    assert CaseModel.get(keep["case_id"]).intake["given_name"] == "Oksana"
    assert [c.case_id for c in CaseModel.queue_index.query("akademie-ingenieure#routed")] == [keep["case_id"]]
    assert (case.partner_status, case.request_hash, case.idempotent_response) == (None, None, None)
    assert get(client, f"/applicant/{body['case_id']}", secret).status_code == 404


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("GET", "/export"), ("DELETE", "")])
def test_a_throttled_read_of_the_applicants_own_case_is_503_and_the_retry_answers(
    client, valid_intake, method: str, suffix: str
) -> None:
    body, secret = submit(client, valid_intake)
    path = f"/applicant/{body['case_id']}{suffix}"
    with dynamodb_faults() as faults:
        faults.inject("GetItem", THROTTLING, times=10)
        assert_busy(client.http.request(method, path, headers={"X-Status-Secret": secret}))
    assert get(client, f"/applicant/{body['case_id']}", secret).json_body["status"] == "routed"  # not erased
