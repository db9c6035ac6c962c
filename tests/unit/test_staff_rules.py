"""Transition rules and the service's retry-on-lost-race logic, with plain objects and fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.appointments import ATTENTION_RESOLVED, SMS_ATTENTION, Cancellations
from chalicelib.domain.cases import CLAIMED, CLOSED, ROUTED, SCHEDULED, Case, HistoryEntry, PartnerNotice, QueueEntry
from chalicelib.domain.partners import Partner
from chalicelib.domain.staff import (
    AuditEntry,
    StaffIdentity,
    check_claim,
    check_close,
    check_release,
    check_transfer,
    claimed,
    closed,
    released,
    repeats_last_step,
    transferred,
)
from chalicelib.errors import (
    AlreadyClaimedError,
    AttentionNotOpenError,
    ConflictError,
    ForbiddenError,
    InvalidTransitionError,
    NotFoundError,
    StateChangedError,
    ValidationError,
)
from chalicelib.services.staff import StaffService

NOW = datetime(2025, 3, 7, 9, 0, tzinfo=UTC)
ANNA = StaffIdentity("anna", "Anna Berger", "staff", "lmu-klinikum")
BEN = StaffIdentity("ben", "Ben Vogel", "staff", "lmu-klinikum")
OTTO = StaffIdentity("otto", "Otto Other", "staff", "via-bayern")
CLARA = StaffIdentity("clara", "Clara Coordinator", "coordinator", None)
PARTNERS = {"lmu-klinikum", "via-bayern", "akademie-ingenieure"}


def a_case(status: str = ROUTED, holder: StaffIdentity | None = None, partner: str = "lmu-klinikum") -> Case:
    stamp = "2025-03-06T09:00:00.000000+00:00"
    return Case(
        case_id="c-1",
        reference="ABCD-EFGH",
        partner=partner,
        status=status,
        rule="health-professions",
        routing_reason="qualification.profession_group is health",
        language="ar",
        intake={"given_name": "Layla", "qualification": {"profession_group": "health"}, "goals": ["job"]},
        created_at=stamp,
        updated_at=stamp,
        queued_at=stamp,
        claimed_by=holder.staff_id if holder else None,
        claimed_by_name=holder.name if holder else None,
        history=[HistoryEntry(stamp, "routed", partner)],
    )


def test_visibility_by_partner_and_role() -> None:
    case = a_case()
    assert ANNA.can_see(case) and CLARA.can_see(case)
    assert not OTTO.can_see(case)


def test_claim_rules() -> None:
    assert check_claim(a_case(), ANNA) is True
    assert check_claim(a_case(CLAIMED, ANNA), ANNA) is False  # a repeated click changes nothing
    with pytest.raises(AlreadyClaimedError) as raised:
        check_claim(a_case(CLAIMED, ANNA), BEN)
    assert raised.value.detail == {"claimed_by_name": "Anna Berger"}
    with pytest.raises(AlreadyClaimedError):
        check_claim(a_case(SCHEDULED, ANNA), BEN)
    with pytest.raises(InvalidTransitionError, match="closed"):
        check_claim(a_case(CLOSED, ANNA), ANNA)


def test_release_rules() -> None:
    check_release(a_case(CLAIMED, ANNA), ANNA)
    check_release(a_case(CLAIMED, ANNA), CLARA)
    with pytest.raises(ForbiddenError):
        check_release(a_case(CLAIMED, ANNA), BEN)
    for status, words in [(ROUTED, "not claimed"), (SCHEDULED, "appointment"), (CLOSED, "closed")]:
        with pytest.raises(InvalidTransitionError, match=words):
            check_release(a_case(status, ANNA), ANNA)
    # Someone else's scheduled case: who holds it, not "cancel the appointment first" (they may not).
    with pytest.raises(ForbiddenError):
        check_release(a_case(SCHEDULED, ANNA), BEN)


def test_close_rules() -> None:
    check_close(a_case(CLAIMED, ANNA), ANNA)
    check_close(a_case(SCHEDULED, ANNA), ANNA)
    check_close(a_case(CLAIMED, ANNA), CLARA)
    with pytest.raises(ForbiddenError):
        check_close(a_case(CLAIMED, ANNA), BEN)
    with pytest.raises(InvalidTransitionError, match="Claim"):
        check_close(a_case(ROUTED), ANNA)
    with pytest.raises(InvalidTransitionError, match="already closed"):
        check_close(a_case(CLOSED, ANNA), ANNA)


def test_transfer_rules() -> None:
    check_transfer(a_case(), BEN, "via-bayern", PARTNERS)  # unclaimed: any colleague
    check_transfer(a_case(CLAIMED, ANNA), ANNA, "via-bayern", PARTNERS)
    check_transfer(a_case(CLAIMED, ANNA), CLARA, "via-bayern", PARTNERS)
    with pytest.raises(ValidationError) as raised:
        check_transfer(a_case(), ANNA, "atlantis", PARTNERS)
    assert [(e.field, e.code) for e in raised.value.errors] == [("partner", "unknown_partner")]
    with pytest.raises(InvalidTransitionError, match="already in the queue"):
        check_transfer(a_case(), ANNA, "lmu-klinikum", PARTNERS)
    with pytest.raises(ForbiddenError):
        check_transfer(a_case(CLAIMED, ANNA), BEN, "via-bayern", PARTNERS)
    for status in (SCHEDULED, CLOSED):
        with pytest.raises(InvalidTransitionError):
            check_transfer(a_case(status, ANNA), ANNA, "via-bayern", PARTNERS)


def test_transitions_append_history_and_keep_the_original_untouched() -> None:
    before = replace(a_case(), overdue=True)
    after = claimed(before, ANNA, NOW)
    assert (after.status, after.claimed_by, after.overdue) == (CLAIMED, "anna", False)
    assert [h.action for h in after.history] == ["routed", "claimed"] and len(before.history) == 1
    back = released(after, CLARA, NOW)
    assert back.status == ROUTED and back.claimed_by is None and back.queued_at == before.queued_at
    assert back.history[-1].detail == {"by_name": "Clara Coordinator", "released_for": "Anna Berger"}
    moved = transferred(after, ANNA, NOW, "via-bayern", "Needs a language course.", "transferred")
    assert (moved.partner, moved.status, moved.claimed_by) == ("via-bayern", ROUTED, None)
    assert moved.queued_at == "2025-03-07T09:00:00.000000+00:00"  # the SLA restarts at the new partner
    assert [h.partner for h in moved.history] == ["lmu-klinikum", "lmu-klinikum", "via-bayern"]


# --- the service's conditional-write loop, against a fake store ---------------------------


class FakeStore:
    """Keeps one case; `apply` behaves like the DynamoDB condition (same status/partner/holder)."""

    def __init__(self, case: Case, interfere: list[tuple[Case, Case]] | None = None) -> None:
        self.case = case
        # Someone else acting at the moment of our write: (the state our write meets, the state after).
        self.interfere = list(interfere or [])
        self.applied: list[AuditEntry] = []

    def get_case(self, case_id: str) -> Case | None:
        return self.case if case_id == self.case.case_id else None

    def apply(self, before: Case, after: Case, audit: AuditEntry, cancellations: Cancellations | None = None) -> None:
        current, later = self.interfere.pop(0) if self.interfere else (self.case, None)
        if (current.status, current.partner, current.claimed_by) != (before.status, before.partner, before.claimed_by):
            self.case = later or current
            raise StateChangedError("changed")
        self.case = after
        self.applied.append(audit)

    def mark_overdue(self, entry: QueueEntry, history: HistoryEntry) -> bool:
        raise NotImplementedError

    def queue_page(self, *args: Any, **kwargs: Any) -> tuple[list[QueueEntry], str | None]:
        return [], None


class FakeAudit:
    def __init__(self) -> None:
        self.entries_written: list[AuditEntry] = []

    def append(self, entry: AuditEntry) -> None:
        self.entries_written.append(entry)

    def entries(self, case_id: str, limit: int, cursor: str | None) -> tuple[list[AuditEntry], str | None]:
        return list(reversed(self.entries_written)), None


class FakeDirectory:
    def partners(self) -> dict[str, Partner]:
        return {p: Partner(p, p, p, "", (), (), "") for p in PARTNERS}

    def routing_policy(self) -> Any:
        raise NotImplementedError


class FixedClock:
    def now(self) -> datetime:
        return NOW


def service(store: FakeStore, **kwargs: Any) -> StaffService:
    return StaffService(store, FakeAudit(), FakeDirectory(), FixedClock(), **kwargs)


def test_a_lost_race_is_explained_from_a_fresh_read() -> None:
    store = FakeStore(a_case(), interfere=[(a_case(CLAIMED, BEN), a_case(CLAIMED, BEN))])
    with pytest.raises(AlreadyClaimedError) as raised:
        service(store).claim(ANNA, "c-1")
    assert raised.value.detail["claimed_by_name"] == "Ben Vogel"
    assert store.applied == []


def test_when_the_new_state_still_allows_the_action_it_is_retried() -> None:
    # Ben claimed and released in between: the case is routed again, so Anna's claim goes through.
    store = FakeStore(a_case(), interfere=[(a_case(CLAIMED, BEN), a_case())])
    case = service(store).claim(ANNA, "c-1")
    assert case.claimed_by == "anna" and [a.action for a in store.applied] == ["claim"]


def test_a_case_that_keeps_changing_gives_up_with_409() -> None:
    store = FakeStore(a_case(), interfere=[(a_case(CLAIMED, BEN), a_case())] * 3)
    with pytest.raises(ConflictError, match="changed while"):
        service(store).claim(ANNA, "c-1")


def test_other_partner_and_missing_cases_are_the_same_404() -> None:
    store = FakeStore(a_case(partner="via-bayern"))
    with pytest.raises(NotFoundError) as other:
        service(store).claim(ANNA, "c-1")
    with pytest.raises(NotFoundError) as missing:
        service(store).claim(ANNA, "c-2")
    assert other.value.message == missing.value.message


def test_transfer_calls_the_transfer_hook_with_the_partner_it_came_from() -> None:
    calls: list[tuple[str, str]] = []
    store = FakeStore(a_case(CLAIMED, ANNA))
    staff = service(store, on_transferred=lambda case, previous: calls.append((case.partner, previous)))
    staff.transfer(ANNA, "c-1", {"partner": "via-bayern", "reason": "Needs a language course."})
    assert calls == [("via-bayern", "lmu-klinikum")]


def test_reassign_is_for_coordinators_only() -> None:
    store = FakeStore(a_case(CLAIMED, ANNA))
    with pytest.raises(ForbiddenError):
        service(store).reassign(ANNA, "c-1", {"partner": "via-bayern", "reason": "Coordinator decision."})
    case = service(store).reassign(CLARA, "c-1", {"partner": "via-bayern", "reason": "Coordinator decision."})
    assert case.history[-1].action == "reassigned" and store.applied[-1].action == "reassign"


def test_a_repeat_is_the_same_step_by_the_same_person_with_the_same_details_soon_after() -> None:
    done = closed(a_case(CLAIMED, ANNA), ANNA, NOW, "counselled", None)
    soon, late = NOW + timedelta(minutes=14), NOW + timedelta(minutes=16)
    assert repeats_last_step(done, ANNA, soon, "closed", outcome="counselled", note=None)
    assert not repeats_last_step(done, ANNA, soon, "closed", outcome="duplicate", note=None)
    assert not repeats_last_step(done, ANNA, soon, "closed", outcome="counselled", note="Sent on.")
    assert not repeats_last_step(done, BEN, soon, "closed", outcome="counselled", note=None)
    assert not repeats_last_step(done, ANNA, late, "closed", outcome="counselled", note=None)
    assert not repeats_last_step(a_case(), ANNA, soon, "released")  # its last step is the routing


class MovingClock:
    def __init__(self) -> None:
        self.moment = NOW

    def now(self) -> datetime:
        return self.moment


def test_a_repeated_transfer_writes_nothing_and_runs_the_transfer_hook_again() -> None:
    """The hook plans the applicant's SMS idempotently; after a lost answer only the retry runs it."""
    calls: list[tuple[str, str]] = []
    clock, store = MovingClock(), FakeStore(a_case(CLAIMED, ANNA))
    staff = StaffService(
        store,
        FakeAudit(),
        FakeDirectory(),
        clock,
        on_transferred=lambda c, previous: calls.append((c.partner, previous)),
    )
    move = {"partner": "via-bayern", "reason": "Needs a language course."}
    staff.transfer(ANNA, "c-1", move)
    clock.moment += timedelta(minutes=3)
    again = staff.transfer(ANNA, "c-1", move)  # out of Anna's sight now, yet hers to hear about
    assert again.partner == "via-bayern" and [a.action for a in store.applied] == ["transfer"]
    assert calls == [("via-bayern", "lmu-klinikum")] * 2
    with pytest.raises(NotFoundError):
        staff.transfer(ANNA, "c-1", {**move, "reason": "Something else entirely."})
    with pytest.raises(NotFoundError):
        staff.transfer(BEN, "c-1", move)


def test_a_transfer_tells_the_new_partner_once_and_its_repeat_not_again() -> None:
    told: list[PartnerNotice] = []
    clock, store = MovingClock(), FakeStore(a_case(CLAIMED, ANNA))
    staff = StaffService(store, FakeAudit(), FakeDirectory(), clock, announce=told.append)
    move = {"partner": "via-bayern", "reason": "Needs a language course."}
    moved = staff.transfer(ANNA, "c-1", move)
    assert told == [PartnerNotice("c-1", "via-bayern", moved.reference, moved.queued_at)]
    clock.moment += timedelta(minutes=3)
    staff.transfer(ANNA, "c-1", move)  # the retry of a lost answer: the first request told them
    assert len(told) == 1


def test_a_repeated_close_cancels_nothing_more() -> None:
    closings: list[str] = []

    def closing(who: StaffIdentity, before: Case, after: Case, now: datetime) -> tuple[Case, Cancellations]:
        closings.append(who.staff_id)
        return after, Cancellations()

    store = FakeStore(a_case(CLAIMED, ANNA))
    staff = service(store, closing=closing)
    staff.close(ANNA, "c-1", {"outcome": "counselled"})
    assert staff.close(ANNA, "c-1", {"outcome": "counselled"}).status == CLOSED
    assert closings == ["anna"] and [a.action for a in store.applied] == ["close"]
    with pytest.raises(InvalidTransitionError, match="already closed"):
        staff.close(ANNA, "c-1", {"outcome": "withdrawn"})


# --- "please check" flags ------------------------------------------------------------------------


def test_a_colleague_resolves_a_flag_and_status_holder_and_note_are_kept() -> None:
    flagged = HistoryEntry(NOW.isoformat(), SMS_ATTENTION, "lmu-klinikum", None, {"reason": "sms_not_delivered"})
    case = a_case(SCHEDULED, ANNA)
    store = FakeStore(replace(case, history=[*case.history, flagged]))
    staff = service(store)
    body = {"reason": "sms_not_delivered", "note": "  Called her: the number had a typo\x00 "}
    view = staff.resolve_attention(BEN, "c-1", body)
    assert (view["status"], view["claimed_by"], view["attention"]) == (SCHEDULED, "anna", [])
    last = view["history"][-1]
    assert (last["action"], last["by"], last["detail"]) == (
        ATTENTION_RESOLVED,
        "ben",
        {"by_name": "Ben Vogel", "reason": "sms_not_delivered", "note": "Called her: the number had a typo"},
    )
    # The audit log keeps codes only: the note may name the applicant.
    [audit] = store.applied
    assert (audit.action, audit.detail) == ("resolve_attention", {"reason": "sms_not_delivered", "has_note": True})
    # Ben's retry after a lost answer is answered as done; Anna finds nothing left to resolve.
    assert staff.resolve_attention(BEN, "c-1", body)["attention"] == [] and len(store.applied) == 1
    with pytest.raises(AttentionNotOpenError):
        staff.resolve_attention(ANNA, "c-1", {"reason": "sms_not_delivered"})
    with pytest.raises(NotFoundError):
        staff.resolve_attention(OTTO, "c-1", {"reason": "sms_not_delivered"})


def test_resolving_names_the_field_it_cannot_use() -> None:
    staff = service(FakeStore(a_case(CLAIMED, ANNA)))
    for body, field in [({}, "reason"), ({"reason": "call_me"}, "reason"), ({"reason": "cannot_come", "x": 1}, "x")]:
        with pytest.raises(ValidationError) as raised:
            staff.resolve_attention(ANNA, "c-1", body)
        assert [e.field for e in raised.value.errors] == [field]
