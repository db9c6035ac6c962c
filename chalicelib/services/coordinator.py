"""Network coordinators: every partner's queue in one view (overdue first) and the SLA marking.

The cross-partner view asks each partner's queue index once per page (five partners: five
Queries) and carries one cursor per partner inside its own opaque cursor.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain import sla
from chalicelib.domain.cases import CLAIMED, CLOSED, ROUTED, SCHEDULED, TRANSFERRED, HistoryEntry, QueueEntry, iso
from chalicelib.domain.staff import StaffIdentity
from chalicelib.errors import FieldError, ForbiddenError, ValidationError
from chalicelib.ports import Directory, QueueStore
from chalicelib.services.staff import StaffService, choice, page_limit, query_params

VIEW_STATUSES = (ROUTED, CLAIMED, SCHEDULED, CLOSED, TRANSFERRED)
SLA_PAGE = 100


def _bad_cursor() -> ValidationError:
    return ValidationError(
        [FieldError("cursor", "invalid_cursor", "cursor is not one this API issued; start again without it.")]
    )


def _encode(cursors: dict[str, str]) -> str | None:
    if not cursors:
        return None
    return base64.urlsafe_b64encode(json.dumps(cursors, separators=(",", ":")).encode()).rstrip(b"=").decode()


def _decode(cursor: str, partners: list[str]) -> dict[str, str]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise _bad_cursor() from error
    if not isinstance(plain, dict) or not plain or not set(plain) <= set(partners):
        raise _bad_cursor()
    if not all(isinstance(v, str) for v in plain.values()):
        raise _bad_cursor()
    return plain


@dataclass
class CoordinatorService:
    store: QueueStore
    directory: Directory
    staff: StaffService

    def cases(self, who: StaffIdentity, params: Mapping[str, str] | None) -> dict[str, Any]:
        if not who.is_coordinator:
            raise ForbiddenError("Only network coordinators can see every partner's cases.")
        given = query_params(params, ("partner", "status", "limit", "cursor"))
        known = self.directory.partners()
        status = choice(given, "status", VIEW_STATUSES, ROUTED) or ROUTED
        asked = given.get("partner")
        if asked is not None and asked not in known:
            raise ValidationError([FieldError("partner", "unknown_partner", f"{asked!r} is not a known partner.")])
        partners = [asked] if asked else sorted(known)
        limit = page_limit(given, 50)
        # First page: every partner from its start ("" in a cursor); later pages: only partners with more.
        cursor = given.get("cursor")
        pending: dict[str, str] = dict(_decode(cursor, partners)) if cursor else dict.fromkeys(partners, "")
        listings: dict[str, list[QueueEntry]] = {}
        more: dict[str, str | None] = {}
        for partner in sorted(pending):
            listings[partner], more[partner] = self.store.queue_page(partner, status, limit, pending[partner] or None)
        # Overdue first, then oldest, always taken from the head of a partner's listing: what a page
        # shows of each partner is the start of its listing, and the next page goes on right after it.
        heads = [[(partner, entry) for entry in entries] for partner, entries in listings.items()]
        merged = heapq.merge(*heads, key=lambda item: (not item[1].overdue, item[1].queued_at))
        shown = list(itertools.islice(merged, limit))
        following: dict[str, str] = {}
        for partner, entries in listings.items():
            mine = [entry for p, entry in shown if p == partner]
            if len(mine) < len(entries):  # cut short by the page: on after its last row shown
                following[partner] = self.store.cursor_after(partner, status, mine[-1]) if mine else pending[partner]
            elif more[partner] is not None:  # all shown, and the store has more
                following[partner] = more[partner]
        rows = [self.staff.listed(entry) | {"partner_name": known[partner].name} for partner, entry in shown]
        return {"status": status, "partners": partners, "cases": rows, "next_cursor": _encode(following)}

    def mark_overdue_cases(self, now: datetime) -> dict[str, int]:
        """Flag routed cases past their partner's SLA (the case is its own queue entry). Idempotent:
        flagged entries are filtered out of the query and the write is conditional."""
        checked = marked = 0
        for partner in self.directory.partners().values():
            days = partner.sla_working_days
            until = iso(sla.earliest_overdue_queued_at(now, days))
            cursor: str | None = None
            while True:
                entries, cursor = self.store.queue_page(
                    partner.id, ROUTED, SLA_PAGE, cursor, queued_until=until, only_unflagged=True
                )
                reached_fresh = False
                for entry in entries:
                    checked += 1
                    due = sla.due_at(datetime.fromisoformat(entry.queued_at), days)
                    if now < due:
                        reached_fresh = True  # oldest first: every later entry is due later still
                        break
                    detail = {"due_at": iso(due), "sla_working_days": days}
                    note = HistoryEntry(iso(now), "overdue", partner.id, None, detail)
                    marked += self.store.mark_overdue(entry, note)
                if reached_fresh or cursor is None:
                    break
        return {"checked": checked, "marked": marked}
