"""Staff sign-in through the HTTP middleware: every bad token is a 401 that says why."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters.tokens import issue_local_token, key_id, local_signing_key
from chalicelib.config import settings
from tests.conftest import auth


def _claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {
        "iss": "migranet-local",
        "aud": "migranet-staff",
        "sub": "staff-1",
        "name": "Anna Berger",
        "token_use": "id",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
        "custom:partner": "lmu-klinikum",
        "custom:role": "staff",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(claims: dict[str, Any], key: Any = None, headers: dict[str, Any] | None = None) -> str:
    key = key or local_signing_key(settings().local_jwt_key_file)
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _get(client, token: str | None, path: str = "/staff/queue") -> Any:
    headers = auth(token) if token is not None else {}
    return client.http.get(path, headers=headers)


def test_a_valid_local_token_opens_the_queue(client, staff_token) -> None:
    response = _get(client, staff_token("lmu-klinikum"))
    assert response.status_code == 200
    assert json.loads(response.body)["partner"] == "lmu-klinikum"


def test_a_local_token_with_just_the_claims_issue_3_names_opens_the_queue(client) -> None:
    """sub, name, custom:partner, custom:role, plus issuer, audience and expiry: no iat or token_use needed."""
    response = _get(client, _signed(_claims(iat=None, token_use=None)))
    assert response.status_code == 200, response.body
    assert _get(client, _signed(_claims(token_use="access"))).status_code == 401  # said, and not an ID token


def test_missing_token_is_401_with_a_bare_bearer_challenge(client) -> None:
    response = _get(client, None)
    assert response.status_code == 401
    body = json.loads(response.body)
    assert body["code"] == "token_missing"
    assert "Authorization: Bearer" in body["error"]
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="migranet-staff"'


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "token abc"])
def test_a_header_that_is_not_a_bearer_token_is_401(client, header: str) -> None:
    response = client.http.get("/staff/queue", headers={"Authorization": header})
    assert response.status_code == 401
    assert json.loads(response.body)["code"] == "token_missing"


def _forged() -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _signed(_claims(), key=other)


def _expired() -> str:
    long_ago = datetime.now(UTC) - timedelta(hours=9)
    return issue_local_token(settings(), partner="lmu-klinikum", now=long_ago, hours=8)


def _alg_none() -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."


def _hs256_with_public_key() -> str:
    """The classic confusion attack: HMAC-sign with the RSA public key as the secret."""
    public_pem = (
        local_signing_key(settings().local_jwt_key_file)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = _b64({"alg": "HS256", "typ": "JWT"})
    payload = _b64(_claims())
    import hashlib
    import hmac

    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def _tampered_payload() -> str:
    header, _payload, signature = _signed(_claims()).split(".")
    return f"{header}.{_b64(_claims(**{'custom:partner': 'via-bayern'}))}.{signature}"


BAD_TOKENS = {
    "forged": (_forged, "token_invalid", "signature"),
    "expired": (_expired, "token_expired", "expired"),
    "wrong_issuer": (lambda: _signed(_claims(iss="https://evil.example")), "token_invalid", "issuer"),
    "wrong_audience": (lambda: _signed(_claims(aud="another-app")), "token_invalid", "audience"),
    "no_expiry": (lambda: _signed(_claims(exp=None)), "token_invalid", "'exp'"),
    "access_token": (lambda: _signed(_claims(token_use="access")), "token_invalid", "ID token"),
    "malformed": (lambda: "not-a-jwt", "token_invalid", "malformed"),
    "garbage_segments": (lambda: "a.b.c", "token_invalid", "malformed"),
    "alg_none": (_alg_none, "token_invalid", "RS256"),
    "hs256_confusion": (_hs256_with_public_key, "token_invalid", "RS256"),
    "tampered_payload": (_tampered_payload, "token_invalid", "signature"),
    "future_iat": (
        lambda: _signed(_claims(iat=int((datetime.now(UTC) + timedelta(hours=1)).timestamp()))),
        "token_invalid",
        "not valid",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
@pytest.mark.parametrize("path", ["/staff/queue", "/coordinator/cases"])
def test_bad_tokens_are_401_with_a_clear_message(client, kind: str, path: str) -> None:
    make, code, words = BAD_TOKENS[kind]
    response = _get(client, make(), path)
    assert response.status_code == 401, response.body
    body = json.loads(response.body)
    assert body["code"] == code
    assert words in body["error"]
    assert response.headers["WWW-Authenticate"].endswith('error="invalid_token"')


def test_a_token_signed_by_another_local_key_says_so(client) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = _signed(_claims(), key=other, headers={"kid": key_id(other)})
    response = _get(client, token)
    assert response.status_code == 401
    assert "another key" in json.loads(response.body)["error"]


STAFF_PAGE = {("GET", "/staff"), ("GET", "/staff/")}  # the sign-in page itself (and /staff/assets/…)


def test_every_staff_and_coordinator_route_is_behind_the_token(client) -> None:
    import re

    from app import app

    checked = 0
    for path, methods in app.routes.items():
        if not path.startswith(("/staff", "/coordinator")) or path.startswith("/staff/assets/"):
            continue
        for method in set(methods) - {"OPTIONS"}:
            if (method, path) in STAFF_PAGE:
                continue
            concrete = re.sub(r"{[^}]+}", "00000000-0000-4000-8000-000000000000", path)
            response = client.http.request(method, concrete, headers={"Content-Type": "application/json"}, body=b"{}")
            assert response.status_code == 401, (method, path)
            checked += 1
    assert checked >= 9


def test_a_token_without_a_staff_role_is_403(client) -> None:
    response = _get(client, _signed(_claims(**{"custom:role": None})))
    assert response.status_code == 403
    assert "no staff role" in json.loads(response.body)["error"]


def test_a_staff_token_without_a_partner_is_403(client) -> None:
    response = _get(client, _signed(_claims(**{"custom:partner": None})))
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["staff", "coordinator", ["coordinator"]])
@pytest.mark.parametrize("partner", [["lmu-klinikum"], {"a": 1}, 7])
def test_a_token_whose_role_or_partner_is_no_single_name_is_403_not_500(client, role: Any, partner: Any) -> None:
    response = _get(client, _signed(_claims(**{"custom:role": role, "custom:partner": partner})))
    assert response.status_code == 403, response.body
    assert json.loads(response.body)["code"]


def test_a_staff_token_of_an_unknown_institution_is_403(client) -> None:
    response = _get(client, _signed(_claims(**{"custom:partner": "atlantis-amt"})))
    assert response.status_code == 403
    assert "atlantis-amt" in json.loads(response.body)["error"]


def test_a_staff_token_on_coordinator_endpoints_is_403(client, staff_token) -> None:
    response = _get(client, staff_token("lmu-klinikum"), "/coordinator/cases")
    assert response.status_code == 403
    assert json.loads(response.body)["code"] == "forbidden"


def test_a_coordinator_token_opens_coordinator_endpoints(client, staff_token) -> None:
    response = _get(client, staff_token("via-bayern", role="coordinator"), "/coordinator/cases")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "needs_token"),
    [
        ("GET", "/staff/queue", True),
        ("POST", "/staff/cases/{case_id}/claim", True),
        ("GET", "/coordinator/cases", True),
        ("GET", "/coordinator", True),
        ("POST", "/staff", True),
        ("GET", "/staff", False),  # the staff sign-in page itself
        ("GET", "/staff/", False),
        ("GET", "/staff/assets/{name}", False),
        ("OPTIONS", "/staff/queue", False),  # CORS preflight carries no token
        ("GET", "/staffing", False),
        ("GET", "/intake", False),
        ("GET", "/", False),
    ],
)
def test_which_paths_need_a_staff_token(method: str, path: str, needs_token: bool) -> None:
    from types import SimpleNamespace

    from chalicelib.http_app import needs_staff_token

    assert needs_staff_token(SimpleNamespace(method=method, path=path)) is needs_token  # type: ignore[arg-type]
