"""A fake of the AWS Parameters and Secrets Lambda Extension: a real HTTP server on 127.0.0.1.

It answers what the function asks (GET /systemsmanager/parameters/get?name=…&withDecryption=…
with the X-Aws-Parameters-Secrets-Token header) as the extension does: 200 with GetParameter's
answer, 401 for a wrong token, 404 for an unknown parameter. Where the values come from is the
caller's `lookup`: a dict in the unit tests, moto's Parameter Store in the cold-start bench
(one GetParameter per request, as the real extension makes on a cold cache).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

PATH = "/systemsmanager/parameters/get"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"

# name, with decryption → value, or None when there is no such parameter
Lookup = Callable[[str, bool], "str | None"]


@dataclass
class FakeExtension:
    port: int
    token: str
    asked: list[tuple[str, str]] = field(default_factory=list)  # (parameter, token sent)

    @property
    def environment(self) -> dict[str, str]:
        """What a function needs to use it (the stack sets the port; Lambda sets the token)."""
        return {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(self.port), "AWS_SESSION_TOKEN": self.token}


@contextmanager
def parameters_extension(lookup: Lookup, token: str) -> Iterator[FakeExtension]:
    state: FakeExtension

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            name = query.get("name", [""])[0]
            sent = self.headers.get(TOKEN_HEADER, "")
            state.asked.append((name, sent))
            if sent != token:
                return self._answer(401, {"message": "not authorized"})
            if url.path != PATH or not name:
                return self._answer(400, {"message": "bad request"})
            value = lookup(name, query.get("withDecryption") == ["true"])
            if value is None:
                return self._answer(404, {"message": "parameter not found"})
            self._answer(200, {"Parameter": {"Name": name, "Type": "SecureString", "Value": value, "Version": 1}})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = FakeExtension(port=server.server_address[1], token=token)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
