"""`make run`'s chalice local prints an access line per request: without the query, which can hold
what someone typed into a search (a phone number, a name)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest

from chalicelib.local.chalice_child import quiet_access_log, request_line_without_query


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        ("GET /staff/cases?reference=%2B4915199887766 HTTP/1.1", "GET /staff/cases?... HTTP/1.1"),
        ("GET /intake?phone=015199887766&lang=de HTTP/1.1", "GET /intake?... HTTP/1.1"),
        ("POST /intake HTTP/1.1", "POST /intake HTTP/1.1"),
        ("GET /x?name=Kovalenko", "GET /x?..."),
        ("", ""),
    ],
)
def test_the_request_line_keeps_method_path_and_version_but_not_the_query(line: str, logged: str) -> None:
    assert request_line_without_query(line) == logged


def test_chalice_locals_access_log_leaves_the_query_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalice.local import ChaliceRequestHandler

    monkeypatch.setattr(ChaliceRequestHandler, "log_request", ChaliceRequestHandler.log_request)
    quiet_access_log()
    printed: list[str] = []

    class Request:
        requestline = "GET /staff/cases?reference=Kovalenko HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            printed.append(format % args)

    ChaliceRequestHandler.log_request(Request(), HTTPStatus.BAD_REQUEST, 120)  # type: ignore[arg-type]
    assert printed == ['"GET /staff/cases?... HTTP/1.1" 400 120']
