"""Planning the intake_received SMS from the outbox: once per case, only for live cases, retried on failure."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from chalicelib.domain.cases import CLOSED, Case
from chalicelib.domain.partners import Partner
from chalicelib.services.confirmations import IntakeConfirmations
from chalicelib.services.intake import IntakeService
from tests.fakes.stores import FakeCaseStore, FrozenClock, SeededDirectory


@dataclass
class ListOutbox:
    store: FakeCaseStore
    cleared: list[str] = field(default_factory=list)

    def pending(self, page_size: int = 100) -> Iterator[tuple[str, str]]:
        for case_id in list(self.store.confirmations):
            yield case_id, self.store.cases[case_id].created_at

    def done(self, case_id: str, marked_at: str) -> bool:
        self.store.confirmations.remove(case_id)
        self.cleared.append(case_id)
        return True


def setup(valid_intake: dict, count: int) -> tuple[IntakeConfirmations, FakeCaseStore, list[str]]:
    store, clock, directory = FakeCaseStore(), FrozenClock(), SeededDirectory()
    intake = IntakeService(store, directory, clock, lambda: "test-case-id-secret")
    ids = [intake.submit(valid_intake, f"key-{n}").body["case_id"] for n in range(count)]
    return IntakeConfirmations(ListOutbox(store), store, directory, clock), store, ids


def test_each_case_is_planned_once_naming_its_partner(valid_intake) -> None:
    confirmations, store, ids = setup(valid_intake, 3)
    planned: list[tuple[str, str]] = []

    def plan(case: Case, partner: Partner, now: datetime) -> list[str]:
        planned.append((case.case_id, partner.id))
        return [case.case_id]

    assert confirmations.plan_due(plan).planned == 3
    assert planned == [(case_id, store.cases[case_id].partner) for case_id in ids]
    assert confirmations.plan_due(plan).planned == 0 and len(planned) == 3


def test_a_failed_plan_stays_in_the_outbox_and_a_closed_case_is_only_cleared(valid_intake) -> None:
    confirmations, store, ids = setup(valid_intake, 3)
    store.cases[ids[0]] = replace(store.cases[ids[0]], status=CLOSED)
    calls: list[str] = []

    def flaky(case: Case, partner: Partner, now: datetime) -> list[str]:
        calls.append(case.case_id)
        if case.case_id == ids[1]:
            raise ConnectionError("messages table throttled")
        return [case.case_id]

    report = confirmations.plan_due(flaky)
    assert (report.planned, report.skipped, report.failed) == (1, 1, 1)
    assert calls == [ids[1], ids[2]] and store.confirmations == [ids[1]]


def test_an_exhausted_budget_leaves_the_rest_for_the_next_run(valid_intake) -> None:
    confirmations, store, ids = setup(valid_intake, 3)
    report = confirmations.plan_due(lambda case, partner, now: [case], budget_seconds=-1)
    assert (report.planned, report.complete) == (0, False)
    assert store.confirmations == ids
