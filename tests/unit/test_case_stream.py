"""Which `case.routed` notices a batch of the cases table's stream asks for (announce_routed_cases)."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamodb.case_stream import routed_notices
from chalicelib.domain.cases import PartnerNotice

AT = "2026-11-26T09:30:00.000000+00:00"
LATER = "2026-11-26T10:15:00.000000+00:00"


def image(case_id: str, partner: str = "lmu-klinikum", notice_at: str | None = AT, **more: str) -> dict[str, Any]:
    attributes = {"case_id": case_id, "partner": partner, "reference": "K7P2-Q9XA", "status": "routed", **more}
    if notice_at is not None:
        attributes |= {"notice_key": "due", "notice_at": notice_at}
    return {name: {"S": value} for name, value in attributes.items()}


def record(new: dict[str, Any] | None, old: dict[str, Any] | None = None, case_id: str = "c-1") -> dict[str, Any]:
    change: dict[str, Any] = {"Keys": {"case_id": {"S": case_id}}, "SequenceNumber": "1"}
    if new is not None:
        change["NewImage"] = new
    if old is not None:
        change["OldImage"] = old
    name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    return {"eventName": name, "dynamodb": change}


def test_an_intake_asks_for_its_partners_notice() -> None:
    assert routed_notices([record(image("c-1"))]) == [PartnerNotice("c-1", "lmu-klinikum", "K7P2-Q9XA", AT)]


def test_a_change_that_keeps_the_marker_as_it_was_asks_for_nothing() -> None:
    claimed = record(image("c-1", status="claimed"), old=image("c-1"))
    assert routed_notices([claimed]) == []


def test_a_case_stored_without_a_marker_asks_for_nothing() -> None:
    assert routed_notices([record(image("c-1", notice_at=None))]) == []


def test_the_marker_cleared_or_the_case_erased_later_in_the_batch_takes_the_notice_back() -> None:
    cleared = record(image("c-1", notice_at=None), old=image("c-1"))
    assert routed_notices([record(image("c-1")), cleared]) == []
    deleted = record(None, old=image("c-1"))
    assert routed_notices([record(image("c-1")), deleted]) == []


def test_a_claim_after_the_intake_in_the_same_batch_keeps_the_notice() -> None:
    claimed = record(image("c-1", status="claimed"), old=image("c-1"))
    assert [n.case_id for n in routed_notices([record(image("c-1")), claimed])] == ["c-1"]


def test_a_transfer_asks_for_the_new_partners_notice_and_replaces_an_unsent_one() -> None:
    moved = record(image("c-1", partner="via-bayern", notice_at=LATER), old=image("c-1"))
    assert routed_notices([moved]) == [PartnerNotice("c-1", "via-bayern", "K7P2-Q9XA", LATER)]
    both = routed_notices([record(image("c-1")), record(image("c-2", notice_at=AT), case_id="c-2"), moved])
    assert [(n.case_id, n.partner) for n in both] == [("c-2", "lmu-klinikum"), ("c-1", "via-bayern")]


def test_records_of_other_tables_or_without_keys_are_ignored() -> None:
    assert routed_notices([{"eventName": "INSERT", "dynamodb": {"Keys": {"partner": {"S": "x"}}}}, {}]) == []
