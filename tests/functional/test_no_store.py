"""Answers that hold an applicant's data are never kept by a browser, proxy or CDN (no-store);
pages and public reference data keep their own caching."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalice.test import Client

from tests.conftest import auth
from tests.functional.gdpr_helpers import LINK


def test_every_answer_with_personal_data_says_no_store(
    client: Client, valid_intake: dict[str, Any], staff_token: Callable[..., str]
) -> None:
    created = client.http.post("/intake", body=json.dumps(valid_intake), headers={"Content-Type": "application/json"})
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"  # it carries the status link's secret
    body = json.loads(created.body)
    secret = LINK.search(body["status_link"])["secret"]
    staff = auth(staff_token(body["partner"], name="Anna Berger"))
    coordinator = auth(staff_token(body["partner"], role="coordinator", name="Chris Koordinator"))
    answers = {
        "applicant status": client.http.get(f"/applicant/{body['case_id']}", headers={"X-Status-Secret": secret}),
        "applicant, wrong secret": client.http.get(f"/applicant/{body['case_id']}", headers={"X-Status-Secret": "x"}),
        "staff case": client.http.get(f"/staff/cases/{body['case_id']}", headers=staff),
        "staff queue": client.http.get("/staff/queue", headers=staff),
        "staff audit": client.http.get(f"/staff/cases/{body['case_id']}/audit", headers=staff),
        "staff messages": client.http.get(f"/staff/cases/{body['case_id']}/messages", headers=staff),
        "staff, no token": client.http.get(f"/staff/cases/{body['case_id']}"),
        "claim": client.http.post(f"/staff/cases/{body['case_id']}/claim", headers=staff),
        "coordinator cases": client.http.get("/coordinator/cases", headers=coordinator),
    }
    for name, response in answers.items():
        assert response.headers.get("Cache-Control") == "no-store", (name, response.status_code, response.headers)


def test_public_pages_and_reference_data_keep_their_own_caching(client: Client) -> None:
    assert client.http.get("/partners").headers.get("Cache-Control") != "no-store"
    assert client.http.get("/de").headers["Cache-Control"] == "no-cache"  # revalidated by ETag
    assert client.http.get("/status").headers["Cache-Control"] == "no-cache"  # the secret stays in the fragment
