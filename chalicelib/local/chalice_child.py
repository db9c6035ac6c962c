"""`chalice local` as a child of `make run` that exits as soon as its parent is gone.

`make run` stops this process itself on Ctrl-C; the watchdog covers the case where the
parent dies without cleaning up (kill -9, a crash), so no orphan keeps the API port.
Usage: python -m chalicelib.local.chalice_child PARENT_PID CHALICE_ARGS...
"""

from __future__ import annotations

import os
import sys
import threading
import time
from http import HTTPStatus
from typing import Any


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(0)  # reparented: the stack that started us is gone


def request_line_without_query(line: str) -> str:
    """`GET /staff/cases?reference=... HTTP/1.1` → `GET /staff/cases?... HTTP/1.1`: a query can hold what
    someone typed (a phone number or name in a search), and the app's own request log leaves it out too."""
    method, space, rest = line.partition(" ")
    target, space2, version = rest.rpartition(" ") if " " in rest else (rest, "", "")
    path, question, _ = target.partition("?")
    return f"{method}{space}{path}{'?...' if question else ''}{space2}{version}"


def _log_request(handler: Any, code: int | str = "-", size: int | str = "-") -> None:
    if isinstance(code, HTTPStatus):
        code = code.value
    handler.log_message('"%s" %s %s', request_line_without_query(handler.requestline), str(code), str(size))


def quiet_access_log() -> None:
    """chalice local's access log (http.server's) prints the raw request line, query and all."""
    from chalice.local import ChaliceRequestHandler

    ChaliceRequestHandler.log_request = _log_request  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    parent_pid, chalice_args = int(argv[0]), argv[1:]
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watchdog", daemon=True).start()
    quiet_access_log()
    from chalice.cli import main as chalice_main

    sys.argv = ["chalice", *chalice_args]
    return int(chalice_main() or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
