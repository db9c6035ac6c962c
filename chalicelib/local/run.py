"""`make run`: the whole local stage in one command, stopped by Ctrl-C.

Starts moto's server (DynamoDB + SQS) on loopback, creates and seeds tables and queues,
restores the last snapshot, runs the app's scheduled functions, and serves the API with
`chalice local`. Data is snapshotted every 30 s and on stop; `make reset` wipes it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from chalicelib.config import PROJECT_DIR
from chalicelib.local import stack
from chalicelib.local.snapshots import SNAPSHOT_FILE, restore_snapshot, take_snapshot

log = logging.getLogger("chalicelib.local.run")

DEFAULT_MOTO_PORT = 5005
DEFAULT_API_PORT = 8000
HOST = "127.0.0.1"


class StartupError(RuntimeError):
    """Something a user can fix (a busy port, a second instance); printed without a traceback."""


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers themselves do
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _port_listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _pretty(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class LocalStack:
    def __init__(self, data_dir: Path, moto_port: int, api_port: int, snapshot_seconds: float) -> None:
        self.data_dir = data_dir
        self.moto_port, self.api_port = moto_port, api_port
        self.moto_url = f"http://{HOST}:{moto_port}"
        self.api_url = f"http://{HOST}:{api_port}"
        self.snapshot_path = data_dir / SNAPSHOT_FILE
        self.snapshot_seconds = snapshot_seconds
        self.restored: dict[str, int] | None = None  # None until restore succeeded: no snapshot before
        self.schedules: list[str] = []
        self._moto: Any = None
        self._dynamodb: Any = None
        self._scheduler: Any = None
        self._streams: Any = None
        self._chalice: subprocess.Popen[bytes] | None = None

    def start(self, stop: threading.Event) -> None:
        running = stack.read_stack_file(self.data_dir)
        if running:
            raise StartupError(f"the local stack is already running (pid {running.pid}, {running.api_url})")
        for name, port, option in (("local AWS", self.moto_port, "--moto-port"), ("API", self.api_port, "--api-port")):
            if not port_free(port):
                raise StartupError(f"port {port} for the {name} is in use; stop what uses it or pass {option} PORT")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # The stage's own settings first (as chalice local applies them), then the local endpoints.
        os.environ.update(stack.stage_environment(stack.STAGE))
        os.environ.update(stack.local_environment(self.moto_url, self.data_dir))
        # Absolute status links in intake answers (and the URL Twilio would sign) for this stack.
        os.environ.setdefault("PUBLIC_BASE_URL", self.api_url)
        self._start_moto()
        self._provision_and_restore()
        self._start_scheduler()
        self._start_streams()
        self._start_chalice(stop)
        stack.write_stack_file(
            self.data_dir,
            stack.StackInfo(
                pid=os.getpid(),
                moto_url=self.moto_url,
                api_url=self.api_url,
                data_dir=str(self.data_dir),
                chalice_pid=self._chalice.pid if self._chalice else None,
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )

    def _start_moto(self) -> None:
        from chalicelib.local.moto_server import SerialMotoServer

        # werkzeug would log every DynamoDB call; the API's own log is what a developer reads.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._moto = SerialMotoServer(ip_address=HOST, port=self.moto_port, verbose=False)
        self._moto.start()

    def _provision_and_restore(self) -> None:
        import boto3

        from chalicelib.config import settings
        from chalicelib.local.provision import provision

        provision(settings())
        from chalicelib.adapters.tokens import local_signing_key

        # The staff signing key in the data folder from the start: `staff-token` and the API share it.
        local_signing_key(settings().local_jwt_key_file)
        self._dynamodb = boto3.session.Session().client(
            "dynamodb", region_name=stack.REGION, endpoint_url=self.moto_url
        )
        self.restored = restore_snapshot(self._dynamodb, self.snapshot_path)

    def _start_scheduler(self) -> None:
        from chalicelib.local.scheduler import Scheduler, load_app

        self._scheduler = Scheduler(load_app(), stack.STAGE, stack.REGION)
        self.schedules = [f"{f.function_name} ({f.expression})" for f in self._scheduler.functions]
        self._scheduler.start()

    def _start_streams(self) -> None:
        from chalicelib.config import settings
        from chalicelib.local.scheduler import load_app
        from chalicelib.local.streams import StreamPump, local_invoke

        app = load_app()
        self._streams = StreamPump(app, settings(), local_invoke(app, stack.STAGE), self._moto.request_lock)
        self._streams.start()

    def _start_chalice(self, stop: threading.Event) -> None:
        command = [sys.executable, "-m", "chalicelib.local.chalice_child", str(os.getpid())]
        command += ["--project-dir", str(PROJECT_DIR), "local", "--stage", stack.STAGE]
        command += ["--host", HOST, "--port", str(self.api_port), "--no-autoreload"]
        # Own session: the terminal's Ctrl-C reaches only us, and we stop the API in order.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._chalice = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, start_new_session=True)
        deadline = time.monotonic() + 60
        while not _port_listening(self.api_port):
            if self._chalice.poll() is not None:
                raise StartupError(f"chalice local exited with code {self._chalice.returncode} (see its output above)")
            if stop.is_set():
                return
            if time.monotonic() > deadline:
                raise StartupError("chalice local did not start listening within 60 s")
            time.sleep(0.1)

    def serve(self, stop: threading.Event) -> int:
        """Until Ctrl-C/SIGTERM (0) or the API process dies (1); snapshots on the way."""
        next_snapshot = time.monotonic() + self.snapshot_seconds
        while not stop.wait(0.5):
            if self._chalice and self._chalice.poll() is not None:
                log.error("chalice local exited with code %s; stopping the stack", self._chalice.returncode)
                return 1
            if time.monotonic() >= next_snapshot:
                self.snapshot()
                next_snapshot = time.monotonic() + self.snapshot_seconds
        return 0

    def snapshot(self) -> dict[str, int] | None:
        if self.restored is None or self._dynamodb is None:
            return None  # never overwrite a snapshot that was not restored first
        try:
            return take_snapshot(self._dynamodb, self.snapshot_path)
        except Exception as error:  # noqa: BLE001 - a failed snapshot must not stop the stack
            log.error("snapshot failed (%s); the previous one is kept", type(error).__name__)
            return None

    def stop(self) -> None:
        """Stop what was started, newest first; the final snapshot is taken once nothing writes."""
        if self._scheduler:
            self._scheduler.request_stop()
        if self._chalice and self._chalice.poll() is None:
            self._chalice.terminate()
            try:
                self._chalice.wait(10)
            except subprocess.TimeoutExpired:
                self._chalice.kill()
                self._chalice.wait()
        if self._scheduler:
            self._scheduler.stop(timeout=10)
        if self._streams:
            self._streams.stop()
        if self._moto:
            counts = self.snapshot()
            if counts is not None:
                print(f"Saved {sum(counts.values())} items from {len(counts)} tables to {_pretty(self.snapshot_path)}")
            self._moto.stop()
        info = stack.read_stack_file(self.data_dir)
        if info and info.pid == os.getpid():
            stack.remove_stack_file(self.data_dir)

    def banner(self) -> str:
        python = _pretty(Path(sys.executable)) if Path(sys.executable).is_relative_to(Path.cwd()) else "python"
        restored = self.restored or {}
        data_note = (
            f"restored {sum(restored.values())} items from the last run" if restored else "fresh (no snapshot yet)"
        )
        schedules = ", ".join(self.schedules) or "none yet"
        sources = self._streams.sources if self._streams else []
        streams = ", ".join(f"{source.name} (table {source.table_name})" for source in sources) or "none"
        lines = [
            "",
            "MigraNet Intake: the local stage is running",
            f"  API          {self.api_url}      try: curl {self.api_url}/partners",
            f"  Local AWS    {self.moto_url}      moto (DynamoDB + SQS), in this process",
            f"  Data         {_pretty(self.data_dir)}/   {data_note}; saved every "
            f"{self.snapshot_seconds:g} s and on stop; `make reset` wipes it",
            f"  SMS outbox   {_pretty(self.data_dir / 'outbox.jsonl')}   no SMS leave this machine",
            f"  Staff token  {python} -m chalicelib.cli staff-token --partner lmu-klinikum",
            f"  Schedules    {schedules}",
            f"               one tick now: {python} -m chalicelib.cli run-schedule NAME",
            f"  Streams      {streams}: each write handed on within 0.1 s, as Lambda's poller does",
            "  The local stage is for trying and developing. Production runs on AWS (eu-central-1).",
            "  Press Ctrl-C to stop; your data is kept.",
            "",
        ]
        return "\n".join(lines)


def _port_option(env_name: str, default: int) -> int:
    return int(os.environ.get(env_name) or default)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.local.run", description=__doc__)
    parser.add_argument("--data-dir", default=str(stack.data_dir()), help="snapshot, outbox, keys (LOCAL_DATA_DIR)")
    parser.add_argument("--moto-port", type=int, default=_port_option("LOCAL_MOTO_PORT", DEFAULT_MOTO_PORT))
    parser.add_argument("--api-port", type=int, default=_port_option("LOCAL_API_PORT", DEFAULT_API_PORT))
    parser.add_argument("--snapshot-seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Our own and the app's messages; libraries only when something is wrong.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%X")
    logging.getLogger("chalicelib").setLevel(logging.INFO)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if not stop.is_set():
            print(f"\n{signal.Signals(signum).name}: stopping the local stack …", flush=True)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    local = LocalStack(Path(args.data_dir).resolve(), args.moto_port, args.api_port, args.snapshot_seconds)
    code = 1
    try:
        local.start(stop)
        if not stop.is_set():
            print(local.banner(), flush=True)
        code = local.serve(stop)
    except StartupError as error:
        print(f"make run: {error}", file=sys.stderr)
    finally:
        local.stop()
    print("Local stack stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
