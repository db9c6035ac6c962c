"""Filtered queue listings: mine=true and status=scheduled fill their page from one index Query,
and queue rows show the case's own status (`scheduled` while an appointment is upcoming)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from chalicelib import openapi
from chalicelib.adapters.dynamodb import queue_store
from tests.conftest import FrozenClock
from tests.functional.appointment_desk import LMU, VIA, Desk

Submit = Callable[..., dict[str, Any]]


@pytest.fixture
def anna(frozen_clock: FrozenClock, fake_sender: Any, desk: Callable[..., Desk]) -> Desk:
    return desk(LMU, name="Anna Berger")


@pytest.fixture
def bob(anna: Desk, desk: Callable[..., Desk]) -> Desk:
    return desk(LMU, name="Bob Brandt")


@pytest.fixture
def coordinator(anna: Desk, desk: Callable[..., Desk]) -> Desk:
    return desk(VIA, role="coordinator", name="Clara Coordinator")


@pytest.fixture
def claim(frozen_clock: FrozenClock, submit_case: Submit) -> Callable[[Desk], str]:
    """A new case (a minute younger than the one before) claimed by `who`."""

    def make(who: Desk) -> str:
        frozen_clock.advance(minutes=1)
        return who.claimed_case(submit_case)

    return make


def pages(who: Desk, query: str) -> list[list[str]]:
    """The case ids of every page, following next_cursor until it is null."""
    seen: list[list[str]] = []
    cursor = ""
    for _ in range(10):
        body = who.queue(f"{query}{cursor}")
        seen.append([row["case_id"] for row in body["cases"]])
        if body["next_cursor"] is None:
            return seen
        cursor = f"&cursor={body['next_cursor']}"
    raise AssertionError(f"no last page: {seen}")


def rows(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(row["case_id"], row["status"]) for row in body["cases"]]


# --- mine=true -------------------------------------------------------------------------------


def test_mine_fills_the_page_with_own_cases_behind_a_colleagues_older_ones(anna: Desk, bob: Desk, claim) -> None:
    for _ in range(3):
        claim(bob)
    mine = [claim(anna) for _ in range(3)]
    first = anna.queue("?status=claimed&mine=true&limit=2")
    assert [row["case_id"] for row in first["cases"]] == mine[:2]
    assert first["next_cursor"] is not None
    rest = anna.queue(f"?status=claimed&mine=true&limit=2&cursor={first['next_cursor']}")
    assert [row["case_id"] for row in rest["cases"]] == mine[2:]
    assert rest["next_cursor"] is None
    assert {row["claimed_by_name"] for row in first["cases"] + rest["cases"]} == {"Anna Berger"}


def test_mine_with_cases_interleaved_pages_oldest_first_and_ends_with_null(anna: Desk, bob: Desk, claim) -> None:
    mine = []
    for _ in range(4):
        claim(bob)
        mine.append(claim(anna))
        claim(bob)
    assert pages(anna, "?status=claimed&mine=true&limit=2") == [mine[:2], mine[2:]]
    assert pages(anna, "?status=claimed&mine=true&limit=4") == [mine]
    assert pages(anna, "?status=claimed&mine=true&limit=3") == [mine[:3], mine[3:]]


def test_mine_reads_a_bounded_number_of_items_and_then_returns_a_cursor(
    anna: Desk, bob: Desk, claim, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_store, "MAX_ITEMS_READ", 4)
    monkeypatch.setattr(queue_store, "FIRST_FILTERED_READ", 1)
    for _ in range(6):
        claim(bob)
    mine = claim(anna)
    first = anna.queue("?status=claimed&mine=true&limit=1")
    assert first["cases"] == [] and first["next_cursor"] is not None  # 4 of Bob's read, none of Anna's yet
    assert pages(anna, f"?status=claimed&mine=true&limit=1&cursor={first['next_cursor']}") == [[mine]]


def test_a_filtered_page_is_one_query_on_the_queue_index(
    anna: Desk, bob: Desk, claim, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pynamodb.connection.base import Connection

    for _ in range(30):
        claim(bob)
    mine = claim(anna)
    calls: list[tuple[str, Any]] = []
    original = Connection.query

    def counting(self: Connection, table_name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append((kwargs.get("index_name") or "", kwargs.get("exclusive_start_key")))
        return original(self, table_name, *args, **kwargs)

    monkeypatch.setattr(Connection, "query", counting)
    body = anna.queue("?status=claimed&mine=true&limit=1")
    assert [row["case_id"] for row in body["cases"]] == [mine] and body["next_cursor"] is None
    # One Query: its first DynamoDB page (25 items) and its continuation from where that one stopped.
    assert [name for name, _ in calls] == ["partner-status-index"] * 2
    assert calls[0][1] is None and calls[1][1] is not None


def test_a_cursor_of_a_mine_page_is_still_checked(anna: Desk, desk: Callable[..., Desk], claim) -> None:
    for _ in range(3):
        claim(anna)
    cursor = anna.queue("?status=claimed&mine=true&limit=1")["next_cursor"]
    status, body = desk("akademie-ingenieure").get(f"/staff/queue?status=claimed&mine=true&cursor={cursor}")
    assert status == 400 and [e["field"] for e in body["errors"]] == ["cursor"]
    status, body = anna.get(f"/staff/queue?status=claimed&mine=true&cursor={cursor[:-2]}")
    assert status == 400 and [e["field"] for e in body["errors"]] == ["cursor"]


# --- scheduled -------------------------------------------------------------------------------


def test_a_scheduled_case_shows_scheduled_in_the_claimed_queue_and_its_own_listing(
    anna: Desk, bob: Desk, claim
) -> None:
    claimed, scheduled, bobs = claim(anna), claim(anna), claim(bob)
    status, _ = anna.book(scheduled, "2025-03-12T10:00")
    assert status == 201
    assert anna.case(scheduled)["status"] == "scheduled"
    assert rows(anna.queue("?status=claimed")) == [(claimed, "claimed"), (scheduled, "scheduled"), (bobs, "claimed")]
    assert rows(anna.queue("?status=claimed&mine=true")) == [(claimed, "claimed"), (scheduled, "scheduled")]
    assert rows(anna.queue("?status=scheduled")) == [(scheduled, "scheduled")]
    assert rows(anna.queue("?status=scheduled&mine=true")) == [(scheduled, "scheduled")]
    assert rows(bob.queue("?status=scheduled&mine=true")) == []


def test_the_scheduled_listing_pages_past_claimed_cases(anna: Desk, claim) -> None:
    held = [claim(anna) for _ in range(6)]
    scheduled = held[1::2]
    for day, case_id in enumerate(scheduled, start=10):
        status, body = anna.book(case_id, f"2025-03-{day}T10:00")
        assert status == 201, body
    assert pages(anna, "?status=scheduled&limit=2") == [scheduled[:2], scheduled[2:]]
    assert pages(anna, "?status=claimed&limit=4") == [held[:4], held[4:]]


def test_a_case_whose_appointment_is_cancelled_is_claimed_again(anna: Desk, claim) -> None:
    case_id = claim(anna)
    _, booked = anna.book(case_id, "2025-03-12T10:00")
    anna.delete(f"/staff/cases/{case_id}/appointments/{booked['appointment']['appointment_id']}")
    assert rows(anna.queue("?status=claimed")) == [(case_id, "claimed")]
    assert anna.queue("?status=scheduled")["cases"] == []


def test_mine_needs_a_held_status(anna: Desk) -> None:
    for status in ("routed", "closed"):
        code, body = anna.get(f"/staff/queue?status={status}&mine=true")
        assert code == 400 and [e["field"] for e in body["errors"]] == ["mine"]


# --- coordinator -----------------------------------------------------------------------------


def test_the_coordinator_view_shows_a_scheduled_case_as_scheduled(anna: Desk, coordinator: Desk, claim) -> None:
    claimed, scheduled = claim(anna), claim(anna)
    anna.book(scheduled, "2025-03-12T10:00")
    status, body = coordinator.get("/coordinator/cases?status=claimed")
    assert status == 200
    assert rows(body) == [(claimed, "claimed"), (scheduled, "scheduled")]


def test_the_coordinator_lists_only_scheduled_cases_with_status_scheduled(anna: Desk, coordinator: Desk, claim) -> None:
    claim(anna)
    scheduled = claim(anna)
    anna.book(scheduled, "2025-03-12T10:00")
    claim(anna)
    status, body = coordinator.get("/coordinator/cases?status=scheduled&limit=1")
    assert status == 200, body
    assert rows(body) == [(scheduled, "scheduled")] and body["next_cursor"] is None
    status, body = coordinator.get(f"/coordinator/cases?status=scheduled&partner={VIA}")
    assert status == 200 and body["cases"] == []


# --- the documented shapes -------------------------------------------------------------------


def _validator(path: str) -> Draft202012Validator:
    document = openapi.document()
    registry = Registry().with_resource("urn:doc", DRAFT202012.create_resource(document))
    pointer = f"/paths/{path.replace('/', '~1')}/get/responses/200/content/application~1json/schema"
    return Draft202012Validator({"$ref": f"urn:doc#{pointer}"}, registry=registry)


def test_scheduled_is_a_documented_filter_and_row_status(anna: Desk, coordinator: Desk, claim) -> None:
    parameters = openapi.document()["components"]["parameters"]
    assert "scheduled" in parameters["QueueStatus"]["schema"]["enum"]
    assert "scheduled" in parameters["CoordinatorStatus"]["schema"]["enum"]
    scheduled = claim(anna)
    anna.book(scheduled, "2025-03-12T10:00")
    for path, who in (("/staff/queue", anna), ("/coordinator/cases", coordinator)):
        status, body = who.get(f"{path}?status=claimed")
        assert status == 200 and rows(body) == [(scheduled, "scheduled")]
        errors = [e.message for e in _validator(path).iter_errors(body)]
        assert not errors, errors
