"""A stand-in for the AWS Parameters and Secrets Lambda Extension, so section 3 can time a cold
start as deployed: the function asks it over local HTTP, it asks Parameter Store (moto's server).

Like the real extension it runs beside the function (here a thread of the bench process, as
the extension is a process of its own), holds its SSM client from its own start, and starts
each execution environment with an empty cache: every request makes one GetParameter call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "bench-session-token"


@contextmanager
def parameters_extension(ssm_endpoint: str) -> Iterator[dict[str, str]]:
    """Serves on a free local port; yields the environment a function needs to use it."""
    import boto3

    ssm = boto3.client(
        "ssm", endpoint_url=ssm_endpoint, region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x"
    )

    class Extension(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlparse(self.path).query)
            if self.headers.get("X-Aws-Parameters-Secrets-Token") != TOKEN:
                return self._answer(401, {"message": "not authorized"})
            decrypt = query.get("withDecryption") == ["true"]
            found = ssm.get_parameter(Name=query["name"][0], WithDecryption=decrypt)["Parameter"]
            self._answer(200, {"Parameter": {k: found[k] for k in ("Name", "Type", "Value", "Version")}})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Extension)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(server.server_address[1]), "AWS_SESSION_TOKEN": TOKEN}
    finally:
        server.shutdown()
        server.server_close()
