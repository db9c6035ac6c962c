"""Quiet hours 21:00–08:00 Europe/Berlin: reminders move earlier, never past the appointment; DST-safe."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.quiet_hours import QuietHours, reminder_due

BERLIN = ZoneInfo("Europe/Berlin")
QUIET = QuietHours()


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (berlin(2027, 3, 22, 20, 59, 59), False),
        (berlin(2027, 3, 22, 21, 0), True),
        (berlin(2027, 3, 22, 23, 30), True),
        (berlin(2027, 3, 23, 3, 0), True),
        (berlin(2027, 3, 23, 7, 59, 59), True),
        (berlin(2027, 3, 23, 8, 0), False),
        (berlin(2027, 3, 23, 12, 0), False),
    ],
)
def test_quiet_hours_are_21_to_8_berlin(moment: datetime, quiet: bool) -> None:
    assert QUIET.contains(moment) is quiet
    assert QUIET.contains(moment.astimezone(UTC)) is quiet  # the zone of the input does not matter


def test_other_messages_wait_until_8() -> None:
    assert QUIET.next_allowed(berlin(2027, 3, 22, 22, 15)) == berlin(2027, 3, 23, 8, 0)
    assert QUIET.next_allowed(berlin(2027, 3, 23, 6, 0)) == berlin(2027, 3, 23, 8, 0)
    assert QUIET.next_allowed(berlin(2027, 3, 23, 9, 0)) == berlin(2027, 3, 23, 9, 0)


def test_a_reminder_in_the_night_moves_to_the_evening_before() -> None:
    start = berlin(2027, 3, 23, 9, 0)
    due = reminder_due(start, timedelta(hours=2), QUIET)  # 07:00 would be in quiet hours
    assert due == berlin(2027, 3, 22, 20, 30)
    assert not QUIET.contains(due) and due < start


def test_a_reminder_late_in_the_evening_moves_earlier_the_same_evening() -> None:
    start = berlin(2027, 3, 23, 0, 30)  # an appointment after midnight (e.g. a night-shift worker's call)
    due = reminder_due(start, timedelta(hours=2), QUIET)  # 22:30 → earlier, not 08:00 after the start
    assert due == berlin(2027, 3, 22, 20, 30)
    assert due < start


def test_a_reminder_in_allowed_hours_stays_exactly_at_its_offset() -> None:
    start = berlin(2027, 3, 24, 14, 0)
    assert reminder_due(start, timedelta(hours=24), QUIET) == berlin(2027, 3, 23, 14, 0)
    assert reminder_due(start, timedelta(hours=2), QUIET) == berlin(2027, 3, 24, 12, 0)


def test_reminders_across_the_spring_dst_switch() -> None:
    # 2027-03-28 02:00 CET → 03:00 CEST. Offsets are real hours, not wall-clock hours.
    monday = berlin(2027, 3, 29, 10, 0)  # 08:00 UTC
    day_before = reminder_due(monday, timedelta(hours=24), QUIET)
    assert day_before.astimezone(UTC) == datetime(2027, 3, 28, 8, 0, tzinfo=UTC)
    assert day_before.astimezone(BERLIN).hour == 10
    sunday_early = berlin(2027, 3, 28, 9, 0)  # CEST; 2 h earlier is 06:00 CEST, quiet
    due = reminder_due(sunday_early, timedelta(hours=2), QUIET)
    assert due == berlin(2027, 3, 27, 20, 30)  # Saturday evening, still CET
    assert due.astimezone(UTC) == datetime(2027, 3, 27, 19, 30, tzinfo=UTC)
    sunday = berlin(2027, 3, 28, 11, 0)  # 09:00 UTC; 24 h before is Saturday 10:00 CET
    assert reminder_due(sunday, timedelta(hours=24), QUIET).astimezone(BERLIN).hour == 10


def test_reminders_across_the_autumn_dst_switch() -> None:
    # 2027-10-31 03:00 CEST → 02:00 CET: the night is an hour longer, 08:00 is still 08:00.
    assert QUIET.next_allowed(berlin(2027, 10, 31, 2, 30)) == berlin(2027, 10, 31, 8, 0)
    assert QUIET.next_allowed(berlin(2027, 10, 31, 2, 30)).astimezone(UTC).hour == 7
    sunday = berlin(2027, 10, 31, 10, 0)  # CET, 09:00 UTC
    due = reminder_due(sunday, timedelta(hours=24), QUIET)
    assert due.astimezone(UTC) == datetime(2027, 10, 30, 9, 0, tzinfo=UTC)  # 24 real hours
    assert due.astimezone(BERLIN).hour == 11  # Saturday was still summer time


def test_a_configured_window_is_honoured() -> None:
    late = QuietHours(start=time(22, 0), end=time(7, 0))
    assert not late.contains(berlin(2027, 3, 22, 21, 30))
    assert late.contains(berlin(2027, 3, 22, 22, 0))
    assert late.next_allowed(berlin(2027, 3, 23, 6, 0)) == berlin(2027, 3, 23, 7, 0)
