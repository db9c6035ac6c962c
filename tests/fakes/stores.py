"""In-memory fakes of the storage and event ports; they record what happened."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chalicelib.data import default_partners, default_routing_rules
from chalicelib.domain.cases import Case, PartnerNotice, QueueEntry
from chalicelib.domain.idempotency import IdempotencyRecord
from chalicelib.domain.partners import Partner
from chalicelib.domain.routing import RoutingPolicy
from chalicelib.errors import IdempotencyKeyTakenError


@dataclass
class FakeCaseStore:
    cases: dict[str, Case] = field(default_factory=dict)
    entries: dict[tuple[str, str], QueueEntry] = field(default_factory=dict)
    idempotency: dict[str, IdempotencyRecord] = field(default_factory=dict)
    notices: list[PartnerNotice] = field(default_factory=list)  # the outbox written with each case
    confirmations: list[str] = field(default_factory=list)  # case ids whose intake_received is to be planned
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create_case(self, case: Case, idempotency: IdempotencyRecord | None, *, confirm_by_sms: bool) -> None:
        with self._lock:
            if case.case_id in self.cases:
                raise IdempotencyKeyTakenError("taken")
            if idempotency is not None:
                self.idempotency[case.case_id] = idempotency
            self.cases[case.case_id] = case
            self.notices.append(PartnerNotice(case.case_id, case.partner, case.reference, case.queued_at))
            if confirm_by_sms:
                self.confirmations.append(case.case_id)
            entry = QueueEntry.for_case(case)
            self.entries[(entry.partner, entry.case_id)] = entry

    def get_submission(self, case_id: str) -> tuple[Case, IdempotencyRecord | None] | None:
        if case_id not in self.cases:
            return None
        return self.cases[case_id], self.idempotency.get(case_id)

    def get_case(self, case_id: str) -> Case | None:
        return self.cases.get(case_id)


class SeededDirectory:
    def __init__(self) -> None:
        self._partners = {p["id"]: Partner.from_dict(p) for p in default_partners()}
        self._policy = RoutingPolicy.from_dict(default_routing_rules(), set(self._partners))

    def partners(self) -> dict[str, Partner]:
        return self._partners

    def routing_policy(self) -> RoutingPolicy:
        return self._policy


@dataclass
class FakePublisher:
    published: list[PartnerNotice] = field(default_factory=list)
    fail: bool = False

    def publish(self, notice: PartnerNotice) -> None:
        if self.fail:
            raise ConnectionError("SQS unreachable")
        self.published.append(notice)


@dataclass
class FrozenClock:
    moment: datetime = field(default_factory=lambda: datetime(2026, 11, 25, 9, 30, tzinfo=UTC))

    def now(self) -> datetime:
        return self.moment
