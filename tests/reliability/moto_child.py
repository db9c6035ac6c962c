"""Child process: moto's server (as ThreadedMotoServer builds it) on a free loopback port, provisioned.

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
    from chalicelib.local.moto_server import SerialMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = SerialMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    url = server.url
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
