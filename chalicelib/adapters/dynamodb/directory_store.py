"""Partners and routing policy, seeded into DynamoDB and cached per Lambda container."""

from __future__ import annotations

import time
from typing import Any

from pynamodb.exceptions import PynamoDBException

from chalicelib.adapters.dynamodb.errors import is_retryable, retryable, storage_errors_retryable
from chalicelib.adapters.dynamodb.models import DirectoryModel
from chalicelib.domain.partners import Partner
from chalicelib.domain.routing import RoutingPolicy
from chalicelib.validation import validate

PARTNERS_KEY = "partners"
ROUTING_KEY = "routing-rules"


class DirectoryNotSeededError(RuntimeError):
    """The stage has no partners or rules: run the seed command (`python -m chalicelib.cli seed`)."""


@storage_errors_retryable
class DynamoDirectory:
    """Reads partners and rules with one batch get, at most once a minute per container."""

    def __init__(self, max_age_seconds: float = 60.0) -> None:
        self._max_age = max_age_seconds
        self._loaded_at = -1e9
        self._partners: dict[str, Partner] = {}
        self._policy: RoutingPolicy | None = None

    def _refresh(self) -> None:
        if time.monotonic() - self._loaded_at < self._max_age and self._policy is not None:
            return
        try:
            items = {item.pk: item.document for item in DirectoryModel.batch_get([PARTNERS_KEY, ROUTING_KEY])}
        except PynamoDBException as error:
            if self._policy is not None:
                return  # keep routing with the copy we have; the next request tries again
            if is_retryable(error):
                raise retryable(error) from error
            raise
        partners = {p["id"]: Partner.from_dict(p) for p in (items.get(PARTNERS_KEY) or {}).get("partners", [])}
        rules = items.get(ROUTING_KEY)
        if not partners or rules is None:
            raise DirectoryNotSeededError("partners or routing rules are missing; seed the directory")
        self._partners = partners
        self._policy = RoutingPolicy.from_dict(rules, set(partners))
        self._loaded_at = time.monotonic()

    def partners(self) -> dict[str, Partner]:
        self._refresh()
        return self._partners

    def routing_policy(self) -> RoutingPolicy:
        self._refresh()
        assert self._policy is not None
        return self._policy


def seed_directory(partners: list[dict[str, Any]], rules: dict[str, Any]) -> None:
    """Write (or overwrite) partners and rules after checking them; safe to run again."""
    problems = validate("routing-rules", rules)
    if problems:
        raise ValueError(f"routing rules invalid: {[p.as_dict() for p in problems]}")
    RoutingPolicy.from_dict(rules, {p["id"] for p in partners})
    documents = [Partner.from_dict(p).as_dict() for p in partners]
    with DirectoryModel.batch_write() as batch:
        batch.save(DirectoryModel(PARTNERS_KEY, document={"partners": documents}))
        batch.save(DirectoryModel(ROUTING_KEY, document=rules))
