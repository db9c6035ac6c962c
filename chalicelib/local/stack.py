"""Where the running local stack is, and the environment that points a process at it.

`make run` writes <data-dir>/stack.json; CLI commands started in another terminal read it
(`use_running_stack`) so that they talk to the same moto endpoint as `chalice local`.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from chalicelib.config import PROJECT_DIR

DEFAULT_DATA_DIR = ".local-data"
STACK_FILE = "stack.json"
REGION = "eu-central-1"
STAGE = "local"

# Every variable `local_environment` sets; tests use it to restore the environment.
LOCAL_ENV_KEYS = (
    "DYNAMODB_ENDPOINT",
    "SQS_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "STAGE",
    "SMS_BACKEND",
    "OUTBOX_FILE",
    "LOCAL_JWT_KEY_FILE",
)


@dataclass(frozen=True)
class StackInfo:
    pid: int
    moto_url: str
    api_url: str
    data_dir: str
    chalice_pid: int | None = None
    started_at: str = ""


def data_dir() -> Path:
    """The local stage's data folder: LOCAL_DATA_DIR, else .local-data in the project."""
    configured = os.environ.get("LOCAL_DATA_DIR")
    return Path(configured) if configured else PROJECT_DIR / DEFAULT_DATA_DIR


def local_environment(moto_url: str, data: Path) -> dict[str, str]:
    """What the API, the scheduler and CLI commands need to use the local stack (never real AWS)."""
    data = data.resolve()
    return {
        "DYNAMODB_ENDPOINT": moto_url,
        "SQS_ENDPOINT": moto_url,
        # moto accepts any credentials; dummy ones keep a real profile from ever being used.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "STAGE": STAGE,
        "SMS_BACKEND": "outbox",
        "OUTBOX_FILE": str(data / "outbox.jsonl"),
        "LOCAL_JWT_KEY_FILE": str(data / "staff-signing-key.pem"),
        # The app's own keys (status-link sealing, phone hash) are made there too (keys.py): a
        # stack and the commands run against it must share them.
        "LOCAL_DATA_DIR": str(data),
    }


def write_stack_file(data: Path, info: StackInfo) -> Path:
    path = data / STACK_FILE
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def read_stack_file(data: Path) -> StackInfo | None:
    """The stack recorded in `data`, or None when there is none or its process is gone."""
    try:
        raw: dict[str, Any] = json.loads((data / STACK_FILE).read_text(encoding="utf-8"))
        info = StackInfo(**raw)
    except (OSError, ValueError, TypeError):
        return None
    return info if pid_alive(info.pid) else None


def remove_stack_file(data: Path) -> None:
    (data / STACK_FILE).unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def use_running_stack() -> bool:
    """Point this process at the running `make run` stack; True when it did.

    Does nothing when an endpoint is already configured or another stage is selected, so
    an operator's STAGE=prod shell is never redirected to the local stack.
    """
    if os.environ.get("DYNAMODB_ENDPOINT") or os.environ.get("STAGE", STAGE) != STAGE:
        return False
    info = read_stack_file(data_dir())
    if info is None:
        return False
    os.environ.update(local_environment(info.moto_url, Path(info.data_dir)))
    return True


def stage_environment(stage: str, function_name: str | None = None) -> dict[str, str]:
    """The environment variables .chalice/config.json gives this stage (and function)."""
    from chalice.config import Config

    config_file = PROJECT_DIR / ".chalice" / "config.json"
    config = Config(chalice_stage=stage, config_from_disk=json.loads(config_file.read_text(encoding="utf-8")))
    if function_name:
        config = config.scope(stage, function_name)
    return {str(k): str(v) for k, v in config.environment_variables.items()}


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set variables for one call and put the old values back (as chalice.test.Client does)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def call_as_lambda(handler: Callable[[Any, Any], Any], name: str, event: dict[str, Any], stage: str) -> Any:
    """One invocation of the app's function `name`, with the stage's (and function's) environment, as
    Lambda would make it (the scheduler's ticks, the stream pump's batches)."""
    from chalice.local import LambdaContext

    context = LambdaContext(name, memory_size=128, max_runtime_ms=60_000)
    with patched_environ(stage_environment(stage, name)):
        return handler(event, context)


def failure_place(error: BaseException) -> str:
    """Where a local invocation failed, by file, line and function only: an exception's message may
    carry personal data, so logs get its type and this."""
    frames = traceback.extract_tb(error.__traceback__)[-3:]
    return "; ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in frames)
