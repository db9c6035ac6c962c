"""Messages, opt-outs, abuse-limit slots and webhook dedupe in DynamoDB.

Every state change is one conditional write: a claim, a send result or a cancel that
lost a race returns None/False instead of overwriting someone else's work.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.adapters.dynamodb.errors import condition_failed, storage_errors_retryable
from chalicelib.adapters.dynamodb.models import MessageModel, SmsLimitModel, SmsOptOutModel, SmsWebhookModel
from chalicelib.domain.cases import iso
from chalicelib.domain.messages import (
    CANCELLED,
    DELIVERED,
    FAILED,
    PENDING,
    SENDING,
    STATUS_RANK,
    UNDELIVERED,
    Message,
)

log = logging.getLogger(__name__)
# Case statistics (issue 7) counted on the transition that happens exactly once per message.
COUNTED = {DELIVERED: "sms_delivered", FAILED: "sms_failed", UNDELIVERED: "sms_failed"}

DEFAULT_RETENTION = timedelta(days=180)


def shard_of(case_id: str, shard_count: int) -> str:
    """A case's messages share a shard: the sweep reads each shard in due order, so the applicant
    gets them in the order they were meant to go (shards are read one after the other)."""
    number = int(hashlib.sha256(case_id.encode()).hexdigest()[:8], 16) % max(1, shard_count)
    return f"due#{number}"


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def to_message(item: MessageModel) -> Message:
    return Message(
        message_id=item.message_id,
        case_id=item.case_id,
        kind=item.kind,
        language=item.language,
        to=item.to,
        phone_hash=item.phone_hash,
        body=item.body,
        segments=int(item.segments or 0),
        encoding=item.encoding,
        status=item.status,
        created_at=datetime.fromisoformat(item.created_at),
        due_at=_when(item.due_at),
        partner_id=item.partner_id,
        appointment_id=item.appointment_id,
        send_before=_when(item.send_before),
        place=item.place,
        attempts=int(item.attempts or 0),
        needs_reconcile=bool(item.needs_reconcile),
        last_attempt_at=_when(item.last_attempt_at),
        lease_token=item.lease_token,
        twilio_sid=item.twilio_sid,
        error_code=item.error_code,
        reason=item.reason,
        sent_at=_when(item.sent_at),
        updated_at=_when(item.updated_at),
        reply=item.reply,
        reply_at=_when(item.reply_at),
        direction=item.direction,
        attention=item.attention,
        provider_sid=item.provider_sid,
    )


@storage_errors_retryable
class DynamoMessageStore:
    def __init__(
        self, retention: timedelta = DEFAULT_RETENTION, count: Callable[[str, str], object] | None = None
    ) -> None:
        self._retention = retention
        self._count = count  # (case_id, counter): the case's SMS statistics, which outlive the messages

    def _counted(self, case_id: str, counter: str | None) -> None:
        if self._count is None or counter is None:
            return
        try:
            self._count(case_id, counter)
        except Exception:  # a statistic must never undo or block a send
            log.exception("sms statistic not counted", extra={"case_id": case_id, "counter": counter})

    # --- messages ---------------------------------------------------------------------

    def add(self, message: Message, shard_count: int) -> bool:
        in_index = message.status == PENDING and message.due_at is not None
        item = MessageModel(
            message.message_id,
            case_id=message.case_id,
            kind=message.kind,
            direction=message.direction,
            language=message.language,
            to=message.to,
            phone_hash=message.phone_hash,
            body=message.body,
            segments=message.segments,
            encoding=message.encoding,
            status=message.status,
            status_rank=STATUS_RANK.get(message.status, 0),
            created_at=iso(message.created_at),
            updated_at=iso(message.created_at),
            due_shard=shard_of(message.case_id, shard_count) if in_index else None,
            due_at=iso(message.due_at) if in_index and message.due_at else None,
            partner_id=message.partner_id,
            appointment_id=message.appointment_id,
            send_before=iso(message.send_before) if message.send_before else None,
            place=message.place,
            reason=message.reason,
            attention=message.attention,
            reply=message.reply,
            provider_sid=message.provider_sid,
            expires_at=message.created_at + self._retention,
        )
        try:
            item.save(condition=MessageModel.message_id.does_not_exist())
        except PutError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def get(self, message_id: str) -> Message | None:
        try:
            return to_message(MessageModel.get(message_id, consistent_read=True))
        except DoesNotExist:
            return None

    def due(self, now: datetime, shard_count: int, page_size: int = 100) -> Iterator[Message]:
        """Pending messages due by `now` and sending ones whose lease ran out; pages lazily."""
        for number in range(max(1, shard_count)):
            query = MessageModel.due_index.query(f"due#{number}", MessageModel.due_at <= iso(now), page_size=page_size)
            for item in query:
                yield to_message(item)

    def next_due_at(self, shard_count: int) -> datetime | None:
        found = []
        for number in range(max(1, shard_count)):
            for item in MessageModel.due_index.query(f"due#{number}", limit=1):
                found.append(datetime.fromisoformat(item.due_at))
        return min(found) if found else None

    def _update(self, message_id: str, actions: list[Any], condition: Condition) -> Message | None:
        item = MessageModel(message_id)
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as error:
            if condition_failed(error):
                return None
            raise
        return to_message(item)

    def claim(self, message_id: str, now: datetime, lease: timedelta, token: str) -> Message | None:
        actions = [
            MessageModel.status.set(SENDING),
            MessageModel.status_rank.set(STATUS_RANK[SENDING]),
            MessageModel.lease_token.set(token),
            MessageModel.due_at.set(iso(now + lease)),  # an abandoned claim becomes due again
            MessageModel.last_attempt_at.set(iso(now)),
            MessageModel.attempts.add(1),
            MessageModel.updated_at.set(iso(now)),
        ]
        due = MessageModel.due_at <= iso(now)
        claimed = self._update(message_id, actions, (MessageModel.status == PENDING) & due)
        if claimed is not None:
            return claimed
        # A sweeper died (or timed out) holding the lease: it may have reached Twilio, so look first.
        abandoned = (MessageModel.status == SENDING) & due
        return self._update(message_id, [*actions, MessageModel.needs_reconcile.set(True)], abandoned)

    def _leave_index(self, now: datetime) -> list[Any]:
        return [
            MessageModel.due_shard.remove(),
            MessageModel.due_at.remove(),
            MessageModel.lease_token.remove(),
            MessageModel.needs_reconcile.set(False),
            MessageModel.updated_at.set(iso(now)),
        ]

    def mark_sent(self, message: Message, sid: str, status: str, now: datetime, reconciled: bool) -> bool:
        held = MessageModel.lease_token == (message.lease_token or "")
        common = [
            *self._leave_index(now),
            MessageModel.twilio_sid.set(sid),
            MessageModel.sent_at.set(iso(now)),
            MessageModel.reason.set("found at Twilio after an unanswered request") if reconciled else None,
        ]
        common = [action for action in common if action is not None]
        rank = STATUS_RANK.get(status, STATUS_RANK["sent"])
        status_actions = [MessageModel.status.set(status), MessageModel.status_rank.set(rank)]
        if self._update(message.message_id, [*common, *status_actions], held & (MessageModel.status_rank < rank)):
            self._counted(message.case_id, "sms_sent")
            return True
        # Twilio's status callback can overtake its own API answer: keep the later status it set.
        if self._update(message.message_id, common, held) is None:
            return False
        self._counted(message.case_id, "sms_sent")
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
        actions = [
            MessageModel.status.set(PENDING),
            MessageModel.status_rank.set(STATUS_RANK[PENDING]),
            MessageModel.due_shard.set(shard_of(message.case_id, shard_count)),
            MessageModel.due_at.set(iso(due_at)),
            MessageModel.lease_token.remove(),
            MessageModel.needs_reconcile.set(needs_reconcile),
            MessageModel.reason.set(reason),
            MessageModel.error_code.set(code) if code else MessageModel.error_code.remove(),
            MessageModel.updated_at.set(iso(now)),
        ]
        condition = (MessageModel.lease_token == (message.lease_token or "")) & (MessageModel.status == SENDING)
        return self._update(message.message_id, actions, condition) is not None

    def finish(self, message: Message, status: str, now: datetime, reason: str, code: str | None) -> bool:
        actions = [
            *self._leave_index(now),
            MessageModel.status.set(status),
            MessageModel.status_rank.set(STATUS_RANK.get(status, 9)),
            MessageModel.reason.set(reason),
        ]
        if code:
            actions.append(MessageModel.error_code.set(code))
        condition = (MessageModel.lease_token == (message.lease_token or "")) & (MessageModel.status == SENDING)
        if self._update(message.message_id, actions, condition) is None:
            return False
        self._counted(message.case_id, COUNTED.get(status))
        return True

    def cancel_pending(self, message_id: str, now: datetime, reason: str) -> bool:
        actions = [
            *self._leave_index(now),
            MessageModel.status.set(CANCELLED),
            MessageModel.status_rank.set(9),
            MessageModel.reason.set(reason),
        ]
        # Not one whose last send timed out: it may be at Twilio, and the sweep reconciles it first
        # (then cancels it there if its appointment no longer stands), so the record stays true.
        certain = MessageModel.needs_reconcile.does_not_exist() | (MessageModel.needs_reconcile == False)  # noqa: E712
        return self._update(message_id, actions, (MessageModel.status == PENDING) & certain) is not None

    def for_case(self, case_id: str) -> list[Message]:
        return [to_message(item) for item in MessageModel.case_index.query(case_id)]

    def delete(self, message_id: str) -> None:
        MessageModel(message_id).delete()

    def for_appointment(self, case_id: str, appointment_id: str) -> list[Message]:
        query = MessageModel.case_index.query(case_id, filter_condition=MessageModel.appointment_id == appointment_id)
        return [to_message(item) for item in query]

    def recent_for_phone(self, phone_hash: str, limit: int = 20) -> list[Message]:
        query = MessageModel.phone_index.query(phone_hash, scan_index_forward=False, limit=limit)
        return [to_message(item) for item in query]

    def by_sid(self, sid: str) -> Message | None:
        for item in MessageModel.sid_index.query(sid, limit=1):
            return self.get(item.message_id)
        return None

    def update_delivery(self, message_id: str, status: str, code: str | None, sid: str, now: datetime) -> bool:
        """A status callback: only ever forward (callbacks arrive out of order), and out of the due index."""
        rank = STATUS_RANK[status]
        actions = [
            *self._leave_index(now),
            MessageModel.status.set(status),
            MessageModel.status_rank.set(rank),
            MessageModel.twilio_sid.set(sid),
        ]
        if code:
            actions += [MessageModel.error_code.set(code), MessageModel.reason.set(f"Twilio reported {status}")]
        # A callback that overtakes the API's answer finds no SID yet; one naming another SID is about
        # another send of the same message, not the one on record, and would report its outcome here.
        same_send = MessageModel.twilio_sid.does_not_exist() | (MessageModel.twilio_sid == sid)
        condition = MessageModel.message_id.exists() & (MessageModel.status_rank < rank) & same_send
        updated = self._update(message_id, actions, condition)
        if updated is None:
            return False
        self._counted(updated.case_id, COUNTED.get(status))
        return True

    def record_reply(self, message_id: str, reply: str, at: datetime) -> None:
        actions = [MessageModel.reply.set(reply), MessageModel.reply_at.set(iso(at))]
        self._update(message_id, actions, MessageModel.message_id.exists())

    # --- opt-outs, limits, webhook dedupe -----------------------------------------------

    def is_opted_out(self, phone_hash: str) -> bool:
        try:
            return bool(SmsOptOutModel.get(phone_hash, consistent_read=True).opted_out)
        except DoesNotExist:
            return False

    def set_opt_out(self, phone_hash: str, opted_out: bool, at: datetime, keyword: str) -> bool:
        item = SmsOptOutModel(phone_hash, opted_out=opted_out, changed_at=iso(at), keyword=keyword)
        # Explicit about a missing item: a START from a number that never opted out changes nothing.
        if opted_out:
            condition = SmsOptOutModel.phone_hash.does_not_exist() | (SmsOptOutModel.opted_out == False)  # noqa: E712
        else:
            condition = SmsOptOutModel.phone_hash.exists() & (SmsOptOutModel.opted_out == True)  # noqa: E712
        try:
            item.save(condition=condition)
        except PutError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def take_limit_slot(
        self, phone_hash: str, kind: str, now: datetime, limit: int, window: timedelta, holder: str
    ) -> bool:
        """Each slot is tried with one conditional put: free, or already this holder's."""
        free = (SmsLimitModel.taken_at <= iso(now - window)) | (SmsLimitModel.holder == holder)
        for slot in range(limit):
            key = f"{kind}#{phone_hash}#{slot}"
            item = SmsLimitModel(key, taken_at=iso(now), holder=holder, expires_at=now + window)
            try:
                item.save(condition=SmsLimitModel.key.does_not_exist() | free)
            except PutError as error:
                if condition_failed(error):
                    continue
                raise
            return True
        return False

    def first_webhook(self, key: str, now: datetime, keep: timedelta) -> bool:
        item = SmsWebhookModel(key, expires_at=now + keep)
        # TTL deletes late; an expired record must not swallow a new delivery.
        condition = SmsWebhookModel.key.does_not_exist() | (SmsWebhookModel.expires_at < now)
        try:
            item.save(condition=condition)
        except PutError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def webhook_reply(self, key: str) -> str | None:
        try:
            return SmsWebhookModel.get(key, consistent_read=True).reply
        except DoesNotExist:
            return None

    def save_webhook_reply(self, key: str, reply: str) -> None:
        SmsWebhookModel(key).update(actions=[SmsWebhookModel.reply.set(reply)])

    def forget_webhook(self, key: str) -> None:
        SmsWebhookModel(key).delete()
