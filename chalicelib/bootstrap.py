"""Cached getters that build adapters and services on first use (never at import time)."""

from __future__ import annotations

from functools import cache

import boto3
from pynamodb.connection import Connection

from chalicelib.adapters.dynamodb.audit_store import DynamoAuditLog
from chalicelib.adapters.dynamodb.case_store import DynamoCaseStore
from chalicelib.adapters.dynamodb.directory_store import DynamoDirectory
from chalicelib.adapters.dynamodb.models import bind
from chalicelib.adapters.dynamodb.queue_store import DynamoQueueStore
from chalicelib.adapters.sqs import SqsPublisher
from chalicelib.config import settings
from chalicelib.ports import Clock, SystemClock
from chalicelib.services.coordinator import CoordinatorService
from chalicelib.services.intake import IntakeService
from chalicelib.services.staff import StaffService


@cache
def clock() -> Clock:
    return SystemClock()


@cache
def dynamodb_connection() -> Connection:
    current = settings()
    bind(current)
    return Connection(region=current.region, host=current.dynamodb_endpoint)


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
        store=DynamoCaseStore(dynamodb_connection()),
        directory=directory(),
        publisher=SqsPublisher(sqs_client(), current.queue_name),
        clock=clock(),
        idempotency_hours=current.idempotency_hours,
    )


@cache
def staff_service() -> StaffService:
    current = settings()
    return StaffService(
        store=DynamoQueueStore(dynamodb_connection()),
        audit=DynamoAuditLog(),
        directory=directory(),
        publisher=SqsPublisher(sqs_client(), current.queue_name),
        clock=clock(),
    )


@cache
def coordinator_service() -> CoordinatorService:
    return CoordinatorService(store=staff_service().store, directory=directory(), staff=staff_service())


def reset() -> None:
    """Forget every built adapter (tests: a new moto context needs new clients)."""
    for getter in (clock, dynamodb_connection, directory, sqs_client, intake_service):
        getter.cache_clear()
    for getter in (staff_service, coordinator_service):
        getter.cache_clear()
