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


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(0)  # reparented: the stack that started us is gone


def main(argv: list[str]) -> int:
    parent_pid, chalice_args = int(argv[0]), argv[1:]
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watchdog", daemon=True).start()
    from chalice.cli import main as chalice_main

    sys.argv = ["chalice", *chalice_args]
    return int(chalice_main() or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
