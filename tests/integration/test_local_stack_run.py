"""`make run` end to end: start, serve, Ctrl-C, start again with the data, `make reset`, no orphans."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import boto3
import pytest

from chalicelib.config import PROJECT_DIR, settings

READY_SECONDS = 90  # chalice local imports the app; slow CI machines have two cores
STOP_SECONDS = 60
PARTNERS = {"servicestelle-muenchen", "via-bayern", "arbeitsagentur-muenchen", "akademie-ingenieure", "lmu-klinikum"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def process_running(pid: int) -> bool:
    """Alive and not a zombie (a reaped-late child must not count as running)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


class RunningStack:
    def __init__(self, data_dir: Path, log: Path, *extra: str) -> None:
        self.data_dir, self.log = data_dir, log
        self.moto_port, self.api_port = free_port(), free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        # As a person starts it: --data-dir alone says where the data goes.
        env = {k: v for k, v in os.environ.items() if k not in ("DYNAMODB_ENDPOINT", "SQS_ENDPOINT", "LOCAL_DATA_DIR")}
        command = [sys.executable, "-m", "chalicelib.local.run", "--data-dir", str(data_dir)]
        command += ["--moto-port", str(self.moto_port), "--api-port", str(self.api_port), *extra]
        with log.open("ab") as out:
            self.process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.children: set[int] = set()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> list[dict[str, Any]]:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"make run exited early:\n{self.output()}"
            if listening(self.api_port):
                status, body = http("GET", f"{self.api}/partners")
                if status == 200:
                    self.children = descendants(self.process.pid)
                    return body["partners"]
            time.sleep(0.2)
        raise AssertionError(f"API not ready in {READY_SECONDS} s:\n{self.output()}")

    def dynamodb(self) -> Any:
        return boto3.client("dynamodb", region_name="eu-central-1", endpoint_url=f"http://127.0.0.1:{self.moto_port}")

    def partner_notices(self, partner: str, within: float) -> list[str]:
        """Case ids of the case.routed notices the partner's queue receives within `within` seconds."""
        sqs = boto3.client("sqs", region_name="eu-central-1", endpoint_url=f"http://127.0.0.1:{self.moto_port}")
        url = sqs.get_queue_url(QueueName=settings().queue_name(partner))["QueueUrl"]
        deadline = time.monotonic() + within
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if messages:
                return [json.loads(m["Body"])["case_id"] for m in messages]
            if time.monotonic() >= deadline:
                return []
            time.sleep(0.2)

    def stop(self, signum: int = signal.SIGINT) -> int:
        self.process.send_signal(signum)
        return self.process.wait(STOP_SECONDS)

    def assert_all_gone(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(map(process_running, self.children)):
            time.sleep(0.1)
        assert self.children, "chalice local runs as a child process"
        assert not [pid for pid in self.children if process_running(pid)], self.output()
        assert not listening(self.api_port) and not listening(self.moto_port)

    def kill(self) -> None:
        """Cleanup after a failed assertion: nothing this test started may outlive it."""
        for pid in [self.process.pid, *self.children]:
            if process_running(pid):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def stacks(tmp_path: Path) -> Iterator[list[RunningStack]]:
    started: list[RunningStack] = []
    yield started
    for running in started:
        running.kill()


def test_make_run_serves_keeps_data_across_restarts_and_stops_everything(
    tmp_path: Path, stacks: list[RunningStack], valid_intake: dict[str, Any]
) -> None:
    data = tmp_path / "local-data"

    def start() -> RunningStack:
        stacks.append(RunningStack(data, tmp_path / "run.log"))
        return stacks[-1]

    first = start()
    assert {p["id"] for p in first.wait_ready()} == PARTNERS
    key = {"Idempotency-Key": "e2e-restart-1"}
    status, created = http("POST", f"{first.api}/intake", valid_intake, key)
    assert status == 201, created
    assert created["status_link"].startswith(f"{first.api}/status#{created['case_id']}.")
    # Sent by the intake's request itself: no stream or scheduled function needed.
    assert first.partner_notices(created["partner"], within=0) == [created["case_id"]]
    assert first.partner_notices(created["partner"], within=1.5) == []  # the stream pump sent no second one
    assert (data / "staff-signing-key.pem").exists()  # made by `make run`, before any staff-token
    # The app's keys live in the data folder too, where `make reset` wipes them and CLI commands find them.
    assert (data / "sealing-key.key").exists() and (data / "phone-hash-key.key").exists()
    stack_file = json.loads((data / "stack.json").read_text())
    assert stack_file["pid"] == first.process.pid
    assert stack_file["api_url"] == first.api and stack_file["chalice_pid"] in first.children

    assert first.stop(signal.SIGINT) == 0
    first.assert_all_gone()
    assert not (data / "stack.json").exists()
    assert "the local stage is for trying and developing" in first.output().lower()

    second = start()
    second.wait_ready()
    cases = second.dynamodb().scan(TableName=settings().table("cases"))["Items"]
    assert [(c["case_id"]["S"], c["reference"]["S"]) for c in cases] == [(created["case_id"], created["reference"])]
    status, replayed = http("POST", f"{second.api}/intake", valid_intake, key)
    assert (status, replayed["case_id"]) == (201, created["case_id"])
    refused = subprocess.run(["make", "-s", "reset", f"DATA_DIR={data}"], cwd=PROJECT_DIR, capture_output=True)
    assert refused.returncode != 0 and b"running" in refused.stderr
    assert (data / "dynamodb-snapshot.json").exists()
    assert second.stop(signal.SIGTERM) == 0
    second.assert_all_gone()

    subprocess.run(["make", "-s", "reset", f"DATA_DIR={data}"], cwd=PROJECT_DIR, check=True, capture_output=True)
    assert not data.exists()

    third = start()
    assert {p["id"] for p in third.wait_ready()} == PARTNERS  # seeded again
    assert third.dynamodb().scan(TableName=settings().table("cases"))["Items"] == []
    # Killed without a chance to clean up: the API child notices and exits by itself.
    third.stop(signal.SIGKILL)
    third.assert_all_gone()


def test_periodic_snapshots_keep_data_through_a_crash(
    tmp_path: Path, stacks: list[RunningStack], valid_intake: dict[str, Any]
) -> None:
    data = tmp_path / "local-data"
    crashing = RunningStack(data, tmp_path / "run.log", "--snapshot-seconds", "0.5")
    stacks.append(crashing)
    crashing.wait_ready()
    status, created = http("POST", f"{crashing.api}/intake", valid_intake)
    assert status == 201, created
    snapshot = data / "dynamodb-snapshot.json"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and created["case_id"] not in (snapshot.read_text() if snapshot.exists() else ""):
        time.sleep(0.2)

    crashing.stop(signal.SIGKILL)  # no final snapshot, stack.json left behind
    crashing.assert_all_gone()
    assert (data / "stack.json").exists()

    again = RunningStack(data, tmp_path / "run.log")
    stacks.append(again)
    again.wait_ready()
    item = again.dynamodb().get_item(TableName=settings().table("cases"), Key={"case_id": {"S": created["case_id"]}})
    assert item["Item"]["reference"]["S"] == created["reference"]
    assert again.stop() == 0


def test_a_busy_port_is_reported_plainly(tmp_path: Path, stacks: list[RunningStack]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "chalicelib.local.run", "--data-dir", str(tmp_path / "d")]
        command += ["--moto-port", str(port), "--api-port", str(free_port())]
        result = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert f"port {port} for the local AWS is in use" in result.stderr and "--moto-port" in result.stderr
    assert "Traceback" not in result.stderr
