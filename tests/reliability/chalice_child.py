"""Child process: `chalice local` that exits when its stdin closes (the test run ended or died).

Usage: python -m tests.reliability.chalice_child CHALICE_ARGS...
"""

from __future__ import annotations

import os
import sys
import threading


def _exit_at_eof() -> None:
    sys.stdin.read()
    os._exit(0)


def main(argv: list[str]) -> int:
    threading.Thread(target=_exit_at_eof, name="stdin-watchdog", daemon=True).start()
    from chalice.cli import main as chalice_main

    sys.argv = ["chalice", *argv]
    return int(chalice_main() or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
