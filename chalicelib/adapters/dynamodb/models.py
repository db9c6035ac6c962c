"""Every PynamoDB model of the system, in one place.

Table names and the endpoint come from stage settings at run time (`bind`), never from
the class body, because chalice.test.Client sets the environment only inside a handler.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.constants import STREAM_NEW_AND_OLD_IMAGE as NEW_AND_OLD_IMAGES
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.config import Settings


class _Meta:
    region = "eu-central-1"
    billing_mode = "PAY_PER_REQUEST"


class ReferenceIndex(GlobalSecondaryIndex["CaseModel"]):
    """Staff look a case up by the code the applicant reads out on the phone."""

    class Meta:
        index_name = "reference-index"
        projection = KeysOnlyProjection()

    reference = UnicodeAttribute(hash_key=True)


# The non-personal facts coordinator metrics read (issue 7): projected into the stats index, kept on erasure.
CASE_STAT_ATTRIBUTES = [
    "partner",
    "routed_partner",
    "rule",
    "status",
    "claimed_at",
    "claimed_partner",
    "first_appointment_at",
    "appointments",
    "attended",
    "no_shows",
    "was_overdue",
    "closed_at",
    "outcome",
    "sms_sent",
    "sms_delivered",
    "sms_failed",
    "opted_out_at",
    "erased_at",
]


class CaseStatsIndex(GlobalSecondaryIndex["CaseModel"]):
    """Metrics: the cases created in a month (UTC), by creation time, with only the statistics projected."""

    class Meta:
        index_name = "stats-index"
        projection = IncludeProjection(CASE_STAT_ATTRIBUTES)

    stats_month = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class CaseRetentionIndex(GlobalSecondaryIndex["CaseModel"]):
    """Sparse: cases whose retention clock runs ("unclaimed" since intake, "inactive" since the last step of a
    case claimed once, "closed" since closing)."""

    class Meta:
        index_name = "retention-index"
        projection = KeysOnlyProjection()

    retention_key = UnicodeAttribute(hash_key=True)
    retention_at = UnicodeAttribute(range_key=True)


class CasePhoneIndex(GlobalSecondaryIndex["CaseModel"]):
    """Sparse: a case by the keyed hash of its phone number (an SMS STOP reaches every case of it)."""

    class Meta:
        index_name = "phone-index"
        projection = KeysOnlyProjection()

    phone_hash = UnicodeAttribute(hash_key=True)


# What a queue page shows (domain QueueEntry): no personal data is projected into the queue index.
QUEUE_ATTRIBUTES = [
    "partner",
    "reference",
    "status",
    "language",
    "profession_group",
    "goals",
    "rule",
    "claimed_by",
    "claimed_by_name",
    "overdue",
    "attention_at",
    "attention_seen_through",
]


class CaseQueueIndex(GlobalSecondaryIndex["CaseModel"]):
    """A partner's queue for one status, oldest first: one query per page whatever the table size.

    Sparse: only cases with `partner_status` ("<partner>#<queue status>") are in it, so the case
    item is its own queue entry and moves between queues in the same write that changes it.
    """

    class Meta:
        index_name = "partner-status-index"
        projection = IncludeProjection(QUEUE_ATTRIBUTES)

    partner_status = UnicodeAttribute(hash_key=True)
    queued_at = UnicodeAttribute(range_key=True)


class CaseReplayIndex(GlobalSecondaryIndex["CaseModel"]):
    """Sparse: cases still holding the replay copy of their first answer, by when it expires, so
    `enforce_retention` removes it (a TTL would delete the whole case)."""

    class Meta:
        index_name = "replay-index"
        projection = KeysOnlyProjection()

    replay_key = UnicodeAttribute(hash_key=True)
    idempotent_until = UTCDateTimeAttribute(range_key=True)


class CaseNoticeIndex(GlobalSecondaryIndex["CaseModel"]):
    """Sparse outbox: cases whose partner has not been sent `case.routed` yet (notify_partners)."""

    class Meta:
        index_name = "notice-index"
        projection = IncludeProjection(["partner", "reference"])

    notice_key = UnicodeAttribute(hash_key=True)
    notice_at = UnicodeAttribute(range_key=True)


class CaseConfirmIndex(GlobalSecondaryIndex["CaseModel"]):
    """Sparse outbox: new cases whose applicant is still to be sent `intake_received` (planned by
    send_due_messages, so an intake stays one write)."""

    class Meta:
        index_name = "confirm-index"
        projection = KeysOnlyProjection()

    confirm_key = UnicodeAttribute(hash_key=True)
    confirm_at = UnicodeAttribute(range_key=True)


class CaseModel(Model):
    """A case; also its queue entry (queue index) and the idempotency record of its submission."""

    class Meta(_Meta):
        table_name = "cases"
        # Read by announce_routed_cases (case_stream.py): the notice marker's old and new value.
        stream_view_type = NEW_AND_OLD_IMAGES

    case_id = UnicodeAttribute(hash_key=True)
    reference = UnicodeAttribute()
    partner = UnicodeAttribute()
    status = UnicodeAttribute()
    rule = UnicodeAttribute()
    routing_reason = UnicodeAttribute()
    language = UnicodeAttribute()
    intake = JSONAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    queued_at = UnicodeAttribute()
    claimed_by = UnicodeAttribute(null=True)
    claimed_by_name = UnicodeAttribute(null=True)
    overdue = BooleanAttribute(default=False)
    # "Please check" for the queue row: when the newest flag was raised, and the newest flag a staff
    # write had seen when it left none open (domain/appointments.py open_attention decides that).
    attention_at = UnicodeAttribute(null=True)
    attention_seen_through = UnicodeAttribute(null=True)
    # A DynamoDB list (not JSON text) so that staff actions append with list_append in their update.
    history = ListAttribute(default=list)
    consent = JSONAttribute(default=dict)
    status_secret_hash = UnicodeAttribute(null=True)
    idempotency_key = UnicodeAttribute(null=True)
    erased_at = UnicodeAttribute(null=True)
    reference_index = ReferenceIndex()
    # The queue entry (issue 3): removed on erasure, which takes the case out of every queue.
    partner_status = UnicodeAttribute(null=True)
    profession_group = UnicodeAttribute(null=True)
    goals = ListAttribute(of=UnicodeAttribute, null=True)
    queue_index = CaseQueueIndex()
    # The idempotency record (issue 2): the first answer, replayed to a repeat until `idempotent_until`.
    request_hash = UnicodeAttribute(null=True)
    idempotent_response = JSONAttribute(null=True)
    idempotent_until = UTCDateTimeAttribute(null=True)
    replay_key = UnicodeAttribute(null=True)  # REPLAYABLE while the above are kept
    replay_index = CaseReplayIndex()
    # The partner's `case.routed` notice, written with the case; sent from the stream (announce_routed_cases).
    notice_key = UnicodeAttribute(null=True)
    notice_at = UnicodeAttribute(null=True)
    notice_index = CaseNoticeIndex()
    # The applicant's intake_received SMS, still to be planned (consent given); removed by a transfer.
    confirm_key = UnicodeAttribute(null=True)
    confirm_at = UnicodeAttribute(null=True)
    confirm_index = CaseConfirmIndex()
    # Statistics (issue 7; chalicelib/adapters/dynamodb/case_facts.py): no personal data, survive erasure.
    stats_month = UnicodeAttribute(null=True)
    routed_partner = UnicodeAttribute(null=True)
    claimed_at = UnicodeAttribute(null=True)
    claimed_partner = UnicodeAttribute(null=True)  # whose staff claimed it first (time to claim is theirs)
    first_appointment_at = UnicodeAttribute(null=True)
    appointments = NumberAttribute(null=True)
    attended = NumberAttribute(null=True)
    no_shows = NumberAttribute(null=True)
    was_overdue = BooleanAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    outcome = UnicodeAttribute(null=True)
    sms_sent = NumberAttribute(null=True)
    sms_delivered = NumberAttribute(null=True)
    sms_failed = NumberAttribute(null=True)
    opted_out_at = UnicodeAttribute(null=True)
    stats_index = CaseStatsIndex()
    # Retention (issue 7): removed on erasure, so erased cases leave these indexes.
    phone_hash = UnicodeAttribute(null=True)
    retention_key = UnicodeAttribute(null=True)
    retention_at = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)  # late backstop only: enforce_retention erases long before
    retention_index = CaseRetentionIndex()
    phone_index = CasePhoneIndex()


class TransferredIndex(GlobalSecondaryIndex["TransferredEntryModel"]):
    """What a partner transferred away ("<partner>#transferred"), oldest first."""

    class Meta:
        index_name = "partner-status-index"
        projection = AllProjection()

    partner_status = UnicodeAttribute(hash_key=True)
    queued_at = UnicodeAttribute(range_key=True)


class TransferredEntryModel(Model):
    """The trace a transfer leaves in the queue of the partner the case left (no personal data)."""

    class Meta(_Meta):
        table_name = "transferred"

    partner = UnicodeAttribute(hash_key=True)
    case_id = UnicodeAttribute(range_key=True)
    partner_status = UnicodeAttribute()
    status = UnicodeAttribute()
    queued_at = UnicodeAttribute()
    reference = UnicodeAttribute()
    language = UnicodeAttribute()
    profession_group = UnicodeAttribute()
    goals = ListAttribute(of=UnicodeAttribute, default=list)
    rule = UnicodeAttribute()
    claimed_by = UnicodeAttribute(null=True)
    claimed_by_name = UnicodeAttribute(null=True)
    overdue = BooleanAttribute(default=False)
    expires_at = TTLAttribute(null=True)  # the late backstop of a never-claimed case (issue 7)
    queue_index = TransferredIndex()


class DirectoryModel(Model):
    """Seeded reference data: one item per partner and one for the routing policy."""

    class Meta(_Meta):
        table_name = "directory"

    pk = UnicodeAttribute(hash_key=True)
    document = JSONAttribute()


class AuditModel(Model):
    """Append-only staff audit log: one item per read or action, newest last under each case.

    The code only ever puts new items (conditionally on absence); there is no update or delete path.
    """

    class Meta(_Meta):
        table_name = "audit"

    case_id = UnicodeAttribute(hash_key=True)
    at_id = UnicodeAttribute(range_key=True)  # "<iso at>#<uuid>": sorts by time, never collides
    at = UnicodeAttribute()
    action = UnicodeAttribute()
    staff_id = UnicodeAttribute()
    staff_name = UnicodeAttribute()
    role = UnicodeAttribute()
    partner = UnicodeAttribute(null=True)
    detail = JSONAttribute(default=dict)


class DueIndex(GlobalSecondaryIndex["MessageModel"]):
    """Sparse: only pending/sending messages carry `due_shard`, so a sweep reads what is due, not the table."""

    class Meta:
        index_name = "due-index"
        projection = AllProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = UnicodeAttribute(range_key=True)


class MessageCaseIndex(GlobalSecondaryIndex["MessageModel"]):
    """Every SMS of a case, in and out, oldest first (the staff view)."""

    class Meta:
        index_name = "case-index"
        projection = AllProjection()

    case_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class MessagePhoneIndex(GlobalSecondaryIndex["MessageModel"]):
    """Messages to one (hashed) number, newest first: which case and language an inbound SMS belongs to."""

    class Meta:
        index_name = "phone-index"
        projection = AllProjection()

    phone_hash = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class MessageSidIndex(GlobalSecondaryIndex["MessageModel"]):
    """Sparse: status callbacks without our message id are matched by Twilio's SID."""

    class Meta:
        index_name = "sid-index"
        projection = KeysOnlyProjection()

    twilio_sid = UnicodeAttribute(hash_key=True)


class MessageModel(Model):
    """One SMS (outbound intent or inbound reply). Holds the number: personal data, kept until `expires_at`."""

    class Meta(_Meta):
        table_name = "messages"

    message_id = UnicodeAttribute(hash_key=True)
    case_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    direction = UnicodeAttribute(default="outbound")
    language = UnicodeAttribute()
    to = UnicodeAttribute()
    phone_hash = UnicodeAttribute()
    body = UnicodeAttribute()
    segments = NumberAttribute(default=0)
    encoding = UnicodeAttribute(default="GSM-7")
    status = UnicodeAttribute()
    status_rank = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    due_at = UnicodeAttribute(null=True)
    partner_id = UnicodeAttribute(null=True)
    appointment_id = UnicodeAttribute(null=True)
    send_before = UnicodeAttribute(null=True)
    place = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    needs_reconcile = BooleanAttribute(default=False)
    last_attempt_at = UnicodeAttribute(null=True)
    lease_token = UnicodeAttribute(null=True)
    twilio_sid = UnicodeAttribute(null=True)
    error_code = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    reply = UnicodeAttribute(null=True)
    reply_at = UnicodeAttribute(null=True)
    attention = UnicodeAttribute(null=True)
    provider_sid = UnicodeAttribute(null=True)  # not indexed: status callbacks find messages by twilio_sid
    expires_at = TTLAttribute(null=True)
    due_index = DueIndex()
    case_index = MessageCaseIndex()
    phone_index = MessagePhoneIndex()
    sid_index = MessageSidIndex()


class SmsOptOutModel(Model):
    """Opted-out numbers, keyed by a keyed hash of the E.164 number (never the number itself); no TTL."""

    class Meta(_Meta):
        table_name = "sms-opt-outs"

    phone_hash = UnicodeAttribute(hash_key=True)
    opted_out = BooleanAttribute()
    changed_at = UnicodeAttribute()
    keyword = UnicodeAttribute()


class SmsLimitModel(Model):
    """Abuse limits: N slots per number and kind; a slot is free again once its window has passed."""

    class Meta(_Meta):
        table_name = "sms-limits"

    key = UnicodeAttribute(hash_key=True)  # "<kind>#<phone hash>#<slot>"
    taken_at = UnicodeAttribute()
    holder = UnicodeAttribute(null=True)  # the message that took the slot
    expires_at = TTLAttribute()


class SmsWebhookModel(Model):
    """Twilio webhook deliveries already handled (Twilio retries), with the answer we gave."""

    class Meta(_Meta):
        table_name = "sms-webhooks"

    key = UnicodeAttribute(hash_key=True)
    reply = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class UpcomingIndex(GlobalSecondaryIndex["AppointmentModel"]):
    """Sparse: only booked appointments not yet settled carry `upcoming`; the settling schedule
    reads the ones whose start has passed, not the table."""

    class Meta:
        index_name = "upcoming-index"
        projection = KeysOnlyProjection()

    upcoming = UnicodeAttribute(hash_key=True)
    start = UnicodeAttribute(range_key=True)


class AppointmentModel(Model):
    """One appointment of a case (all its changes bump `version`; every write is conditional on it)."""

    class Meta(_Meta):
        table_name = "appointments"

    case_id = UnicodeAttribute(hash_key=True)
    appointment_id = UnicodeAttribute(range_key=True)
    partner = UnicodeAttribute()
    staff_id = UnicodeAttribute()
    staff_name = UnicodeAttribute()
    start = UnicodeAttribute()  # UTC, fixed precision: sorts as text
    duration_minutes = NumberAttribute()
    location = UnicodeAttribute(null=True)
    online_url = UnicodeAttribute(null=True)
    note = UnicodeAttribute(null=True)  # staff's free text: erased with the applicant's data
    status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    booked_by = UnicodeAttribute()
    version = NumberAttribute(default=1)
    reschedules = NumberAttribute(default=0)
    attended = BooleanAttribute(null=True)
    attendance_recorded_at = UnicodeAttribute(null=True)
    cancelled_at = UnicodeAttribute(null=True)
    cancel_reason = UnicodeAttribute(null=True)
    upcoming = UnicodeAttribute(null=True)
    upcoming_index = UpcomingIndex()
    booking_request_hash = UnicodeAttribute(null=True)  # with an Idempotency-Key; removed on erasure


class StaffCalendarModel(Model):
    """Per staff member: their booked slots, replaced as a whole on the condition `version` is unchanged,
    so overlapping bookings of one person cannot both be written (no read-then-write race)."""

    class Meta(_Meta):
        table_name = "staff-calendars"

    staff_id = UnicodeAttribute(hash_key=True)
    version = NumberAttribute()
    slots = JSONAttribute(default=list)  # [{appointment_id, case_id, start, end}], only ones not yet ended
    updated_at = UnicodeAttribute()


# Logical name (the suffix after the stage prefix) → model. Infrastructure tests read this.
MODELS: dict[str, type[Model]] = {
    "cases": CaseModel,
    "transferred": TransferredEntryModel,
    "directory": DirectoryModel,
    "audit": AuditModel,
    "messages": MessageModel,
    "sms-opt-outs": SmsOptOutModel,
    "sms-limits": SmsLimitModel,
    "sms-webhooks": SmsWebhookModel,
    "appointments": AppointmentModel,
    "staff-calendars": StaffCalendarModel,
}


def bind(settings: Settings) -> Connection:
    """Point every model at this stage's tables and endpoint, all sharing one botocore client.

    PynamoDB gives each model its own botocore session and client; building one costs
    tens of milliseconds (service model loading), which a cold Lambda would pay per table.
    """
    shared = Connection(region=settings.region, host=settings.dynamodb_endpoint)
    for logical, model in MODELS.items():
        model.Meta.table_name = settings.table(logical)
        model.Meta.region = settings.region
        model.Meta.host = settings.dynamodb_endpoint
        model._connection = None
        table_connection = model._get_connection().connection
        table_connection._session = shared.session
        table_connection._client = shared.client
    return shared


def create_tables(settings: Settings) -> None:
    """Local stage and tests only; production tables come from infrastructure/."""
    bind(settings)
    for model in MODELS.values():
        if not model.exists():
            model.create_table(wait=False)
    _enable_ttl()


def _enable_ttl() -> None:
    for model in MODELS.values():
        ttl_name = next((n for n, a in model.get_attributes().items() if isinstance(a, TTLAttribute)), None)
        if not ttl_name:
            continue
        # DynamoDB (and DynamoDB Local) refuse to enable TTL twice; moto does not mind.
        client = model._get_connection().connection.client
        status = client.describe_time_to_live(TableName=model.Meta.table_name)["TimeToLiveDescription"]
        if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            model._get_connection().connection.update_time_to_live(model.Meta.table_name, ttl_name)
