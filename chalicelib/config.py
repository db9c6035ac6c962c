"""Stage settings, read at call time.

chalice.test.Client swaps os.environ only while a handler runs, so nothing here is
read at import time: every caller asks for `settings()` when it needs a value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_prefix: str
    queue_prefix: str
    dynamodb_endpoint: str | None
    sqs_endpoint: str | None
    idempotency_hours: int
    max_body_bytes: int

    def table(self, name: str) -> str:
        return f"{self.table_prefix}-{name}"

    def queue_name(self, partner_id: str) -> str:
        return f"{self.queue_prefix}-{partner_id}"

    @property
    def dead_letter_queue_name(self) -> str:
        return f"{self.queue_prefix}-dead-letter"


def settings() -> Settings:
    env = os.environ
    stage = env.get("STAGE", "local")
    return Settings(
        stage=stage,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-central-1",
        table_prefix=env.get("TABLE_PREFIX", f"migranet-{stage}"),
        queue_prefix=env.get("QUEUE_PREFIX", f"migranet-{stage}"),
        dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT") or None,
        sqs_endpoint=env.get("SQS_ENDPOINT") or None,
        idempotency_hours=int(env.get("IDEMPOTENCY_HOURS", "24")),
        max_body_bytes=int(env.get("MAX_BODY_BYTES", str(64 * 1024))),
    )
