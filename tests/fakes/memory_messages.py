"""An in-memory MessageStore with DynamoDB's semantics: each call is atomic, conditions decide races.

For simulations too large for moto (whose index queries scan every item). The contract
test (tests/functional/test_send_due_store_contract.py) runs the same cases against this
and the DynamoDB store.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta

from chalicelib.domain.messages import CANCELLED, IN_INDEX, PENDING, SENDING, STATUS_RANK, Message


class MemoryMessageStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.messages: dict[str, Message] = {}
        self._rank: dict[str, int] = {}
        self.opt_outs: dict[str, bool] = {}
        self.slots: dict[str, datetime] = {}
        self.slot_holders: dict[str, str] = {}
        self.webhooks: dict[str, tuple[datetime, str | None]] = {}
        self.claims = 0

    def _put(self, message: Message, rank: int | None = None) -> Message:
        self.messages[message.message_id] = message
        self._rank[message.message_id] = STATUS_RANK.get(message.status, 0) if rank is None else rank
        return replace(message)

    def add(self, message: Message, shard_count: int) -> bool:
        with self._lock:
            if message.message_id in self.messages:
                return False
            stored = replace(message)
            if not (stored.status == PENDING and stored.due_at is not None):
                stored.due_at = None
            self._put(stored)
            return True

    def get(self, message_id: str) -> Message | None:
        with self._lock:
            found = self.messages.get(message_id)
            return replace(found) if found else None

    def due(self, now: datetime, shard_count: int, page_size: int = 100) -> list[Message]:
        with self._lock:
            found = [
                replace(m) for m in self.messages.values() if m.status in IN_INDEX and m.due_at and m.due_at <= now
            ]
        return sorted(found, key=lambda m: m.due_at or now)

    def next_due_at(self, shard_count: int) -> datetime | None:
        with self._lock:
            dues = [m.due_at for m in self.messages.values() if m.status in IN_INDEX and m.due_at]
        return min(dues) if dues else None

    def claim(self, message_id: str, now: datetime, lease: timedelta, token: str) -> Message | None:
        with self._lock:
            current = self.messages.get(message_id)
            if current is None or current.status not in IN_INDEX or not current.due_at or current.due_at > now:
                return None
            self.claims += 1
            abandoned = current.status == SENDING
            claimed = replace(
                current,
                status=SENDING,
                lease_token=token,
                due_at=now + lease,
                last_attempt_at=now,
                attempts=current.attempts + 1,
                updated_at=now,
                needs_reconcile=current.needs_reconcile or abandoned,
            )
            return self._put(claimed)

    def _held(self, message: Message) -> Message | None:
        current = self.messages.get(message.message_id)
        return current if current is not None and current.lease_token == message.lease_token else None

    def mark_sent(self, message: Message, sid: str, status: str, now: datetime, reconciled: bool) -> bool:
        with self._lock:
            current = self._held(message)
            if current is None:
                return False
            rank = STATUS_RANK.get(status, STATUS_RANK["sent"])
            keep = self._rank[message.message_id] >= rank
            updated = replace(
                current,
                status=current.status if keep else status,
                twilio_sid=sid,
                sent_at=now,
                due_at=None,
                lease_token=None,
                needs_reconcile=False,
                updated_at=now,
                reason="found at Twilio after an unanswered request" if reconciled else current.reason,
            )
            self._put(updated, self._rank[message.message_id] if keep else rank)
            return True

    def reschedule(
        self,
        message: Message,
        due_at: datetime,
        now: datetime,
        reason: str,
        code: str | None,
        needs_reconcile: bool,
        shard_count: int,
    ) -> bool:
        with self._lock:
            current = self._held(message)
            if current is None or current.status != SENDING:
                return False
            updated = replace(
                current,
                status=PENDING,
                due_at=due_at,
                lease_token=None,
                needs_reconcile=needs_reconcile,
                reason=reason,
                error_code=code,
                updated_at=now,
            )
            self._put(updated)
            return True

    def finish(self, message: Message, status: str, now: datetime, reason: str, code: str | None) -> bool:
        with self._lock:
            current = self._held(message)
            if current is None or current.status != SENDING:
                return False
            updated = replace(
                current,
                status=status,
                reason=reason,
                error_code=code or current.error_code,
                due_at=None,
                lease_token=None,
                needs_reconcile=False,
                updated_at=now,
            )
            self._put(updated, STATUS_RANK.get(status, 9))
            return True

    def cancel_pending(self, message_id: str, now: datetime, reason: str) -> bool:
        with self._lock:
            current = self.messages.get(message_id)
            if current is None or current.status != PENDING or current.needs_reconcile:
                return False
            self._put(replace(current, status=CANCELLED, reason=reason, due_at=None, updated_at=now), 9)
            return True

    def for_case(self, case_id: str) -> list[Message]:
        with self._lock:
            return sorted((replace(m) for m in self.messages.values() if m.case_id == case_id), key=_created)

    def delete(self, message_id: str) -> None:
        with self._lock:
            self.messages.pop(message_id, None)

    def for_appointment(self, case_id: str, appointment_id: str) -> list[Message]:
        return [m for m in self.for_case(case_id) if m.appointment_id == appointment_id]

    def recent_for_phone(self, phone_hash: str, limit: int = 20) -> list[Message]:
        with self._lock:
            found = [replace(m) for m in self.messages.values() if m.phone_hash == phone_hash]
        return sorted(found, key=_created, reverse=True)[:limit]

    def by_sid(self, sid: str) -> Message | None:
        with self._lock:
            return next((replace(m) for m in self.messages.values() if m.twilio_sid == sid), None)

    def update_delivery(self, message_id: str, status: str, code: str | None, sid: str, now: datetime) -> bool:
        with self._lock:
            current = self.messages.get(message_id)
            rank = STATUS_RANK[status]
            if current is None or self._rank[message_id] >= rank or current.twilio_sid not in (None, sid):
                return False
            updated = replace(
                current,
                status=status,
                twilio_sid=sid,
                due_at=None,
                lease_token=None,
                needs_reconcile=False,
                updated_at=now,
                error_code=code or current.error_code,
                reason=f"Twilio reported {status}" if code else current.reason,
            )
            self._put(updated, rank)
            return True

    def record_reply(self, message_id: str, reply: str, at: datetime) -> None:
        with self._lock:
            current = self.messages.get(message_id)
            if current is not None:
                self._put(replace(current, reply=reply, reply_at=at), self._rank[message_id])

    def is_opted_out(self, phone_hash: str) -> bool:
        with self._lock:
            return self.opt_outs.get(phone_hash, False)

    def set_opt_out(self, phone_hash: str, opted_out: bool, at: datetime, keyword: str) -> bool:
        with self._lock:
            known = phone_hash in self.opt_outs
            if (known and self.opt_outs[phone_hash] == opted_out) or (not known and not opted_out):
                return False
            self.opt_outs[phone_hash] = opted_out
            return True

    def take_limit_slot(
        self, phone_hash: str, kind: str, now: datetime, limit: int, window: timedelta, holder: str
    ) -> bool:
        with self._lock:
            for slot in range(limit):
                key = f"{kind}#{phone_hash}#{slot}"
                free = key not in self.slots or self.slots[key] <= now - window
                if free or self.slot_holders.get(key) == holder:
                    self.slots[key] = now
                    self.slot_holders[key] = holder
                    return True
            return False

    def first_webhook(self, key: str, now: datetime, keep: timedelta) -> bool:
        with self._lock:
            if key in self.webhooks and self.webhooks[key][0] >= now:
                return False
            self.webhooks[key] = (now + keep, None)
            return True

    def webhook_reply(self, key: str) -> str | None:
        with self._lock:
            return self.webhooks.get(key, (None, None))[1]

    def save_webhook_reply(self, key: str, reply: str) -> None:
        with self._lock:
            expires = self.webhooks[key][0]
            self.webhooks[key] = (expires, reply)

    def forget_webhook(self, key: str) -> None:
        with self._lock:
            self.webhooks.pop(key, None)


def _created(message: Message) -> tuple[datetime, datetime]:
    return (message.created_at, message.due_at or message.created_at)
