"""The API served on loopback the way `make run` serves it: moto's server + `chalice local`.

Both run as child processes (moto in-process would share its state with the `mock_aws`
tests in this pytest process). Ports are picked free by the OS; nothing leaves loopback.
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
from typing import Any

from chalicelib.config import PROJECT_DIR

HOST = "127.0.0.1"
REGION = "eu-central-1"


@dataclass(frozen=True)
class LiveStack:
    api_url: str
    moto_url: str
    env: dict[str, str]

    def dynamodb(self) -> Any:
        import boto3

        return boto3.client(
            "dynamodb",
            region_name=REGION,
            endpoint_url=self.moto_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def count(self, logical_table: str) -> int:
        """Items in one of the stage's tables (a Scan: tests only)."""
        table = f"{self.env['TABLE_PREFIX']}-{logical_table}"
        paginator = self.dynamodb().get_paginator("scan")
        return sum(page["Count"] for page in paginator.paginate(TableName=table, Select="COUNT"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _environment(moto_url: str, data_dir: Path) -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DYNAMODB_", "SQS_"))},
        "DYNAMODB_ENDPOINT": moto_url,
        "SQS_ENDPOINT": moto_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "STAGE": "local",
        "TABLE_PREFIX": "migranet-local",
        "QUEUE_PREFIX": "migranet-local",
        "PYTHONUNBUFFERED": "1",
    }
    try:  # what `make run` gives the API (SMS outbox, staff signing key), where that module exists
        from chalicelib.local.stack import local_environment
    except ImportError:
        return env
    return {**env, **local_environment(moto_url, data_dir)}


def _wait_for_api(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/openapi.json", timeout=2) as response:
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


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server in a child process, tables and queues provisioned; yields its URL."""
    moto = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.moto_child"],
        cwd=PROJECT_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"},
    )
    try:
        assert moto.stdout is not None
        line = moto.stdout.readline()
        if not line:
            raise RuntimeError("moto server child exited before it was ready")
        yield json.loads(line)["url"]
    finally:
        _stop(moto)


def api_environment(moto_url: str, data_dir: Path) -> dict[str, str]:
    """What a process serving the API needs: the local stage's variables pointed at `moto_url`."""
    env = _environment(moto_url, data_dir)
    try:
        from chalicelib.local.stack import stage_environment
    except ImportError:
        return env
    return {**env, **stage_environment("local"), **{k: env[k] for k in ("DYNAMODB_ENDPOINT", "SQS_ENDPOINT")}}


@contextmanager
def live_stack() -> Iterator[LiveStack]:
    python = sys.executable
    chalice: subprocess.Popen[bytes] | None = None
    with moto_server() as moto_url, tempfile.TemporaryDirectory(prefix="migranet-live-") as data:
        env = _environment(moto_url, Path(data))
        for _attempt in range(3):  # a free port can be taken between probe and bind
            port = free_port()
            command = [python, "-m", "tests.reliability.chalice_child", "--project-dir", str(PROJECT_DIR)]
            command += ["local", "--stage", "local", "--host", HOST, "--port", str(port), "--no-autoreload"]
            log = open(Path(data) / "chalice.log", "wb")  # noqa: SIM115 - closed below
            chalice = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdin=subprocess.PIPE, stdout=log, stderr=log)
            api_url = f"http://{HOST}:{port}"
            if _wait_for_api(api_url, chalice, timeout=60):
                break
            _stop(chalice)
            log.close()
        else:
            raise RuntimeError(f"chalice local did not start: {(Path(data) / 'chalice.log').read_text()[-2000:]}")
        try:
            yield LiveStack(api_url=api_url, moto_url=moto_url, env=env)
        finally:
            _stop(chalice)
            log.close()
