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
import threading
from typing import Any


class OneRequestAtATime:
    """moto's backends are not thread-safe (concurrent TransactWriteItems crash with "dictionary
    changed size during iteration"); DynamoDB applies each request atomically, so serialising
    requests gives moto DynamoDB's semantics. Clients still race: only the backend is serial."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self._lock:
            return list(self._app(environ, start_response))


def main() -> int:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, name="moto", daemon=True).start()
    host, port = server.server_address[:2]
    url = f"http://{host}:{port}"
    os.environ.update({"DYNAMODB_ENDPOINT": url, "SQS_ENDPOINT": url})

    from chalicelib.config import settings
    from chalicelib.local.provision import provision

    provision(settings())
    print(json.dumps({"url": url}), flush=True)
    sys.stdin.read()  # returns at EOF: the parent closed the pipe or died
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
