"""Shared fixtures: one moto context per test, provisioned like the local stack."""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import bootstrap
from chalicelib.config import settings

TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_REGION": "eu-central-1",
    "STAGE": "local",
    "TABLE_PREFIX": "migranet-local",
    "QUEUE_PREFIX": "migranet-local",
}


@pytest.fixture(autouse=True, scope="session")
def _shared_botocore_loader() -> Iterator[None]:
    """PynamoDB opens one botocore session per model and thread, and each session parses the
    DynamoDB service JSON again (~0.1 s each, 2+ s per provisioned moto world). One shared,
    caching loader makes that a one-off; nothing else about the sessions changes."""
    import botocore.loaders
    import botocore.session
    import pynamodb.connection.base as pynamodb_base

    loader = botocore.loaders.create_loader()
    original = pynamodb_base.get_session

    def session_with_shared_loader() -> botocore.session.Session:
        session = original()
        session.register_component("data_loader", loader)
        return session

    pynamodb_base.get_session = session_with_shared_loader
    yield
    pynamodb_base.get_session = original


@pytest.fixture(autouse=True)
def _no_stream_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """In this process the stream gets its records only when a test calls deliver_stream, after the
    request has finished: there is no request still sending to wait for. (`make run` keeps the wait.)"""
    monkeypatch.setattr("chalicelib.services.notices.STREAM_SETTLE_SECONDS", 0.0)


@pytest.fixture(autouse=True)
def _test_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    # Never pick up a developer's running `make run` stack (chalicelib.local.stack.use_running_stack).
    monkeypatch.setenv("LOCAL_DATA_DIR", str(tmp_path / "local-data"))
    for name in ("DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


# Tests that cannot run with the tables on DynamoDB Local (--dynamodb-local), and why. Every one of
# them runs on moto in the first pass of `make test`; the second pass leaves them out (deselected).
# The DynamoDB Local available here is AWS's release of early 2020 (bench/dynamodb_local.py).
EMPTY_STRINGS = pytest.mark.moto_only(
    "DynamoDB Local of early 2020 refuses an empty string in a non-key attribute (an SMS's place or"
    " encoding); DynamoDB accepts one since May 2020"
)
TEN_ITEM_TRANSACTIONS = pytest.mark.moto_only(
    "DynamoDB Local of early 2020 takes 10 items per transaction; DynamoDB takes 100 since September 2022"
)
MOTO_ITEM_SIZE = pytest.mark.moto_only("fills a case to just under moto's item size limit, as moto counts it")
MOTO_INTERNALS = pytest.mark.moto_only("looks inside moto's in-process stream records")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "moto_only(reason): cannot run with --dynamodb-local (see tests/conftest.py)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--dynamodb-local"):
        return
    kept = [item for item in items if item.get_closest_marker("moto_only") is None]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--dynamodb-local",
        action="store_true",
        help="the tables on AWS's DynamoDB Local (bench/dynamodb_local.py) instead of moto; the rest stays on moto",
    )


@pytest.fixture(scope="session")
def dynamodb_local(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """With --dynamodb-local, one DynamoDB Local for the session (each test makes and drops its tables)."""
    if not request.config.getoption("--dynamodb-local"):
        yield None
        return
    from bench import dynamodb_local as server

    server.install()
    with server.server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(dynamodb_local: str | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A fresh moto world with tables, queues and the seeded directory.

    With --dynamodb-local the tables live on DynamoDB Local, which holds DynamoDB's rules where
    moto is lenient; plain boto3 clients follow them there through AWS_ENDPOINT_URL_DYNAMODB."""
    from chalicelib.local.provision import provision

    if dynamodb_local:
        monkeypatch.setenv("DYNAMODB_ENDPOINT", dynamodb_local)
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local)
    with mock_aws():
        bootstrap.reset()
        provision(settings())
        yield
        if dynamodb_local:
            _drop_tables(settings())
        bootstrap.reset()


def _drop_tables(current: Any) -> None:
    dynamodb = boto3.client("dynamodb", region_name=current.region, endpoint_url=current.dynamodb_endpoint)
    for name in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=name)


@pytest.fixture
def client(aws: None) -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="local") as test_client:
        yield test_client


@pytest.fixture
def valid_intake() -> dict[str, Any]:
    return {
        "language": "ar",
        "given_name": "Layla",
        "family_name": "Haddad",
        "phone": "0151 1234 5678",
        "email": "layla@example.org",
        "postcode": "80331",
        "qualification": {
            "country": "SY",
            "title": "Bachelor of Civil Engineering",
            "profession_group": "engineering",
            "level": "bachelor",
        },
        "german_level": "B1",
        "goals": ["recognition", "job"],
        "registered_with_employment_agency": False,
        "message": "I would like to work as an engineer in Munich.",
        "consent": {"data_processing": True, "share_with_partners": True, "sms": True},
    }


def post_json(client: Client, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(
        path, body=json.dumps(body), headers={"Content-Type": "application/json", **(headers or {})}
    )


def deliver_stream(client: Client) -> int:
    """What Lambda's stream poller does within about a second in production: every change stored
    so far reaches the app's `@app.on_dynamodb_record` functions (announce_routed_cases)."""
    from chalicelib.local.streams import through_test_client

    return through_test_client(client).deliver()


@contextlib.contextmanager
def sqs_refusing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SQS refuses every case.routed notice meanwhile (the request's, the stream's, notify_partners')."""
    from chalicelib.adapters.sqs import SqsPublisher

    def refuse(self: Any, notice: Any) -> None:
        raise OSError("SQS unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(SqsPublisher, "publish", refuse)
        yield


def intake_while_sqs_refuses(client: Client, intake: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """An intake whose case.routed notice SQS refuses, in the request and when the stream hands it
    on: it stays in the outbox for notify_partners."""
    with sqs_refusing(monkeypatch):
        created = post_json(client, "/intake", intake).json_body
        deliver_stream(client)
        return created


def sqs_messages(partner_id: str) -> list[dict[str, Any]]:
    """What the partner's queue holds (deliver_stream first: no stream or scheduled function runs here)."""
    sqs = boto3.client("sqs", region_name=os.environ["AWS_REGION"])
    url = sqs.get_queue_url(QueueName=settings().queue_name(partner_id))["QueueUrl"]
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in received.get("Messages", [])]


# --- staff workspace (issue 3) ------------------------------------------------------------


@pytest.fixture(scope="session")
def staff_signing_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("staff-key") / "staff-signing-key.pem"


@pytest.fixture(autouse=True)
def _staff_signing_key(monkeypatch: pytest.MonkeyPatch, staff_signing_key_file: Path) -> None:
    """One local signing key per session (RSA generation is slow), never the developer's own."""
    monkeypatch.setenv("LOCAL_JWT_KEY_FILE", str(staff_signing_key_file))


@pytest.fixture
def staff_token() -> Callable[..., str]:
    """`staff_token(partner, role="staff", name=...)` → a bearer token signed with the local key."""
    from chalicelib.adapters.tokens import issue_local_token

    def make(
        partner: str | None = "lmu-klinikum", role: str = "staff", name: str = "Anna Berger", **kwargs: Any
    ) -> str:
        kwargs.setdefault("sub", f"{role}-{partner}-{name.lower().replace(' ', '-')}")
        return issue_local_token(settings(), partner=partner, role=role, name=name, **kwargs)

    return make


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class FrozenClock:
    """A clock tests move by hand (the services read time only through bootstrap.clock())."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    """Request before `client`/`aws` use any service; starts Friday 7 March 2025, 10:00 Berlin."""
    from zoneinfo import ZoneInfo

    clock = FrozenClock(datetime(2025, 3, 7, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    monkeypatch.setattr(bootstrap, "clock", functools.cache(lambda: clock))
    return clock


@pytest.fixture
def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make in-process moto handle one DynamoDB request at a time, as DynamoDB itself does.

    moto checks conditions and writes (and rolls transactions back from a deep copy of the
    tables) without a lock, so threads racing in one process can all "win". Serialising whole
    requests restores DynamoDB's per-request atomicity and nothing more: a read followed by a
    write is still two requests, so read-then-write code still loses races in tests.
    """
    import threading

    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def one_at_a_time(self: DynamoHandler) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", one_at_a_time)


@pytest.fixture
def submit_case(client: Client, valid_intake: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """`submit_case("health")` → the 201 body of an intake routed to that group's partner."""

    def submit(profession_group: str = "health", **changes: Any) -> dict[str, Any]:
        body = copy.deepcopy(valid_intake)
        body["qualification"]["profession_group"] = profession_group
        body.update(changes)
        response = post_json(client, "/intake", body)
        assert response.status_code == 201, response.body
        return json.loads(response.body)

    return submit


# --- SMS (issue 4) --------------------------------------------------------------------------


@pytest.fixture
def fake_twilio() -> Iterator[Any]:
    """Twilio's Messages API as a real HTTP server on 127.0.0.1:<free port> (tests/fakes/fake_twilio.py)."""
    from tests.fakes.fake_twilio import FakeTwilio

    server = FakeTwilio(timeout_sleep=0.6).start()
    yield server
    server.stop()


@pytest.fixture
def fake_sender(aws: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app's SMS backend replaced by a FakeSender that records what Twilio would have received."""
    monkeypatch.setenv("SMS_BACKEND", "fake")
    bootstrap.reset()
    return bootstrap.sms_sender()


def twilio_signature(auth_token: str, url: str, pairs: list[tuple[str, str]]) -> str:
    """What Twilio puts in X-Twilio-Signature for a form POST to `url`."""
    from twilio.request_validator import RequestValidator

    from chalicelib.services.messaging_ports import FormParams

    return RequestValidator(auth_token).compute_signature(url, FormParams(pairs))
