"""Logs never carry applicants' phone numbers, e-mail addresses or names."""

from __future__ import annotations

import io
import json
import logging

import pytest

from chalicelib import logs


@pytest.fixture(autouse=True)
def _clean():
    logs.install()
    yield
    logs.forget_sensitive()


@pytest.mark.parametrize(
    "phone", ["+49 151 12345678", "0151 1234 5678", "015112345678", "+380671234567", "0049-151-1234-5678"]
)
def test_phone_numbers_are_redacted(phone):
    assert logs.redact(f"sending to {phone} now") == "sending to [phone] now"


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Tel.015112345678", "Tel.[phone]"),
        ("Nr:015112345678 bitte", "Nr:[phone] bitte"),
        ("mobil-0151 12345678", "mobil-[phone]"),
        ("phone=%2B4915112345678&x=1", "phone=[phone]&x=1"),
        ("an+4915112345678", "an[phone]"),
        ("phone:015112345678", "phone:[phone]"),
    ],
)
def test_phone_numbers_glued_to_a_word_or_sign_are_redacted(text, redacted):
    assert logs.redact(text) == redacted


def test_ids_times_and_references_survive():
    line = "case 3f1e2a9c-1d2b-4c5d-9e8f-0a1b2c3d4e5f at 2026-11-25T09:30:00.000000+00:00 ref K7P3-Q9XA 12.5 ms"
    assert logs.redact(line) == line
    fields = '{"latency":1234.5,"expires_at":1829795864,"hash":"a01234567890bcd","n":0,"sid":"SM0123456789abcdef"}'
    assert logs.redact(fields) == fields
    # A UUID whose tail is a hex letter and then digits (once turned into "…-ae[phone]" in CI).
    ids = "2e39fc12-e426-4d0e-ae4c-ae0123456789 c-0123-4567-8901 deadbeef0123456789 sha0123456789abc"
    assert logs.redact(ids) == ids


def test_email_and_remembered_names_are_redacted_case_insensitively():
    logs.remember_sensitive(["Layla", "Haddad", " ", "x"])
    assert logs.redact("LAYLA haddad <layla@example.org>") == "[name] [name] <[email]>"


def test_logging_records_are_redacted_at_creation(caplog):
    logs.remember_sensitive(["Olena Kovalenko"])
    with caplog.at_level(logging.INFO):
        logging.getLogger("any.library").info("hello %s at %s", "Olena Kovalenko", "+380671234567")
        try:
            raise ValueError("no route for Olena Kovalenko")
        except ValueError:
            logging.getLogger("any.library").exception("failed")
    text = caplog.text
    assert "Olena" not in text and "380671234567" not in text
    assert "hello [name] at [phone]" in text
    assert "no route for [name]" in text


def test_emit_writes_one_redacted_json_line(capsys):
    logs.emit({"event": "sms.failed", "to": "+4915112345678", "case_id": "c-1"})
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert json.loads(out) == {"event": "sms.failed", "to": "[phone]", "case_id": "c-1"}


def test_personal_values_of_an_intake(valid_intake):
    assert set(logs.personal_values(valid_intake)) == {
        "Layla",
        "Haddad",
        "0151 1234 5678",
        "layla@example.org",
        "Bachelor of Civil Engineering",
        "I would like to work as an engineer in Munich.",
    }
    assert logs.personal_values(["not", "a", "dict"]) == []


@pytest.mark.parametrize(("given", "family"), [("Ta", "Mei"), ("201", "event"), ("Ed", "Tu"), ("De", "Ab")])
def test_short_names_leave_the_log_lines_own_keys_and_values_intact(capsys, given: str, family: str) -> None:
    logs.remember_sensitive([given, family])
    case_id = "3f1e2a9c-1d2b-4c5d-9e8f-0a1b2c3d4e5f"
    logs.emit({"event": "request", "route": "/intake", "status": 201, "case_id": case_id, "note": f"{given} {family}"})
    line = json.loads(capsys.readouterr().out)
    assert line == {"event": "request", "route": "/intake", "status": 201, "case_id": case_id, "note": "[name] [name]"}
    redacted = logs.redact(f"Found credentials for {family.upper()}, status ok")
    assert redacted == "Found credentials for [name], status ok"


def test_a_name_in_a_script_without_word_spaces_is_redacted_inside_text() -> None:
    logs.remember_sensitive(["王芳", "Олена"])
    assert logs.redact("申请人王芳已提交 / Олена") == "申请人[name]已提交 / [name]"


def test_extra_fields_reach_the_handlers_output_redacted() -> None:
    """The Lambda runtime's handler prints the message only: the fields go into it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logs.install()
        logging.getLogger("chalicelib.services.notices").warning(
            "partner notice not sent", extra={"case_id": "c-1", "to": "+4915112345678", "attempts": 2}
        )
    finally:
        root.removeHandler(handler)
    line = out.getvalue().strip()
    message, _, fields = line.partition(" {")
    assert message == "[WARNING] partner notice not sent"
    assert json.loads("{" + fields) == {"case_id": "c-1", "to": "[phone]", "attempts": 2}
