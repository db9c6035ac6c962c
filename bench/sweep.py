"""4. The reminder sweep (`send_due_messages`) with 1k/10k/100k future appointments and the same 100 due.

Each future appointment has its pending reminder in the sparse due index (due days ahead);
100 reminders are due now, each for a stored appointment of an open case (the sweep reads both
before it sends: see BookingCheck). One sweep is timed with a fake sender and no send-rate limit
(the 10 segments/s limit would time Twilio's pace, not ours), and every DynamoDB call is counted:
the sweep should read what is due, not what is stored.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.dynamo_calls import counting
from bench.inprocess import moto_world

NOON = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # 12:00 Berlin: outside quiet hours whenever the bench runs
PHONE = "+4915112345678"


class _Fixed:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


CASE_ID = str(uuid.uuid4())  # the open case the due reminders' appointments belong to


def _reminder(due_at: datetime, start: datetime, appointment_id: str | None = None, case_id: str | None = None) -> Any:
    from chalicelib.adapters.dynamodb.message_store import shard_of
    from chalicelib.adapters.dynamodb.models import MessageModel
    from chalicelib.domain.cases import iso
    from chalicelib.domain.messages import phone_hash

    message_id = uuid.uuid4().hex
    return MessageModel(
        message_id,
        case_id=case_id or str(uuid.uuid4()),
        kind="reminder",
        direction="outbound",
        language="de",
        to=PHONE,
        phone_hash=phone_hash(PHONE, "bench"),
        body="Erinnerung: Ihr Termin am Mi., 11. Juni um 12:00, Raum 2.14. Bitte antworten Sie 1 oder 2.",
        segments=1,
        encoding="GSM-7",
        status="pending",
        created_at=iso(NOON - timedelta(days=3)),
        updated_at=iso(NOON - timedelta(days=3)),
        due_shard=shard_of(message_id, 1),
        due_at=iso(due_at),
        appointment_id=appointment_id or uuid.uuid4().hex,
        send_before=iso(start),
    )


def _booked(start: datetime) -> list[Any]:
    """A due reminder with the booked appointment it names, of the open bench case."""
    from chalicelib.adapters.dynamodb.models import AppointmentModel
    from chalicelib.domain.cases import iso

    appointment_id, made = uuid.uuid4().hex, iso(NOON - timedelta(days=3))
    appointment = AppointmentModel(
        CASE_ID,
        appointment_id,
        partner="lmu-klinikum",
        staff_id="bench-staff",
        staff_name="Bench Staff",
        start=iso(start),
        duration_minutes=30,
        location="Raum 2.14",
        status="booked",
        created_at=made,
        updated_at=made,
        booked_by="bench-staff",
    )
    return [appointment, _reminder(NOON - timedelta(minutes=5), start, appointment_id, CASE_ID)]


def _open_case() -> Any:
    from chalicelib.adapters.dynamodb.models import CaseModel
    from chalicelib.domain.cases import iso

    made = iso(NOON - timedelta(days=5))
    return CaseModel(
        CASE_ID,
        reference="K7P2-Q9XA",
        partner="lmu-klinikum",
        status="scheduled",
        rule="health",
        routing_reason="bench",
        language="de",
        intake={},
        created_at=made,
        updated_at=made,
        queued_at=made,
    )


def _store(items: list[Any]) -> None:
    from chalicelib.adapters.dynamodb.models import AppointmentModel, MessageModel

    for model in (MessageModel, AppointmentModel):
        with model.batch_write() as batch:
            for item in items:
                if isinstance(item, model):
                    batch.save(item)


def reminder_sweep(
    sizes: list[int], due: int = 100, repeats: int = 3, dynamodb_endpoint: str | None = None
) -> list[dict[str, Any]]:
    """Per size: median time of one sweep sending `due` reminders, items read, calls and items per reminder.

    On moto in-process, or with the tables on the DynamoDB endpoint given (DynamoDB Local)."""
    import os

    from chalicelib import bootstrap

    results = []
    with moto_world(dynamodb_endpoint):
        os.environ["SMS_BACKEND"] = "fake"  # never the local outbox; moto_world restores the environment
        bootstrap.dynamodb_connection()
        _open_case().save()
        stored = 0
        for size in sizes:
            future = []
            for index in range(stored, size):
                start = NOON + timedelta(days=2, minutes=index % 5000)
                future.append(_reminder(start - timedelta(hours=24), start))
            _store(future)
            stored = size
            samples, reads, calls, written, wru, rru = [], [], [], [], [], []
            # One untimed sweep first, at the first size: the first one pays the warm-up of the
            # endpoint (DynamoDB Local's JVM compiles as it goes), which would flatter the ratio.
            warmup = 1 if size == sizes[0] else 0
            for round_ in range(warmup + repeats):
                _store([item for _ in range(due) for item in _booked(NOON + timedelta(hours=2))])
                with counting() as usage:
                    bootstrap.reset()  # clients created inside the counter
                    service = bootstrap.messaging_service()
                    clock = _Fixed(NOON)
                    service.clock = service.dispatcher.clock = clock
                    service.dispatcher.limiter = None
                    started = time.perf_counter()
                    report = service.send_due()
                    elapsed = time.perf_counter() - started
                assert report.sent == due, report.as_dict()
                if round_ < warmup:
                    continue
                samples.append(elapsed)
                reads.append(usage.items_read)
                written.append(usage.items_written)
                wru.append(usage.write_units)
                rru.append(usage.read_units)
                calls.append(sum(usage.calls.values()))
            results.append(
                {
                    "appointments": size,
                    "due": due,
                    "median_ms": statistics.median(samples) * 1000,
                    "items_read": statistics.median(reads),
                    "items_read_per_reminder": statistics.median(reads) / due,
                    "items_written_per_reminder": statistics.median(written) / due,
                    "calls_per_reminder": statistics.median(calls) / due,
                    "wru_per_reminder": statistics.median(wru) / due,
                    "rru_per_reminder": statistics.median(rru) / due,
                }
            )
    return results
