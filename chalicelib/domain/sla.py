"""The unclaimed-case SLA: N working days (Mon–Fri, Europe/Berlin, Bavarian public holidays).

Working time is counted in whole local days: a case routed on Friday 16:00 with a 2-day SLA
is due on Tuesday 16:00; one routed on Saturday is due on Wednesday 00:00.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def _easter_sunday(year: int) -> date:
    """Anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


@cache
def bavarian_holidays(year: int) -> frozenset[date]:
    """Statewide public holidays in Bavaria, including Assumption Day (a holiday in Munich)."""
    easter = _easter_sunday(year)
    fixed = [(1, 1), (1, 6), (5, 1), (8, 15), (10, 3), (11, 1), (12, 25), (12, 26)]
    movable = [-2, 1, 39, 50, 60]  # Good Friday, Easter Monday, Ascension, Whit Monday, Corpus Christi
    return frozenset([date(year, m, d) for m, d in fixed] + [easter + timedelta(days=n) for n in movable])


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in bavarian_holidays(day.year)


def _next_midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date() + timedelta(days=1), time(0), tzinfo=BERLIN)


def due_at(queued_at: datetime, working_days: int) -> datetime:
    """When a case queued at `queued_at` becomes overdue (UTC)."""
    remaining = timedelta(days=working_days)
    cursor = queued_at.astimezone(BERLIN)
    while True:
        midnight = _next_midnight(cursor)
        if is_working_day(cursor.date()):
            # Subtract in UTC: local wall-clock arithmetic would ignore a DST switch.
            left_today = midnight.astimezone(UTC) - cursor.astimezone(UTC)
            if remaining <= left_today:
                return (cursor.astimezone(UTC) + remaining).astimezone(UTC)
            remaining -= left_today
        cursor = midnight


def is_overdue(queued_at: datetime, working_days: int, now: datetime) -> bool:
    return now >= due_at(queued_at, working_days)


def earliest_overdue_queued_at(now: datetime, working_days: int) -> datetime:
    """A bound for the queue query: working time never exceeds calendar time, so anything
    queued after this cannot be overdue yet."""
    return now - timedelta(days=working_days)
