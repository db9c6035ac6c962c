"""Scheduled functions that operators and tests can also invoke by name, with any payload.

Chalice hands a scheduled function a CloudWatchEvent built from the payload and fails with
KeyError on anything but a complete EventBridge event, so `Client().lambda_.invoke(name)` (an
empty payload) or `aws lambda invoke --function-name …-send_due_messages` crashed before our
code ran. None of our scheduled functions reads the event, only its Lambda context.
"""

from __future__ import annotations

from typing import Any

from chalice.app import CloudWatchEvent


class ScheduledOrManualEvent(CloudWatchEvent):
    """An EventBridge scheduled event, or a manual invoke whose payload lacks its fields."""

    def _extract_attributes(self, event_dict: Any) -> None:
        event = event_dict if isinstance(event_dict, dict) else {}
        self.version: str = event.get("version", "0")
        self.account: str = event.get("account", "")
        self.region: str = event.get("region", "")
        self.detail: dict[str, Any] = event.get("detail") or {}
        self.detail_type: str = event.get("detail-type", "Manual invocation")
        self.source: str = event.get("source", "manual")
        self.time: str = event.get("time", "")
        self.event_id: str = event.get("id", "")
        self.resources: list[str] = event.get("resources") or []


def invocable_by_name(handler: Any) -> Any:
    """Applied over `@app.schedule(...)`: the registered handler accepts any payload."""
    handler.event_class = ScheduledOrManualEvent
    return handler


def lambda_time_budget(event: Any, default_seconds: float = 240.0) -> float:
    """Seconds a scheduled run may work: Lambda's remaining time less a margin for saving its report."""
    context = getattr(event, "context", None)
    remaining = context.get_remaining_time_in_millis() / 1000 if hasattr(context, "get_remaining_time_in_millis") else 0
    return max(5.0, remaining - 10) if remaining else default_seconds
