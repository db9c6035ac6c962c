"""Concurrent repeats: 1,000 submissions with 100 idempotency keys from 20 threads make exactly 100 cases."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.reliability.live import LiveStack
from tests.reliability.storage import INTAKE_TABLES

KEYS, REPEATS, THREADS = 100, 10, 20

# status, body, headers
Reply = tuple[int, dict[str, Any], dict[str, str]]
Submit = Callable[[dict[str, Any], str], Reply]


def intake_for(index: int, template: dict[str, Any]) -> dict[str, Any]:
    return {**template, "given_name": f"Applicant {index}", "postcode": f"{80000 + index:05d}"}


def submit_with_retries(submit: Submit, body: dict[str, Any], key: str) -> Reply:
    """What a well-behaved client does: retry a 503 after its Retry-After."""
    for _ in range(5):
        status, payload, headers = submit(body, key)
        if status != 503:
            return status, payload, headers
        time.sleep(min(float(headers.get("Retry-After", "1")), 1.0) / 10)
    return status, payload, headers


def hammer(submit: Submit, template: dict[str, Any]) -> list[tuple[str, Reply]]:
    jobs = [(f"key-{k:03d}-{os.getpid()}", intake_for(k, template)) for k in range(KEYS) for _ in range(REPEATS)]
    start = threading.Barrier(THREADS)

    def run(chunk: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Reply]]:
        start.wait()  # all threads fire together
        return [(key, submit_with_retries(submit, body, key)) for key, body in chunk]

    chunks = [jobs[i::THREADS] for i in range(THREADS)]  # each key's repeats spread over threads
    with ThreadPoolExecutor(THREADS) as pool:
        return [result for chunk in pool.map(run, chunks) for result in chunk]


def assert_one_case_per_key(results: list[tuple[str, Reply]]) -> set[str]:
    statuses = Counter(status for _, (status, _, _) in results)
    assert statuses == {201: KEYS * REPEATS}, statuses
    cases_by_key: dict[str, set[str]] = defaultdict(set)
    for key, (_, body, _) in results:
        cases_by_key[key].add(body["case_id"])
    assert len(cases_by_key) == KEYS
    assert all(len(cases) == 1 for cases in cases_by_key.values()), "a key produced two cases"
    first_answers = [h for _, (_, _, h) in results if h.get("Idempotent-Replayed") != "true"]
    assert len(first_answers) == KEYS, "every key has exactly one original answer; the rest are replays"
    return {case for cases in cases_by_key.values() for case in cases}


def test_concurrent_repeats_over_http_make_exactly_one_case_per_key(live_api: LiveStack, valid_intake) -> None:
    """Through real HTTP: chalice local serves each request on its own thread, moto's server stores."""
    live_api.run_schedule("send_due_messages")  # confirmations of earlier tests' cases are planned first
    before = {name: live_api.count(name) for name in INTAKE_TABLES}
    local = threading.local()

    def submit(body: dict[str, Any], key: str) -> Reply:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        for _ in range(5):
            try:
                response = local.session.post(
                    f"{live_api.api_url}/intake", json=body, headers={"Idempotency-Key": key}, timeout=30
                )
            except requests.ConnectionError:
                # chalice local's listen backlog is 5: a reset connection is retried with the same
                # key, which is exactly what the key is for (the first try may or may not have landed).
                local.session = requests.Session()
                time.sleep(0.05)
                continue
            return response.status_code, response.json(), dict(response.headers)
        raise AssertionError("the API refused the connection 5 times")

    results = hammer(submit, {**valid_intake, "family_name": "Over HTTP"})
    assert_one_case_per_key(results)
    report = live_api.run_schedule("send_due_messages")
    assert report["confirmations_planned"] == KEYS  # one intake_received per case, none for a replay
    after = {name: live_api.count(name) for name in INTAKE_TABLES}
    assert {name: after[name] - before[name] for name in INTAKE_TABLES} == dict.fromkeys(INTAKE_TABLES, KEYS)
