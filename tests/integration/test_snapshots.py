"""Local data survives a restart: every table → one JSON file → a fresh moto server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.config import settings
from chalicelib.local.provision import provision
from chalicelib.local.snapshots import SNAPSHOT_FILE, restore_snapshot, take_snapshot

EVERY_TYPE: dict[str, Any] = {
    "case_id": {"S": "c-1"},
    "text": {"S": "Müller → محمد"},
    "count": {"N": "42"},
    "precise": {"N": "3.14159265358979323846264338"},
    "blob": {"B": bytes(range(256))},
    "blobs": {"BS": [b"\x00\x01", b"\xff"]},
    "tags": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "nested": {"M": {"list": {"L": [{"N": "1"}, {"B": b"\x10"}, {"M": {"deep": {"S": "x"}}}]}}},
}


def _reset(url: str) -> None:
    """moto keeps its state per process: start from an empty world, as a new `make run` does."""
    urlopen(Request(f"{url}/moto-api/reset", method="POST"), timeout=10).read()


@pytest.fixture
def moto_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    _reset(url)
    monkeypatch.setenv("DYNAMODB_ENDPOINT", url)
    monkeypatch.setenv("SQS_ENDPOINT", url)
    try:
        yield url
    finally:
        _reset(url)
        server.stop()


def client(url: str) -> Any:
    return boto3.client("dynamodb", region_name="eu-central-1", endpoint_url=url)


def sort_sets(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB sets have no order."""
    return {k: {t: sorted(v) if t in ("SS", "NS", "BS") else v for t, v in a.items()} for k, a in item.items()}


def test_round_trip_keeps_every_item_and_type_in_every_table(moto_url: str, tmp_path: Path) -> None:
    provision(settings())
    dynamodb = client(moto_url)
    cases, directory = settings().table("cases"), settings().table("directory")
    # A table no model knows yet (another issue adds it): snapshotted without code changes.
    extra = settings().table("extra")
    dynamodb.create_table(
        TableName=extra,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName=cases, Item=EVERY_TYPE)
    for n in range(60):  # more than one BatchWriteItem on restore
        dynamodb.put_item(TableName=extra, Item={"pk": {"S": "p"}, "n": {"N": str(n)}, "b": {"B": bytes([n])}})
    # The user changed a seeded item: that change must win over the seed on restore.
    seeded = dynamodb.scan(TableName=directory)["Items"][0]
    changed = {**seeded, "note": {"S": "edited locally"}}
    dynamodb.put_item(TableName=directory, Item=changed)
    before = {t: dynamodb.scan(TableName=t)["Items"] for t in (cases, directory, extra)}

    path = tmp_path / SNAPSHOT_FILE
    counts = take_snapshot(dynamodb, path)

    assert counts[cases] == 1 and counts[extra] == 60 and counts[directory] == len(before[directory])
    assert not [p for p in tmp_path.iterdir() if p.name != SNAPSHOT_FILE]  # no temp files left behind
    stored = json.loads(path.read_text(encoding="utf-8"))["tables"][cases][0]
    assert stored["count"] == {"N": "42"} and isinstance(stored["blob"]["B"], str)  # DynamoDB JSON, base64

    _reset(moto_url)
    assert dynamodb.list_tables()["TableNames"] == []
    provision(settings())
    dynamodb.create_table(
        TableName=extra,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "n", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    restored = restore_snapshot(dynamodb, path)

    assert restored == counts
    got = dynamodb.get_item(TableName=cases, Key={"case_id": {"S": "c-1"}}, ConsistentRead=True)["Item"]
    assert sort_sets(got) == sort_sets(EVERY_TYPE)
    for table, items in before.items():
        after = dynamodb.scan(TableName=table)["Items"]
        assert sorted(map(repr, map(sort_sets, after))) == sorted(map(repr, map(sort_sets, items)))
    assert changed in dynamodb.scan(TableName=directory)["Items"]


def test_the_app_reads_restored_data_through_its_models(moto_url: str, tmp_path: Path) -> None:
    """Numbers and JSON attributes come back as PynamoDB wrote them."""
    from chalicelib.adapters.dynamodb.models import CaseModel

    provision(settings())
    now = "2027-01-01T00:00:00.000000+00:00"
    record = CaseModel("c", reference="R", partner="p", status="routed", rule="r", routing_reason="why", language="de")
    record.intake, record.created_at, record.updated_at, record.queued_at = {"goals": ["job"]}, now, now, now
    record.appointments = 2
    record.idempotent_until = datetime(2027, 1, 1, tzinfo=UTC)
    record.save()
    path = tmp_path / SNAPSHOT_FILE
    take_snapshot(client(moto_url), path)
    _reset(moto_url)
    provision(settings())

    restore_snapshot(client(moto_url), path)

    again = CaseModel.get("c", consistent_read=True)
    assert (again.appointments, again.intake, again.idempotent_until) == (
        2,
        {"goals": ["job"]},
        record.idempotent_until,
    )


def test_a_table_that_no_longer_exists_is_skipped(
    moto_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dynamodb = client(moto_url)
    dynamodb.create_table(
        TableName="gone",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="gone", Item={"pk": {"S": "1"}})
    path = tmp_path / SNAPSHOT_FILE
    take_snapshot(dynamodb, path)
    _reset(moto_url)

    assert restore_snapshot(dynamodb, path) == {}
    assert "gone" in caplog.text and "not restored" in caplog.text


def test_no_snapshot_means_an_empty_start(moto_url: str, tmp_path: Path) -> None:
    assert restore_snapshot(client(moto_url), tmp_path / SNAPSHOT_FILE) == {}


def test_an_unreadable_snapshot_is_kept_aside_not_overwritten(moto_url: str, tmp_path: Path) -> None:
    path = tmp_path / SNAPSHOT_FILE
    path.write_text('{"format": 1, "tables": {"x": [', encoding="utf-8")  # torn by hand

    assert restore_snapshot(client(moto_url), path) == {}

    kept = [p for p in tmp_path.iterdir() if p.name.startswith(f"{SNAPSHOT_FILE}.unreadable-")]
    assert len(kept) == 1 and kept[0].read_text(encoding="utf-8").startswith('{"format": 1')
    assert not path.exists()
