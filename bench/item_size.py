"""How moto's PutItem time grows with the item: the floor under target 1 on moto.

    .venv/bin/python -m bench.item_size

One item written by a real intake, then variants of it, each put 500 times in interleaved rounds
(after one untimed round) into one moto table without indexes, with the intake's condition;
medians and ratios to the baseline's item (its JSON document under a key, as bench/inprocess.py's
baseline route writes it). Prints figures; asserts nothing. moto recomputes the whole item's size
for every attribute it sets, so its cost grows with the attributes and their nesting, whatever
the application does around it.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from typing import Any

from bench.inprocess import _cases_put_items, intake_body, moto_world

# The smallest variant drops these, more than a case can spare: copies of created_at (some are
# index range keys), the idempotency key and hash, the queue index's projections, statistics.
OPTIONAL = (
    "idempotency_key", "request_hash", "confirm_at", "notice_at", "retention_at", "updated_at", "queued_at",
    "goals", "profession_group", "overdue", "routed_partner", "stats_month", "language", "rule", "routing_reason",
)  # fmt: skip


def intake_item() -> dict[str, Any]:
    """The cases-table item one POST /intake writes, in DynamoDB's wire format."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client, _cases_put_items() as written:
        headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
        response = client.http.post("/intake", body=json.dumps(intake_body(0)), headers=headers)
        assert response.status_code == 201, response.body
    return written[-1]


def put_ms(client: Any, item: dict[str, Any]) -> float:
    started = time.perf_counter()
    client.put_item(
        TableName="item-size",
        Item={**item, "case_id": {"S": uuid.uuid4().hex}},
        ConditionExpression="attribute_not_exists(case_id)",
    )
    return (time.perf_counter() - started) * 1000


def medians(client: Any, variants: dict[str, dict[str, Any]], rounds: int = 20, per_round: int = 25) -> list[float]:
    """Interleaved rounds, so a slow spell of this shared machine hits every variant alike."""
    samples: list[list[float]] = [[] for _ in variants]
    for round_ in range(rounds + 1):
        for index, item in enumerate(variants.values()):
            times = [put_ms(client, item) for _ in range(per_round)]
            if round_ > 0:  # the first round warms up
                samples[index].extend(times)
    return [statistics.median(times) for times in samples]


def main() -> None:
    import boto3

    with moto_world():
        item = intake_item()
        client = boto3.client("dynamodb")
        client.create_table(
            TableName="item-size",
            KeySchema=[{"AttributeName": "case_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "case_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        history_as_string = {**item, "history": {"S": json.dumps(item["history"])}}
        variants = {
            "baseline's item (document + key)": {"doc": {"S": item["intake"]["S"]}},
            "the intake's item": item,
            "its history as one string": history_as_string,
            "and without the optional ones": {k: v for k, v in history_as_string.items() if k not in OPTIONAL},
        }
        figures = dict(zip(variants, medians(client, variants), strict=True))
        sizes = {label: len({**variant, "case_id": None}) for label, variant in variants.items()}
    # Printed after moto_world, which sets the app's log lines (stdout) aside.
    base = next(iter(figures.values()))
    print("moto in-process PutItem, median of 500 interleaved (20 rounds of 25), table without indexes")
    for label, median in figures.items():
        print(f"  {label:36s} {sizes[label]:3d} attributes  {median:6.2f} ms  {median / base:5.2f}x")


if __name__ == "__main__":
    main()
