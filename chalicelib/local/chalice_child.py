"""`chalice local` as a child of `make run` that exits as soon as its parent is gone.

`make run` stops this process itself on Ctrl-C; the watchdog covers the case where the
parent dies without cleaning up (kill -9, a crash), so no orphan keeps the API port.
Usage: python -m chalicelib.local.chalice_child PARENT_PID CHALICE_ARGS...
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from http import HTTPStatus
from typing import Any

from chalicelib.errors import NO_SUCH_ROUTE


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(0)  # reparented: the stack that started us is gone


# Path segments shown as they came besides the routes' own words: ids (UUIDs), language codes and
# file names of pages' assets and schemas. Anything else may be what someone typed into the address.
SAFE_SEGMENT = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[a-z]{2}|[\w-]+(?:\.[\w-]+)*\.(?:js|css|json))$"
)


def request_line_without_personal_data(line: str, words: frozenset[str] = frozenset()) -> str:
    """`GET /applicant/+49151…?x=… HTTP/1.1` → `GET /applicant/...?... HTTP/1.1`: a query or a path can hold
    what someone typed (a phone number, a name, an address), which the app's own request log (by
    route) never shows. `words`: the literal segments of the app's routes, shown as they are."""
    method, space, rest = line.partition(" ")
    target, space2, version = rest.rpartition(" ") if " " in rest else (rest, "", "")
    path, question, _ = target.partition("?")
    shown = "/".join(
        part if not part or part in words or SAFE_SEGMENT.match(part) else "..." for part in path.split("/")
    )
    return f"{method}{space}{shown}{'?...' if question else ''}{space2}{version}"


_words: frozenset[str] = frozenset()


def _route_words() -> frozenset[str]:
    """The literal segments of the served app's routes (chalice local has imported `app` by then);
    worked out once, not for every access line."""
    global _words
    if not _words:
        routes = getattr(getattr(sys.modules.get("app"), "app", None), "routes", None) or {}
        _words = frozenset(part for route in routes for part in route.split("/") if part and not part.startswith("{"))
    return _words


def _log_request(handler: Any, code: int | str = "-", size: int | str = "-") -> None:
    if isinstance(code, HTTPStatus):
        code = code.value
    line = request_line_without_personal_data(handler.requestline, _route_words())
    handler.log_message('"%s" %s %s', line, str(code), str(size))


def quiet_access_log() -> None:
    """chalice local's access log (http.server's) prints the raw request line, path and query and all."""
    from chalice.local import ChaliceRequestHandler

    ChaliceRequestHandler.log_request = _log_request  # type: ignore[method-assign]


def answer_unknown_routes_as_deployed() -> None:
    """chalice local mimics API Gateway's default for a path no route has: a 403 that repeats the
    Authorization header. The deployed API answers NO_SUCH_ROUTE instead (its gateway response)."""
    from chalice.local import ForbiddenError, LocalGateway, LocalGatewayException

    class NoSuchRoute(LocalGatewayException):
        CODE = 404

    original = LocalGateway.handle_request
    if getattr(original, "answers_unknown_routes", False):
        return

    def handle_request(self: Any, method: str, path: str, headers: Any, body: Any) -> Any:
        try:
            return original(self, method, path, headers, body)
        except ForbiddenError as error:
            if error.headers.get("x-amzn-ErrorType") != "UnauthorizedException":
                raise
            headers = {**error.headers, "Content-Type": "application/json", "Cache-Control": "no-store"}
            raise NoSuchRoute(headers, json.dumps(NO_SUCH_ROUTE).encode()) from None

    handle_request.answers_unknown_routes = True  # type: ignore[attr-defined]
    LocalGateway.handle_request = handle_request  # type: ignore[method-assign]


def serve_as_deployed() -> None:
    """What `make run` and the loopback tests change in chalice local before it starts. The root
    handler stands in for the Lambda runtime's, to which the app adds its log records' fields."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    quiet_access_log()
    answer_unknown_routes_as_deployed()


def main(argv: list[str]) -> int:
    parent_pid, chalice_args = int(argv[0]), argv[1:]
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watchdog", daemon=True).start()
    serve_as_deployed()
    from chalice.cli import main as chalice_main

    sys.argv = ["chalice", *chalice_args]
    return int(chalice_main() or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
