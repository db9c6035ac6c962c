"""The applicant's intake_received SMS, planned from the outbox the intake wrote.

An intake is one write (the case with a marker); the message record is made here, at the start
of each `send_due_messages` run, which then sends it. So the applicant hears within one sweep,
as before, and the intake request neither waits for a second write nor loads messaging code.
Planning is idempotent (a deterministic message id, a conditional put), so overlapping runs, or
a crash between planning and clearing the marker, never plan a message twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.cases import CLOSED, Case
from chalicelib.domain.partners import Partner
from chalicelib.ports import CaseReader, Clock, Directory

log = logging.getLogger(__name__)

# Plans intake_received; returns what it planned (empty: nothing to send, e.g. consent withdrawn).
Planner = Callable[[Case, Partner, datetime], list[Any]]


class ConfirmationOutbox(Protocol):
    def pending(self, page_size: int = 100) -> Iterator[tuple[str, str]]:
        """(case_id, marked_at) of every case whose confirmation is still to be planned, oldest first."""
        ...

    def done(self, case_id: str, marked_at: str) -> bool: ...


@dataclass
class ConfirmationReport:
    planned: int = 0
    skipped: int = 0  # closed, erased, gone or SMS withdrawn before its confirmation was planned
    failed: int = 0  # left in the outbox for the next run
    complete: bool = True


@dataclass
class IntakeConfirmations:
    outbox: ConfirmationOutbox
    cases: CaseReader
    directory: Directory
    clock: Clock

    def plan_due(self, plan: Planner, budget_seconds: float | None = None) -> ConfirmationReport:
        report = ConfirmationReport()
        started = time.monotonic()
        for case_id, marked_at in self.outbox.pending():
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                report.complete = False  # the rest stays marked for the next run
                break
            try:
                if self._plan_one(case_id, plan):
                    report.planned += 1
                else:
                    report.skipped += 1
                self.outbox.done(case_id, marked_at)
            except Exception:
                log.exception("intake_received not planned", extra={"case_id": case_id})
                report.failed += 1
        return report

    def _plan_one(self, case_id: str, plan: Planner) -> bool:
        case = self.cases.get_case(case_id)
        if case is None or case.erased_at is not None or case.status == CLOSED:
            return False
        partner = self.directory.partners().get(case.partner)
        if partner is None:
            log.warning("intake_received not planned: unknown partner", extra={"case_id": case_id})
            return False
        return bool(plan(case, partner, self.clock.now()))
