"""The cases table's stream (NEW_AND_OLD_IMAGES): which `case.routed` notices a batch of changes asks for.

The intake and a transfer write the notice marker (notice_outbox.py) with the case, then send the
notice and clear the marker themselves; the stream hands every such write to `announce_routed_cases`,
which sends what is still marked (what SQS refused to the request). Records of one item arrive in
the order they were written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.adapters.dynamodb.models import CaseModel
from chalicelib.adapters.dynamodb.notice_outbox import NOTICE_DUE
from chalicelib.domain.cases import PartnerNotice

CASE_ID = CaseModel.case_id.attr_name
NOTICE_KEY = CaseModel.notice_key.attr_name
NOTICE_AT = CaseModel.notice_at.attr_name
PARTNER = CaseModel.partner.attr_name
REFERENCE = CaseModel.reference.attr_name


def _text(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    return value.get("S") if isinstance(value, Mapping) else None


def _due_at(image: Mapping[str, Any]) -> str | None:
    return _text(image, NOTICE_AT) if _text(image, NOTICE_KEY) == NOTICE_DUE else None


def routed_notices(records: Iterable[Mapping[str, Any]]) -> list[PartnerNotice]:
    """The notices this batch marked and left marked, in the order they were first marked.

    A change that sets a new `notice_at` (an intake, a transfer) asks for a notice; a later change
    in the batch that removes the marker (sent meanwhile, the case erased or deleted) takes it
    back, and one that keeps the marker as it was (a claim before the notice went out) changes
    nothing. Whatever is asked for but not sent stays marked for notify_partners.
    """
    asked: dict[str, PartnerNotice] = {}
    for record in records:
        change = record.get("dynamodb") or {}
        case_id = _text(change.get("Keys") or {}, CASE_ID)
        if case_id is None:
            continue
        new, old = change.get("NewImage") or {}, change.get("OldImage") or {}
        at = _due_at(new)
        if at is None:
            asked.pop(case_id, None)
        elif at != _due_at(old):
            asked.pop(case_id, None)  # re-marked (a second transfer): the newest notice, at its place in order
            asked[case_id] = PartnerNotice(case_id, _text(new, PARTNER) or "", _text(new, REFERENCE) or "", at)
    return list(asked.values())


def newest_write(records: Iterable[Mapping[str, Any]]) -> float | None:
    """The newest record's time (epoch seconds, as Lambda hands it on), None if no record has one."""
    times = [
        created
        for record in records
        if isinstance(created := (record.get("dynamodb") or {}).get("ApproximateCreationDateTime"), int | float)
    ]
    return max(times, default=None)
