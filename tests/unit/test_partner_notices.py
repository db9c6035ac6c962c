"""notify_partners with in-memory fakes: every notice sent once, a failure retried, a newer one kept."""

from __future__ import annotations

from collections.abc import Iterator

from chalicelib.domain.cases import PartnerNotice
from chalicelib.services.notices import PartnerNoticeService
from tests.fakes.stores import FakePublisher


class FakeOutbox:
    def __init__(self, *notices: PartnerNotice) -> None:
        self.due = {n.case_id: n for n in notices}

    def pending(self, page_size: int = 100) -> Iterator[PartnerNotice]:
        yield from sorted(self.due.values(), key=lambda n: n.at)

    def sent(self, notice: PartnerNotice) -> bool:
        if self.due.get(notice.case_id) != notice:
            return False  # routed anew meanwhile: that notice is still to be sent
        del self.due[notice.case_id]
        return True


A = PartnerNotice("c-1", "lmu-klinikum", "ABCD-EFGH", "2026-11-25T09:30:00.000000+00:00")
B = PartnerNotice("c-2", "via-bayern", "JKLM-NPQR", "2026-11-25T09:31:00.000000+00:00")


def test_every_pending_notice_is_sent_once_and_cleared() -> None:
    outbox, publisher = FakeOutbox(A, B), FakePublisher()
    service = PartnerNoticeService(outbox, publisher)
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
    service = PartnerNoticeService(outbox, publisher)
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
    PartnerNoticeService(outbox, publisher).deliver()
    assert outbox.due == {"c-1": moved}
    PartnerNoticeService(outbox, publisher).deliver()
    assert publisher.published == [A, moved] and outbox.due == {}
