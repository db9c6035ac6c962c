"""schemathesis against the served OpenAPI document: no 5xx, every 4xx in the documented error shape."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    missing_required_header,
    positive_data_acceptance,
    unsupported_method,
)

from chalicelib import openapi
from chalicelib.config import PROJECT_DIR
from chalicelib.errors import NO_SUCH_ROUTE
from tests.reliability.conftest import EXAMPLES
from tests.reliability.live import LiveStack

# The in-process document at collection time (schemathesis' lazy fixture loader breaks on
# pytest 9); test_the_served_document_is_the_one_fuzzed proves it is what the server serves.
# Undeclared methods (TRACE, …) are answered by chalice local's HTTP server (501) or by API
# Gateway (403), never by our code: neither generate them nor expect 405 for them.
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"unexpected-methods": []}}})
# Schema-valid is not always valid: a phone must also be dialable (phonenumbers, server side).
# positive_data_acceptance is replaced by valid_data_rejected_only_for_server_rules below.
NOT_APPLICABLE = [unsupported_method, allow_header_conformance, positive_data_acceptance]
# The applicant's routes answer a missing X-Status-Secret as a wrong one, 404 (issue 7; documented
# on the header), so that no answer tells whether a case id exists: not the 400/401 schemathesis
# expects for a missing required header.
APPLICANT_LINK = [*NOT_APPLICABLE, missing_required_header]
schema = schemathesis.openapi.from_dict(openapi.document(), config=CONFIG)


@schemathesis.check
def error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is {error, code}; a 400 also lists errors [{field, code, message}]."""
    if not 400 <= response.status_code < 500:
        return None
    body = response.json()
    assert isinstance(body, dict), f"{response.status_code} body is not an object: {body!r}"
    assert isinstance(body.get("error"), str) and body["error"], f"no 'error' message: {body!r}"
    assert isinstance(body.get("code"), str) and body["code"], f"no 'code': {body!r}"
    if response.status_code == 400 and body["code"] == "validation_failed":
        assert body.get("errors"), f"validation error without field errors: {body!r}"
        for item in body["errors"]:
            assert set(item) == {"field", "code", "message"}, item
    return True


def server_rule_fields(node: Any) -> set[str]:
    """Names of properties and parameters whose schema says the server checks more (`x-format`,
    e.g. a phone number that must be dialable, a partner id that must exist)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict) and "x-format" in sub:
                found.add(name)
        if "in" in node and "x-format" in (node.get("schema") or {}):
            found.add(node["name"])
        for value in node.values():
            found |= server_rule_fields(value)
    elif isinstance(node, list):
        for value in node:
            found |= server_rule_fields(value)
    return found


SERVER_RULE_FIELDS = server_rule_fields(openapi.document()["components"])


@schemathesis.check
def valid_data_rejected_only_for_server_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request may get a 400 only for a field the server checks beyond the schema."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code != 400:
        return None
    body = response.json()
    fields = {str(e.get("field", "")).rsplit(".", 1)[-1] for e in body.get("errors", [])}
    assert fields and fields <= SERVER_RULE_FIELDS, f"schema-valid request rejected for {fields}: {body!r}"
    return True


_tokens: dict[tuple[str, str], str] = {}


def signed_in(case: Any, live_api: LiveStack) -> dict[str, str]:
    """A valid token for every operation the document secures, so the fuzz reaches the staff and
    coordinator routes themselves and not only their 401 (which tests/functional covers)."""
    if not case.operation.definition.raw.get("security"):
        return {}
    headers = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    if headers is not None and headers.mode.is_negative:
        return {}  # the example may be "no Authorization header": a token would make it a valid request
    role = "coordinator" if case.path.startswith("/coordinator") else "staff"
    if (live_api.api_url, role) not in _tokens:
        command = [sys.executable, "-m", "chalicelib.cli", "staff-token", "--role", role, "--partner", "lmu-klinikum"]
        done = subprocess.run(command, cwd=PROJECT_DIR, env=live_api.env, capture_output=True, text=True, check=True)
        _tokens[live_api.api_url, role] = done.stdout.strip()
    return {"Authorization": f"Bearer {_tokens[live_api.api_url, role]}"}


# Stored cases in the staff token's queue (health professions go to lmu-klinikum): every other
# example with a case_id aims at one, so the fuzz reaches claims, closes, transfers and bookings
# of real cases (and the coordinator's views, exports and erasures), not only their 404.
SEEDED_CASES = 30
_cases: dict[str, list[str]] = {}
_turn = itertools.count()


def seeded_cases(live_api: LiveStack) -> list[str]:
    if live_api.api_url not in _cases:
        ids = []
        for number in range(SEEDED_CASES):
            body = {
                "language": ["de", "en", "ar", "uk"][number % 4],
                "given_name": "Fuzz",
                "family_name": f"Seed {number}",
                "phone": "0151 1234 5678",
                "postcode": "80331",
                "qualification": {"country": "SY", "title": "Nurse", "profession_group": "health", "level": "bachelor"},
                "german_level": "B1",
                "goals": ["recognition", "job"],
                "registered_with_employment_agency": False,
                "consent": {"data_processing": True, "share_with_partners": True, "sms": True},
            }
            request = urllib.request.Request(
                f"{live_api.api_url}/intake", json.dumps(body).encode(), {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                ids.append(json.loads(response.read())["case_id"])
        _cases[live_api.api_url] = ids
    return _cases[live_api.api_url]


def aimed_at_stored_cases(case: Any, live_api: LiveStack) -> None:
    if "case_id" not in (case.path_parameters or {}):
        return
    path = case.meta.components.get(ParameterLocation.PATH) if case.meta else None
    if path is not None and path.mode.is_negative:
        return  # an id the schema forbids stays as generated: the server must refuse it
    turn = next(_turn)
    if turn % 2 == 0:
        ids = seeded_cases(live_api)
        case.path_parameters["case_id"] = ids[turn // 2 % len(ids)]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_api(case: Any, live_api: LiveStack) -> None:
    aimed_at_stored_cases(case, live_api)
    case.call_and_validate(
        base_url=live_api.api_url,
        headers=signed_in(case, live_api),
        additional_checks=[error_shape, valid_data_rejected_only_for_server_rules],
        excluded_checks=APPLICANT_LINK if case.path.startswith("/applicant/") else NOT_APPLICABLE,
        timeout=30,  # a hung server fails the example instead of hanging `make test`
    )


def test_the_served_document_is_the_one_fuzzed(live_api: LiveStack) -> None:
    with urllib.request.urlopen(f"{live_api.api_url}/openapi.json", timeout=10) as response:
        assert json.loads(response.read()) == openapi.document("/")


def test_a_path_no_route_has_is_a_404_that_does_not_repeat_the_bearer_token(live_api: LiveStack) -> None:
    """chalice local mimicked API Gateway's default here: a 403 whose body repeated the Authorization
    header. Served as deployed (infrastructure/api.py's gateway response), it is NO_SUCH_ROUTE."""
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbm5hIn0.c2lnbmF0dXJl"
    for headers in ({"Authorization": f"Bearer {token}"}, {}):
        request = urllib.request.Request(f"{live_api.api_url}/staff/case/abc", headers=headers)
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError("an unknown path answered 2xx")
        except urllib.error.HTTPError as error:
            body = error.read().decode()
            assert error.code == 404, body
            assert json.loads(body) == NO_SUCH_ROUTE and token not in body
