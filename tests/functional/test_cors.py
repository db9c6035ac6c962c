"""A page on another origin (a partner's own site) may send the form and open the status link:
the browser's preflight must allow the headers those routes read, and let it read their answers."""

from __future__ import annotations

import pytest
from chalice.config import Config
from chalice.local import LocalGateway
from chalice.test import Client

from app import app
from tests.conftest import post_json


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/intake", "Idempotency-Key"),
        ("/applicant/0b9c1d3e-0000-4000-8000-000000000000", "X-Status-Secret"),
        ("/applicant/0b9c1d3e-0000-4000-8000-000000000000/export", "X-Status-Secret"),
    ],
)
def test_the_preflight_allows_the_headers_a_public_route_reads(client: Client, path: str, header: str) -> None:
    # chalice.test.Client cannot read a preflight's empty body; its LocalGateway answers it as `chalice
    # local` does, from the same route table API Gateway's OPTIONS methods are generated from.
    gateway = LocalGateway(app, Config())
    headers = {"origin": "https://partner.example", "access-control-request-headers": header.lower()}
    response = gateway.handle_request("OPTIONS", path, headers, b"")
    assert response["statusCode"] == 200
    allowed = {h.strip().lower() for h in response["headers"]["Access-Control-Allow-Headers"].split(",")}
    assert {header.lower(), "content-type"} <= allowed
    assert response["headers"]["Access-Control-Allow-Origin"] == "*"


def test_a_cross_origin_answer_lets_the_page_read_retry_after_and_replays(client: Client, valid_intake: dict) -> None:
    headers = {"Origin": "https://partner.example", "Idempotency-Key": "cors-replay-1"}
    response = post_json(client, "/intake", valid_intake, headers)
    assert response.status_code == 201
    exposed = {h.strip().lower() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert "retry-after" in exposed
    # A partner's page must be able to tell a replayed answer (its first request did go through).
    replay = post_json(client, "/intake", valid_intake, headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    exposed = {h.strip().lower() for h in replay.headers["Access-Control-Expose-Headers"].split(",")}
    assert "idempotent-replayed" in exposed
