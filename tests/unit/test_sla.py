"""Working-day SLA maths: Mon–Fri in Europe/Berlin, weekends and Bavarian holidays skipped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain.sla import (
    BERLIN,
    bavarian_holidays,
    due_at,
    earliest_overdue_queued_at,
    is_overdue,
    is_working_day,
)


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("queued", "days", "due"),
    [
        (berlin(2025, 3, 3, 10), 2, berlin(2025, 3, 5, 10)),  # Monday → Wednesday
        (berlin(2025, 3, 6, 16), 2, berlin(2025, 3, 10, 16)),  # Thursday → Monday (weekend skipped)
        (berlin(2025, 3, 7, 16), 2, berlin(2025, 3, 11, 16)),  # Friday 16:00 → Tuesday 16:00
        (berlin(2025, 3, 8, 11), 2, berlin(2025, 3, 12, 0)),  # Saturday → counting starts Monday 00:00
        (berlin(2025, 3, 9, 23, 59), 1, berlin(2025, 3, 11, 0)),  # Sunday night → Tuesday 00:00
        (berlin(2025, 3, 7, 0), 1, berlin(2025, 3, 8, 0)),  # a whole Friday is one working day
        (berlin(2025, 3, 7, 10), 5, berlin(2025, 3, 14, 10)),  # a full working week
        (berlin(2025, 4, 17, 12), 1, berlin(2025, 4, 22, 12)),  # Maundy Thursday → past Easter to Tuesday
        (berlin(2025, 12, 23, 9), 2, berlin(2025, 12, 29, 9)),  # Christmas Eve counts, 25/26 Dec do not
    ],
)
def test_due_at(queued: datetime, days: int, due: datetime) -> None:
    assert due_at(queued, days) == due.astimezone(UTC)


def test_due_at_keeps_local_wall_clock_across_a_dst_switch() -> None:
    # Summer time starts on Sunday 30 March 2025: a Friday 10:00 case is due Tuesday 10:00 local.
    due = due_at(berlin(2025, 3, 28, 10), 2)
    assert due.astimezone(BERLIN) == berlin(2025, 4, 1, 10)
    assert due.utcoffset() == timedelta(0)


def test_is_overdue_flips_exactly_at_the_deadline() -> None:
    queued = berlin(2025, 3, 7, 10)  # Friday
    deadline = berlin(2025, 3, 11, 10)
    assert not is_overdue(queued, 2, deadline - timedelta(microseconds=1))
    assert is_overdue(queued, 2, deadline)
    assert not is_overdue(queued, 2, berlin(2025, 3, 10, 9, 59))  # Monday morning: one day used


def test_the_query_bound_never_hides_an_overdue_case() -> None:
    now = berlin(2025, 3, 11, 10)
    for hours in range(0, 24 * 10):
        queued = now - timedelta(hours=hours)
        if is_overdue(queued, 2, now):
            assert queued <= earliest_overdue_queued_at(now, 2)


@pytest.mark.parametrize(
    ("year", "good_friday", "whit_monday"),
    [(2024, date(2024, 3, 29), date(2024, 5, 20)), (2025, date(2025, 4, 18), date(2025, 6, 9))],
)
def test_bavarian_holidays(year: int, good_friday: date, whit_monday: date) -> None:
    holidays = bavarian_holidays(year)
    assert {good_friday, whit_monday, date(year, 1, 6), date(year, 8, 15), date(year, 11, 1)} <= holidays
    assert date(year, 12, 24) not in holidays
    assert len(holidays) == 13


def test_working_days() -> None:
    assert is_working_day(date(2025, 3, 7))  # Friday
    assert not is_working_day(date(2025, 3, 8))  # Saturday
    assert not is_working_day(date(2025, 3, 9))  # Sunday
    assert not is_working_day(date(2025, 10, 3))  # German Unity Day (a Friday)
