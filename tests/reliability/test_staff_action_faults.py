"""DynamoDB throttling, transaction conflicts and lost answers, injected into every call a staff action
(claim, release, transfer, close) makes.

Whatever fails, the caller gets either the 200 or a retryable 503 with Retry-After, and the retry
(the same request, as the staff page sends it again) gets the 200. Afterwards the action is in the
case exactly once: one history entry, one audit entry, the case in the queue its state says, and
after a transfer exactly one SMS telling the applicant the new partner.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.config import settings
from tests.conftest import auth, post_json
from tests.reliability.faults import (
    INTERNAL,
    RETRYABLE_FAULTS,
    TIMEOUT,
    TRANSACTION_CANCELED_BY_CONFLICT,
    dynamodb_faults,
)

LMU, VIA = "lmu-klinikum", "via-bayern"


@dataclass(frozen=True)
class Action:
    name: str  # the path's last part
    body: dict[str, Any] | None
    claimed_first: bool  # release and close need a held case
    status: str  # the case's status after it
    partner: str
    history: str  # its history entry's action
    audit: str  # its audit entry's action


ACTIONS = (
    Action("claim", None, False, "claimed", LMU, "claimed", "claim"),
    Action("release", None, True, "routed", LMU, "released", "release"),
    Action(
        "transfer",
        {"partner": VIA, "reason": "Needs job counselling first"},
        False,
        "routed",
        VIA,
        "transferred",
        "transfer",
    ),
    Action("close", {"outcome": "counselled", "note": "Recognition filed."}, True, "closed", LMU, "closed", "close"),
)


@dataclass(frozen=True)
class Desk:
    client: Client
    anna: dict[str, str]
    clara: dict[str, str]  # a coordinator, who sees the case wherever it went

    def new_case(self, valid_intake: dict[str, Any], action: Action) -> str:
        body = {**valid_intake, "qualification": {**valid_intake["qualification"], "profession_group": "health"}}
        response = post_json(self.client, "/intake", body, {"Idempotency-Key": str(uuid.uuid4())})
        assert response.status_code == 201, response.body
        case_id = json.loads(response.body)["case_id"]
        if action.claimed_first:
            assert self.client.http.post(f"/staff/cases/{case_id}/claim", headers=self.anna).status_code == 200
        return case_id

    def act(self, action: Action, case_id: str) -> Any:
        path = f"/staff/cases/{case_id}/{action.name}"
        if action.body is None:
            return self.client.http.post(path, headers=self.anna)
        return post_json(self.client, path, action.body, self.anna)

    def case(self, case_id: str) -> dict[str, Any]:
        return json.loads(self.client.http.get(f"/staff/cases/{case_id}", headers=self.clara).body)

    def audit(self, case_id: str) -> list[str]:
        trail = json.loads(self.client.http.get(f"/staff/cases/{case_id}/audit", headers=self.clara).body)
        return [e["action"] for e in trail["entries"] if e["action"] != "view"]


@pytest.fixture
def desk(client: Client, staff_token: Callable[..., str]) -> Desk:
    anna = auth(staff_token(LMU, name="Anna Berger"))
    return Desk(client, anna, auth(staff_token(LMU, role="coordinator", name="Clara Coordinator")))


def _queue_key(case_id: str) -> str | None:
    current = settings()
    item = boto3.client("dynamodb", region_name=current.region).get_item(
        TableName=current.table("cases"), Key={"case_id": {"S": case_id}}, ConsistentRead=True
    )["Item"]
    return item.get("partner_status", {}).get("S")


def assert_done_once(desk: Desk, action: Action, case_id: str, label: str) -> None:
    case = desk.case(case_id)
    assert (case["status"], case["partner"]) == (action.status, action.partner), f"{label}: {case['status']}"
    steps = [h["action"] for h in case["history"]]
    assert steps.count(action.history) == 1 and steps[-1] == action.history, f"{label}: history {steps}"
    audit = desk.audit(case_id)
    assert audit.count(action.audit) == 1, f"{label}: audit {audit}"
    assert _queue_key(case_id) == f"{action.partner}#{action.status}", f"{label}: queued as {_queue_key(case_id)}"
    if action.name == "transfer":
        sms = [m for m in bootstrap.messaging_service().messages_for_case(case_id) if m["kind"] == "case_transferred"]
        assert [m["status"] for m in sms] == ["pending"], f"{label}: transfer SMS {sms}"


def _codes(operation: str) -> tuple[str, ...]:
    codes = (*(c for c in RETRYABLE_FAULTS if c != TRANSACTION_CANCELED_BY_CONFLICT), INTERNAL, TIMEOUT)
    return (*codes, TRANSACTION_CANCELED_BY_CONFLICT) if operation.startswith("Transact") else codes


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_a_fault_in_any_call_of_a_staff_action_gives_200_or_503_and_the_retry_lands_it_once(
    desk: Desk, valid_intake: dict[str, Any], action: Action
) -> None:
    case_id = desk.new_case(valid_intake, action)
    with dynamodb_faults() as clean:
        assert desk.act(action, case_id).status_code == 200
    operations = list(dict.fromkeys(clean.calls))
    assert "TransactWriteItems" in operations, operations  # the change is one transaction
    for operation in operations:
        for code, after_applying in itertools.product(_codes(operation), (False, True)):
            if after_applying and not operation.startswith(("Put", "Update", "Delete", "TransactWrite")):
                continue  # a lost answer after the write landed only means something for writes
            label = f"{action.name}: {operation} {code}{' after applying' if after_applying else ''}"
            case_id = desk.new_case(valid_intake, action)
            with dynamodb_faults() as faults:
                faults.inject(operation, code, after_applying=after_applying)
                first = desk.act(action, case_id)
            assert faults.injected, f"{label}: the fault was not reached"
            if first.status_code != 200:
                assert first.status_code == 503, f"{label}: {first.status_code} {first.body}"
                assert first.headers.get("Retry-After", "").isdigit(), f"{label}: 503 without Retry-After"
                retry = desk.act(action, case_id)
                assert retry.status_code == 200, f"{label}: the retry got {retry.status_code} {retry.body}"
            assert_done_once(desk, action, case_id, label)
