"""The intake use case with in-memory fakes: routing, idempotency and notifications."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.cases import PartnerNotice
from chalicelib.errors import IdempotencyConflictError, ValidationError
from chalicelib.services.intake import IntakeService
from tests.fakes.stores import FakeCaseStore, FrozenClock, SeededDirectory


@pytest.fixture
def parts() -> tuple[IntakeService, FakeCaseStore, FrozenClock]:
    store, clock = FakeCaseStore(), FrozenClock()
    return IntakeService(store, SeededDirectory(), clock, lambda: "test-case-id-secret"), store, clock


def test_submit_stores_case_entry_and_the_partners_notice(parts, valid_intake):
    service, store, _ = parts
    result = service.submit(valid_intake, None)
    case = store.cases[result.body["case_id"]]
    assert case.created_at == "2026-11-25T09:30:00.000000+00:00"
    assert case.history[0].action == "routed"
    assert case.history[0].detail["rule"] == "engineering-construction"
    assert store.entries[("akademie-ingenieure", case.case_id)].status == "routed"
    assert store.notices == [PartnerNotice(case.case_id, "akademie-ingenieure", case.reference, case.created_at)]


def test_the_partner_is_told_once_the_case_is_stored_and_not_again_on_a_replay(valid_intake):
    store, told = FakeCaseStore(), []
    service = IntakeService(store, SeededDirectory(), FrozenClock(), lambda: "secret", announce=told.append)
    first = service.submit(valid_intake, "key-1")
    assert told == store.notices and told[0].case_id == first.body["case_id"]
    assert service.submit(valid_intake, "key-1").replayed and len(told) == 1
    with pytest.raises(ValidationError):
        service.submit({**valid_intake, "language": "xx"}, None)
    assert len(told) == 1


def test_replay_within_window_then_new_case_after_expiry(parts, valid_intake):
    service, store, clock = parts
    first = service.submit(valid_intake, "key-1")
    again = service.submit(valid_intake, "key-1")
    assert again.replayed and again.body == first.body
    assert len(store.cases) == 1 and len(store.notices) == 1
    clock.moment += timedelta(hours=24, seconds=1)
    later = service.submit(valid_intake, "key-1")
    assert not later.replayed and later.body["case_id"] != first.body["case_id"]


def test_a_key_reused_day_after_day_keeps_replaying_its_latest_case(parts, valid_intake):
    service, store, clock = parts
    made = []
    for _day in range(3):
        made.append(service.submit(valid_intake, "daily").body)
        assert service.submit(valid_intake, "daily").body == made[-1]  # a retry the same day replays
        clock.moment += timedelta(days=1, seconds=1)
    assert len({body["case_id"] for body in made}) == 3 and len(store.cases) == 3


def test_a_key_reused_too_often_asks_for_a_new_one(parts, valid_intake):
    from chalicelib.services.intake import KEY_GENERATIONS

    service, store, clock = parts
    for _day in range(KEY_GENERATIONS):
        service.submit(valid_intake, "worn-out")
        clock.moment += timedelta(days=1, seconds=1)
    with pytest.raises(IdempotencyConflictError) as raised:
        service.submit(valid_intake, "worn-out")
    assert "new one" in str(raised.value) and len(store.cases) == KEY_GENERATIONS
    assert service.submit(valid_intake, "fresh").status_code == 201


def test_reused_key_with_other_body_conflicts(parts, valid_intake):
    service, store, _ = parts
    service.submit(valid_intake, "key-2")
    valid_intake["german_level"] = "C1"
    with pytest.raises(IdempotencyConflictError):
        service.submit(valid_intake, "key-2")
    assert len(store.cases) == 1


def test_invalid_intake_raises_with_every_field(parts):
    service, store, _ = parts
    with pytest.raises(ValidationError) as caught:
        service.submit({"language": "de"}, None)
    assert {"given_name", "family_name", "postcode", "consent"} <= {e.field for e in caught.value.errors}
    assert store.cases == {}


def test_the_confirmation_sms_is_asked_for_in_the_same_write_only_with_consent(parts, valid_intake):
    service, store, _ = parts
    with_sms = service.submit(valid_intake, "with-sms").body["case_id"]
    no_sms = {**valid_intake, "consent": {**valid_intake["consent"], "sms": False}}
    without = service.submit(no_sms, "without-sms").body["case_id"]
    assert service.submit(valid_intake, "with-sms").replayed  # a repeat asks for nothing more
    assert store.confirmations == [with_sms]
    assert without in store.cases
