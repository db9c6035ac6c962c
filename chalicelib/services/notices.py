"""The `case.routed` notice: sent by the request that routed the case, with two safety nets.

The marker is written with the case (intake) or its transfer, in the same write. Once that write
is stored, the request sends the notice and clears the marker (`send_now`), so the partner's queue
holds it by the time the request answers. If the request could not (SQS refused, the function
died), the cases table's stream hands the write to `announce_routed_cases`, which sends what is
still marked (`announce`) within about a second; and `notify_partners` (every minute) sends what
is marked once it is older than a grace period, so it rarely races either. At least once: a
notice is cleared only after SQS accepted it (consumers key on case_id and `at`). notify_partners
runs with reserved concurrency 1, so two runs never send the same notice side by side.
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
# The stream may hand on a routing write while its request is still between that write and the
# notice's clear; a batch younger than this waits until it is this old, so that the request's own
# send wins instead of the partner hearing twice. DynamoDB Streams rounds record times down to the
# second: 2 s after the rounded time is at least 1 s after the write.
STREAM_SETTLE_SECONDS = 2.0
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

    def still_due(self, notices: list[PartnerNotice]) -> list[PartnerNotice]:
        """Those of `notices` still marked as they were, in their order (one consistent read)."""
        ...


@dataclass
class PartnerNoticeService:
    outbox: NoticeOutbox
    publisher: EventPublisher
    clock: Clock
    sleep: Callable[[float], None] = time.sleep
    wall: Callable[[], float] = time.time  # the stream's record times are wall-clock epoch seconds

    def announce(self, notices: list[PartnerNotice], written_at: float | None = None) -> dict[str, int]:
        """The notices a batch of the stream asked for that their requests could not send (`written_at`:
        the batch's newest record time). Never raises: a retried batch would send its other notices
        twice, and what failed here stays marked for notify_partners."""
        if not notices:
            return {"sent": 0, "failed": 0, "already_sent": 0}
        if written_at is not None:
            wait = written_at + STREAM_SETTLE_SECONDS - self.wall()
            if wait > 0:
                self.sleep(min(wait, STREAM_SETTLE_SECONDS))
        try:
            due = self.outbox.still_due(notices)
        except Exception:
            log.exception("partner notices not checked; notify_partners sends what is still marked")
            return {"sent": 0, "failed": len(notices), "already_sent": 0}
        sent = sum(1 for notice in due if self.send_now(notice))
        return {"sent": sent, "failed": len(due) - sent, "already_sent": len(notices) - len(due)}

    def send_now(self, notice: PartnerNotice) -> bool:
        """Once the routing write is stored; never raises: a failure leaves the notice marked for the
        stream and notify_partners, and the request that routed the case still succeeds."""
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
