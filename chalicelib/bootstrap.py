"""Cached getters that build adapters and services on first use (never at import time).

Each getter imports what it builds: a cold Lambda answering POST /intake then loads only the
intake path, not the staff, appointment, privacy and reporting services (issue 8).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from chalicelib import keys
from chalicelib.config import settings
from chalicelib.ports import Clock, SystemClock

if TYPE_CHECKING:
    from datetime import datetime

    from pynamodb.connection import Connection

    from chalicelib.adapters.dynamodb.case_facts import DynamoCaseFacts
    from chalicelib.adapters.dynamodb.directory_store import DynamoDirectory
    from chalicelib.adapters.dynamodb.message_store import DynamoMessageStore
    from chalicelib.adapters.sms.twilio_sender import TwilioCredentials
    from chalicelib.domain.cases import PartnerNotice
    from chalicelib.services.applicant import ApplicantService
    from chalicelib.services.appointment_upkeep import AppointmentUpkeep
    from chalicelib.services.appointments import AppointmentService
    from chalicelib.services.coordinator import CoordinatorService
    from chalicelib.services.intake import IntakeService
    from chalicelib.services.messaging import MessagingService
    from chalicelib.services.messaging_ports import NumberCase, SmsSender
    from chalicelib.services.notices import PartnerNoticeService
    from chalicelib.services.reporting import ReportingService
    from chalicelib.services.retention import RetentionService
    from chalicelib.services.staff import StaffService


@cache
def phone_hash_key() -> str:
    """Keys the hashes that stand in for phone numbers (opt-outs, limits); a secret in production."""
    return keys.fernet_key("PHONE_HASH_KEY").decode()


@cache
def clock() -> Clock:
    return SystemClock()


@cache
def dynamodb_connection() -> Connection:
    from chalicelib.adapters.dynamodb.models import bind

    return bind(settings())


@cache
def directory() -> DynamoDirectory:
    from chalicelib.adapters.dynamodb.directory_store import DynamoDirectory

    dynamodb_connection()
    return DynamoDirectory()


_client_lock = threading.Lock()


@cache
def sqs_client() -> object:
    """From the DynamoDB connection's botocore session: a second session would load botocore's
    endpoint data and credentials again (tens of ms on a cold start), and boto3 adds nothing here."""
    current = settings()
    session = dynamodb_connection().session
    with _client_lock:  # a botocore session is not safe for concurrent client creation
        return session.create_client("sqs", region_name=current.region, endpoint_url=current.sqs_endpoint)


@cache
def notice_service() -> PartnerNoticeService:
    from chalicelib.adapters.dynamodb.notice_outbox import DynamoNoticeOutbox
    from chalicelib.adapters.sqs import SqsPublisher
    from chalicelib.services.notices import PartnerNoticeService

    dynamodb_connection()  # binds the models to this stage's tables
    return PartnerNoticeService(
        outbox=DynamoNoticeOutbox(),
        publisher=SqsPublisher(sqs_client(), settings().queue_name, settings().queue_url_prefix),
        clock=clock(),
    )


def send_partner_notice(notice: PartnerNotice) -> bool:
    """What a request that routed a case does once its write is stored (intake, transfer)."""
    return notice_service().send_now(notice)


def announce_routed_cases(records: list[dict[str, Any]]) -> dict[str, int]:
    """The `case.routed` notices a batch of the cases table's stream asks for (intakes, transfers)."""
    from chalicelib.adapters.dynamodb.case_stream import newest_write, routed_notices

    return notice_service().announce(routed_notices(records), written_at=newest_write(records))


@cache
def intake_service() -> IntakeService:
    from chalicelib.adapters.dynamodb.case_store import DynamoCaseStore
    from chalicelib.domain.intake import parse_countries
    from chalicelib.services.intake import IntakeService

    current = settings()
    return IntakeService(
        store=DynamoCaseStore(dynamodb_connection(), case_facts()),
        directory=directory(),
        clock=clock(),
        idempotency_hours=current.idempotency_hours,
        public_base_url=current.public_base_url,
        case_id_secret=phone_hash_key,
        announce=send_partner_notice,
        sms_countries=parse_countries(current.sms_allowed_countries),
    )


@cache
def staff_service() -> StaffService:
    from chalicelib.adapters.dynamodb.audit_store import DynamoAuditLog
    from chalicelib.adapters.dynamodb.queue_store import DynamoQueueStore
    from chalicelib.services.staff import StaffService

    return StaffService(
        store=DynamoQueueStore(dynamodb_connection(), case_facts()),
        audit=DynamoAuditLog(),
        directory=directory(),
        clock=clock(),
        # Appointments and SMS follow staff actions (issue 4): case_transferred, freed slots, no stale SMS.
        on_transferred=lambda case, previous: appointment_upkeep().after_transfer(case, previous),
        closing=lambda who, before, after, now: appointment_upkeep().cancellations_for_close(who, before, after, now),
        on_closed=lambda case: appointment_upkeep().after_close(case),
        announce=send_partner_notice,
    )


@cache
def appointment_service() -> AppointmentService:
    from chalicelib.adapters.dynamodb.appointment_store import DynamoAppointmentStore
    from chalicelib.adapters.dynamodb.audit_store import DynamoAuditLog
    from chalicelib.adapters.dynamodb.queue_store import DynamoQueueStore
    from chalicelib.services.appointments import AppointmentService

    connection = dynamodb_connection()
    return AppointmentService(
        store=DynamoAppointmentStore(connection),
        cases=DynamoQueueStore(connection, case_facts()),
        audit=DynamoAuditLog(),
        directory=directory(),
        clock=clock(),
        messaging=messaging_service(),
    )


@cache
def appointment_upkeep() -> AppointmentUpkeep:
    """The same stores as the staff's appointment service: one set of adapters per container."""
    from chalicelib.services.appointment_upkeep import AppointmentUpkeep

    staff_side = appointment_service()
    return AppointmentUpkeep(staff_side.store, staff_side.cases, directory(), clock(), staff_side.messaging)


@cache
def coordinator_service() -> CoordinatorService:
    from chalicelib.services.coordinator import CoordinatorService

    return CoordinatorService(store=staff_service().store, directory=directory(), staff=staff_service())


@cache
def applicant_service() -> ApplicantService:
    from chalicelib.adapters.dynamodb.audit_store import DynamoAuditLog
    from chalicelib.adapters.dynamodb.case_store import DynamoCaseStore
    from chalicelib.adapters.dynamodb.privacy_store import DynamoPrivacyStore
    from chalicelib.services.applicant import ApplicantService

    connection = dynamodb_connection()
    return ApplicantService(
        cases=DynamoCaseStore(connection, case_facts()),
        store=DynamoPrivacyStore(connection),
        audit=DynamoAuditLog(),
        directory=directory(),
        clock=clock(),
        # Every other place with data about the applicant: exported with the case, erased with it.
        holders={
            "sms_messages": messaging_service(),
            "retention_and_statistics": case_facts(),
            "appointments": appointment_upkeep(),
        },
        appointments=appointment_upkeep(),
        texts=_status_page_texts,
    )


def _status_page_texts(language: str) -> dict[str, str]:
    from chalicelib.pages.labels import labels

    return labels(language)["status_page"]


@cache
def case_facts() -> DynamoCaseFacts:
    """Statistics and retention attributes of case items (issue 7)."""
    from chalicelib.adapters.dynamodb.case_facts import DynamoCaseFacts
    from chalicelib.domain.retention import RetentionPolicy

    current = settings()
    dynamodb_connection()
    policy = RetentionPolicy(
        days_after_close=current.retention_days_after_close,
        days_unclaimed=current.retention_days_unclaimed,
        days_inactive=current.retention_days_inactive,
        backstop_days=current.retention_backstop_days,
    )
    return DynamoCaseFacts(policy, phone_hash_key())


@cache
def retention_service() -> RetentionService:
    from chalicelib.services.retention import RetentionService

    return RetentionService(index=case_facts(), applicant=applicant_service(), policy=case_facts().retention)


@cache
def reporting_service() -> ReportingService:
    from chalicelib.services.reporting import ReportingService

    return ReportingService(stats=case_facts(), directory=directory(), clock=clock())


@cache
def message_store() -> DynamoMessageStore:
    from chalicelib.adapters.dynamodb.message_store import DynamoMessageStore

    dynamodb_connection()
    return DynamoMessageStore(count=case_facts().count)


@cache
def twilio_credentials() -> Callable[[], TwilioCredentials]:
    """From the environment, or in production from SSM SecureString parameters on first use."""
    from chalicelib.adapters.sms.twilio_sender import TwilioCredentials, ssm_credentials

    current = settings()
    if current.twilio_ssm_prefix:
        from chalicelib.adapters import parameter_store

        return ssm_credentials(lambda names: parameter_store.read(names, current.region), current.twilio_ssm_prefix)

    def from_environment() -> TwilioCredentials:
        if not (current.twilio_account_sid and current.twilio_auth_token):
            raise RuntimeError("TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN (or TWILIO_SSM_PREFIX) are not set")
        return TwilioCredentials(current.twilio_account_sid, current.twilio_auth_token)

    return from_environment


@cache
def sms_sender() -> SmsSender:
    current = settings()
    if current.sms_backend == "twilio":
        from chalicelib.adapters.sms.twilio_sender import TwilioSender

        return TwilioSender(
            twilio_credentials(),
            messaging_service_sid=current.twilio_messaging_service_sid or None,
            from_number=current.twilio_from or None,
            timeout=current.twilio_timeout_seconds,
            api_base_url=current.twilio_api_base_url or None,
        )
    if current.sms_backend == "fake":
        from chalicelib.adapters.sms.fake import FakeSender

        return FakeSender(clock=lambda: clock().now())
    from chalicelib.adapters.sms.outbox import OutboxSender

    return OutboxSender(current.outbox_file)


@cache
def messaging_service() -> MessagingService:
    from datetime import time

    from chalicelib.adapters.dynamodb.case_store import DynamoCaseStore
    from chalicelib.adapters.dynamodb.confirm_outbox import DynamoConfirmationOutbox
    from chalicelib.adapters.sms.rate_limit import TokenBucket
    from chalicelib.adapters.sms.signature import TwilioSignatureVerifier
    from chalicelib.domain.intake import parse_countries
    from chalicelib.domain.quiet_hours import QuietHours
    from chalicelib.services.confirmations import IntakeConfirmations
    from chalicelib.services.messaging import MessagingPolicy, MessagingService
    from chalicelib.services.sms_dispatch import DeliveryPolicy

    current = settings()
    quiet = QuietHours(time.fromisoformat(current.sms_quiet_start), time.fromisoformat(current.sms_quiet_end))
    delivery = DeliveryPolicy(
        quiet=quiet,
        shard_count=current.sms_due_shards,
        status_callback_base=current.public_base_url,
        intake_limit=current.sms_intake_limit,
    )
    policy = MessagingPolicy(
        delivery=delivery,
        phone_hash_key=phone_hash_key(),
        allowed_countries=parse_countries(current.sms_allowed_countries),
    )

    def auth_token() -> str:
        try:
            return twilio_credentials()().auth_token
        except RuntimeError:
            return ""  # not configured: every webhook is refused

    return MessagingService(
        store=message_store(),
        sender=sms_sender(),
        clock=clock(),
        policy=policy,
        verifier=TwilioSignatureVerifier(auth_token),
        limiter=TokenBucket(current.sms_segments_per_second),
        consent=case_facts(),  # STOP/START recorded in the cases' consent (issue 7)
        attention=_CaseAttention(),  # a `2`, CANCEL or an undelivered SMS shows on the case for staff
        bookings=_BookingCheck(),  # an appointment's SMS goes out only while the appointment stands
        # START again: upcoming appointments get the SMS missed meanwhile (built on first use).
        on_opt_in=lambda case_ids, tag, now: appointment_upkeep().resume_after_opt_in(case_ids, tag, now),
        confirmations=IntakeConfirmations(
            DynamoConfirmationOutbox(), DynamoCaseStore(dynamodb_connection(), case_facts()), directory(), clock()
        ),
    )


class _BookingCheck:
    """DynamoBookingCheck, imported by the first sweep that sends an appointment's SMS (the same
    cold-start reason as _CaseAttention below)."""

    def still_booked(self, case_id: str, appointment_id: str, start: datetime, place: str | None = None) -> bool:
        from chalicelib.adapters.dynamodb.appointment_store import DynamoBookingCheck

        return DynamoBookingCheck(dynamodb_connection()).still_booked(case_id, appointment_id, start, place)

    def still_ahead(self, case_id: str, appointment_id: str, now: datetime) -> bool:
        from chalicelib.adapters.dynamodb.appointment_store import DynamoBookingCheck

        return DynamoBookingCheck(dynamodb_connection()).still_ahead(case_id, appointment_id, now)

    def case_of_number(self, case_id: str, now: datetime) -> NumberCase | None:
        from chalicelib.adapters.dynamodb.appointment_store import DynamoBookingCheck

        return DynamoBookingCheck(dynamodb_connection()).case_of_number(case_id, now)


class _CaseAttention:
    """DynamoCaseAttention, imported on the first inbound `2` or CANCEL or failed SMS: its module (the appointment
    store) costs ~10 ms that a cold Lambda building messaging for an intake does not need (issue 8)."""

    def flag(self, case_id: str, reason: str, appointment_id: str | None, at: datetime) -> None:
        from chalicelib.adapters.dynamodb.appointment_store import DynamoCaseAttention

        DynamoCaseAttention().flag(case_id, reason, appointment_id, at)


def reset() -> None:
    """Forget every built adapter (tests: a new moto context needs new clients)."""
    for getter in (clock, dynamodb_connection, directory, sqs_client, intake_service, notice_service):
        getter.cache_clear()
    for getter in (staff_service, coordinator_service, applicant_service):
        getter.cache_clear()
    for getter in (case_facts, retention_service, reporting_service):
        getter.cache_clear()
    for getter in (message_store, twilio_credentials, sms_sender, messaging_service):
        getter.cache_clear()
    appointment_service.cache_clear()
    appointment_upkeep.cache_clear()
    phone_hash_key.cache_clear()
