"""The `case.routed` notice: sent as the routing write is stored, the outbox as the safety net.

The marker is written with the case (intake) or its transfer. The cases table's stream hands
that write to `announce_routed_cases`, which sends the notice and clears the marker (`announce`,
`send_now`) within about a second, while the request that routed the case has already answered:
it makes one DynamoDB call and none for the notice. If that send fails, or the stream is behind,
`notify_partners` (every minute) sends what is still marked once it is older than a grace period,
so it rarely races the stream. At least once: a notice is cleared only after SQS accepted it
(consumers key on case_id and `at`). notify_partners runs with reserved concurrency 1, so two
runs never send the same notice side by side.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from chalicelib.domain.cases import PartnerNotice, iso
from chalicelib.errors import RetryableError
from chalicelib.ports import Clock, EventPublisher

log = logging.getLogger(__name__)


# Far longer than the stream normally takes from the routing write to the notice's clear.
SEND_NOW_GRACE = timedelta(seconds=60)
# Pauses before send_now tries again to clear a marker whose notice SQS already took: a clear
# that fails for good means notify_partners sends the notice a second time.
CLEAR_RETRY_PAUSES = (0.05, 0.2)


class NoticeOutbox(Protocol):
    def pending(self, due_before: str, page_size: int = 100) -> Iterator[PartnerNotice]:
        """Marked notices whose `at` is before `due_before`, oldest first."""
        ...

    def sent(self, notice: PartnerNotice) -> bool:
        """Clear the notice unless the case was routed anew since it was read."""
        ...


@dataclass
class PartnerNoticeService:
    outbox: NoticeOutbox
    publisher: EventPublisher
    clock: Clock
    sleep: Callable[[float], None] = time.sleep

    def announce(self, notices: list[PartnerNotice]) -> dict[str, int]:
        """The notices a batch of the stream asked for. Never raises: a retried batch would send
        its other notices twice, and what failed here stays marked for notify_partners."""
        sent = sum(1 for notice in notices if self.send_now(notice))
        return {"sent": sent, "failed": len(notices) - sent}

    def send_now(self, notice: PartnerNotice) -> bool:
        """As the routing write is stored; a failure leaves the notice to notify_partners."""
        try:
            self.publisher.publish(notice)
        except Exception:
            log.exception("partner notice not sent; notify_partners will", extra={"case_id": notice.case_id})
            return False
        self._clear(notice)
        return True

    def _clear(self, notice: PartnerNotice) -> None:
        for pause in (*CLEAR_RETRY_PAUSES, None):
            try:
                self.outbox.sent(notice)
                return
            except Exception as error:
                if isinstance(error, RetryableError) and pause is not None:
                    self.sleep(pause)  # throttled beyond botocore's own retries: worth a little more time
                    continue
                # Sent but still marked: notify_partners sends it once more (consumers key on case_id and at).
                log.exception("partner notice sent but not cleared", extra={"case_id": notice.case_id})
                return

    def deliver(self, budget_seconds: float | None = None) -> dict[str, int | bool]:
        sent = failed = 0
        complete = True
        started = time.monotonic()
        for notice in self.outbox.pending(iso(self.clock.now() - SEND_NOW_GRACE)):
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
