"""The local scheduler runs every @app.schedule function of an app on its rate (EventBridge's stand-in)."""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from chalice import Chalice, Cron, Rate

from chalicelib.local.scheduler import Cron as LocalCron
from chalicelib.local.scheduler import Scheduler, discover, find, load_app
from chalicelib.local.stack import stage_environment

T0 = datetime(2027, 3, 1, 8, 0, tzinfo=UTC).timestamp()  # a Monday


def throwaway_app(calls: list[tuple[str, Any]]) -> Chalice:
    """Shaped like the real app will be: rates as objects and strings, a cron, a failing tick."""
    app = Chalice(app_name="throwaway")

    @app.schedule(Rate(5, unit=Rate.MINUTES), description="send what is due")
    def send_due_messages(event: Any) -> dict[str, int]:
        calls.append(("send_due_messages", event))
        return {"sent": 0}

    @app.schedule("rate(15 minutes)")
    def mark_overdue_cases(event: Any) -> None:
        calls.append(("mark_overdue_cases", event))
        raise RuntimeError("could not text +49 151 12345678 (Layla Haddad)")

    @app.schedule(Cron(0, 3, "*", "*", "?", "*"), name="retention")
    def enforce_retention(event: Any) -> None:
        calls.append(("enforce_retention", event))

    @app.schedule("cron(0 12 L * ? *)")
    def month_end_report(event: Any) -> None:
        calls.append(("month_end_report", event))

    @app.route("/")
    def index() -> dict[str, str]:
        return {}

    return app


@pytest.fixture
def calls() -> list[tuple[str, Any]]:
    return []


def names(calls: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in calls]


def test_discovers_every_scheduled_function_with_its_rate(calls: list[tuple[str, Any]]) -> None:
    functions = {f.function_name: f for f in discover(throwaway_app(calls))}

    assert set(functions) == {"send_due_messages", "mark_overdue_cases", "enforce_retention", "month_end_report"}
    assert functions["send_due_messages"].interval == 300
    assert functions["send_due_messages"].description == "send what is due"
    assert functions["mark_overdue_cases"].interval == 900
    assert functions["enforce_retention"].name == "retention"
    assert functions["enforce_retention"].expression == "cron(0 3 * * ? *)"
    assert functions["month_end_report"].automatic is False
    assert "not supported" in (functions["month_end_report"].problem or "")


def test_rate_functions_run_at_start_then_on_their_rate(calls: list[tuple[str, Any]]) -> None:
    scheduler = Scheduler(throwaway_app(calls), "local", "eu-central-1", clock=lambda: T0)
    for function in scheduler.functions:
        function.next_due = T0

    assert scheduler.run_due(T0) == ["mark_overdue_cases", "send_due_messages"]
    assert scheduler.run_due(T0 + 299) == []
    assert scheduler.run_due(T0 + 300) == ["send_due_messages"]
    assert scheduler.run_due(T0 + 600) == ["send_due_messages"]
    assert scheduler.run_due(T0 + 900) == ["mark_overdue_cases", "send_due_messages"]
    # A laptop asleep for an hour: one tick, not twelve, then the rhythm resumes.
    assert scheduler.run_due(T0 + 4500) == ["mark_overdue_cases", "send_due_messages"]
    assert scheduler.run_due(T0 + 4799) == []
    assert scheduler.run_due(T0 + 4800) == ["send_due_messages"]


def test_cron_function_runs_once_in_its_minute(calls: list[tuple[str, Any]]) -> None:
    scheduler = Scheduler(throwaway_app(calls), "local", "eu-central-1")
    retention = find(scheduler.functions, "enforce_retention")
    retention.next_due = float("inf")
    scheduler.functions = [retention]
    three = datetime(2027, 3, 2, 3, 0, tzinfo=UTC).timestamp()

    assert scheduler.run_due(three - 60) == []
    assert scheduler.run_due(three + 1) == ["retention"]
    assert scheduler.run_due(three + 30) == []  # same minute, polled again
    assert scheduler.run_due(three + 61) == []
    assert names(calls) == ["enforce_retention"]


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("0/15 * * * ? *", datetime(2027, 1, 1, 10, 45), True),
        ("0/15 * * * ? *", datetime(2027, 1, 1, 10, 46), False),
        ("0 9 ? * MON-FRI *", datetime(2027, 3, 1, 9, 0), True),  # Monday
        ("0 9 ? * MON-FRI *", datetime(2027, 3, 6, 9, 0), False),  # Saturday
        ("0 9 ? * 1 *", datetime(2027, 3, 7, 9, 0), True),  # AWS: 1 = Sunday
        ("30 22 1 JUL,DEC ? *", datetime(2027, 7, 1, 22, 30), True),
        ("30 22 1 JUL,DEC ? *", datetime(2027, 8, 1, 22, 30), False),
        ("0 0 * * ? 2028", datetime(2027, 8, 1, 0, 0), False),
    ],
)
def test_cron_matching_follows_aws_rules(expression: str, moment: datetime, expected: bool) -> None:
    assert LocalCron(expression).matches(moment.replace(tzinfo=UTC)) is expected


def test_a_failing_tick_is_logged_without_its_message_and_the_scheduler_goes_on(
    calls: list[tuple[str, Any]], caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = Scheduler(throwaway_app(calls), "local", "eu-central-1")
    for function in scheduler.functions:
        function.next_due = T0

    with caplog.at_level(logging.INFO, logger="chalicelib.local.scheduler"):
        scheduler.run_due(T0)
        scheduler.run_due(T0 + 900)

    assert names(calls) == ["mark_overdue_cases", "send_due_messages"] * 2
    assert scheduler.runs == [
        ("mark_overdue_cases", False),
        ("send_due_messages", True),
        ("mark_overdue_cases", False),
        ("send_due_messages", True),
    ]
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 2
    assert "mark_overdue_cases failed: RuntimeError" in failures[0]
    assert "test_local_stack_scheduler.py" in failures[0]  # where, so a developer can look
    logged = caplog.text
    assert "12345678" not in logged and "Layla" not in logged


def test_handlers_get_a_cloudwatch_scheduled_event(calls: list[tuple[str, Any]]) -> None:
    scheduler = Scheduler(throwaway_app(calls), "local", "eu-central-1")
    scheduler.functions = [find(scheduler.functions, "send_due_messages")]
    scheduler.run_due(time.time())

    (_, event) = calls[0]
    assert event.detail_type == "Scheduled Event"
    assert event.source == "aws.events"
    assert event.region == "eu-central-1"
    assert event.detail == {}
    assert event.resources == ["arn:aws:events:eu-central-1:123456789012:rule/throwaway-local-send_due_messages"]
    assert abs(datetime.fromisoformat(event.time).timestamp() - time.time()) < 5


def test_ticks_run_with_the_stage_environment_of_chalice_config(
    calls: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = stage_environment("local", "send_due_messages")
    assert expected, ".chalice/config.json gives the local stage environment variables"
    for name in expected:
        monkeypatch.delenv(name, raising=False)
    seen: dict[str, str | None] = {}
    app = Chalice(app_name="throwaway")

    @app.schedule("rate(5 minutes)")
    def send_due_messages(event: Any) -> None:
        seen.update({name: os.environ.get(name) for name in expected})

    Scheduler(app, "local", "eu-central-1").run_due(time.time())

    assert seen == expected
    assert not any(name in os.environ for name in expected)  # as before the tick


def test_the_thread_ticks_at_start_and_stops_promptly(calls: list[tuple[str, Any]]) -> None:
    scheduler = Scheduler(throwaway_app(calls), "local", "eu-central-1", poll_seconds=0.05)
    scheduler.start()
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    scheduler.stop(timeout=5)

    assert sorted(names(calls)) == ["mark_overdue_cases", "send_due_messages"]
    assert time.monotonic() - started < 1
    assert scheduler._thread is not None and not scheduler._thread.is_alive()


def test_every_schedule_of_the_real_app_can_run_locally() -> None:
    """Guards later issues: an expression the local scheduler cannot run would never tick in `make run`."""
    problems = {f.function_name: f.problem for f in discover(load_app()) if not f.automatic}
    assert problems == {}
