"""`quick_check` lets valid documents skip jsonschema (cold start, issue 8): it must never disagree with it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft202012Validator

from chalicelib.config import PROJECT_DIR
from chalicelib.schemas import load_schema, schema_names
from chalicelib.validation import quick_check, validate, validator
from tests.reliability.intakes import mutations, valid_intakes

INTAKE = load_schema("intake")
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def jsonschema_says_valid(schema_name: str, document: Any) -> bool:
    return next(iter(validator(schema_name).iter_errors(document)), None) is None


def agrees(schema_name: str, document: Any) -> bool | None:
    """quick_check's answer, asserting it is jsonschema's whenever it gives one."""
    answer = quick_check(load_schema(schema_name), document)
    if answer is not None:
        assert answer == jsonschema_says_valid(schema_name, document), json.dumps(document)
    return answer


@pytest.mark.parametrize("name", schema_names())
def test_every_schema_file_is_a_valid_2020_12_schema(name: str) -> None:
    # validation.validator() no longer checks this at run time (it cost every cold start ~15 ms).
    Draft202012Validator.check_schema(load_schema(name))


def test_the_example_intake_is_decided_without_jsonschema(valid_intake: dict[str, Any]) -> None:
    assert agrees("intake", valid_intake) is True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_intakes())
def test_generated_valid_intakes_are_valid_without_jsonschema(intake: dict[str, Any]) -> None:
    assert agrees("intake", intake) is True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations())
def test_broken_intakes_are_never_passed_as_valid(mutation: Any) -> None:
    answer = agrees("intake", mutation.intake)
    # Some undialable phones pass the schema (normalise_intake refuses them); every other mutation breaks it.
    assert answer is not True or mutation.kind.startswith("undialable_phone")


@st.composite
def anything_anywhere(draw: st.DrawFn) -> dict[str, Any]:
    """A valid intake with one value, anywhere in it, replaced or added by any JSON value."""
    intake = copy.deepcopy(draw(valid_intakes()))
    target = intake
    while True:
        keys = list(target)
        key = draw(st.sampled_from([*keys, "__new__"]))
        if key == "__new__" or not isinstance(target[key], dict) or draw(st.booleans()):
            break
        target = target[key]
    if key == "__new__":
        key = draw(st.sampled_from(["phone", "email", "message", "sms", "extra", "country"]))
    target[key] = draw(JSON_VALUES | st.sampled_from([True, False, 1, 0, 1.0, "", "@", "80331\n", ["job", "job"]]))
    return intake


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(anything_anywhere())
def test_any_json_value_anywhere_gets_jsonschemas_answer(intake: dict[str, Any]) -> None:
    agrees("intake", intake)


@pytest.mark.parametrize(
    ("change", "valid"),
    [
        ({"consent": {"data_processing": 1, "share_with_partners": True, "sms": True}}, False),  # 1 is not true
        ({"consent": {"data_processing": True, "share_with_partners": True, "sms": 1}}, False),
        ({"consent": {"data_processing": True, "share_with_partners": True, "sms": True}, "phone": None}, False),
        ({"consent": {"data_processing": True, "share_with_partners": True, "sms": False}, "phone": None}, True),
        ({"consent": "yes"}, False),
        ({"postcode": "80331\n"}, False),  # ECMA-262 `$` ends the string
        ({"email": "layla.example.org"}, False),
        ({"email": "@"}, False),  # the format asks only for an "@"; the pattern for an address
        ({"email": "a@b.c"}, True),
        ({"goals": ["job", "job"]}, False),
        ({"goals": ("job",)}, False),
        ({"given_name": "\ufeff"}, False),
        ({"language": True}, False),
        ({"qualification": {"country": "SY", "title": "x", "profession_group": "it", "level": "none"}}, True),
    ],
)
def test_edge_cases_get_jsonschemas_answer(valid_intake: dict[str, Any], change: dict[str, Any], valid: bool) -> None:
    valid_intake.update(change)
    valid_intake = {k: v for k, v in valid_intake.items() if v is not None}
    assert jsonschema_says_valid("intake", valid_intake) is valid
    assert agrees("intake", valid_intake) in (valid, None)


@pytest.mark.parametrize("name", [n for n in schema_names() if n != "intake"])
def test_other_schemas_valid_documents_are_never_called_invalid(name: str) -> None:
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(from_schema(load_schema(name)))
    def check(document: Any) -> None:
        assert agrees(name, document) is not False

    check()


def test_unknown_keywords_are_left_to_jsonschema() -> None:
    assert quick_check({"type": "integer"}, 3) is None
    assert quick_check({"$ref": "#/$defs/x"}, 3) is None
    assert quick_check({"properties": {"a": {"minimum": 1}}}, {"a": 0}) is None
    assert quick_check({"properties": {"a": {"minimum": 1}}}, {}) is True  # the unknown part does not apply


def test_a_valid_intake_is_validated_without_importing_jsonschema(valid_intake: dict[str, Any]) -> None:
    code = (
        "import json, sys\n"
        "from chalicelib.validation import validate\n"
        f"assert validate('intake', json.loads({json.dumps(json.dumps(valid_intake))})) == []\n"
        "assert 'jsonschema' not in sys.modules, 'jsonschema imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_DIR)
    assert validate("intake", {**valid_intake, "postcode": "8033"})[0].code == "invalid_postcode"
