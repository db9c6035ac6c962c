"""The case.routed notice with in-memory fakes: sent by the request that routed the case, by the
stream what that request could not send, the outbox for what neither could (after a grace period,
so notify_partners rarely races them), every notice once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from chalicelib.domain.cases import PartnerNotice
from chalicelib.errors import RetryableError
from chalicelib.services.notices import CLEAR_RETRY_PAUSES, SEND_NOW_GRACE, PartnerNoticeService
from tests.conftest import FrozenClock
from tests.fakes.stores import FakePublisher


class FakeOutbox:
    def __init__(self, *notices: PartnerNotice) -> None:
        self.due = {n.case_id: n for n in notices}

    def pending(self, due_before: str, page_size: int = 100) -> Iterator[PartnerNotice]:
        yield from sorted((n for n in self.due.values() if n.at < due_before), key=lambda n: n.at)

    def sent(self, notice: PartnerNotice) -> bool:
        if self.due.get(notice.case_id) != notice:
            return False  # routed anew meanwhile: that notice is still to be sent
        del self.due[notice.case_id]
        return True

    def still_due(self, notices: list[PartnerNotice]) -> list[PartnerNotice]:
        return [n for n in notices if self.due.get(n.case_id) == n]


A = PartnerNotice("c-1", "lmu-klinikum", "ABCD-EFGH", "2026-11-25T09:30:00.000000+00:00")
B = PartnerNotice("c-2", "via-bayern", "JKLM-NPQR", "2026-11-25T09:31:00.000000+00:00")


def later() -> FrozenClock:
    """A clock past both notices' grace period: what notify_partners sees a few minutes on."""
    return FrozenClock(datetime(2026, 11, 25, 10, 0, tzinfo=UTC))


def test_every_pending_notice_is_sent_once_and_cleared() -> None:
    outbox, publisher = FakeOutbox(A, B), FakePublisher()
    service = PartnerNoticeService(outbox, publisher, later())
    assert service.deliver() == {"sent": 2, "failed": 0, "complete": True}
    assert publisher.published == [A, B] and outbox.due == {}
    assert service.deliver()["sent"] == 0
    assert A.as_dict() == {
        "type": "case.routed",
        "case_id": "c-1",
        "reference": "ABCD-EFGH",
        "partner": "lmu-klinikum",
        "at": "2026-11-25T09:30:00.000000+00:00",
    }


def test_a_notice_sqs_refused_stays_for_the_next_run() -> None:
    outbox, publisher = FakeOutbox(A), FakePublisher(fail=True)
    service = PartnerNoticeService(outbox, publisher, later())
    assert service.deliver() == {"sent": 0, "failed": 1, "complete": True}
    assert outbox.due == {"c-1": A}
    publisher.fail = False
    assert service.deliver()["sent"] == 1 and publisher.published == [A]


def test_a_case_transferred_while_its_notice_was_sent_keeps_the_new_partners_notice() -> None:
    moved = PartnerNotice("c-1", "via-bayern", "ABCD-EFGH", "2026-11-25T09:40:00.000000+00:00")
    outbox = FakeOutbox(A)

    class TransferMeanwhile(FakePublisher):
        def publish(self, notice: PartnerNotice) -> None:
            super().publish(notice)
            outbox.due["c-1"] = moved

    publisher = TransferMeanwhile()
    PartnerNoticeService(outbox, publisher, later()).deliver()
    assert outbox.due == {"c-1": moved}
    PartnerNoticeService(outbox, publisher, later()).deliver()
    assert publisher.published == [A, moved] and outbox.due == {}


def test_the_stream_sends_its_notice_and_clears_it_so_no_tick_sends_it_again() -> None:
    outbox, publisher = FakeOutbox(A), FakePublisher()
    assert PartnerNoticeService(outbox, publisher, later()).send_now(A) is True
    assert publisher.published == [A] and outbox.due == {}
    assert PartnerNoticeService(outbox, publisher, later()).deliver()["sent"] == 0


def test_a_notice_the_stream_could_not_send_goes_out_with_the_first_tick_after_the_grace_period() -> None:
    outbox, publisher = FakeOutbox(A), FakePublisher(fail=True)
    clock = FrozenClock(datetime.fromisoformat(A.at))
    service = PartnerNoticeService(outbox, publisher, clock)
    assert service.send_now(A) is False and outbox.due == {"c-1": A}  # left marked, nothing raised
    publisher.fail = False
    clock.advance(seconds=SEND_NOW_GRACE.total_seconds() - 1)
    assert service.deliver()["sent"] == 0  # the stream may still be sending it: no race, no duplicate
    clock.advance(seconds=2)
    assert service.deliver()["sent"] == 1 and publisher.published == [A] and outbox.due == {}


def test_a_notice_sent_but_not_cleared_is_sent_again_at_least_once() -> None:
    class ClearFails(FakeOutbox):
        def sent(self, notice: PartnerNotice) -> bool:
            raise RuntimeError("DynamoDB unavailable")

    outbox, publisher = ClearFails(A), FakePublisher()
    assert PartnerNoticeService(outbox, publisher, later()).send_now(A) is True
    assert outbox.due == {"c-1": A}  # the tick will send it once more; consumers key on case_id and at
    assert SEND_NOW_GRACE >= timedelta(seconds=30)


class ThrottledClears(FakeOutbox):
    """DynamoDB throttles the first `throttled` clears (after botocore's own retries)."""

    def __init__(self, throttled: int, *notices: PartnerNotice) -> None:
        super().__init__(*notices)
        self.throttled, self.tries = throttled, 0

    def sent(self, notice: PartnerNotice) -> bool:
        self.tries += 1
        if self.tries <= self.throttled:
            raise RetryableError("throttled")
        return super().sent(notice)


def test_a_throttled_clear_is_tried_again_so_the_tick_does_not_send_the_notice_twice() -> None:
    outbox, publisher, pauses = ThrottledClears(len(CLEAR_RETRY_PAUSES), A), FakePublisher(), []
    service = PartnerNoticeService(outbox, publisher, later(), sleep=pauses.append)
    assert service.send_now(A) is True
    assert outbox.due == {} and pauses == list(CLEAR_RETRY_PAUSES)
    assert service.deliver()["sent"] == 0 and publisher.published == [A]
    assert sum(CLEAR_RETRY_PAUSES) < 1  # what a throttled stream batch waits at most for it


def test_a_clear_throttled_for_good_leaves_the_notice_to_the_tick() -> None:
    outbox, publisher, pauses = ThrottledClears(10, A), FakePublisher(), []
    service = PartnerNoticeService(outbox, publisher, later(), sleep=pauses.append)
    assert service.send_now(A) is True  # the partner was told: the batch goes on
    assert outbox.tries == len(CLEAR_RETRY_PAUSES) + 1 and outbox.due == {"c-1": A}


def test_the_streams_notices_are_sent_and_cleared_and_a_refused_one_is_left_for_notify_partners() -> None:
    outbox, publisher = FakeOutbox(A, B), FakePublisher()
    service = PartnerNoticeService(outbox, publisher, later())
    assert service.announce([A]) == {"sent": 1, "failed": 0, "already_sent": 0}
    assert publisher.published == [A] and outbox.due == {"c-2": B}
    publisher.fail = True
    assert service.announce([B]) == {"sent": 0, "failed": 1, "already_sent": 0}  # no exception: no resent batch
    assert outbox.due == {"c-2": B}


def test_the_stream_skips_what_the_request_already_sent_so_the_partner_hears_once() -> None:
    outbox, publisher = FakeOutbox(A, B), FakePublisher()
    service = PartnerNoticeService(outbox, publisher, later())
    assert service.send_now(A) is True  # the intake's request, right after its write
    assert service.announce([A, B]) == {"sent": 1, "failed": 0, "already_sent": 1}
    assert publisher.published == [A, B] and outbox.due == {}


def test_a_notice_routed_anew_since_is_not_sent_in_its_old_form() -> None:
    moved = PartnerNotice("c-1", "via-bayern", "ABCD-EFGH", "2026-11-25T09:45:00.000000+00:00")
    outbox, publisher = FakeOutbox(moved), FakePublisher()
    service = PartnerNoticeService(outbox, publisher, later())
    assert service.announce([A]) == {"sent": 0, "failed": 0, "already_sent": 1}
    assert publisher.published == [] and outbox.due == {"c-1": moved}


def test_when_the_stream_cannot_read_the_markers_it_sends_nothing_and_notify_partners_does() -> None:
    class Unreadable(FakeOutbox):
        def still_due(self, notices: list[PartnerNotice]) -> list[PartnerNotice]:
            raise RetryableError("throttled")

    outbox, publisher = Unreadable(A), FakePublisher()
    service = PartnerNoticeService(outbox, publisher, later())
    assert service.announce([A]) == {"sent": 0, "failed": 1, "already_sent": 0}
    assert publisher.published == []
    assert service.deliver()["sent"] == 1 and publisher.published == [A] and outbox.due == {}


def test_a_batch_fresher_than_the_settle_time_waits_so_the_requests_own_send_wins(monkeypatch) -> None:
    from chalicelib.services import notices

    monkeypatch.setattr(notices, "STREAM_SETTLE_SECONDS", 2.0)
    outbox, publisher, pauses = FakeOutbox(A), FakePublisher(), []
    service = PartnerNoticeService(outbox, publisher, later(), sleep=pauses.append, wall=lambda: 1000.5)
    assert service.announce([A], written_at=1000.0) == {"sent": 1, "failed": 0, "already_sent": 0}
    assert pauses == [1.5]  # until 2 s after the (rounded-down) record time
    assert service.announce([B], written_at=990.0)["sent"] == 0 and pauses == [1.5]  # old enough: no wait
    assert service.announce([], written_at=1000.0)["sent"] == 0 and pauses == [1.5]  # nothing to check


def test_the_newest_record_time_of_a_batch() -> None:
    from chalicelib.adapters.dynamodb.case_stream import newest_write

    records = [{"dynamodb": {"ApproximateCreationDateTime": t}} for t in (1000.0, 1002, 1001.0)]
    assert newest_write(records) == 1002
    assert newest_write([{"dynamodb": {}}, {}]) is None
