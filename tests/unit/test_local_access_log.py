"""`make run`'s chalice local prints an access line per request: without the query, and with only
the routes' own words, ids and asset names of the path: both can hold what someone typed (a phone
number, a name, an e-mail address)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest

from chalicelib.local.chalice_child import quiet_access_log, request_line_without_personal_data


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
    assert request_line_without_personal_data(line, frozenset({"staff", "cases", "intake", "x"})) == logged


WORDS = frozenset({"staff", "cases", "applicant", "export", "claim", "assets", "schemas", "status"})
CASE = "7c1ef0e3-8d1a-4b6e-9f3c-2a5b6c7d8e9f"


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        ("GET /staff/cases/leakqx@example.org HTTP/1.1", "GET /staff/cases/... HTTP/1.1"),
        ("GET /applicant/+4915123457783 HTTP/1.1", "GET /applicant/... HTTP/1.1"),
        ("GET /Kovalenko-Olena HTTP/1.1", "GET /... HTTP/1.1"),
        (f"POST /staff/cases/{CASE}/claim HTTP/1.1", f"POST /staff/cases/{CASE}/claim HTTP/1.1"),
        (f"GET /applicant/{CASE}/export HTTP/1.1", f"GET /applicant/{CASE}/export HTTP/1.1"),
        ("GET /assets/intake.js HTTP/1.1", "GET /assets/intake.js HTTP/1.1"),
        ("GET /schemas/intake.schema.json HTTP/1.1", "GET /schemas/intake.schema.json HTTP/1.1"),
        ("GET /de HTTP/1.1", "GET /de HTTP/1.1"),
        ("GET / HTTP/1.1", "GET / HTTP/1.1"),
    ],
)
def test_path_segments_that_are_not_the_routes_own_ids_or_assets_are_left_out(line: str, logged: str) -> None:
    assert request_line_without_personal_data(line, WORDS) == logged


def test_chalice_locals_access_log_leaves_the_query_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalice.local import ChaliceRequestHandler

    import app  # noqa: F401 (chalice local has imported it by the first request: its routes' words)

    monkeypatch.setattr(ChaliceRequestHandler, "log_request", ChaliceRequestHandler.log_request)
    quiet_access_log()
    printed: list[str] = []

    class Request:
        requestline = "GET /staff/cases/Kovalenko?reference=Kovalenko HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            printed.append(format % args)

    ChaliceRequestHandler.log_request(Request(), HTTPStatus.BAD_REQUEST, 120)  # type: ignore[arg-type]
    assert printed == ['"GET /staff/cases/...?... HTTP/1.1" 400 120']
