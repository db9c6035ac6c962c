"""Partner notifications on SQS: ids only, never personal data."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class SqsPublisher:
    def __init__(self, client: Any, queue_name_for: Callable[[str], str]) -> None:
        self._client = client
        self._queue_name_for = queue_name_for
        self._urls: dict[str, str] = {}

    def _url(self, partner_id: str) -> str:
        if partner_id not in self._urls:
            name = self._queue_name_for(partner_id)
            self._urls[partner_id] = self._client.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[partner_id]

    def publish_case_routed(self, partner_id: str, case_id: str, reference: str, at: str) -> None:
        body = {"type": "case.routed", "case_id": case_id, "reference": reference, "partner": partner_id, "at": at}
        self._client.send_message(QueueUrl=self._url(partner_id), MessageBody=json.dumps(body))
