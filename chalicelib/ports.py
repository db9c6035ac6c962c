"""The small interfaces the services call; adapters implement them, tests replace them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from chalicelib.domain.cases import Case, HistoryEntry, PartnerNotice, QueueEntry
from chalicelib.domain.idempotency import IdempotencyRecord
from chalicelib.domain.partners import Partner
from chalicelib.domain.routing import RoutingPolicy
from chalicelib.domain.staff import AuditEntry

if TYPE_CHECKING:
    from chalicelib.domain.appointments import Cancellations


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Directory(Protocol):
    """Partners and the routing policy (seeded data)."""

    def partners(self) -> dict[str, Partner]: ...

    def routing_policy(self) -> RoutingPolicy: ...


class CaseReader(Protocol):
    """Reading one case; what services that only look a case up need."""

    def get_case(self, case_id: str) -> Case | None: ...


class CaseStore(Protocol):
    def create_case(self, case: Case, idempotency: IdempotencyRecord | None, *, confirm_by_sms: bool) -> None:
        """Write the case, in its partner's queue, with the idempotency record, all or nothing;
        with `confirm_by_sms`, also the note that its intake_received SMS is still to be planned.

        Raises IdempotencyKeyTakenError when a case with this id exists, RetryableError on throttling.
        """
        ...

    def get_submission(self, case_id: str) -> tuple[Case, IdempotencyRecord | None] | None:
        """The case `case_id` and the idempotency record kept with it, if it has one."""
        ...

    def get_case(self, case_id: str) -> Case | None: ...


class EventPublisher(Protocol):
    def publish(self, notice: PartnerNotice) -> None:
        """Hand the notice to the partner's queue; raise when it was not accepted."""
        ...


class QueueStore(Protocol):
    """Staff transitions (issue 3); implemented by adapters/dynamodb/queue_store.py."""

    def get_case(self, case_id: str) -> Case | None: ...

    def apply(self, before: Case, after: Case, audit: AuditEntry, cancellations: Cancellations | None = None) -> None:
        """Write `after` if the case is still as `before` (status, partner, holder), with its queue
        entry and audit entry, atomically. Raises StateChangedError when the case changed.
        `cancellations` (a close's) are written in the same transaction."""
        ...

    def mark_overdue(self, entry: QueueEntry, history: HistoryEntry) -> bool: ...

    def queue_page(
        self,
        partner: str,
        status: str,
        limit: int,
        cursor: str | None,
        claimed_by: str | None = None,
        queued_until: str | None = None,
        only_unflagged: bool = False,
    ) -> tuple[list[QueueEntry], str | None]: ...

    def find_by_reference(self, reference: str) -> list[QueueEntry]:
        """The cases carrying this reference, as queue rows with their own status (erased ones carry none)."""
        ...

    def cursor_after(self, partner: str, status: str, entry: QueueEntry) -> str:
        """The cursor that continues `partner`'s `status` listing right after `entry`."""
        ...


class AuditLog(Protocol):
    """Append-only: no update or delete on purpose."""

    def append(self, entry: AuditEntry) -> None: ...

    def entries(self, case_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEntry], str | None]: ...
