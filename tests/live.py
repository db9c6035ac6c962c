"""The app served on loopback as `make run` serves it (moto's server + `chalice local`).

For browser and reliability tests. Both servers are child processes (moto in the pytest
process would share its state with the mock_aws tests) that die with the test run; ports
are chosen by the OS and nothing leaves loopback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from chalicelib.config import PROJECT_DIR
from chalicelib.local.stack import local_environment

HOST = "127.0.0.1"
REGION = "eu-central-1"
TABLE_PREFIX = "migranet-local"


@dataclass(frozen=True)
class LiveApp:
    url: str
    moto_url: str
    env: dict[str, str]  # the API's environment: run CLI commands (e.g. staff-token) with it
    data_dir: Path  # the outbox and the staff signing key live here

    @property
    def api_url(self) -> str:
        return self.url

    def dynamodb(self) -> Any:
        import boto3

        return boto3.client(
            "dynamodb",
            region_name=REGION,
            endpoint_url=self.env["DYNAMODB_ENDPOINT"],  # moto's server, or DynamoDB Local
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def run_schedule(self, name: str) -> dict[str, Any]:
        """One tick of a scheduled function against this stack, as `make run`'s scheduler runs it."""
        command = [sys.executable, "-m", "chalicelib.cli", "run-schedule", name]
        done = subprocess.run(command, cwd=PROJECT_DIR, env=self.env, capture_output=True, check=True, timeout=120)
        [line] = [line for line in done.stdout.decode().splitlines() if line.startswith(f"ran {name}: ")]
        return json.loads(line.split(": ", 1)[1])

    def count(self, logical_table: str) -> int:
        """Items in one of the stage's tables (a Scan: tests only)."""
        paginator = self.dynamodb().get_paginator("scan")
        pages = paginator.paginate(TableName=f"{TABLE_PREFIX}-{logical_table}", Select="COUNT")
        return sum(page["Count"] for page in pages)

    def cases(self) -> list[dict[str, Any]]:
        """Every stored case as {case_id, reference, partner, intake}: a Scan, for tests only."""
        paginator = self.dynamodb().get_paginator("scan")
        found = []
        for page in paginator.paginate(TableName=f"{TABLE_PREFIX}-cases"):
            for item in page["Items"]:
                found.append(
                    {
                        "case_id": item["case_id"]["S"],
                        "reference": item["reference"]["S"],
                        "partner": item["partner"]["S"],
                        "intake": json.loads(item["intake"]["S"]),
                    }
                )
        return found

    def cases_of(self, family_name: str) -> list[dict[str, Any]]:
        return [c for c in self.cases() if c["intake"].get("family_name") == family_name]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _environment(moto_url: str, data: Path, dynamodb_endpoint: str | None = None) -> dict[str, str]:
    """What `make run` gives the API (SMS to the local outbox, the staff signing key in `data`);
    with `dynamodb_endpoint` (DynamoDB Local) the tables are there, the rest stays on moto."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DYNAMODB_", "SQS_", "LIVE_"))}
    tables = {"DYNAMODB_ENDPOINT": dynamodb_endpoint, "LIVE_DYNAMODB_ENDPOINT": dynamodb_endpoint}
    return {
        **keep,
        "DYNAMODB_ENDPOINT": moto_url,
        "SQS_ENDPOINT": moto_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "STAGE": "local",
        "TABLE_PREFIX": TABLE_PREFIX,
        "QUEUE_PREFIX": TABLE_PREFIX,
        "PYTHONUNBUFFERED": "1",
        **local_environment(moto_url, data),
        "LOCAL_DATA_DIR": str(data),
        **(tables if dynamodb_endpoint else {}),
    }


def _ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/partners", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.stdin:
        process.stdin.close()  # the child's watchdog exits at EOF
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait(5)


def api_environment(moto_url: str, data: Path) -> dict[str, str]:
    """The environment a process serving the API (or a bench child) needs to use `moto_url`."""
    return _environment(moto_url, data)


@contextmanager
def moto_server(log: IO[bytes] | None = None, dynamodb_endpoint: str | None = None) -> Iterator[str]:
    """moto's server in a child process, tables (there or on `dynamodb_endpoint`) and queues
    provisioned; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="migranet-moto-") as tmp:
        moto = subprocess.Popen(
            [sys.executable, "-m", "tests.live_children", "moto"],
            cwd=PROJECT_DIR,
            env=_environment("", Path(tmp), dynamodb_endpoint),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        try:
            assert moto.stdout is not None
            line = moto.stdout.readline()
            if not line:
                raise RuntimeError("moto server did not start")
            yield json.loads(line)["url"]
        finally:
            _stop(moto)


@contextmanager
def live_app(dynamodb_endpoint: str | None = None) -> Iterator[LiveApp]:
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="migranet-live-") as tmp:
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log, moto_server(log, dynamodb_endpoint) as moto_url:
            env = _environment(moto_url, Path(tmp), dynamodb_endpoint)
            for _attempt in range(3):  # a probed port can be taken before chalice binds it
                port = free_port()
                command = [python, "-m", "tests.live_children", "chalice", "--project-dir", str(PROJECT_DIR)]
                command += ["local", "--stage", "local", "--host", HOST, "--port", str(port), "--no-autoreload"]
                server = subprocess.Popen(
                    command, cwd=PROJECT_DIR, env=env, stdin=subprocess.PIPE, stdout=log, stderr=log
                )
                url = f"http://{HOST}:{port}"
                if _ready(url, server, timeout=60):
                    break
                _stop(server)
            else:
                raise RuntimeError(f"chalice local did not start: {log_path.read_text()[-2000:]}")
            try:
                yield LiveApp(url=url, moto_url=moto_url, env=env, data_dir=Path(tmp))
            finally:
                _stop(server)
