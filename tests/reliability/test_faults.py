"""DynamoDB throttling, transaction conflicts and lost answers, injected into every call an operation makes.

Whatever fails, the caller gets either success or a retryable 503 with Retry-After (a repeat
of a request that succeeded: its first answer, or a 503), and the data stays whole: every case
in its partner's queue, every idempotency record complete, the intake_received SMS planned for
every case once a retry has succeeded, and exactly one `case.routed` message per stored case.

To cover another intake-like operation, add a `Scenario` to SCENARIOS: how to run it once, and
the statuses that mean success. The invariants below are checked after each. Staff actions have
their own invariants (test_staff_action_faults.py), the reminder sweep too (test_sweeper_faults.py).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.config import settings
from tests.conftest import deliver_stream, post_json
from tests.reliability.faults import (
    INTERNAL,
    RETRYABLE_FAULTS,
    TIMEOUT,
    TRANSACTION_CANCELED_BY_CONFLICT,
    dynamodb_faults,
)
from tests.reliability.storage import item_counts, plan_confirmations, queued_messages


@dataclass(frozen=True)
class Attempt:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class Scenario:
    name: str
    # Runs the operation once; the same `token` on a retry (e.g. the Idempotency-Key).
    run: Callable[[Client, dict[str, Any], str], Attempt]
    success: frozenset[int]


def _intake(client: Client, valid_intake: dict[str, Any], token: str) -> Attempt:
    """The request, then the stream's delivery of its write (announce_routed_cases, which sends the
    partner's notice and clears its marker): faults reach both."""
    body = {**valid_intake, "given_name": f"Fault {token[:8]}"}
    response = post_json(client, "/intake", body, {"Idempotency-Key": token})
    deliver_stream(client)
    return Attempt(response.status_code, json.loads(response.body), dict(response.headers))


SCENARIOS = (Scenario("intake", _intake, frozenset({201})),)
# (False,): the fault replaces the call. True adds "the write landed but its answer was lost".
LOST_ANSWER_MODES = (False, True)


def _scan(table: str) -> list[dict[str, Any]]:
    current = settings()
    client = boto3.client("dynamodb", region_name=current.region)
    return [
        item for page in client.get_paginator("scan").paginate(TableName=current.table(table)) for item in page["Items"]
    ]


def assert_data_is_whole(messages: Counter[str]) -> None:
    """No half-written case, every case queued, one SMS and one case.routed message per case."""
    items = _scan("cases")
    cases = {item["case_id"]["S"]: item["partner"]["S"] for item in items}
    queued = {item["case_id"]["S"]: item.get("partner_status", {}).get("S") for item in items}
    assert queued == {case_id: f"{partner}#routed" for case_id, partner in cases.items()}, "a case not queued"
    for item in items:
        record = [name in item for name in ("idempotency_key", "request_hash", "idempotent_response")]
        assert all(record), f"case {item['case_id']['S']}: half an idempotency record {record}"
    plan_confirmations()
    sms = Counter(item["case_id"]["S"] for item in _scan("messages") if item["kind"]["S"] == "intake_received")
    assert sms == Counter(cases.keys()), "an intake_received SMS was lost or planned twice"
    assert messages == Counter(cases.keys()), "a case.routed message was lost or sent twice"


def drain_messages(into: Counter[str]) -> None:
    for partner in bootstrap.directory().partners():
        into.update(m["case_id"] for m in queued_messages(partner) if m.get("type") == "case.routed")


def assert_success_or_retryable(attempt: Attempt, scenario: Scenario, label: str) -> None:
    if attempt.status in scenario.success:
        return
    assert attempt.status == 503, f"{label}: {attempt.status} {attempt.body}"
    assert attempt.headers.get("Retry-After", "").isdigit(), f"{label}: 503 without Retry-After"
    assert attempt.body.get("code") and attempt.body.get("error"), f"{label}: {attempt.body}"


def calls_made(scenario: Scenario, client: Client, valid_intake: dict[str, Any]) -> list[str]:
    """The DynamoDB operations one clean run makes (cold: the directory cache is empty)."""
    bootstrap.reset()
    with dynamodb_faults() as faults:
        attempt = scenario.run(client, valid_intake, str(uuid.uuid4()))
    assert attempt.status in scenario.success, attempt
    return list(dict.fromkeys(faults.calls))


def codes_for(operation: str) -> tuple[str, ...]:
    codes = (*tuple(c for c in RETRYABLE_FAULTS if c != TRANSACTION_CANCELED_BY_CONFLICT), INTERNAL, TIMEOUT)
    return (*codes, TRANSACTION_CANCELED_BY_CONFLICT) if operation.startswith("Transact") else codes


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_a_transient_fault_in_any_call_gives_success_or_503_and_a_retry_succeeds(client, valid_intake, scenario):
    messages: Counter[str] = Counter()
    operations = calls_made(scenario, client, valid_intake)
    if scenario.name == "intake":  # one conditional put for the case, one for its SMS; no transaction
        assert "PutItem" in operations and "TransactWriteItems" not in operations
    for operation in operations:
        for code, after_applying in itertools.product(codes_for(operation), LOST_ANSWER_MODES):
            if after_applying and not operation.startswith(("Put", "Update", "Delete", "TransactWrite", "BatchWrite")):
                continue  # "the answer was lost after the write landed" only means something for writes
            label = f"{operation} {code}{' after applying' if after_applying else ''}"
            bootstrap.reset()
            token = str(uuid.uuid4())
            with dynamodb_faults() as faults:
                faults.inject(operation, code, times=1, after_applying=after_applying)
                first = scenario.run(client, valid_intake, token)
            assert faults.injected, f"{label}: the fault was not reached"
            assert_success_or_retryable(first, scenario, label)
            retry = scenario.run(client, valid_intake, token)  # what the caller does after a 503
            assert retry.status in scenario.success, f"{label}: retry got {retry.status} {retry.body}"
            # The same request once more (a double tap), with the same fault: the first answer or a 503.
            with dynamodb_faults() as faults:
                faults.inject(operation, code, times=1)
                repeat = scenario.run(client, valid_intake, token)
            assert_success_or_retryable(repeat, scenario, f"{label}, repeated")
            if repeat.status in scenario.success:
                assert repeat.body == retry.body, f"{label}: the repeat was answered {repeat.body}"
            drain_messages(messages)
            assert_data_is_whole(messages)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_storage_that_stays_throttled_gives_503_and_stores_nothing(client, valid_intake, scenario):
    messages: Counter[str] = Counter()
    before = item_counts()
    for operation in ("BatchGetItem", "PutItem"):
        for code in codes_for(operation):
            bootstrap.reset()
            with dynamodb_faults() as faults:
                faults.inject(operation, code, times=10_000)
                attempt = scenario.run(client, valid_intake, str(uuid.uuid4()))
            assert attempt.status == 503, f"{operation} {code}: {attempt.status} {attempt.body}"
            assert attempt.headers.get("Retry-After", "").isdigit()
            assert item_counts() == before, f"{operation} {code}: something was stored"
            drain_messages(messages)
            assert not messages, f"{operation} {code}: a message for a case that does not exist"
