"""An id longer than DynamoDB accepts as a key, or an empty one, is answered 404 on every route, never 500.

moto does not enforce DynamoDB's key size limits (partition key 2,048 bytes, sort key 1,024), so
this test adds them the way DynamoDB reports them: a ValidationException for the call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from chalice.test import Client

from app import app

SORT_KEY_LIMIT = 1024


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from ([inner] if key == "S" and isinstance(inner, str) else _strings(inner))
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


@pytest.fixture
def dynamodb_key_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    original = BaseClient._make_api_call

    def checked(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        keys = [params.get("Key"), params.get("ExpressionAttributeValues")]
        keys += [request.get("Key") for request in params.get("RequestItems", {}).get("Keys", [])]
        if any(len(s.encode()) > SORT_KEY_LIMIT for s in _strings(keys)):
            error = {"Code": "ValidationException", "Message": "Aggregated size of all range keys has exceeded 1024"}
            raise ClientError({"Error": error}, operation)
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", checked)


def id_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, path)
        for path, entries in app.routes.items()
        for method in entries
        if "_id}" in path and method != "OPTIONS"
    )


@pytest.mark.parametrize("size", [1100, 0], ids=["oversize", "empty"])
@pytest.mark.parametrize(("method", "path"), id_routes())
def test_an_oversize_or_empty_id_is_not_found(
    client: Client, staff_token: Callable[..., str], dynamodb_key_limits: None, method: str, path: str, size: int
) -> None:
    """Empty: DynamoDB refuses an empty key too (`/applicant//export` was a 500)."""
    token = staff_token(None, role="coordinator", name="Clara K")
    huge = "a" * size
    url = path
    for name in [part[1:-1] for part in path.split("/") if part.startswith("{")]:
        url = url.replace("{" + name + "}", quote(huge, safe=""))
    headers = {
        "Authorization": f"Bearer {token}",
        "X-Status-Secret": "s" * 22,
        "Content-Type": "application/json",
    }
    body = json.dumps({}).encode() if method in ("POST", "PATCH") else None
    response = client.http.request(method, url, body=body, headers=headers)
    if size:
        assert response.status_code == 404, (response.status_code, response.body)
        assert json.loads(response.body)["code"] == "not_found"
    else:  # a 404, or what a shorter route of the same path answers (the body checked first, a 405)
        assert 400 <= response.status_code < 500, (response.status_code, response.body)
        assert json.loads(response.body)["code"] in ("not_found", "validation_failed", "method_not_allowed")
