"""Child processes of the loopback stack used by browser and reliability tests.

python -m tests.live_children moto           moto's server on a free loopback port, provisioned;
                                             prints {"url": ...} once ready
python -m tests.live_children chalice ARGS   `chalice ARGS` (e.g. local --port N --no-autoreload)

Both exit when their stdin closes, so they never outlive the test run, even a killed one.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading


def _exit_at_eof() -> None:
    sys.stdin.read()
    os._exit(0)


def moto() -> int:
    # Its own process: moto in the pytest process would share state with the mock_aws tests.
    from chalicelib.local.moto_server import SerialMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = SerialMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    # The tables go to DynamoDB Local instead when the test run asks for it (tests/live.py).
    tables = os.environ.get("LIVE_DYNAMODB_ENDPOINT") or server.url
    os.environ.update({"DYNAMODB_ENDPOINT": tables, "SQS_ENDPOINT": server.url})

    from chalicelib.config import settings
    from chalicelib.local.provision import provision

    provision(settings())
    print(json.dumps({"url": server.url}), flush=True)
    sys.stdin.read()
    server.stop()
    return 0


def chalice(argv: list[str]) -> int:
    threading.Thread(target=_exit_at_eof, name="stdin-watchdog", daemon=True).start()
    from chalice.cli import main

    from chalicelib.local.chalice_child import serve_as_deployed

    serve_as_deployed()  # as `make run` serves it

    sys.argv = ["chalice", *argv]
    return int(main() or 0)


if __name__ == "__main__":
    if sys.argv[1:2] == ["moto"]:
        sys.exit(moto())
    sys.exit(chalice(sys.argv[2:]))
