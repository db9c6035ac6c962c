"""Random valid intakes are all accepted and routed; random broken ones are rejected by field, storing nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings

from chalicelib import bootstrap
from chalicelib.adapters.dynamodb.models import CaseModel
from tests.conftest import post_json
from tests.reliability.conftest import EXAMPLES
from tests.reliability.intakes import Mutation, mutations, valid_intakes
from tests.reliability.storage import item_counts, plan_confirmations, queued_messages

PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


def expected_route(intake: dict[str, Any]) -> tuple[str, str]:
    """The seeded policy of issue 2, written out independently of chalicelib/data/routing-rules.json."""
    group, goals = intake["qualification"]["profession_group"], set(intake["goals"])
    if group == "health":
        return "health-professions", "lmu-klinikum"
    if group == "engineering":
        return "engineering-construction", "akademie-ingenieure"
    if "recognition" in goals:
        return "recognition-counselling", "servicestelle-muenchen"
    if intake["registered_with_employment_agency"] and "job" in goals:
        return "job-placement", "arbeitsagentur-muenchen"
    return "general-counselling", "via-bayern"


def test_random_valid_intakes_are_accepted_stored_queued_and_routed(client) -> None:
    store = bootstrap.intake_service().store
    accepted: set[str] = set()

    @PROPERTY_SETTINGS
    @given(intake=valid_intakes())
    def submit(intake: dict[str, Any]) -> None:
        response = post_json(client, "/intake", intake, {"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 201, response.body
        body = json.loads(response.body)
        rule, partner = expected_route(intake)
        assert (body["rule"], body["partner"], body["status"]) == (rule, partner, "routed")
        case = store.get_case(body["case_id"])
        assert case is not None and case.partner == partner and case.reference == body["reference"]
        assert [m["case_id"] for m in queued_messages(partner)] == [body["case_id"]]
        accepted.add(body["case_id"])

    submit()
    # One case per accepted intake, in its partner's queue with its idempotency record, and one
    # intake_received SMS per case whose applicant agreed to SMS, nothing else (counted once at
    # the end: a Scan per example would grow with the table).
    cases = list(CaseModel.scan())
    assert {case.case_id for case in cases} == accepted
    assert all(case.partner_status == f"{case.partner}#routed" and case.request_hash for case in cases)
    texted = sum(1 for case in cases if case.consent.get("sms") and case.intake.get("phone"))
    assert item_counts()["messages"] == 0  # the request wrote the case only
    plan_confirmations()
    assert item_counts() == {"cases": len(accepted), "messages": texted}


def test_random_mutations_of_a_valid_intake_are_rejected_by_field_and_store_nothing(client) -> None:
    before = item_counts()

    @PROPERTY_SETTINGS
    @given(mutation=mutations())
    def submit(mutation: Mutation) -> None:
        response = post_json(client, "/intake", mutation.intake, {"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 400, (mutation.kind, response.body)
        body = json.loads(response.body)
        assert body["code"] == "validation_failed"
        by_field = {e["field"]: e["code"] for e in body["errors"]}
        assert mutation.field in by_field, (mutation.kind, mutation.field, body["errors"])
        assert by_field[mutation.field] == mutation.kind.split(":")[1], (mutation.kind, body["errors"])
        assert item_counts() == before

    submit()
    assert not any(queued_messages(p) for p in bootstrap.directory().partners())
