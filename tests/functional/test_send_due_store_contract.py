"""One contract, two stores: the DynamoDB message store (moto) and the in-memory one the week simulation uses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.messages import CANCELLED, EXPIRED, PENDING, SENDING, SUPPRESSED, Message

NOW = datetime(2027, 3, 22, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "memory":
        from tests.fakes.memory_messages import MemoryMessageStore

        yield MemoryMessageStore()
        return
    request.getfixturevalue("aws")
    from chalicelib.adapters.dynamodb.message_store import DynamoMessageStore

    yield DynamoMessageStore()


def message(mid: str, due: datetime | None = NOW, status: str = PENDING, case_id: str = "case-1") -> Message:
    return Message(
        message_id=mid,
        case_id=case_id,
        kind="reminder",
        language="de",
        to="+4915112345678",
        phone_hash="hash-1",
        body=f"Erinnerung {mid}",
        segments=1,
        encoding="GSM-7",
        status=status,
        created_at=NOW - timedelta(hours=1),
        due_at=due,
        appointment_id="appt-1",
    )


def due_ids(store: Any, at: datetime) -> list[str]:
    return sorted(m.message_id for m in store.due(at, 1))


def test_an_intent_is_written_once(store: Any) -> None:
    assert store.add(message("a"), 1) is True
    assert store.add(message("a"), 1) is False
    assert store.get("a").status == PENDING


def test_the_due_index_holds_only_pending_messages_that_are_due(store: Any) -> None:
    store.add(message("now"), 1)
    store.add(message("later", NOW + timedelta(hours=1)), 1)
    store.add(message("refused", None, SUPPRESSED), 1)
    assert due_ids(store, NOW) == ["now"]
    assert due_ids(store, NOW + timedelta(hours=2)) == ["later", "now"]
    assert store.next_due_at(1) == NOW


def test_one_claim_wins_until_its_lease_runs_out(store: Any) -> None:
    store.add(message("a"), 1)
    first = store.claim("a", NOW, LEASE, "run-1")
    assert first is not None and first.status == SENDING and first.attempts == 1 and not first.needs_reconcile
    assert store.claim("a", NOW, LEASE, "run-2") is None
    assert due_ids(store, NOW + LEASE - timedelta(seconds=1)) == []
    again = store.claim("a", NOW + LEASE, LEASE, "run-2")
    assert again is not None and again.attempts == 2 and again.needs_reconcile  # the first run may have sent it


def test_a_message_not_yet_due_cannot_be_claimed(store: Any) -> None:
    store.add(message("a", NOW + timedelta(minutes=10)), 1)
    assert store.claim("a", NOW, LEASE, "run") is None


def test_only_the_lease_holder_records_the_outcome(store: Any) -> None:
    store.add(message("a"), 1)
    claimed = store.claim("a", NOW, LEASE, "run-1")
    stale = store.get("a")
    stale.lease_token = "run-0"
    assert store.mark_sent(stale, "SMx", "queued", NOW, reconciled=False) is False
    assert store.mark_sent(claimed, "SM1", "queued", NOW, reconciled=False) is True
    sent = store.get("a")
    assert (sent.status, sent.twilio_sid, sent.due_at) == ("queued", "SM1", None)
    assert due_ids(store, NOW + timedelta(days=1)) == []
    assert store.mark_sent(claimed, "SM1", "queued", NOW, reconciled=False) is False  # the lease is gone


def test_a_status_callback_that_overtakes_the_api_answer_is_kept(store: Any) -> None:
    store.add(message("a"), 1)
    claimed = store.claim("a", NOW, LEASE, "run-1")
    assert store.update_delivery("a", "delivered", None, "SM1", NOW) is True
    store.mark_sent(claimed, "SM1", "queued", NOW, reconciled=False)
    assert store.get("a").status == "delivered"
    assert store.update_delivery("a", "sent", None, "SM1", NOW) is False  # never backwards


def test_a_status_callback_naming_another_send_than_the_one_on_record_changes_nothing(store: Any) -> None:
    store.add(message("a"), 1)
    claimed = store.claim("a", NOW, LEASE, "run-1")
    store.mark_sent(claimed, "SM1", "queued", NOW, reconciled=False)
    assert store.update_delivery("a", "undelivered", "30003", "SM2", NOW) is False
    kept = store.get("a")
    assert (kept.status, kept.twilio_sid, kept.error_code) == ("queued", "SM1", None)
    assert store.update_delivery("a", "delivered", None, "SM1", NOW) is True


def test_reschedule_and_finish(store: Any) -> None:
    store.add(message("a"), 1)
    store.add(message("b"), 1)
    claimed = store.claim("a", NOW, LEASE, "run")
    later = NOW + timedelta(minutes=3)
    assert store.reschedule(claimed, later, NOW, "HTTP 503", "20503", False, 1) is True
    back = store.get("a")
    assert (back.status, back.due_at, back.error_code) == (PENDING, later, "20503")
    assert due_ids(store, later) == ["a", "b"]
    claimed_b = store.claim("b", NOW, LEASE, "run")
    assert store.finish(claimed_b, EXPIRED, NOW, "too late", None) is True
    assert store.get("b").status == EXPIRED and due_ids(store, later) == ["a"]


def test_only_pending_messages_can_be_cancelled(store: Any) -> None:
    store.add(message("a"), 1)
    store.add(message("b"), 1)
    store.claim("b", NOW, LEASE, "run")
    assert store.cancel_pending("a", NOW, "rescheduled") is True
    assert store.cancel_pending("b", NOW, "rescheduled") is False  # already on its way
    assert store.get("a").status == CANCELLED
    assert due_ids(store, NOW + timedelta(minutes=1)) == []  # b waits for its lease, a is gone


def test_a_message_whose_send_timed_out_is_not_cancelled_but_left_to_the_sweeps_reconciling(store: Any) -> None:
    """It may be at Twilio: calling it cancelled would hide a reminder the applicant got."""
    store.add(message("a"), 1)
    claimed = store.claim("a", NOW, LEASE, "run")
    later = NOW + timedelta(minutes=3)
    assert store.reschedule(claimed, later, NOW, "timed out", None, True, 1) is True  # outcome unknown
    assert store.cancel_pending("a", NOW, "rescheduled") is False
    assert (store.get("a").status, store.get("a").needs_reconcile) == (PENDING, True)
    assert due_ids(store, later) == ["a"]


def test_queries_by_case_appointment_phone_and_sid(store: Any) -> None:
    store.add(message("a"), 1)
    store.add(message("b", case_id="case-2"), 1)
    claimed = store.claim("a", NOW, LEASE, "run")
    store.mark_sent(claimed, "SMa", "queued", NOW, reconciled=False)
    assert [m.message_id for m in store.for_case("case-1")] == ["a"]
    assert [m.message_id for m in store.for_appointment("case-1", "appt-1")] == ["a"]
    assert store.for_appointment("case-1", "other") == []
    assert {m.message_id for m in store.recent_for_phone("hash-1")} == {"a", "b"}
    assert store.by_sid("SMa").message_id == "a"
    assert store.by_sid("SMnone") is None
    store.record_reply("a", "2", NOW)
    assert store.get("a").reply == "2"
    store.delete("a")
    assert store.get("a") is None and store.for_case("case-1") == []


def test_opt_out_changes_are_reported_once(store: Any) -> None:
    assert store.is_opted_out("h") is False
    assert store.set_opt_out("h", False, NOW, "START") is False  # nothing to undo
    assert store.set_opt_out("h", True, NOW, "STOP") is True
    assert store.set_opt_out("h", True, NOW, "STOP") is False
    assert store.is_opted_out("h") is True
    assert store.set_opt_out("h", False, NOW, "START") is True
    assert store.is_opted_out("h") is False


def test_limit_slots_roll_over_a_window(store: Any) -> None:
    window = timedelta(hours=24)
    hours = [NOW + timedelta(hours=i) for i in range(4)]
    taken = [store.take_limit_slot("h", "intake_received", at, 3, window, f"m{i}") for i, at in enumerate(hours)]
    assert taken == [True, True, True, False]
    assert store.take_limit_slot("other", "intake_received", NOW, 3, window, "m9") is True
    assert store.take_limit_slot("h", "intake_received", NOW + timedelta(hours=24), 3, window, "m4") is True
    assert store.take_limit_slot("h", "intake_received", NOW + timedelta(hours=24), 3, window, "m5") is False


def test_a_retried_send_keeps_its_slot(store: Any) -> None:
    window = timedelta(hours=24)
    assert [store.take_limit_slot("h", "intake_received", NOW, 2, window, m) for m in ("m1", "m2")] == [True, True]
    later = NOW + timedelta(minutes=5)
    assert store.take_limit_slot("h", "intake_received", later, 2, window, "m2") is True  # its own slot
    assert store.take_limit_slot("h", "intake_received", later, 2, window, "m3") is False


def test_webhook_deliveries_are_remembered(store: Any) -> None:
    keep = timedelta(days=7)
    assert store.first_webhook("inbound#SM1", NOW, keep) is True
    assert store.first_webhook("inbound#SM1", NOW, keep) is False
    assert store.webhook_reply("inbound#SM1") is None
    store.save_webhook_reply("inbound#SM1", "<Response/>")
    assert store.webhook_reply("inbound#SM1") == "<Response/>"
    store.forget_webhook("inbound#SM1")
    assert store.first_webhook("inbound#SM1", NOW, keep) is True
    assert store.first_webhook("inbound#SM2", NOW, keep) is True
    assert store.first_webhook("inbound#SM2", NOW + keep + timedelta(seconds=1), keep) is True  # expired
