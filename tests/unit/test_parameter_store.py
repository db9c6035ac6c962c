"""Production keys from Parameter Store: through the Lambda extension when the stack attaches it,
else one GetParameters call; read once per container either way."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib import keys
from chalicelib.adapters import parameter_store
from tests.fakes.parameters_extension import FakeExtension, parameters_extension

SEALING, PHONE_HASH = b"x" * 43 + b"=", b"y" * 43 + b"="
PARAMETERS = {"SEALING_KEY": "/migranet/prod/keys/sealing-key", "PHONE_HASH_KEY": "/migranet/prod/keys/phone-hash-key"}
TOKEN = "the-function-session-token"


@pytest.fixture
def prod_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A prod-stage function whose keys are SecureString parameters (in moto); nothing cached."""
    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.delenv(parameter_store.EXTENSION_PORT, raising=False)
    for name, parameter in PARAMETERS.items():
        monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(f"{name}_PARAMETER", parameter)
    with mock_aws():
        ssm = boto3.client("ssm", region_name="eu-central-1")
        for parameter, value in zip(PARAMETERS.values(), (SEALING, PHONE_HASH), strict=True):
            ssm.put_parameter(Name=parameter, Value=value.decode(), Type="SecureString")
        forget = (keys._from_ssm, parameter_store.read, parameter_store._client)
        for cached in forget:
            cached.cache_clear()
        try:
            yield ssm
        finally:
            for cached in forget:
                cached.cache_clear()


@pytest.fixture
def known() -> dict[str, str]:
    """What the fake extension can answer; a test may change it."""
    return {PARAMETERS["SEALING_KEY"]: SEALING.decode(), PARAMETERS["PHONE_HASH_KEY"]: PHONE_HASH.decode()}


@pytest.fixture
def extension(known: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeExtension]:
    with parameters_extension(lambda name, decrypt: known.get(name) if decrypt else None, TOKEN) as fake:
        monkeypatch.setenv(parameter_store.EXTENSION_PORT, str(fake.port))
        yield fake


def ssm_calls(ssm_client: Any) -> list[str]:
    calls: list[str] = []
    ssm_client.meta.events.register("before-call.ssm", lambda model, **_: calls.append(model.name))
    return calls


def test_without_the_extension_both_keys_come_in_one_getparameters_call_per_container(prod_keys: Any) -> None:
    calls = ssm_calls(parameter_store._client("eu-central-1"))

    assert keys.fernet_key("SEALING_KEY") == SEALING
    assert keys.fernet_key("PHONE_HASH_KEY") == PHONE_HASH
    assert calls == ["GetParameters"]  # one round trip of the cold start for both
    prod_keys.delete_parameter(Name=PARAMETERS["SEALING_KEY"])
    assert keys.fernet_key("SEALING_KEY") == SEALING  # read once per container
    assert calls == ["GetParameters"]


def test_with_the_extension_the_keys_come_from_it_and_no_ssm_client_is_made(
    prod_keys: Any, extension: FakeExtension, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_client(region: str) -> Any:
        raise AssertionError("an SSM client was created although the extension answers")

    monkeypatch.setattr(parameter_store, "_client", no_client)

    assert keys.fernet_key("PHONE_HASH_KEY") == PHONE_HASH
    assert sorted(extension.asked) == sorted((parameter, TOKEN) for parameter in PARAMETERS.values())  # both at once
    assert keys.fernet_key("SEALING_KEY") == SEALING
    assert len(extension.asked) == 2  # and never again in this container


@pytest.mark.parametrize("trouble", ["nobody listens", "wrong token", "unknown parameter"])
def test_when_the_extension_fails_the_keys_come_from_ssm_and_the_log_has_no_key(
    prod_keys: Any,
    extension: FakeExtension,
    known: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    trouble: str,
) -> None:
    if trouble == "nobody listens":
        monkeypatch.setenv(parameter_store.EXTENSION_PORT, str(a_port_nobody_answers()))
    elif trouble == "wrong token":
        monkeypatch.setenv("AWS_SESSION_TOKEN", "a stale token")
    else:
        del known[PARAMETERS["SEALING_KEY"]]
    calls = ssm_calls(parameter_store._client("eu-central-1"))

    with caplog.at_level(logging.WARNING):
        assert keys.fernet_key("SEALING_KEY") == SEALING
        assert keys.fernet_key("PHONE_HASH_KEY") == PHONE_HASH

    assert calls == ["GetParameters"]
    assert "asking SSM" in caplog.text
    assert SEALING.decode() not in caplog.text and PHONE_HASH.decode() not in caplog.text


def a_port_nobody_answers() -> int:
    """A port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_twilio_credentials_come_through_the_extension_too(
    prod_keys: Any, extension: FakeExtension, known: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib import bootstrap
    from chalicelib.adapters.sms.twilio_sender import TwilioCredentials

    monkeypatch.setenv("TWILIO_SSM_PREFIX", "/migranet/prod/twilio")
    known.update({"/migranet/prod/twilio/account_sid": "AC" + "9" * 32, "/migranet/prod/twilio/auth_token": "s3"})
    monkeypatch.setattr(parameter_store, "_client", lambda region: pytest.fail("an SSM client was created"))
    bootstrap.twilio_credentials.cache_clear()
    try:
        assert bootstrap.twilio_credentials()() == TwilioCredentials("AC" + "9" * 32, "s3")
    finally:
        bootstrap.twilio_credentials.cache_clear()


def answering(code: str) -> Any:
    """A before-call hook that answers GetParameters with SSM error `code` (botocore raises it)."""
    from types import SimpleNamespace

    body = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    return lambda **_: (SimpleNamespace(status_code=400), body)


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServerError"])
def test_a_busy_parameter_store_is_a_retryable_error_and_the_retry_reads_the_keys(prod_keys: Any, code: str) -> None:
    """A burst of cold starts can meet SSM's throttling: the caller gets 503 + Retry-After, not a
    500, and nothing of the failure is cached."""
    from chalicelib.errors import RetryableError

    events = parameter_store._client("eu-central-1").meta.events
    events.register("before-call.ssm.GetParameters", answering(code), unique_id="busy")
    with pytest.raises(RetryableError) as refused:
        keys.fernet_key("SEALING_KEY")
    assert refused.value.retry_after_seconds > 0
    events.unregister("before-call.ssm.GetParameters", unique_id="busy")
    assert keys.fernet_key("SEALING_KEY") == SEALING


def test_a_missing_permission_is_not_disguised_as_busy(prod_keys: Any) -> None:
    from botocore.exceptions import ClientError

    events = parameter_store._client("eu-central-1").meta.events
    events.register("before-call.ssm.GetParameters", answering("AccessDeniedException"))
    with pytest.raises(ClientError, match="AccessDeniedException"):
        keys.fernet_key("SEALING_KEY")
