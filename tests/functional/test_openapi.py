"""GET /openapi.json: a valid OpenAPI 3.1 document that lists exactly the routes the app has."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import app as app_module
from chalicelib import openapi
from chalicelib.openapi import Body, Operation, build_document, documented_routes
from chalicelib.schemas import load_schema
from tests.conftest import post_json


def app_routes() -> dict[str, set[str]]:
    return {path: set(methods) for path, methods in app_module.app.routes.items()}


def without_refs(node: Any) -> Any:
    """The schema with $ref values blanked: the document rewrites them to point inside itself."""
    if isinstance(node, dict):
        return {k: "" if k == "$ref" else without_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [without_refs(v) for v in node]
    return node


def response_validator(document: dict[str, Any], path: str, method: str, status: int) -> Draft202012Validator:
    """A validator for the documented JSON body of one response, resolving $refs inside the document."""
    escaped = path.replace("~", "~0").replace("/", "~1")
    pointer = f"#/paths/{escaped}/{method.lower()}/responses/{status}"
    response = document["paths"][path][method.lower()]["responses"][str(status)]
    if "$ref" in response:
        pointer = response["$ref"]
    registry = Registry().with_resource("urn:doc", DRAFT202012.create_resource(document))
    return Draft202012Validator({"$ref": f"urn:doc{pointer}/content/application~1json/schema"}, registry=registry)


def test_document_is_a_valid_openapi_3_1_document() -> None:
    document = openapi.document()
    OpenAPIV31SpecValidator(document).validate()
    assert document["openapi"].startswith("3.1")


def test_every_chalice_route_is_documented_with_its_methods_and_nothing_else() -> None:
    routes, documented = app_routes(), documented_routes()
    missing = sorted(f"{m} {p}" for p, methods in routes.items() for m in methods - documented.get(p, set()))
    stale = sorted(f"{m} {p}" for p, methods in documented.items() for m in methods - routes.get(p, set()))
    hint = (
        "add one line per route to OPERATIONS in chalicelib/openapi_operations.py, e.g. "
        'Operation("GET", "/staff/queue", "What it does.", "staff", responses={200: Body("…", "SchemaName")}, '
        "errors=(404, 503))"
    )
    assert not missing, f"routes missing from the OpenAPI document: {missing}; {hint}"
    assert not stale, f"documented operations with no Chalice route: {stale}"


def test_the_served_document_is_the_built_one(client) -> None:
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert json.loads(response.body) == openapi.document("/")


def test_servers_name_the_api_gateway_stage_prefix() -> None:
    assert openapi.base_path("/api/openapi.json", "/openapi.json") == "/api"
    assert openapi.base_path("/openapi.json", "/openapi.json") == "/"
    assert openapi.document("/api")["servers"] == [{"url": "/api"}]


def test_request_bodies_are_the_files_in_schemas_referenced_not_copied() -> None:
    document = openapi.document()
    for operation in openapi.OPERATIONS:
        if not operation.body:
            continue
        content = document["paths"][operation.path][operation.method.lower()]["requestBody"]["content"]
        ref = content["application/json"]["schema"]["$ref"]
        component = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        source = {k: v for k, v in load_schema(operation.body).items() if k not in ("$id", "$schema")}
        assert without_refs(component) == without_refs(source), (
            f"{operation.path}: the component differs from schemas/{operation.body}"
        )
    # One component per schema file, whatever the number of operations that use it.
    text = json.dumps(document["components"]["schemas"])
    assert text.count('"given_name": {') == 1


def test_every_error_response_has_the_error_shape() -> None:
    document = openapi.document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                name = response["$ref"].rsplit("/", 1)[-1]
                schema = document["components"]["responses"][name]["content"]["application/json"]["schema"]
                assert schema["$ref"].endswith(("/Error", "/ValidationError")), f"{method} {path} {status}"
    busy = document["components"]["responses"]["ServiceUnavailable"]
    assert "Retry-After" in busy["headers"]


def test_every_status_the_app_maps_errors_to_is_documented() -> None:
    from chalicelib.http_app import _STATUS_BY_ERROR

    mapped = {status for _, status in _STATUS_BY_ERROR}
    assert mapped <= set(openapi.ERROR_RESPONSES), mapped - set(openapi.ERROR_RESPONSES)


def test_staff_paths_require_a_bearer_token_and_document_401_and_403() -> None:
    table = (
        Operation("GET", "/staff/queue", "Queue.", "staff", responses={200: Body("Page.")}),
        Operation(
            "POST", "/coordinator/rules", "Rules.", "coordinator", body="routing-rules", responses={200: Body("")}
        ),
        Operation("POST", "/staff/login", "Login.", "staff", public=True, responses={200: Body("Token.")}),
    )
    document = build_document(table)
    OpenAPIV31SpecValidator(document).validate()
    assert document["components"]["securitySchemes"][openapi.BEARER]["bearerFormat"] == "JWT"
    for path, method in (("/staff/queue", "get"), ("/coordinator/rules", "post")):
        operation = document["paths"][path][method]
        assert operation["security"] == [{openapi.BEARER: []}]
        assert {"401", "403"} <= set(operation["responses"])
    assert "security" not in document["paths"]["/staff/login"]["post"]
    # The same holds for the staff routes the app really has.
    for path, operations in openapi.document()["paths"].items():
        for operation in operations.values():
            if path.startswith(openapi.SECURED_PREFIXES) and "security" in operation:
                assert {"401", "403"} <= set(operation["responses"]), path


def test_twilio_webhooks_are_form_encoded_and_path_parameters_are_declared() -> None:
    form = {"type": "object", "properties": {"From": {"type": "string"}, "Body": {"type": "string"}}}
    table = (
        Operation("POST", "/sms/inbound", "Inbound SMS.", "sms", form=form, responses={200: Body("TwiML.")}),
        Operation(
            "GET",
            "/{language}",
            "Intake page.",
            "pages",
            responses={200: Body("The page.", {"type": "string"}, media_type="text/html")},
            path_schemas={"language": {"enum": ["de", "en"]}},
        ),
    )
    document = build_document(table)
    OpenAPIV31SpecValidator(document).validate()
    assert set(document["paths"]["/sms/inbound"]["post"]["requestBody"]["content"]) == {openapi.FORM}
    page = document["paths"]["/{language}"]["get"]
    assert page["parameters"] == [
        {"name": "language", "in": "path", "required": True, "schema": {"enum": ["de", "en"]}}
    ]
    assert "text/html" in page["responses"]["200"]["content"]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ("valid", {}, 201),
        ({"language": "xx"}, {}, 400),
        ("valid", {"Content-Type": "text/plain"}, 415),
        ({"message": "x" * 70_000}, {}, 413),
    ],
)
def test_intake_responses_match_the_documented_schemas(client, valid_intake, body, headers, status) -> None:
    payload = valid_intake if body == "valid" else body
    response = post_json(client, "/intake", payload, headers)
    assert response.status_code == status
    validator = response_validator(openapi.document(), "/intake", "post", status)
    errors = [e.message for e in validator.iter_errors(json.loads(response.body))]
    assert not errors, errors


def test_the_audit_trail_matches_its_documented_schema_whoever_acted(client, frozen_clock, submit_case, desk) -> None:
    """Entries are written by staff and coordinators, by the applicant through the status link (export)
    and by the schedules (an erasure cancels the upcoming appointment as `system`)."""
    anna = desk()
    case = submit_case("health")
    case_id, secret = case["status_link"].split("#", 1)[1].split(".", 1)
    assert anna.post(f"/staff/cases/{case_id}/claim")[0] == 200
    assert anna.book(case_id, "2025-03-12T10:00")[0] == 201
    assert client.http.get(f"/applicant/{case_id}/export", headers={"X-Status-Secret": secret}).status_code == 200
    coordinator = desk(None, role="coordinator", name="Clara Coordinator")
    assert coordinator.post(f"/coordinator/cases/{case_id}/erase", {"reason": "objection"})[0] == 200
    status, trail = coordinator.get(f"/staff/cases/{case_id}/audit?limit=100")
    assert status == 200
    assert {entry["role"] for entry in trail["entries"]} == {"staff", "coordinator", "applicant", "system"}
    validator = response_validator(openapi.document(), "/staff/cases/{case_id}/audit", "get", 200)
    errors = [e.message for e in validator.iter_errors(trail)]
    assert not errors, errors
