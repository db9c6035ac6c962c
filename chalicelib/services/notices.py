"""`notify_partners`: send the `case.routed` notices the outbox holds, then clear them.

At least once: a notice is cleared only after SQS accepted it, so a crash in between sends it
again on the next run (consumers key on case_id and `at`). The function runs with reserved
concurrency 1, so two runs never send the same notice side by side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from chalicelib.domain.cases import PartnerNotice
from chalicelib.ports import EventPublisher

log = logging.getLogger(__name__)


class NoticeOutbox(Protocol):
    def pending(self, page_size: int = 100) -> Iterator[PartnerNotice]: ...

    def sent(self, notice: PartnerNotice) -> bool:
        """Clear the notice unless the case was routed anew since it was read."""
        ...


@dataclass
class PartnerNoticeService:
    outbox: NoticeOutbox
    publisher: EventPublisher

    def deliver(self, budget_seconds: float | None = None) -> dict[str, int | bool]:
        sent = failed = 0
        complete = True
        started = time.monotonic()
        for notice in self.outbox.pending():
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                complete = False  # the rest stays in the outbox for the next run
                break
            try:
                self.publisher.publish(notice)
            except Exception:
                # Stays in the outbox: the next run tries again (a DLQ alarm is for consumers).
                log.exception("partner notice not sent", extra={"case_id": notice.case_id})
                failed += 1
                continue
            self.outbox.sent(notice)
            sent += 1
        report: dict[str, int | bool] = {"sent": sent, "failed": failed, "complete": complete}
        log.info("partner_notices", extra={"report": report})
        return report
