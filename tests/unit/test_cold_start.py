"""The collector's pause during a cold start (chalicelib/cold_start.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from chalicelib import cold_start


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    cold_start._paused = False
    gc.enable() if was_enabled else gc.disable()


def test_the_pause_lasts_until_the_first_event_has_been_handled() -> None:
    gc.enable()
    cold_start.pause_collection()
    assert not gc.isenabled()
    seen: list[str] = []
    assert cold_start.resume_after_first_event("event", lambda event: seen.append(event) or "response") == "response"
    assert seen == ["event"]
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # what the start built is not scanned again


def test_a_failing_first_event_also_ends_the_pause() -> None:
    gc.enable()
    cold_start.pause_collection()

    def fails(event: str) -> str:
        raise RuntimeError(event)

    with pytest.raises(RuntimeError):
        cold_start.resume_after_first_event("event", fails)
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_host_stays_off() -> None:
    gc.disable()
    cold_start.pause_collection()
    cold_start.resume_after_first_event("event", lambda event: event)
    assert not gc.isenabled()


def test_later_events_leave_the_collector_alone() -> None:
    gc.enable()
    cold_start.pause_collection()
    cold_start.resume_after_first_event("first", lambda event: event)
    gc.disable()  # e.g. a benchmark measuring without the collector
    cold_start.resume_after_first_event("second", lambda event: event)
    assert not gc.isenabled()
