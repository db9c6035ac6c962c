"""moto's ThreadedMotoServer, with requests applied one at a time.

moto's backends are not thread-safe: two TransactWriteItems at once crash with "dictionary
changed size during iteration". DynamoDB applies each request atomically, so serialising
requests at the backend gives moto DynamoDB's semantics; clients still race each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server


class OneRequestAtATime:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self.lock:
            return list(self._app(environ, start_response))


class SerialMotoServer(ThreadedMotoServer):
    """Same start/stop/get_host_and_port as ThreadedMotoServer; port 0 picks a free port."""

    def _server_entry(self) -> None:
        app = OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
        self.request_lock = app.lock  # for code of this process that touches moto's state directly
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"
