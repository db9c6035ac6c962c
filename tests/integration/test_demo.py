"""`make demo`: ~50 plausible applicants for every partner, sent through the running API, safe to repeat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.config import PROJECT_DIR
from chalicelib.data import default_partners, default_routing_rules
from chalicelib.domain.routing import RoutingPolicy
from chalicelib.local import stack
from chalicelib.local.demo import next_weekday
from chalicelib.local.demo_data import DEFAULT_SEED, applicants
from chalicelib.validation import validate
from tests.browser.live_app import LiveApp, live_app

PARTNERS = {p["id"] for p in default_partners()}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chalicelib.cli", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_sample_applicants_are_valid_varied_and_reach_every_partner() -> None:
    people = applicants()
    assert len(people) == 50
    assert [validate("intake", p.intake) for p in people if validate("intake", p.intake)] == []
    policy = RoutingPolicy.from_dict(default_routing_rules(), PARTNERS)
    per_partner = Counter(policy.decide(p.intake).partner for p in people)
    assert set(per_partner) == PARTNERS and min(per_partner.values()) >= 8, per_partner
    assert len({(p.intake["given_name"], p.intake["family_name"]) for p in people}) == 50, "fifty different people"
    assert len({p.intake["language"] for p in people}) >= 8
    countries = {p.intake["qualification"]["country"] for p in people}
    assert {"SY", "UA", "TR", "IN", "BR", "RO", "PL", "IR", "NG", "PH"} <= countries
    assert len({p.intake["qualification"]["profession_group"] for p in people}) == 7


def test_the_same_seed_gives_the_same_applicants_and_keys() -> None:
    assert applicants(DEFAULT_SEED) == applicants(DEFAULT_SEED)
    assert len({p.key for p in applicants()}) == 50
    assert [p.key for p in applicants("another seed")] != [p.key for p in applicants()]


def test_appointments_are_booked_on_working_days() -> None:
    from datetime import date

    assert next_weekday(date(2026, 5, 1), 1) == date(2026, 5, 4)  # a Friday → the Monday after
    assert next_weekday(date(2026, 5, 4), 2) == date(2026, 5, 6)


def test_without_a_running_stack_the_demo_says_to_start_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in stack.LOCAL_ENV_KEYS}
    env |= {"LOCAL_DATA_DIR": str(tmp_path), "STAGE": "local"}
    done = cli("demo", env=env)
    assert done.returncode == 1
    assert "`make run`" in done.stderr and "not running" in done.stderr
    assert done.stdout == ""


def test_a_stack_that_does_not_answer_is_reported_the_same_way(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in stack.LOCAL_ENV_KEYS}
    env |= {"LOCAL_DATA_DIR": str(tmp_path), "STAGE": "local", "LOCAL_JWT_KEY_FILE": str(tmp_path / "key.pem")}
    done = cli("demo", "--api-url", "http://127.0.0.1:9", env=env)
    assert done.returncode == 1
    assert "does not answer" in done.stderr and "`make run`" in done.stderr


@pytest.fixture(scope="module")
def filled() -> Iterator[tuple[LiveApp, list[subprocess.CompletedProcess[str]]]]:
    """A fresh stack (moto server + chalice local) filled by `make demo`'s command twice, found as
    `make run` leaves it: through <data dir>/stack.json, from a shell that knows nothing else."""
    with live_app() as live:
        info = stack.StackInfo(pid=os.getpid(), moto_url=live.moto_url, api_url=live.url, data_dir=str(live.data_dir))
        stack.write_stack_file(live.data_dir, info)
        shell = {k: v for k, v in os.environ.items() if k not in stack.LOCAL_ENV_KEYS and k != "TABLE_PREFIX"}
        shell |= {"LOCAL_DATA_DIR": str(live.data_dir)}
        runs = [cli("demo", env=shell) for _ in range(2)]
        yield live, runs


def _get(live: LiveApp, path: str, token: str) -> Any:
    request = urllib.request.Request(live.url + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def _coordinator(live: LiveApp) -> str:
    done = cli("staff-token", "--partner", "via-bayern", "--role", "coordinator", env=live.env)
    return done.stdout.strip()


def test_the_demo_fills_the_stack_with_fifty_applicants_and_a_second_run_adds_none(
    filled: tuple[LiveApp, list[subprocess.CompletedProcess[str]]],
) -> None:
    live, (first, second) = filled
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert first.stdout.startswith("50 sample applicants: 50 new, 0 already there")
    assert second.stdout.startswith("50 sample applicants: 0 new, 50 already there")
    cases = live.cases()
    assert len(cases) == 50
    assert {c["intake"]["family_name"] for c in cases} == {p.family_name for p in applicants()}
    assert Counter(c["partner"] for c in cases).keys() == PARTNERS
    assert "/staff" in first.stdout and "staff-token --partner lmu-klinikum" in first.stdout


def test_the_demo_leaves_a_working_queue_claimed_closed_transferred_and_booked(
    filled: tuple[LiveApp, list[subprocess.CompletedProcess[str]]],
) -> None:
    live, _ = filled
    token = _coordinator(live)
    statuses: Counter[str] = Counter()
    for status in ("routed", "claimed", "closed", "transferred"):
        page = _get(live, f"/coordinator/cases?status={status}&limit=100", token)
        statuses[status] = len(page["cases"])
    assert statuses["claimed"] >= 6, statuses
    assert statuses["closed"] == 2, statuses
    assert statuses["transferred"] == 1, statuses
    assert statuses["routed"] >= 30, statuses
    booked = 0
    for row in _get(live, "/coordinator/cases?status=claimed&limit=100", token)["cases"]:
        listed = _get(live, f"/staff/cases/{row['case_id']}/appointments", token)
        booked += sum(1 for a in listed["appointments"] if a["status"] == "booked")
    assert booked == 2, "two appointments, once each although the demo ran twice"
    state = json.loads((live.data_dir / "demo.json").read_text(encoding="utf-8"))
    assert len(state["cases"]) == 50
