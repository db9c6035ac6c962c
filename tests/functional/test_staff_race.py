"""Many staff click "claim" at once: exactly one wins, everyone else hears who did.

Two levels, both against moto with real DynamoDB calls (`atomic_dynamodb` makes in-process moto
handle one request at a time, as DynamoDB does; see conftest):
- the service layer from 50 threads × 20 rounds, each thread a different person, so the winner
  is checked by identity;
- HTTP through chalice.test.Client from 50 threads × 20 rounds, each thread with its own token.
  Chalice keeps `app.current_request` on the app object (a route may read a neighbour thread's
  request); staff_sign_in also hands the identity over per thread, which this test relies on.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.domain.staff import StaffIdentity
from chalicelib.errors import AlreadyClaimedError
from tests.conftest import auth

THREADS = 50
ROUNDS = 20
LMU = "lmu-klinikum"


@pytest.fixture
def racers(atomic_dynamodb: None) -> list[StaffIdentity]:
    return [StaffIdentity(f"staff-{i}", f"Staff Member {i}", "staff", LMU) for i in range(THREADS)]


def test_fifty_staff_claiming_at_once_give_exactly_one_winner_service_level(
    client: Client, submit_case: Callable[..., dict[str, Any]], racers: list[StaffIdentity]
) -> None:
    service = bootstrap.staff_service()
    with ThreadPoolExecutor(THREADS) as pool:
        for _round in range(ROUNDS):
            case_id = submit_case("health")["case_id"]

            def attempt(who: StaffIdentity, case_id: str = case_id) -> tuple[str, str | None]:
                try:
                    return "won", service.claim(who, case_id).claimed_by
                except AlreadyClaimedError as error:
                    return "409", str(error.detail["claimed_by_name"])

            outcomes = list(pool.map(attempt, racers))
            winners = [holder for kind, holder in outcomes if kind == "won"]
            assert len(winners) == 1, Counter(kind for kind, _ in outcomes)
            winner = next(w for w in racers if w.staff_id == winners[0])
            assert [name for kind, name in outcomes if kind == "409"] == [winner.name] * (THREADS - 1)
            stored = service.store.get_case(case_id)
            assert stored is not None and (stored.status, stored.claimed_by) == ("claimed", winner.staff_id)
            assert [h.action for h in stored.history] == ["routed", "claimed"]


def test_fifty_http_claims_at_once_give_one_200_and_49_409(
    client: Client,
    submit_case: Callable[..., dict[str, Any]],
    staff_token: Callable[..., str],
    atomic_dynamodb: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The test client swaps os.environ per call; from many threads the swaps interleave, so
    # make sure the real environment object is put back afterwards.
    monkeypatch.setattr(os, "environ", os.environ)
    people = {f"Staff Member {i}": auth(staff_token(LMU, name=f"Staff Member {i}")) for i in range(THREADS)}
    with ThreadPoolExecutor(THREADS) as pool:
        for _round in range(ROUNDS):
            case_id = submit_case("health")["case_id"]

            def attempt(name: str, case_id: str = case_id) -> tuple[str, int, dict[str, Any]]:
                response = client.http.post(f"/staff/cases/{case_id}/claim", headers=people[name])
                return name, response.status_code, json.loads(response.body)

            outcomes = list(pool.map(attempt, people))
            statuses = Counter(status for _, status, _ in outcomes)
            assert statuses == {200: 1, 409: THREADS - 1}, statuses
            winner, _, body = next(outcome for outcome in outcomes if outcome[1] == 200)
            assert body["claimed_by_name"] == winner
            assert {body["claimed_by_name"] for _, status, body in outcomes if status == 409} == {winner}
            stored = bootstrap.staff_service().store.get_case(case_id)
            assert stored is not None and stored.claimed_by_name == winner
