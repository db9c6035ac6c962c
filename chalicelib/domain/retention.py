"""How long personal data of a case is kept (GDPR Art. 5(1)(e) storage limitation). No I/O.

Three clocks, one at a time, each started by an event and kept on the case for a sparse index:
- "unclaimed": from intake, while no one has ever claimed the case (default 365 days);
- "inactive": from a claimed case's last step, until it is closed (default 730 days): a case
  claimed once and then released, passed on or left open would otherwise be kept for ever;
- "closed": from closing (default 180 days).
The first claim ends the unclaimed clock for good; every later step of the case starts the
inactive clock anew; closing starts the closed clock. When a clock has run out,
`enforce_retention` erases the case's personal data and leaves the anonymised record for statistics.

The DynamoDB TTL attribute (`expires_at`) is a late backstop only, `backstop_days` after the
due date: TTL deletes whole items, which would also delete the statistics, so it is meant
to fire only if the scheduled function has failed for weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.cases import iso

UNCLAIMED = "unclaimed"
CLOSED = "closed"
INACTIVE = "inactive"
KINDS = (UNCLAIMED, CLOSED, INACTIVE)


@dataclass(frozen=True)
class RetentionClock:
    """A case's running retention clock: its kind is the index partition it was read from."""

    case_id: str
    started_at: str  # ISO, UTC (domain.cases.iso)


@dataclass(frozen=True)
class RetentionPolicy:
    days_after_close: int = 180
    days_unclaimed: int = 365
    days_inactive: int = 730
    backstop_days: int = 30

    def days(self, kind: str) -> int:
        return {CLOSED: self.days_after_close, UNCLAIMED: self.days_unclaimed, INACTIVE: self.days_inactive}[kind]

    def due_at(self, kind: str, started: datetime) -> datetime:
        return started + timedelta(days=self.days(kind))

    def cutoff(self, kind: str, now: datetime) -> str:
        """Cases whose clock started at or before this instant (ISO, UTC) are due now."""
        return iso(now - timedelta(days=self.days(kind)))

    def backstop(self, kind: str, started: datetime) -> datetime:
        """When DynamoDB's TTL may delete the item if enforce_retention never got to it."""
        return self.due_at(kind, started) + timedelta(days=self.backstop_days)

    def backstop_agrees(self, kind: str, started: datetime, backstop: datetime | None) -> bool:
        """Whether a stored TTL is the one this policy gives (TTLs keep whole seconds; policies
        change by whole days). A case written under other retention days carries another one."""
        if backstop is None:
            return False
        return abs(backstop - self.backstop(kind, started)) < timedelta(hours=1)
