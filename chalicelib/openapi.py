"""The OpenAPI 3.1 document of the HTTP API, built from the operation table and the files in `schemas/`.

Request bodies are the JSON Schemas in `schemas/` embedded once under `components.schemas`
and referenced by `$ref` (no second copy to drift). Only what `schemas/` does not hold lives
beside it: one line per operation (chalicelib/openapi_operations.py) and the success bodies,
error shapes, parameters and headers (chalicelib/openapi_shapes.py).
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

from chalicelib.openapi_operations import FORM, JSON, OPERATIONS, Body, Operation
from chalicelib.openapi_shapes import ERROR_RESPONSES, PARAMETERS, RESPONSE_HEADERS, SCHEMAS
from chalicelib.schemas import load_schema

__all__ = ["OPERATIONS", "Body", "Operation", "build_document", "document", "documented_routes"]

OPENAPI_VERSION = "3.1.0"
SECURED_PREFIXES = ("/staff", "/coordinator")
BEARER = "staffBearer"


def _component_name(schema_name: str) -> str:
    """intake → Intake, routing-rules → RoutingRules (the file stays the single source)."""
    return "".join(part.capitalize() for part in re.split(r"[-_]", schema_name))


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _embed(schema_name: str, components: dict[str, Any]) -> dict[str, str]:
    """Put schemas/<name>.schema.json under components once; return a $ref to it.

    `$id`/`$schema` are dropped and the file's own refs rewritten, so that `#/$defs/x` and
    `other.schema.json` resolve inside this document for every OpenAPI tool.
    """
    name = _component_name(schema_name)
    if name in components:
        return _ref(name)
    schema = copy.deepcopy(load_schema(schema_name))
    schema.pop("$id", None)
    schema.pop("$schema", None)
    components[name] = schema
    _rewrite_refs(schema, name, components)
    return _ref(name)


def _rewrite_refs(node: Any, owner: str, components: dict[str, Any]) -> None:
    if isinstance(node, list):
        for item in node:
            _rewrite_refs(item, owner, components)
        return
    if not isinstance(node, dict):
        return
    target = node.get("$ref")
    if isinstance(target, str):
        file_part, _, pointer = target.partition("#")
        if file_part:
            other = file_part.rsplit("/", 1)[-1].removesuffix(".json").removesuffix(".schema")
            node["$ref"] = _embed(other, components)["$ref"] + pointer
        else:
            node["$ref"] = f"#/components/schemas/{owner}{pointer}"
    for key, value in node.items():
        if key != "$ref":
            _rewrite_refs(value, owner, components)


def _schema(spec: str | dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if isinstance(spec, dict):
        return spec
    if spec in SCHEMAS:
        return _ref(spec)
    return _embed(spec, components)


def is_secured(operation: Operation) -> bool:
    return not operation.public and operation.path.startswith(SECURED_PREFIXES)


def _path_parameters(operation: Operation) -> list[dict[str, Any]]:
    names = re.findall(r"{([^}]+)}", operation.path)
    default = {"type": "string", "minLength": 1}
    return [
        {"name": n, "in": "path", "required": True, "schema": operation.path_schemas.get(n, default)} for n in names
    ]


def _operation_id(operation: Operation) -> str:
    words = re.sub(r"[^a-zA-Z0-9]+", "_", operation.path.replace("{", "by_")).strip("_")
    return f"{operation.method.lower()}_{words or 'root'}"


def _operation(operation: Operation, components: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": _operation_id(operation),
        "summary": operation.summary,
        "tags": [operation.tag],
    }
    if operation.description:
        result["description"] = operation.description
    parameters = _path_parameters(operation) + [{"$ref": f"#/components/parameters/{p}"} for p in operation.parameters]
    if parameters:
        result["parameters"] = parameters
    errors = set(operation.errors)
    if operation.body:
        result["requestBody"] = {"required": True, "content": {JSON: {"schema": _schema(operation.body, components)}}}
        errors |= {400, 413, 415}
    if operation.form:
        result["requestBody"] = {"required": True, "content": {FORM: {"schema": _schema(operation.form, components)}}}
    if is_secured(operation):
        result["security"] = [{BEARER: []}]
        errors |= {401, 403}
    responses: dict[str, Any] = {}
    for status, body in sorted(operation.responses.items()):
        response: dict[str, Any] = {"description": body.description}
        if body.schema is not None:
            response["content"] = {body.media_type: {"schema": _schema(body.schema, components)}}
            response["content"].update({media: {"schema": schema} for media, schema in body.alternatives})
        if body.headers:
            response["headers"] = {h: {"$ref": f"#/components/headers/{h}"} for h in body.headers}
        responses[str(status)] = response
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    result["responses"] = responses
    return result


def _error_responses() -> dict[str, Any]:
    responses = {}
    for status, (name, description, schema) in ERROR_RESPONSES.items():
        response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": _ref(schema)}}}
        if status == 503:
            response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        responses[name] = response
    return responses


def build_document(operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, Any]:
    """The whole OpenAPI document (pure: same table → same document)."""
    components: dict[str, Any] = copy.deepcopy(SCHEMAS)
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, components)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "MigraNet Intake API",
            "version": "1.0.0",
            "description": "Intake, routing and appointment reminders for the MigraNet counselling partners "
            "in Munich. Every error has the shape {error, code}; validation errors add "
            "errors: [{field, code, message}]. A schema with `x-format` is checked further by the server "
            "(e.g. a dialable phone number, a partner id that exists, a time in the future): a value the "
            "schema allows can still be a 400 naming that field. `x-error-code`, where present, is the code a "
            "value of that field that fails its checks gets.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": components,
            "responses": _error_responses(),
            "parameters": copy.deepcopy(PARAMETERS),
            "headers": copy.deepcopy(RESPONSE_HEADERS),
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Staff and coordinator token (see `python -m chalicelib.cli staff-token`).",
                }
            },
        },
    }


@cache
def _built() -> dict[str, Any]:
    return build_document()


def document(base: str = "/") -> dict[str, Any]:
    """Built once per container; `servers` says where this API is mounted (e.g. /api on API Gateway)."""
    return {**_built(), "servers": [{"url": base}]}


def base_path(request_path: str | None, resource_path: str | None) -> str:
    """The stage prefix API Gateway puts before our paths: "/api/openapi.json" - "/openapi.json" → "/api"."""
    if request_path and resource_path and request_path.endswith(resource_path):
        return request_path[: -len(resource_path)] or "/"
    return "/"


def documented_routes(operations: tuple[Operation, ...] = OPERATIONS) -> dict[str, set[str]]:
    """Path → methods, to compare with Chalice's `app.routes`."""
    routes: dict[str, set[str]] = {}
    for operation in operations:
        routes.setdefault(operation.path, set()).add(operation.method.upper())
    return routes
