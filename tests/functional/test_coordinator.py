"""Coordinators: every partner's cases in one view, reassigning, and the documented shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from chalicelib import openapi
from tests.conftest import auth, deliver_stream, post_json, sqs_messages

LMU, VIA, AKADEMIE = "lmu-klinikum", "via-bayern", "akademie-ingenieure"
REASON = "Coordinator decision after case conference."


@pytest.fixture
def coordinator(staff_token) -> dict[str, str]:
    return auth(staff_token(None, role="coordinator", name="Clara Coordinator", sub="clara"))


@pytest.fixture
def anna(staff_token) -> dict[str, str]:
    return auth(staff_token(LMU, name="Anna Berger", sub="anna"))


def call(client, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, Any]:
    if method == "GET":
        response = client.http.get(path, headers=headers)
    else:
        response = (
            post_json(client, path, body, headers) if body is not None else client.http.post(path, headers=headers)
        )
    return response.status_code, json.loads(response.body)


def documented(path: str, method: str, status: int) -> Draft202012Validator:
    document = openapi.document()
    registry = Registry().with_resource("urn:doc", DRAFT202012.create_resource(document))
    pointer = f"/paths/{path.replace('/', '~1')}/{method}/responses/{status}/content/application~1json/schema"
    return Draft202012Validator({"$ref": f"urn:doc#{pointer}"}, registry=registry)


def assert_documented(path: str, method: str, status: int, body: Any) -> None:
    errors = [e.message for e in documented(path, method, status).iter_errors(body)]
    assert not errors, errors


def test_the_view_spans_all_partners_with_names(client, submit_case, coordinator) -> None:
    ids = {submit_case(group)["case_id"]: partner for group, partner in [("health", LMU), ("engineering", AKADEMIE)]}
    status, body = call(client, "GET", "/coordinator/cases", coordinator)
    assert status == 200
    assert {c["case_id"]: c["partner"] for c in body["cases"]} == ids
    assert {c["partner_name"] for c in body["cases"]} == {"LMU Klinikum München", "Akademie der Ingenieure GmbH"}
    assert body["next_cursor"] is None and len(body["partners"]) == 5
    assert_documented("/coordinator/cases", "get", 200, body)


def test_filters_by_partner_and_status(client, submit_case, coordinator, anna) -> None:
    lmu = submit_case("health")["case_id"]
    submit_case("engineering")
    call(client, "POST", f"/staff/cases/{lmu}/claim", anna)
    _, routed = call(client, "GET", f"/coordinator/cases?partner={LMU}", coordinator)
    assert routed["cases"] == [] and routed["partners"] == [LMU]
    _, claimed = call(client, "GET", "/coordinator/cases?status=claimed", coordinator)
    assert [(c["case_id"], c["claimed_by_name"]) for c in claimed["cases"]] == [(lmu, "Anna Berger")]


@pytest.mark.parametrize(
    ("query", "field"),
    [("?partner=atlantis", "partner"), ("?status=open", "status"), ("?limit=500", "limit"), ("?cursor=e30", "cursor")],
)
def test_bad_parameters_are_400_by_name(client, coordinator, query: str, field: str) -> None:
    status, body = call(client, "GET", f"/coordinator/cases{query}", coordinator)
    assert status == 400 and [e["field"] for e in body["errors"]] == [field]


def test_pages_walk_every_partner_without_duplicates(client, submit_case, coordinator) -> None:
    expected = {submit_case(group)["case_id"] for group in ["health", "health", "health", "engineering", "it"]}
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        status, page = call(client, "GET", f"/coordinator/cases?limit=2{cursor}", coordinator)
        assert status == 200
        assert len(page["cases"]) <= 2  # the page's limit, not the limit of each partner's part
        seen += [c["case_id"] for c in page["cases"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert sorted(seen) == sorted(expected)  # every case once, none twice
    assert len(seen) == 5 and page["next_cursor"] is None


def test_reassign_moves_a_held_case_and_is_audited(client, submit_case, coordinator, anna, staff_token) -> None:
    created = submit_case("health")
    case_id = created["case_id"]
    call(client, "POST", f"/staff/cases/{case_id}/claim", anna)
    deliver_stream(client)
    sqs_messages(VIA)

    status, case = call(
        client, "POST", f"/coordinator/cases/{case_id}/reassign", coordinator, {"partner": VIA, "reason": REASON}
    )
    assert status == 200
    assert (case["partner"], case["status"], case["claimed_by"]) == (VIA, "routed", None)
    assert case["history"][-1]["action"] == "reassigned"
    assert case["history"][-1]["detail"]["from"] == LMU
    assert_documented("/coordinator/cases/{case_id}/reassign", "post", 200, case)
    deliver_stream(client)
    assert [m["case_id"] for m in sqs_messages(VIA)] == [case_id]

    via = auth(staff_token(VIA, name="Vera Weber"))
    _, trail = call(client, "GET", f"/staff/cases/{case_id}/audit", via)
    assert [(e["action"], e["staff_name"], e["role"]) for e in trail["entries"][:1]] == [
        ("reassign", "Clara Coordinator", "coordinator")
    ]
    assert_documented("/staff/cases/{case_id}/audit", "get", 200, trail)
    _, queue = call(client, "GET", "/staff/queue", via)
    assert [c["case_id"] for c in queue["cases"]] == [case_id]
    assert_documented("/staff/queue", "get", 200, queue)
    # LMU's list of what left it shows the case, no longer held by anyone there.
    _, moved = call(client, "GET", f"/coordinator/cases?status=transferred&partner={LMU}", coordinator)
    assert [(c["case_id"], c["status"], c["claimed_by_name"]) for c in moved["cases"]] == [
        (case_id, "transferred", None)
    ]
    assert_documented("/coordinator/cases", "get", 200, moved)
    # Back at LMU: in its routed queue again, and out of its transferred list (now VIA's).
    call(client, "POST", f"/coordinator/cases/{case_id}/reassign", coordinator, {"partner": LMU, "reason": REASON})
    _, moved = call(client, "GET", f"/coordinator/cases?status=transferred&partner={LMU}", coordinator)
    assert moved["cases"] == []
    _, moved = call(client, "GET", f"/coordinator/cases?status=transferred&partner={VIA}", coordinator)
    assert [c["case_id"] for c in moved["cases"]] == [case_id]


@pytest.mark.parametrize(
    ("body", "status"),
    [({"partner": LMU, "reason": REASON}, 409), ({"partner": VIA, "reason": "short"}, 400), ({"partner": VIA}, 400)],
)
def test_invalid_reassignments_change_nothing(client, submit_case, coordinator, body, status: int) -> None:
    case_id = submit_case("health")["case_id"]
    answer_status, _ = call(client, "POST", f"/coordinator/cases/{case_id}/reassign", coordinator, body)
    assert answer_status == status
    _, case = call(client, "GET", f"/staff/cases/{case_id}", coordinator)
    assert (case["partner"], len(case["history"])) == (LMU, 1)


def test_reassigning_an_unknown_case_is_404(client, coordinator) -> None:
    status, _ = call(
        client, "POST", "/coordinator/cases/nope/reassign", coordinator, {"partner": VIA, "reason": REASON}
    )
    assert status == 404


def test_staff_cannot_reassign(client, submit_case, anna) -> None:
    case_id = submit_case("health")["case_id"]
    status, body = call(
        client, "POST", f"/coordinator/cases/{case_id}/reassign", anna, {"partner": VIA, "reason": REASON}
    )
    assert status == 403 and body["code"] == "forbidden"


def test_coordinators_use_staff_endpoints_for_any_partner(client, submit_case, coordinator, staff_token) -> None:
    case_id = submit_case("engineering")["case_id"]
    status, body = call(client, "GET", "/staff/queue", coordinator)
    assert status == 400 and body["errors"][0]["field"] == "partner"  # no home partner in this token
    status, queue = call(client, "GET", f"/staff/queue?partner={AKADEMIE}", coordinator)
    assert status == 200 and [c["case_id"] for c in queue["cases"]] == [case_id]
    status, case = call(client, "POST", f"/staff/cases/{case_id}/claim", coordinator)
    assert status == 200 and case["claimed_by_name"] == "Clara Coordinator"
    assert_documented("/staff/cases/{case_id}/claim", "post", 200, case)
    home = auth(staff_token(VIA, role="coordinator", name="Carl"))
    assert call(client, "GET", "/staff/queue", home)[1]["partner"] == VIA
