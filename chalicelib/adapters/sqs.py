"""Partner notifications on SQS: ids only, never personal data."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.domain.cases import PartnerNotice


class SqsPublisher:
    def __init__(self, client: Any, queue_name_for: Callable[[str], str], url_prefix: str = "") -> None:
        self._client = client
        self._queue_name_for = queue_name_for
        self._url_prefix = url_prefix
        self._urls: dict[str, str] = {}

    def _url(self, partner_id: str) -> str:
        """With the stack's URL prefix the URL is known; else one GetQueueUrl per queue and container
        (a round trip the first intake of a cold function would wait for)."""
        if partner_id not in self._urls:
            name = self._queue_name_for(partner_id)
            if self._url_prefix:
                self._urls[partner_id] = self._url_prefix + name
            else:
                self._urls[partner_id] = self._client.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[partner_id]

    def publish(self, notice: PartnerNotice) -> None:
        self._client.send_message(QueueUrl=self._url(notice.partner), MessageBody=json.dumps(notice.as_dict()))
