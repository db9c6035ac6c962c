"""The local stage's stand-in for Lambda's DynamoDB stream event source mappings.

`chalice local` serves HTTP only, and moto hands stream records to no function. `StreamPump`
reads each `@app.on_dynamodb_record` function's stream through the DynamoDB Streams API, as
Lambda's poller does, and invokes the function with Lambda's event shape, in batches of its
batch size. `make run` runs it on a thread (`start`); tests and benchmarks call `deliver()` to
let the stream catch up at a moment of their choosing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalice import Chalice
from chalice.app import DynamoDBEventConfig

from chalicelib.config import Settings

log = logging.getLogger(__name__)

Invoke = Callable[[str, dict[str, Any]], Any]


@dataclass
class _Source:
    name: str
    table_name: str
    batch_size: int
    last_sequence: str | None = None
    stream_arn: str | None = None
    shard_id: str | None = None


def _logical_table(stream_arn: str) -> str:
    """`…:table/<name>/stream/…` → name; the app's ARN names the table by its model's logical name."""
    return stream_arn.split(":table/", 1)[1].split("/", 1)[0]


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record from GetRecords as Lambda delivers it: the source ARN added, the time in epoch seconds."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": change, "eventSourceARN": stream_arn}


def local_invoke(app: Chalice, stage: str) -> Invoke:
    """Call the function in this process as Lambda would; a failure is logged by type and place."""
    from chalicelib.local.stack import call_as_lambda, failure_place

    def invoke(name: str, event: dict[str, Any]) -> Any:
        try:
            return call_as_lambda(app.handler_map[name], name, event, stage)
        except Exception as error:  # noqa: BLE001 - as Lambda once its retries are spent: log, go on
            log.error("%s failed: %s at %s", name, type(error).__name__, failure_place(error))
            return None

    return invoke


class StreamPump:
    def __init__(
        self,
        app: Chalice,
        settings: Settings,
        invoke: Invoke,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        # Given a stream ARN, botocore picks an account endpoint (<account>.streams-ddb…), which
        # moto does not serve; the regional one is the same API.
        self._streams = boto3.client(
            "dynamodbstreams",
            region_name=settings.region,
            endpoint_url=settings.dynamodb_endpoint,
            config=Config(account_id_endpoint_mode="disabled"),
        )
        self._invoke = invoke
        self._region = settings.region
        # moto's server in this process takes requests one at a time under this lock (moto_server.py).
        self._lock: AbstractContextManager[Any] = lock or nullcontext()
        self.sources = [
            _Source(s.name, settings.table(_logical_table(s.stream_arn)), s.batch_size)
            for s in app.event_sources
            if isinstance(s, DynamoDBEventConfig)
        ]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def deliver(self) -> int:
        """Hand every record written since the last call to its function; how many were handed."""
        delivered = 0
        for source in self.sources:
            while handed := self._deliver(source):  # a page of at most 1,000 records at a time
                delivered += handed
        return delivered

    def _deliver(self, source: _Source) -> int:
        if source.stream_arn is None or source.shard_id is None:
            # The Streams API only, like Lambda's poller: no DynamoDB call of the app's is added or faulted.
            source.stream_arn, source.shard_id = self._open_shard(source.table_name)
        position: dict[str, str] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": source.last_sequence}
            if source.last_sequence
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        try:
            shard = {"StreamArn": source.stream_arn, "ShardId": source.shard_id}
            iterator = self._streams.get_shard_iterator(**shard, **position)
            records = self._streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
        except Exception:
            source.stream_arn = source.shard_id = None  # look the stream up again next time
            raise
        for start in range(0, len(records), source.batch_size):
            batch = [lambda_record(r, source.stream_arn) for r in records[start : start + source.batch_size]]
            self._invoke(source.name, {"Records": batch})
            # The deployed mapping retries a failing batch twice, then moves on; here the batch is
            # logged by `invoke` and the stream moves on at once (announce_routed_cases never raises).
            source.last_sequence = batch[-1]["dynamodb"]["SequenceNumber"]
        self._forget(source)
        return len(records)

    def _open_shard(self, table_name: str) -> tuple[str, str]:
        """The table's live stream and its open shard. DynamoDB (and DynamoDB Local) also list the
        streams of earlier tables of that name for a day after they were dropped; Lambda's mapping
        names its stream by ARN, so take the one still ENABLED, as the mapping's ARN would be."""
        page: dict[str, str] = {}
        while True:
            listed = self._streams.list_streams(TableName=table_name, **page)
            for entry in listed["Streams"]:
                stream = self._streams.describe_stream(StreamArn=entry["StreamArn"])["StreamDescription"]
                if stream["StreamStatus"] == "ENABLED":
                    shard = next(s for s in stream["Shards"] if "EndingSequenceNumber" not in s["SequenceNumberRange"])
                    return stream["StreamArn"], shard["ShardId"]
            if "LastEvaluatedStreamArn" not in listed:
                raise LookupError(f"no enabled stream on {table_name}")
            page = {"ExclusiveStartStreamArn": listed["LastEvaluatedStreamArn"]}

    def _forget(self, source: _Source) -> None:
        """moto keeps a stream's records for good (DynamoDB: 24 hours) and copies them into every
        transaction's rollback copy of the table, and it keeps every shard iterator it handed out:
        drop the delivered records and the spent iterators, as a consumer that keeps up leaves
        nothing behind. Only where moto runs in this process; a no-op elsewhere."""
        try:
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.dynamodb.models import dynamodb_backends
            from moto.dynamodbstreams.models import dynamodbstreams_backends
        except ImportError:
            return
        with self._lock:
            dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][self._region].shard_iterators.clear()
            table = dynamodb_backends[DEFAULT_ACCOUNT_ID][self._region].tables.get(source.table_name)
            shard = getattr(table, "stream_shard", None)
            if shard is None or source.last_sequence is None:
                return
            done = min(int(source.last_sequence) - shard.starting_sequence_number + 1, len(shard.items))
            if done > 0:
                del shard.items[:done]
                shard.starting_sequence_number += done

    def start(self, poll_seconds: float = 0.1) -> None:
        self._thread = threading.Thread(target=self._loop, args=(poll_seconds,), name="local-streams", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)

    def _loop(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            try:
                self.deliver()
            except Exception as error:  # noqa: BLE001 - the pump must outlive a failing poll
                log.error("stream delivery failed: %s", type(error).__name__)
            self._stop.wait(poll_seconds)


def through_test_client(client: Any) -> StreamPump:
    """A pump handing batches to the app behind a `chalice.test.Client` (tests and benchmarks)."""
    from chalicelib.config import settings

    return StreamPump(client._app, settings(), lambda name, event: client.lambda_.invoke(name, event).payload)
