"""Child process: moto's server on a free loopback port, provisioned like `make run`.

Prints one JSON line {"url": ...} once ready and exits when its stdin closes, so it never
outlives the test run that started it (even if that one is killed).
Usage: python -m tests.reliability.moto_child
"""

from __future__ import annotations

import json
import logging
import os
import sys


def main() -> int:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    os.environ.update({"DYNAMODB_ENDPOINT": url, "SQS_ENDPOINT": url})

    from chalicelib.config import settings
    from chalicelib.local.provision import provision

    provision(settings())
    print(json.dumps({"url": url}), flush=True)
    sys.stdin.read()  # returns at EOF: the parent closed the pipe or died
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
