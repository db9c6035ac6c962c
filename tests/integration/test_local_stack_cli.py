"""CLI commands beside `make run`: they find the running stack, and run or list scheduled functions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chalice import Chalice

from chalicelib import cli
from chalicelib.local import scheduler, stack


@pytest.fixture(autouse=True)
def _restore_local_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """use_running_stack writes os.environ directly; registering the keys restores them afterwards."""
    for name in stack.LOCAL_ENV_KEYS:
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)
    monkeypatch.setenv("STAGE", "local")


@pytest.fixture
def data_dir() -> Path:
    return Path(os.environ["LOCAL_DATA_DIR"])


def write_stack(data: Path, pid: int) -> None:
    data.mkdir(parents=True, exist_ok=True)
    info = stack.StackInfo(
        pid=pid, moto_url="http://127.0.0.1:5999", api_url="http://127.0.0.1:8999", data_dir=str(data)
    )
    stack.write_stack_file(data, info)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_commands_use_the_running_stack(data_dir: Path) -> None:
    write_stack(data_dir, os.getpid())

    assert stack.use_running_stack() is True

    assert os.environ["DYNAMODB_ENDPOINT"] == os.environ["SQS_ENDPOINT"] == "http://127.0.0.1:5999"
    assert os.environ["AWS_REGION"] == "eu-central-1" and os.environ["STAGE"] == "local"
    assert os.environ["SMS_BACKEND"] == "outbox"
    assert Path(os.environ["OUTBOX_FILE"]) == data_dir.resolve() / "outbox.jsonl"
    assert Path(os.environ["LOCAL_JWT_KEY_FILE"]) == data_dir.resolve() / "staff-signing-key.pem"


def test_a_stack_file_left_by_a_killed_stack_is_ignored(data_dir: Path) -> None:
    write_stack(data_dir, dead_pid())

    assert stack.use_running_stack() is False
    assert "DYNAMODB_ENDPOINT" not in os.environ


def test_an_explicit_endpoint_or_another_stage_is_never_redirected(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_stack(data_dir, os.getpid())
    monkeypatch.setenv("STAGE", "prod")
    assert stack.use_running_stack() is False
    assert "DYNAMODB_ENDPOINT" not in os.environ

    monkeypatch.setenv("STAGE", "local")
    monkeypatch.setenv("DYNAMODB_ENDPOINT", "http://127.0.0.1:1234")
    assert stack.use_running_stack() is False
    assert os.environ["DYNAMODB_ENDPOINT"] == "http://127.0.0.1:1234"


def test_without_a_stack_file_nothing_changes() -> None:
    assert stack.use_running_stack() is False
    assert "DYNAMODB_ENDPOINT" not in os.environ


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The CLI sees a throwaway app instead of app.py (which has no schedules yet)."""
    seen: list[dict[str, Any]] = []
    app = Chalice(app_name="throwaway")

    @app.schedule("rate(5 minutes)", description="send what is due")
    def send_due_messages(event: Any) -> dict[str, int]:
        seen.append({"detail_type": event.detail_type, "endpoint": os.environ.get("DYNAMODB_ENDPOINT")})
        return {"sent": 3}

    @app.schedule("rate(15 minutes)")
    def mark_overdue_cases(event: Any) -> None:
        raise ValueError("applicant +4915112345678 unreachable")

    monkeypatch.setattr(scheduler, "load_app", lambda: app)
    return seen


def test_run_schedule_runs_one_tick_against_the_running_stack(
    ticks: list[dict[str, Any]], data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(data_dir, os.getpid())

    assert cli.main(["run-schedule", "send_due_messages"]) == 0

    assert ticks == [{"detail_type": "Scheduled Event", "endpoint": "http://127.0.0.1:5999"}]
    assert capsys.readouterr().out.strip() == 'ran send_due_messages: {"sent": 3}'


def test_run_schedule_names_the_known_functions_for_an_unknown_one(
    ticks: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run-schedule", "send_due_message"]) == 2

    error = capsys.readouterr().err
    assert "unknown scheduled function 'send_due_message'" in error
    assert "mark_overdue_cases" in error and "send_due_messages" in error
    assert ticks == []


def test_run_schedule_says_when_the_local_stack_is_not_running(
    ticks: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["run-schedule", "send_due_messages"]) == 1

    assert "make run" in capsys.readouterr().err
    assert ticks == []


def test_a_failing_tick_exits_1_without_personal_data(
    ticks: list[dict[str, Any]], data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(data_dir, os.getpid())

    assert cli.main(["run-schedule", "mark_overdue_cases"]) == 1

    error = capsys.readouterr().err
    assert "mark_overdue_cases failed: ValueError" in error and "4915112345678" not in error


def test_list_schedules(ticks: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list-schedules"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["mark_overdue_cases", "rate(15", "minutes)"]
    assert lines[1].split()[:3] == ["send_due_messages", "rate(5", "minutes)"]
    assert "send what is due" in lines[1]
