"""Quiet hours (21:00–08:00 Europe/Berlin by default) and when a message may go out instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class QuietHours:
    start: time = time(21, 0)
    end: time = time(8, 0)
    zone: ZoneInfo = BERLIN
    # A reminder moved out of the night is due this long before the quiet start, so the
    # sweeper (every 5 minutes) has several runs, and retries, before 21:00.
    evening_margin: timedelta = timedelta(minutes=30)

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone).time()
        if self.start <= self.end:  # a window within one day, e.g. 13:00–14:00
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` itself when allowed, else the end of this quiet period (08:00 local)."""
        if not self.contains(moment):
            return moment
        local = moment.astimezone(self.zone)
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=self.zone).astimezone(UTC)

    def latest_before(self, moment: datetime) -> datetime:
        """`moment` when allowed, else shortly before this quiet period began (20:30 local by default)."""
        if not self.contains(moment):
            return moment
        local = moment.astimezone(self.zone)
        day = local.date() if local.time() >= self.start else local.date() - timedelta(days=1)
        began = datetime.combine(day, self.start, tzinfo=self.zone).astimezone(UTC)
        return began - self.evening_margin


def reminder_due(start: datetime, offset: timedelta, quiet: QuietHours) -> datetime:
    """Offset before the appointment (absolute time, so DST cannot shift it), moved out of the night earlier.

    Moving earlier never puts a reminder after the appointment, which later would.
    """
    # In UTC: Python subtracts from an aware Berlin time on the wall clock, which DST would skew.
    return quiet.latest_before(start.astimezone(UTC) - offset)
