"""Cached getters that build adapters and services on first use (never at import time)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

import boto3
from pynamodb.connection import Connection

from chalicelib import keys
from chalicelib.adapters.dynamodb.appointment_store import DynamoAppointmentStore, DynamoCaseAttention
from chalicelib.adapters.dynamodb.audit_store import DynamoAuditLog
from chalicelib.adapters.dynamodb.case_facts import DynamoCaseFacts
from chalicelib.adapters.dynamodb.case_store import DynamoCaseStore
from chalicelib.adapters.dynamodb.directory_store import DynamoDirectory
from chalicelib.adapters.dynamodb.models import bind
from chalicelib.adapters.dynamodb.privacy_store import DynamoPrivacyStore
from chalicelib.adapters.dynamodb.queue_store import DynamoQueueStore
from chalicelib.adapters.sqs import SqsPublisher
from chalicelib.config import settings
from chalicelib.domain.retention import RetentionPolicy
from chalicelib.ports import Clock, SystemClock
from chalicelib.services.applicant import ApplicantService
from chalicelib.services.appointments import AppointmentService
from chalicelib.services.coordinator import CoordinatorService
from chalicelib.services.intake import IntakeService
from chalicelib.services.reporting import ReportingService
from chalicelib.services.retention import RetentionService
from chalicelib.services.staff import StaffService

if TYPE_CHECKING:
    from chalicelib.adapters.dynamodb.message_store import DynamoMessageStore
    from chalicelib.adapters.sms.twilio_sender import TwilioCredentials
    from chalicelib.services.messaging import MessagingService
    from chalicelib.services.messaging_ports import SmsSender


@cache
def phone_hash_key() -> str:
    """Keys the hashes that stand in for phone numbers (opt-outs, limits); a secret in production."""
    return keys.fernet_key("PHONE_HASH_KEY").decode()


@cache
def clock() -> Clock:
    return SystemClock()


@cache
def dynamodb_connection() -> Connection:
    return bind(settings())


@cache
def directory() -> DynamoDirectory:
    dynamodb_connection()
    return DynamoDirectory()


@cache
def sqs_client() -> object:
    current = settings()
    return boto3.client("sqs", region_name=current.region, endpoint_url=current.sqs_endpoint)


@cache
def intake_service() -> IntakeService:
    current = settings()
    return IntakeService(
        store=DynamoCaseStore(dynamodb_connection(), case_facts()),
        directory=directory(),
        publisher=SqsPublisher(sqs_client(), current.queue_name),
        clock=clock(),
        idempotency_hours=current.idempotency_hours,
        public_base_url=current.public_base_url,
        messaging=messaging_service(),
    )


@cache
def staff_service() -> StaffService:
    current = settings()
    return StaffService(
        store=DynamoQueueStore(dynamodb_connection(), case_facts()),
        audit=DynamoAuditLog(),
        directory=directory(),
        publisher=SqsPublisher(sqs_client(), current.queue_name),
        clock=clock(),
        # Appointments and SMS follow staff actions (issue 4): case_transferred, freed slots, no stale SMS.
        on_transferred=lambda case, previous: appointment_service().after_transfer(case, previous),
        on_closed=lambda who, case: appointment_service().after_close(who, case),
    )


@cache
def appointment_service() -> AppointmentService:
    connection = dynamodb_connection()
    return AppointmentService(
        store=DynamoAppointmentStore(connection),
        cases=DynamoQueueStore(connection, case_facts()),
        audit=DynamoAuditLog(),
        directory=directory(),
        clock=clock(),
        messaging=messaging_service(),
        facts=case_facts(),
    )


@cache
def coordinator_service() -> CoordinatorService:
    return CoordinatorService(store=staff_service().store, directory=directory(), staff=staff_service())


@cache
def applicant_service() -> ApplicantService:
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
            "appointments": appointment_service(),
        },
    )


@cache
def case_facts() -> DynamoCaseFacts:
    """Statistics and retention attributes of case items (issue 7)."""
    current = settings()
    dynamodb_connection()
    policy = RetentionPolicy(
        days_after_close=current.retention_days_after_close,
        days_unclaimed=current.retention_days_unclaimed,
        backstop_days=current.retention_backstop_days,
    )
    return DynamoCaseFacts(policy, phone_hash_key())


@cache
def retention_service() -> RetentionService:
    return RetentionService(index=case_facts(), applicant=applicant_service(), policy=case_facts().retention)


@cache
def reporting_service() -> ReportingService:
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
        return ssm_credentials(lambda: boto3.client("ssm", region_name=current.region), current.twilio_ssm_prefix)

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

    from chalicelib.adapters.sms.rate_limit import TokenBucket
    from chalicelib.adapters.sms.signature import TwilioSignatureVerifier
    from chalicelib.domain.quiet_hours import QuietHours
    from chalicelib.services.messaging import MessagingPolicy, MessagingService, parse_countries
    from chalicelib.services.sms_dispatch import DeliveryPolicy

    current = settings()
    quiet = QuietHours(time.fromisoformat(current.sms_quiet_start), time.fromisoformat(current.sms_quiet_end))
    delivery = DeliveryPolicy(
        quiet=quiet, shard_count=current.sms_due_shards, status_callback_base=current.public_base_url
    )
    policy = MessagingPolicy(
        delivery=delivery,
        phone_hash_key=phone_hash_key(),
        allowed_countries=parse_countries(current.sms_allowed_countries),
        intake_limit=current.sms_intake_limit,
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
        attention=DynamoCaseAttention(),  # a `2` or CANCEL shows on the case for staff
    )


def reset() -> None:
    """Forget every built adapter (tests: a new moto context needs new clients)."""
    for getter in (clock, dynamodb_connection, directory, sqs_client, intake_service):
        getter.cache_clear()
    for getter in (staff_service, coordinator_service, applicant_service):
        getter.cache_clear()
    for getter in (case_facts, retention_service, reporting_service):
        getter.cache_clear()
    for getter in (message_store, twilio_credentials, sms_sender, messaging_service):
        getter.cache_clear()
    appointment_service.cache_clear()
    phone_hash_key.cache_clear()
