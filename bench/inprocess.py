"""Benchmarks that run inside this process against moto in-process: latency, items per call, queue page."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.child import BASELINE_TABLE, intake_body
from bench.dynamo_calls import Usage, counting

ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_REGION": "eu-central-1",
    "STAGE": "local",
    "TABLE_PREFIX": "migranet-local",
    "QUEUE_PREFIX": "migranet-local",
}


@contextlib.contextmanager
def app_log_aside() -> Iterator[None]:
    """The app's log lines (one JSON line per request) go to a file, as a Lambda's go to CloudWatch,
    not between the figures; writing them is still part of every timed request."""
    with tempfile.TemporaryFile("w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        yield


@contextlib.contextmanager
def moto_world(dynamodb_endpoint: str | None = None) -> Iterator[None]:
    """A fresh in-process moto with the stage's tables, queues and seed data (as the tests use).

    With `dynamodb_endpoint` (DynamoDB Local, bench/dynamodb_local.py) the tables live there
    instead, for the app and the baseline alike; everything else stays on moto in-process.
    """
    from moto import mock_aws

    from chalicelib import bootstrap
    from chalicelib.config import settings
    from chalicelib.local.provision import provision

    saved = dict(os.environ)
    for name in ("DYNAMODB_ENDPOINT", "AWS_ENDPOINT_URL_DYNAMODB", "SQS_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        os.environ.pop(name, None)
    os.environ.update(ENV)
    if dynamodb_endpoint:
        # moto lets calls to an endpoint it does not serve through; boto3 clients made without an
        # endpoint (the baseline's) follow AWS_ENDPOINT_URL_DYNAMODB.
        os.environ["DYNAMODB_ENDPOINT"] = os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint
    try:
        with mock_aws(), app_log_aside():
            bootstrap.reset()
            provision(settings())
            _create_baseline_table()
            yield
            bootstrap.reset()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _create_baseline_table() -> None:
    import boto3

    boto3.client("dynamodb").create_table(
        TableName=BASELINE_TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def baseline_app(case_item: dict[str, Any] | None = None) -> Any:
    """The yardstick: a bare Chalice route that parses a JSON body and does one PutItem.

    With `case_item` (a stored case, in DynamoDB's wire format) it makes the very write an intake
    makes instead, under a new case id: into the cases table (its indexes), with the same
    condition and capacity report PynamoDB asks for. The same call, none of the intake's work.
    """
    from functools import cache

    import boto3
    from chalice import Chalice, Response

    from chalicelib.config import settings

    app = Chalice(app_name="baseline")

    @cache
    def client() -> Any:
        return boto3.client("dynamodb")

    @app.route("/put", methods=["POST"])
    def put() -> Response:
        body = app.current_request.json_body
        if case_item is None:
            client().put_item(
                TableName=BASELINE_TABLE, Item={"doc": {"S": json.dumps(body)}, "pk": {"S": str(uuid.uuid4())}}
            )
        else:
            client().put_item(
                TableName=settings().table("cases"),
                Item={**case_item, "case_id": {"S": str(uuid.uuid4())}},
                ConditionExpression="attribute_not_exists(case_id)",
                ReturnConsumedCapacity="TOTAL",
            )
        return Response(body={"ok": True}, status_code=201)

    return app


@contextlib.contextmanager
def aws_call_clock() -> Iterator[list[float]]:
    """Seconds spent inside AWS API calls (botocore, answered by moto), summed per request.

    Against moto, a call's cost is moto's Python work; on AWS it is a network round trip. The
    rest of a request is the application's own work (and Chalice's), which this separates out.
    """
    import botocore.client

    spent = [0.0]
    original = botocore.client.BaseClient._make_api_call

    def timed(self: Any, operation: str, params: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, operation, params)
        finally:
            spent[0] += time.perf_counter() - started

    botocore.client.BaseClient._make_api_call = timed  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def _timed(
    call: Callable[[int], int], count: int, warmup: int, between: Callable[[], None] | None = None
) -> tuple[list[float], list[float]]:
    """Per request: total seconds, and seconds of it inside AWS calls. `between` runs untimed."""
    for index in range(warmup):
        call(-1 - index)
    samples, in_aws = [], []
    with aws_call_clock() as spent:
        for index in range(count):
            if between is not None:
                between()
            spent[0] = 0.0
            started = time.perf_counter()
            status = call(index)
            samples.append(time.perf_counter() - started)
            in_aws.append(spent[0])
            if status >= 400:
                raise RuntimeError(f"request {index} failed with {status}")
    return samples, in_aws


def summary(timed: tuple[list[float], list[float]]) -> dict[str, float]:
    samples, in_aws = timed
    ordered = sorted(samples)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "req_per_s": len(ordered) / sum(ordered),
        "aws_median_ms": statistics.median(in_aws) * 1000,
        "own_median_ms": statistics.median(t - a for t, a in zip(samples, in_aws, strict=True)) * 1000,
    }


def latency(count: int, dynamodb_endpoint: str | None = None) -> dict[str, dict[str, float]]:
    """1. POST /intake through chalice.test.Client vs the baseline route, same moto (in-process),
    or with the tables on the DynamoDB endpoint given (DynamoDB Local)."""
    with moto_world(dynamodb_endpoint):
        return _latency_series(count)


def latency_over_loopback(count: int, env: dict[str, str]) -> dict[str, dict[str, float]]:
    """1, against moto's server on loopback (the issue's other endpoint): every call a round trip."""
    from chalicelib import bootstrap

    saved = dict(os.environ)
    os.environ.update(env)
    # The baseline's plain boto3 clients find the same server through the SDK's own setting.
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = env["DYNAMODB_ENDPOINT"]
    try:
        bootstrap.reset()
        with app_log_aside():
            return _latency_series(count)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        bootstrap.reset()


def _latency_series(count: int) -> dict[str, dict[str, float]]:
    from chalice.test import Client

    from app import app
    from chalicelib.local.streams import through_test_client

    results = {}
    with Client(app, stage_name="local") as client:

        def intake(index: int) -> int:
            headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
            return client.http.post("/intake", body=json.dumps(intake_body(index)), headers=headers).status_code

        # Lambda's poller for the cases table's stream runs between requests, as beside the API.
        stream = through_test_client(client)
        results["intake"] = summary(_timed(intake, count, warmup=20, between=_partners_consume(stream)))
        with _cases_put_items() as written:
            intake(count)
        case_item = written[-1]
    with Client(baseline_app()) as client:

        def put(index: int) -> int:
            headers = {"Content-Type": "application/json"}
            return client.http.post("/put", body=json.dumps(intake_body(index)), headers=headers).status_code

        results["baseline"] = summary(_timed(put, count, warmup=20))
    # Diagnostic, not the target's yardstick: the intake's own write alone, the floor of any code storing this case.
    with Client(baseline_app(case_item)) as client:
        results["same-write"] = summary(_timed(put, count, warmup=20))
    return results


def _partners_consume(stream: Any, every: int = 20) -> Callable[[], None]:
    """The cases table's stream hands the intakes to announce_routed_cases, and the partners' systems
    take their case.routed notices off their queues, as both do in production beside the requests.
    Untimed: moto's SendMessage scans the queue's messages (~0.02 ms more per message waiting), so
    a queue nobody empties would make each intake slower than the one before; SQS's cost does not
    depend on the queue's length."""
    import boto3

    from chalicelib.config import settings

    current = settings()
    sqs = boto3.client("sqs", region_name=current.region, endpoint_url=current.sqs_endpoint)
    urls = [
        sqs.get_queue_url(QueueName=current.queue_name(p["id"]))["QueueUrl"]
        for p in json.loads((Path(__file__).parent.parent / "chalicelib" / "data" / "partners.json").read_text())[
            "partners"
        ]
    ]
    calls = [0]

    def consume() -> None:
        calls[0] += 1
        if calls[0] % every == 0:
            stream.deliver()  # off the request path in production too (and moto keeps no backlog)
            for url in urls:  # as a consumer does: receive, then delete (PurgeQueue allows one a minute)
                while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
                    entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
                    sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    return consume


@contextlib.contextmanager
def _cases_put_items() -> Iterator[list[dict[str, Any]]]:
    """The items PutItem writes into the cases table meanwhile, as sent (DynamoDB's wire format):
    same-write repeats exactly what an intake writes, outbox markers and all, which decide how
    many index entries the write makes."""
    import botocore.client

    from chalicelib.config import settings

    table, written = settings().table("cases"), []
    original = botocore.client.BaseClient._make_api_call

    def capture(self: Any, operation: str, params: Any) -> Any:
        if operation == "PutItem" and params.get("TableName") == table:
            written.append(params["Item"])
        return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = capture  # type: ignore[method-assign]
    try:
        yield written
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def items_per_intake(count: int) -> dict[str, Any]:
    """2. DynamoDB calls, items and capacity units per intake (warm container, and the first one)."""
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap
    from chalicelib.local.streams import through_test_client

    with moto_world(), Client(app, stage_name="local") as client:

        def post(index: int) -> None:
            headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
            response = client.http.post("/intake", body=json.dumps(intake_body(index)), headers=headers)
            assert response.status_code == 201, response.body

        stream = through_test_client(client)
        bootstrap.reset()
        with counting() as cold:
            post(0)
        bootstrap.reset()  # not counted as the first intake's: the stream's function has clients of its own
        stream.deliver()
        with counting() as warm:
            bootstrap.reset()  # new clients inside the counter; the first call warms the directory
            post(1)
            first_calls = sum(warm.calls.values())
            warm.reset()  # forget the warm-up, keep the hooks
            for index in range(count):
                post(2 + index)
        with counting() as announced:
            bootstrap.reset()  # its own clients: the request's clients still count into `warm`
            stream.deliver()  # announce_routed_cases: finds each case's notice sent and cleared by its request
    return {
        "first": _per(cold, 1),
        "warm": _per(warm, count),
        "warmup_calls": first_calls,
        "stream": _per(announced, count + 1),
    }


STAFF_STEPS = ("queue page", "open case", "claim", "book appointment", "close")


def items_per_staff_journey(count: int) -> dict[str, dict[str, Any]]:
    """2 and 7. DynamoDB work of each step staff take with a case (warm), the claim among them, for
    the cost estimate: a queue page of 50, opening the case, claiming it, booking, closing it."""
    from chalice.test import Client

    from app import app
    from chalicelib import bootstrap
    from chalicelib.adapters.tokens import issue_local_token
    from chalicelib.config import settings

    with moto_world(), Client(app, stage_name="local") as client:
        body = {**intake_body(0), "qualification": {**intake_body(0)["qualification"], "profession_group": "health"}}
        case_ids = []
        for _ in range(count + 1):
            response = client.http.post("/intake", body=json.dumps(body), headers={"Content-Type": "application/json"})
            assert response.status_code == 201, response.body
            case_ids.append(json.loads(response.body)["case_id"])
        partner = json.loads(response.body)["partner"]
        token = issue_local_token(settings(), partner=partner, name="Bench Staff", sub="bench-staff")
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        start = (datetime.now(UTC) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)

        def step(name: str, case_id: str, index: int) -> None:
            if name == "queue page":
                response = client.http.get("/staff/queue?status=routed&limit=50", headers=headers)
            elif name == "open case":
                response = client.http.get(f"/staff/cases/{case_id}", headers=headers)
            elif name == "claim":
                response = client.http.post(f"/staff/cases/{case_id}/claim", headers=headers)
            elif name == "book appointment":
                when = (start + timedelta(minutes=45 * index)).isoformat()
                booking = {"start": when, "duration_minutes": 30, "location": "Beratungsraum 2"}
                path = f"/staff/cases/{case_id}/appointments"
                response = client.http.post(path, body=json.dumps(booking), headers=headers)
            else:
                response = client.http.post(
                    f"/staff/cases/{case_id}/close", body=json.dumps({"outcome": "counselled"}), headers=headers
                )
            assert response.status_code in (200, 201), (name, response.status_code, response.body)

        by_step = {name: Usage() for name in STAFF_STEPS}
        with counting() as usage:
            bootstrap.reset()  # new clients inside the counter
            for index, case_id in enumerate(case_ids):
                for name in STAFF_STEPS:
                    usage.reset()
                    step(name, case_id, index)
                    if index:  # the first case warms the token keys, the directory and the clients
                        _add(by_step[name], usage)
    return {name: _per(usage, count) for name, usage in by_step.items()}


def _add(total: Usage, usage: Usage) -> None:
    total.calls.update(usage.calls)
    total.items_written += usage.items_written
    total.items_read += usage.items_read
    total.write_units += usage.write_units
    total.read_units += usage.read_units


def _per(usage: Usage, count: int) -> dict[str, Any]:
    return {
        "calls": {name: n / count for name, n in sorted(usage.calls.items())},
        "items_written": usage.items_written / count,
        "items_read": usage.items_read / count,
        "wru": usage.write_units / count,
        "rru": usage.read_units / count,
    }


def queue_page(sizes: list[int], repeats: int = 10, dynamodb_endpoint: str | None = None) -> list[dict[str, Any]]:
    """5. One page of 50 from a partner's queue with 1k/10k/100k cases stored.

    Runs the query GET /staff/queue makes: the partner-status index of the cases table (the
    case item is its own queue entry), oldest first, limit 50. On moto in-process, or on the
    DynamoDB endpoint given (DynamoDB Local).
    """
    from chalicelib import bootstrap
    from chalicelib.adapters.dynamodb.models import CaseModel, bind
    from chalicelib.config import settings

    partners = [
        "servicestelle-muenchen",
        "via-bayern",
        "arbeitsagentur-muenchen",
        "akademie-ingenieure",
        "lmu-klinikum",
    ]
    results = []
    with moto_world(dynamodb_endpoint):
        bootstrap.dynamodb_connection()  # binds the models to this stage's tables
        stored = 0
        for size in sizes:
            with CaseModel.batch_write() as batch:
                for index in range(stored, size):
                    partner = partners[index % len(partners)]
                    at = f"2026-01-01T00:00:00.{index:06d}Z"
                    batch.save(
                        CaseModel(
                            str(uuid.uuid4()),
                            reference="ABCD-EFGH",
                            partner=partner,
                            status="routed",
                            rule="engineering-construction",
                            routing_reason="qualification.profession_group is engineering",
                            language="ar",
                            intake=intake_body(index),
                            created_at=at,
                            updated_at=at,
                            queued_at=at,
                            partner_status=f"{partner}#routed",
                            profession_group="engineering",
                            goals=["recognition"],
                        )
                    )
            stored = size
            samples = []
            # Untimed: the endpoint's warm-up (DynamoDB Local's JVM compiles as it goes; the first
            # size needs the most, or it flatters the ratio).
            for _ in range(20 if size == sizes[0] else 1):
                list(CaseModel.queue_index.query("via-bayern#routed", limit=50))
            with counting() as usage:
                bind(settings())  # new model connections, created inside the counter
                for _ in range(repeats):
                    started = time.perf_counter()
                    page = list(CaseModel.queue_index.query("via-bayern#routed", limit=50))
                    samples.append(time.perf_counter() - started)
                    assert len(page) == 50
            results.append(
                {
                    "cases": size,
                    "median_ms": statistics.median(samples) * 1000,
                    "items_read_per_page": usage.items_read / repeats,
                    "queries_per_page": usage.calls["Query"] / repeats,
                }
            )
    return results
