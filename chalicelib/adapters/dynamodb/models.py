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
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
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


class CaseModel(Model):
    class Meta(_Meta):
        table_name = "cases"

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
    # A DynamoDB list (not JSON text) so that staff actions append with list_append in their update.
    history = ListAttribute(default=list)
    reference_index = ReferenceIndex()


class QueueIndex(GlobalSecondaryIndex["QueueEntryModel"]):
    """A partner's queue for one status, oldest first: one query per page whatever the table size."""

    class Meta:
        index_name = "partner-status-index"
        projection = AllProjection()

    partner_status = UnicodeAttribute(hash_key=True)
    queued_at = UnicodeAttribute(range_key=True)


class QueueEntryModel(Model):
    class Meta(_Meta):
        table_name = "queue"

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
    queue_index = QueueIndex()


class IdempotencyModel(Model):
    class Meta(_Meta):
        table_name = "idempotency"

    idempotency_key = UnicodeAttribute(hash_key=True)
    request_hash = UnicodeAttribute()
    status_code = NumberAttribute()
    response = JSONAttribute()
    case_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


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


# Logical name (the suffix after the stage prefix) → model. Infrastructure tests read this.
MODELS: dict[str, type[Model]] = {
    "cases": CaseModel,
    "queue": QueueEntryModel,
    "idempotency": IdempotencyModel,
    "directory": DirectoryModel,
    "audit": AuditModel,
}


def bind(settings: Settings) -> None:
    """Point every model at this stage's tables and endpoint; drops cached connections."""
    for logical, model in MODELS.items():
        model.Meta.table_name = settings.table(logical)
        model.Meta.region = settings.region
        model.Meta.host = settings.dynamodb_endpoint
        model._connection = None


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
        if ttl_name:
            model._get_connection().connection.update_time_to_live(model.Meta.table_name, ttl_name)
