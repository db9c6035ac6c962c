"""Token verification in both modes, the local key file, and the staff-token command."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.adapters import tokens
from chalicelib.adapters.tokens import issue_local_token, local_signing_key, verify_token
from chalicelib.config import Settings, settings
from chalicelib.errors import ForbiddenError, RetryableError, UnauthorizedError

POOL = "eu-central-1_TestPool"
CLIENT_ID = "staff-app-client"
ISSUER = f"https://cognito-idp.eu-central-1.amazonaws.com/{POOL}"


@pytest.fixture(scope="module")
def pool_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_server(pool_key: rsa.RSAPrivateKey) -> Iterator[dict[str, Any]]:
    """The user pool's /.well-known/jwks.json on loopback; counts requests."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(pool_key.public_key()))
    state: dict[str, Any] = {"hits": 0, "keys": [{**jwk, "kid": "pool-key-1", "use": "sig", "alg": "RS256"}]}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state["hits"] += 1
            body = json.dumps({"keys": state["keys"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/{POOL}/.well-known/jwks.json"
    tokens._jwks_client.cache_clear()
    yield state
    server.shutdown()
    server.server_close()
    tokens._jwks_client.cache_clear()


def cognito_settings(monkeypatch: pytest.MonkeyPatch, jwks_url: str) -> Settings:
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("COGNITO_USER_POOL_ID", POOL)
    monkeypatch.setenv("COGNITO_APP_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("COGNITO_JWKS_URL", jwks_url)
    return settings()


def cognito_token(key: rsa.RSAPrivateKey, kid: str = "pool-key-1", **overrides: Any) -> str:
    """Shaped like a Cognito ID token."""
    now = datetime.now(UTC)
    claims = {
        "sub": "8f1c-anna",
        "aud": CLIENT_ID,
        "iss": ISSUER,
        "token_use": "id",
        "auth_time": int(now.timestamp()),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
        "cognito:username": "anna.berger",
        "name": "Anna Berger",
        "email": "anna@lmu.example",
        "custom:partner": "lmu-klinikum",
        "custom:role": "staff",
    }
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, "RS256", headers={"kid": kid})


def test_settings_per_stage(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCAL_JWT_KEY_FILE", str(tmp_path / "k.pem"))
    local = settings()
    assert (local.auth_mode, local.jwt_issuer, local.jwt_audience) == ("local", "migranet-local", "migranet-staff")
    assert local.local_jwt_key_file == tmp_path / "k.pem"
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("COGNITO_USER_POOL_ID", POOL)
    monkeypatch.setenv("COGNITO_APP_CLIENT_ID", CLIENT_ID)
    prod = settings()
    assert (prod.auth_mode, prod.jwt_issuer, prod.jwt_audience) == ("cognito", ISSUER, CLIENT_ID)
    assert prod.jwks_url == f"{ISSUER}/.well-known/jwks.json"


def test_cognito_id_token_is_accepted(monkeypatch, jwks_server, pool_key) -> None:
    current = cognito_settings(monkeypatch, jwks_server["url"])
    identity = verify_token(cognito_token(pool_key), current)
    assert identity.as_dict() == {
        "staff_id": "8f1c-anna",
        "name": "Anna Berger",
        "role": "staff",
        "partner": "lmu-klinikum",
    }
    verify_token(cognito_token(pool_key), current)
    assert jwks_server["hits"] == 1  # keys are cached per container


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"token_use": "access", "aud": None, "client_id": CLIENT_ID}, "ID token"),
        ({"token_use": "access"}, "ID token"),
        ({"aud": "another-client"}, "audience"),
        ({"iss": "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Other"}, "issuer"),
        ({"exp": int((datetime.now(UTC) - timedelta(minutes=5)).timestamp())}, "expired"),
    ],
)
def test_cognito_tokens_that_do_not_fit_are_401(monkeypatch, jwks_server, pool_key, overrides, words) -> None:
    current = cognito_settings(monkeypatch, jwks_server["url"])
    with pytest.raises(UnauthorizedError, match=words):
        verify_token(cognito_token(pool_key, **overrides), current)


def test_a_token_from_another_pool_key_is_401(monkeypatch, jwks_server) -> None:
    current = cognito_settings(monkeypatch, jwks_server["url"])
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(UnauthorizedError, match="key this API does not know"):
        verify_token(cognito_token(stranger, kid="unknown-kid"), current)
    with pytest.raises(UnauthorizedError, match="signature"):
        verify_token(cognito_token(stranger), current)  # right kid, wrong key


def test_the_local_key_does_not_open_production(monkeypatch, jwks_server) -> None:
    local_token = issue_local_token(settings(), partner="lmu-klinikum")
    current = cognito_settings(monkeypatch, jwks_server["url"])
    with pytest.raises(UnauthorizedError):
        verify_token(local_token, current)


def test_unreachable_jwks_is_a_retryable_503(monkeypatch, pool_key) -> None:
    tokens._jwks_client.cache_clear()
    current = cognito_settings(monkeypatch, "http://127.0.0.1:9/jwks.json")  # discard port: refused
    with pytest.raises(RetryableError):
        verify_token(cognito_token(pool_key), current)


def test_production_without_a_pool_is_a_configuration_error(monkeypatch, pool_key) -> None:
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.delenv("COGNITO_APP_CLIENT_ID", raising=False)
    with pytest.raises(RuntimeError, match="COGNITO"):
        verify_token(cognito_token(pool_key), settings())


def test_roles_and_partner_claims() -> None:
    base = {"sub": "x", "name": "X"}
    with pytest.raises(ForbiddenError):
        tokens.identity_from_claims({**base, "custom:role": "admin", "custom:partner": "via-bayern"})
    with pytest.raises(ForbiddenError):
        tokens.identity_from_claims({**base, "custom:role": "staff"})
    coordinator = tokens.identity_from_claims({**base, "custom:role": "coordinator"})
    assert coordinator.is_coordinator and coordinator.partner is None
    nameless = tokens.identity_from_claims({"sub": "s", "custom:role": "coordinator", "cognito:username": "cc"})
    assert nameless.name == "cc"


def test_local_key_is_created_once_private_and_shared_by_racing_creators(tmp_path: Path) -> None:
    path = tmp_path / "data" / "staff-signing-key.pem"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: local_signing_key(path), range(8)))
    numbers = {k.private_numbers().d for k in keys}
    assert len(numbers) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["staff-signing-key.pem"]  # no temp files left
    assert local_signing_key(path).private_numbers().d in numbers


def test_local_tokens_verify_and_carry_the_identity(tmp_path: Path) -> None:
    current = replace(settings(), local_jwt_key_file=tmp_path / "k.pem")
    token = issue_local_token(current, partner="via-bayern", role="coordinator", name="Clara", sub="clara-1")
    identity = verify_token(token, current)
    assert (identity.staff_id, identity.name, identity.role, identity.partner) == (
        "clara-1",
        "Clara",
        "coordinator",
        "via-bayern",
    )
    other = replace(current, local_jwt_key_file=tmp_path / "other.pem")
    with pytest.raises(UnauthorizedError, match="another key"):
        verify_token(token, other)


def test_staff_token_command_prints_a_token_for_the_local_stack(capsys, tmp_path: Path, monkeypatch) -> None:
    from chalicelib.cli import main

    monkeypatch.setenv("LOCAL_JWT_KEY_FILE", str(tmp_path / "k.pem"))
    assert main(["staff-token", "--partner", "lmu-klinikum", "--name", "Anna Berger", "--hours", "2"]) == 0
    token = capsys.readouterr().out.strip()
    identity = verify_token(token, settings())
    assert (identity.partner, identity.role, identity.name) == ("lmu-klinikum", "staff", "Anna Berger")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 2 * 3600

    assert main(["staff-token", "--partner", "via-bayern", "--role", "coordinator", "--sub", "c-1"]) == 0
    coordinator = verify_token(capsys.readouterr().out.strip(), settings())
    assert (coordinator.role, coordinator.staff_id) == ("coordinator", "c-1")


def test_staff_token_command_refuses_unknown_partners_and_other_stages(capsys, monkeypatch) -> None:
    from chalicelib.cli import main

    with pytest.raises(SystemExit):
        main(["staff-token", "--partner", "atlantis"])
    monkeypatch.setenv("STAGE", "prod")
    assert main(["staff-token", "--partner", "lmu-klinikum"]) == 2
    assert "Cognito" in capsys.readouterr().err
    assert not os.environ.get("COGNITO_USER_POOL_ID")


def test_two_local_staff_of_one_partner_are_two_people_unless_given_one_id() -> None:
    from chalicelib.adapters.tokens import local_staff_id

    eva, anna = (
        local_staff_id("staff", "lmu-klinikum", "Dr. Eva Huber"),
        local_staff_id("staff", "lmu-klinikum", "Anna"),
    )
    assert eva != anna and "eva" not in eva.lower()
    assert local_staff_id("staff", "lmu-klinikum", " dr. eva huber") == eva  # the same person typed again
    assert local_staff_id("coordinator", "lmu-klinikum", "Dr. Eva Huber") != eva
