"""The intake schema as applicants meet it: every problem named by field path and code."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chalicelib.domain.intake import normalise_intake, normalise_phone
from chalicelib.validation import validate


def codes(body: Any) -> dict[str, str]:
    return {e.field: e.code for e in validate("intake", body)}


def test_valid_intake_has_no_errors(valid_intake):
    assert validate("intake", valid_intake) == []


def test_minimal_intake_without_phone_or_email_is_valid(valid_intake):
    for optional in ("phone", "email", "message"):
        del valid_intake[optional]
    valid_intake["consent"]["sms"] = False
    assert validate("intake", valid_intake) == []


@pytest.mark.parametrize(
    ("path", "value", "field", "code"),
    [
        (("language",), "xx", "language", "invalid_choice"),
        (("given_name",), "", "given_name", "required"),
        (("given_name",), "   ", "given_name", "required"),
        (("given_name",), "   \u200b ", "given_name", "required"),  # a zero-width space is no name
        (("family_name",), "\u200f\u200e\u2066", "family_name", "required"),  # nor are direction marks
        (("qualification", "title"), "\u00ad\u2060", "qualification.title", "required"),
        (("given_name",), "\u061c\u200f", "given_name", "required"),  # the Arabic letter mark
        (("family_name",), "\u3164 \u115f\u2800\uffa0", "family_name", "required"),  # blank-looking letters
        (("family_name",), "x" * 101, "family_name", "too_long"),
        (("postcode",), "8033", "postcode", "invalid_postcode"),
        (("postcode",), 80331, "postcode", "wrong_type"),
        (("phone",), "call me maybe", "phone", "invalid_phone"),
        (("email",), "not-an-address", "email", "invalid_email"),
        (("email",), "layla@", "email", "invalid_email"),
        (("email",), "layla@example", "email", "invalid_email"),
        (("email",), "layla haddad@example.org", "email", "invalid_email"),
        (("email",), "@@", "email", "invalid_email"),
        (("email",), "layla@example.info*", "email", "invalid_email"),  # a domain has no symbols
        (("email",), "layla@exa_mple.de", "email", "invalid_email"),
        (("qualification", "country"), "XX", "qualification.country", "invalid_choice"),
        (("qualification", "country"), "de", "qualification.country", "invalid_choice"),
        (("qualification", "profession_group"), "pilot", "qualification.profession_group", "invalid_choice"),
        (("qualification", "level"), "phd", "qualification.level", "invalid_choice"),
        (("qualification", "title"), "", "qualification.title", "required"),
        (("german_level",), "B3", "german_level", "invalid_choice"),
        (("goals",), [], "goals", "required"),
        (("goals",), ["job", "job"], "goals", "duplicate"),
        (("goals",), ["job", "travel"], "goals[1]", "invalid_choice"),
        (("registered_with_employment_agency",), "yes", "registered_with_employment_agency", "wrong_type"),
        (("message",), "x" * 2001, "message", "too_long"),
        (("consent", "data_processing"), False, "consent.data_processing", "consent_required"),
        (("consent", "share_with_partners"), False, "consent.share_with_partners", "consent_required"),
        (("consent", "sms"), "yes", "consent.sms", "wrong_type"),
    ],
)
def test_each_invalid_field_is_named_with_its_code(valid_intake, path, value, field, code):
    body = copy.deepcopy(valid_intake)
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    assert codes(body) == {field: code}


@pytest.mark.parametrize("missing", ["language", "given_name", "family_name", "postcode", "goals", "consent"])
def test_missing_required_field(valid_intake, missing):
    del valid_intake[missing]
    assert codes(valid_intake) == {missing: "required"}


def test_missing_nested_field_is_reported_by_path(valid_intake):
    del valid_intake["qualification"]["country"]
    assert codes(valid_intake) == {"qualification.country": "required"}


def test_phone_required_when_sms_consented(valid_intake):
    del valid_intake["phone"]
    assert codes(valid_intake) == {"phone": "required"}
    valid_intake["consent"]["sms"] = False
    assert codes(valid_intake) == {}


def test_unknown_fields_rejected_by_name_at_every_level(valid_intake):
    valid_intake["nationality"] = "SY"
    valid_intake["qualification"]["grade"] = "1.3"
    found = validate("intake", valid_intake)
    expected = {("nationality", "not_allowed"), ("qualification.grade", "not_allowed")}
    assert {(e.field, e.code) for e in found} == expected
    assert "nationality" in next(e.message for e in found if e.field == "nationality")


def test_all_errors_reported_at_once():
    found = codes({"language": "de", "given_name": "", "postcode": "1"})
    assert found["given_name"] == "required"
    assert found["postcode"] == "invalid_postcode"
    assert found["family_name"] == "required"
    assert found["qualification"] == "required"


@pytest.mark.parametrize("body", [[], "text", 42, None, True])
def test_non_object_body(body):
    assert codes(body) == {"(body)": "wrong_type"}


def test_messages_are_english_sentences_naming_the_field(valid_intake):
    valid_intake["postcode"] = "abc"
    (error,) = validate("intake", valid_intake)
    assert error.message == "postcode must be a 5-digit German postcode."


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0151 1234 5678", "+4915112345678"),
        ("+49 151 12345678", "+4915112345678"),
        ("0049 151 12345678", "+4915112345678"),
        ("(0151) 1234-5678", "+4915112345678"),
        ("+380 67 123 4567", "+380671234567"),
        ("+963 944 567 890", "+963944567890"),
    ],
)
def test_phone_numbers_in_common_formats_become_e164(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["0151", "+49 000 0000", "12345", "+999 1234567"])
def test_undialable_numbers_are_rejected(raw):
    assert normalise_phone(raw) is None


def test_normalise_trims_and_converts(valid_intake):
    valid_intake["given_name"] = "  ليلى  "
    intake, errors = normalise_intake(valid_intake)
    assert errors == []
    assert intake["given_name"] == "ليلى"
    assert intake["phone"] == "+4915112345678"
    assert valid_intake["phone"] == "0151 1234 5678"  # the caller's body is untouched (idempotency hash)


def test_names_in_any_script_are_accepted(valid_intake):
    for name in ("Олександра", "محمد", "Ayşe", "Nguyễn", "李", "مهر\u200cناز"):  # a ZWNJ inside a Persian name
        valid_intake["given_name"] = name
        assert validate("intake", valid_intake) == []


@pytest.mark.parametrize("value", ["80331\n", "80331\r\n"])
def test_pattern_end_means_end_of_string_as_in_browsers(valid_intake, value):
    valid_intake["postcode"] = value
    assert codes(valid_intake) == {"postcode": "invalid_postcode"}


# Patterns mean what they mean in the browser and in every JSON Schema tool (ECMA-262), not Python's
# Unicode classes: a client validating against schemas/ and the server must agree.
@pytest.mark.parametrize(
    ("start", "valid"),
    # Arabic-Indic and full-width digits
    [("2030-05-04T10:30", True), ("٢٠٣٠-٠٥-٠٤T10:30", False), ("２０３０-05-04T10:30", False)],
)
def test_a_start_in_non_ascii_digits_is_refused_as_any_schema_tool_would(start, valid):
    errors = validate("appointment", {"start": start, "duration_minutes": 45, "location": "Room 1"})
    assert [(e.field, e.code) for e in errors] == ([] if valid else [("start", "invalid_datetime")])


@pytest.mark.parametrize(
    ("url", "valid"),
    [
        ("https://meet.example.org/r/42", True),
        ("https://meet.example.org/\u001f", False),  # a control character: refused by the pattern itself
        ("https://meet.example.org/ r", False),
        ("https://meet.example.org/\ufeffr", False),  # whitespace to ECMA-262 (not to Python)
    ],
)
def test_an_online_meeting_link_is_checked_by_the_schemas_own_pattern(url, valid):
    errors = validate("appointment", {"start": "2030-05-04T10:30", "duration_minutes": 45, "online_url": url})
    assert [(e.field, e.code) for e in errors] == ([] if valid else [("online_url", "invalid_url")])


@pytest.mark.parametrize("raw", ["0900 1234567", "0800 1234567", "01805 123456", "+44 9098 790000"])
def test_service_numbers_cannot_be_given_for_sms(valid_intake, raw):
    valid_intake["phone"], valid_intake["consent"]["sms"] = raw, True
    _, errors = normalise_intake(valid_intake)
    assert [(e.field, e.code) for e in errors] == [("phone", "invalid_phone")]
    assert "cannot receive text messages" in errors[0].message


@pytest.mark.parametrize("raw", ["0900 1234567", "0800 1234567"])
def test_service_numbers_are_kept_as_contact_when_no_sms_is_asked_for(valid_intake, raw):
    valid_intake["phone"], valid_intake["consent"]["sms"] = raw, False
    intake, errors = normalise_intake(valid_intake)
    assert errors == [] and intake["phone"].startswith("+49")


@pytest.mark.parametrize("raw", ["0151 1234 5678", "+49 89 1234567", "+1 212 555 0100", "0700 12345678"])
def test_mobiles_landlines_and_personal_numbers_may_get_sms(valid_intake, raw):
    valid_intake["phone"], valid_intake["consent"]["sms"] = raw, True
    assert normalise_intake(valid_intake)[1] == []


def test_control_characters_leave_names_and_title_but_a_message_keeps_its_lines(valid_intake):
    valid_intake["given_name"] = "Anna\tMaria\x00"
    valid_intake["family_name"] = "Berger\r\nSchmidt"
    valid_intake["qualification"]["title"] = "Bauingenieurin\x85(B.Sc.)"
    valid_intake["message"] = "Guten Tag,\r\nich habe\tFragen.\x1b[31m\x07"
    intake, errors = normalise_intake(valid_intake)
    assert errors == []
    assert (intake["given_name"], intake["family_name"]) == ("Anna Maria", "Berger Schmidt")
    assert intake["qualification"]["title"] == "Bauingenieurin (B.Sc.)"
    assert intake["message"] == "Guten Tag,\nich habe\tFragen.[31m"


def test_bidi_overrides_and_isolates_leave_names_and_messages(valid_intake):
    valid_intake["given_name"] = "Ali\u202egnp.exe"  # would show as "Aliexe.png"
    valid_intake["family_name"] = "\u2067Haddad\u2069"
    valid_intake["message"] = "Termin \u202dam Montag\u202c bitte"
    intake, errors = normalise_intake(valid_intake)
    assert errors == []
    assert (intake["given_name"], intake["family_name"]) == ("Alignp.exe", "Haddad")
    assert intake["message"] == "Termin am Montag bitte"


def test_joiners_and_direction_marks_stay_in_names(valid_intake):
    valid_intake["given_name"] = "می\u200cخواهم"  # ZWNJ inside a Persian word
    valid_intake["family_name"] = "\u200fمحمد"
    intake, _ = normalise_intake(valid_intake)
    assert intake["given_name"] == "می\u200cخواهم" and intake["family_name"] == "\u200fمحمد"


@pytest.mark.parametrize("email", ["layla.haddad@example.org", "a.b+c@mail-server.münchen.de", "ли@пример.рф"])
def test_real_addresses_are_accepted_in_any_script(valid_intake, email):
    valid_intake["email"] = email
    assert codes(valid_intake) == {}


def test_visible_length_ignores_exactly_what_the_schemas_visible_pattern_ignores() -> None:
    """text.INVISIBLE (transfer reasons) and the schemas' "at least one visible character" pattern
    (names, places) are one list of characters in two places: they must not drift apart."""
    import re as regex

    from chalicelib.domain.text import INVISIBLE
    from chalicelib.schemas import load_schema

    visible = regex.compile(load_schema("intake")["properties"]["given_name"]["pattern"])
    for code in range(0x10000):
        char = chr(code)
        if char.isspace() or regex.fullmatch(r"[\x00-\x1f\x7f-\x9f]", char):
            continue  # blanks and controls: stripped or cleaned before either is asked
        assert (INVISIBLE.fullmatch(char) is not None) == (visible.search(char) is None), hex(code)
