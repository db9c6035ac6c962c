"""Retention: erase the personal data of cases whose retention time has run out (`enforce_retention`).

Which items carry a DynamoDB TTL (`expires_at`), and why:
- SMS messages (180 days after they were planned), abuse-limit slots (24 h) and webhook dedupe
  records (7 days): short-lived working data, deleted whole by TTL; nothing statistical depends
  on them (SMS figures are counters on the case).
- the case (which is also its queue entry) and the traces transfers leave: only as a late
  backstop, 30 days after the case is due here. The idempotency record on the case (the sealed
  copy of the first answer, replayed for 24 h) is removed by this function once it expires.
  TTL deletes whole items, so it would also delete the anonymised record that statistics need;
  it is meant to fire only if this function has failed for weeks (TTL alone lags by days).
  Erasure removes the case's TTL, so the anonymised record stays for good. When the retention
  days change, this function moves the TTL of every clock still running to the new days (_rearm).
- no TTL on opt-outs (a keyed hash, no number: STOP must be honoured after erasure), the audit
  log (append-only, no applicant data) or the directory.

Due cases are found with a Query on the sparse retention index (cost grows with what is due,
never a Scan), checked again against the case itself, and erased through the same path as an
applicant's own request (ApplicantService.erase_case), with an audit entry by "system".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.cases import CLOSED, ROUTED, Case
from chalicelib.domain.retention import CLOSED as CLOSED_CLOCK
from chalicelib.domain.retention import INACTIVE, KINDS, UNCLAIMED, RetentionClock, RetentionPolicy
from chalicelib.services.applicant import RETENTION, ApplicantService

log = logging.getLogger(__name__)
PAGE = 100


class RetentionIndex(Protocol):
    def due_for_retention(self, kind: str, cutoff: str, page_size: int = PAGE) -> Iterator[str]: ...

    def expired_replays(self, cutoff: datetime, page_size: int = PAGE) -> Iterator[str]: ...

    def forget_replay(self, case_id: str, cutoff: datetime) -> bool: ...

    def not_due(
        self, kind: str, cutoff: str, page_size: int = PAGE, newest_first: bool = False
    ) -> Iterator[RetentionClock]: ...

    def backstop_of(self, case_id: str) -> datetime | None: ...

    def rearm(self, kind: str, clock: RetentionClock, backstop: datetime) -> bool: ...

    def restart_inactive(self, case_id: str, since: str) -> bool: ...


@dataclass
class RetentionReport:
    erased: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    skipped: int = 0
    replays_forgotten: int = 0
    # Cases whose TTL backstop was moved to the retention days now configured (see _rearm).
    rearmed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    restarted: int = 0  # inactive clocks moved to a later change of their case (not due after all)
    complete: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "erased": dict(self.erased),
            "skipped": self.skipped,
            "replays_forgotten": self.replays_forgotten,
            "rearmed": dict(self.rearmed),
            "restarted": self.restarted,
            "complete": self.complete,
        }


def still_due(case: Case, kind: str, cutoff: str) -> bool:
    """The index said so; the case itself must agree (it is the source of truth)."""
    if case.erased_at is not None:
        return False
    claimed_once = any(h.action == "claimed" for h in case.history)
    if kind == CLOSED_CLOCK:
        return case.status == CLOSED
    if kind == INACTIVE:
        # Bookings and their upkeep change the case without a queue step: they count as activity too.
        return case.status != CLOSED and claimed_once and case.updated_at <= cutoff
    return case.status == ROUTED and not claimed_once


@dataclass
class RetentionService:
    index: RetentionIndex
    applicant: ApplicantService
    policy: RetentionPolicy

    def enforce(self, now: datetime, budget_seconds: float = 240.0) -> RetentionReport:
        """Erase every due case, oldest first, until done or the time budget is spent (next run goes on)."""
        report = RetentionReport()
        deadline = time.monotonic() + budget_seconds
        # A submission's replay copy (with its sealed status link) lives a day, not as long as the case.
        for case_id in self.index.expired_replays(now, PAGE):
            if time.monotonic() > deadline:
                report.complete = False
                return report
            report.replays_forgotten += int(self.index.forget_replay(case_id, now))
        for kind in (UNCLAIMED, CLOSED_CLOCK, INACTIVE):
            # One paged Query per clock; erasing takes a case out of the index behind the cursor.
            cutoff = self.policy.cutoff(kind, now)
            for case_id in self.index.due_for_retention(kind, cutoff, PAGE):
                if time.monotonic() > deadline:
                    report.complete = False
                    return report
                self._one(case_id, kind, cutoff, report)
        for kind in KINDS:
            if not self._rearm(kind, now, deadline, report):
                break
        return report

    def _rearm(self, kind: str, now: datetime, deadline: float, report: RetentionReport) -> bool:
        """After the retention days changed, move the TTL of every clock still running to the new days.

        Each case carries the TTL backstop of the days in force when its clock started: raised days
        would let DynamoDB delete it, statistics and all, before it is due. The oldest running clock
        tells (re-armed last, newest first, so an unfinished pass is seen and resumed by the next run);
        the pass has at least `backstop_days`, since no clock running under the old days was older.
        False when the time budget ran out.
        """
        cutoff = self.policy.cutoff(kind, now)
        oldest = next(iter(self.index.not_due(kind, cutoff, page_size=1)), None)
        if oldest is None:
            return True
        started = datetime.fromisoformat(oldest.started_at)
        if self.policy.backstop_agrees(kind, started, self.index.backstop_of(oldest.case_id)):
            return True
        log.warning("retention: backstops from other retention days; re-arming", extra={"kind": kind})
        for clock in self.index.not_due(kind, cutoff, PAGE, newest_first=True):
            if time.monotonic() > deadline:
                report.complete = False
                return False
            backstop = self.policy.backstop(kind, datetime.fromisoformat(clock.started_at))
            report.rearmed[kind] += int(self.index.rearm(kind, clock, backstop))
        return True

    def _one(self, case_id: str, kind: str, cutoff: str, report: RetentionReport) -> None:
        case = self.applicant.cases.get_case(case_id)
        if case is not None and kind == INACTIVE and case.erased_at is None and case.updated_at > cutoff:
            # Worked on since the clock started (an appointment booked, say): it starts from then.
            report.restarted += int(self.index.restart_inactive(case_id, case.updated_at))
            return
        if case is None or not still_due(case, kind, cutoff):
            # A stale index entry (e.g. claimed meanwhile); the next transition rewrites it.
            report.skipped += 1
            log.warning("retention: index and case disagree", extra={"case_id": case_id, "kind": kind})
            return
        self.applicant.erase_case(case, RETENTION, f"retention_{kind}")
        report.erased[kind] += 1
