"""Hypothesis strategies for intakes: valid ones from schemas/intake.schema.json, and mutations of them.

The schema cannot say that a phone number is dialable (the server checks that with
phonenumbers), so generated intakes get a realistic phone, or none with SMS consent off.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from chalicelib.schemas import load_schema

# Dialable numbers in the formats applicants type (national German, international, separators).
PHONES = (
    "0151 1234 5678",
    "+49 151 12345678",
    "089 1234567",
    "0176-12345678",
    "(0151) 23456789",
    "+49/151/23456789",
    "+43 664 1234567",
    "+90 532 123 45 67",
    "+380 67 123 4567",
    "+963 944 567 890",
    "+40 721 234 567",
    "+48 512 345 678",
    "+98 912 345 6789",
    "+33 6 12 34 56 78",
    "+7 912 345-67-89",
)


def _without_phone_rule(schema: dict[str, Any]) -> dict[str, Any]:
    # The "sms → phone required" rule is applied by `_phone` below; generating through the
    # schema's if/then makes hypothesis-jsonschema filter (slowly) for the same thing.
    return {k: v for k, v in schema.items() if k not in ("if", "then")}


@st.composite
def _phone(draw: st.DrawFn, intake: dict[str, Any]) -> dict[str, Any]:
    intake = copy.deepcopy(intake)
    if draw(st.booleans()):
        intake["phone"] = draw(st.sampled_from(PHONES))
    else:
        intake.pop("phone", None)
        intake["consent"]["sms"] = False
    return intake


def valid_intakes() -> st.SearchStrategy[dict[str, Any]]:
    schema = _without_phone_rule(load_schema("intake"))
    return from_schema(schema).flatmap(lambda intake: _phone(intake))


@dataclass(frozen=True)
class Mutation:
    """A broken intake and the field path the API must name in its 400."""

    intake: dict[str, Any]
    field: str
    kind: str


SCHEMA = load_schema("intake")
PROPERTIES: dict[str, Any] = SCHEMA["properties"]
NESTED = ("qualification", "consent")
ENUM_FIELDS = (
    ("language",),
    ("german_level",),
    ("qualification", "country"),
    ("qualification", "profession_group"),
    ("qualification", "level"),
)
TEXT_LIMITS = ((("given_name",), 100), (("family_name",), 100), (("message",), 2000), (("qualification", "title"), 200))
NOT_A_STRING = st.one_of(st.integers(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2), st.just({}))
NOT_A_BOOLEAN = st.one_of(st.integers(), st.text(max_size=5), st.none(), st.just([]))
names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)


def _set(intake: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = intake
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def _delete(intake: dict[str, Any], path: tuple[str, ...]) -> None:
    target = intake
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


Mutator = Callable[[st.DrawFn, dict[str, Any]], tuple[str, str]]


def missing_required(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    paths = [(n,) for n in SCHEMA["required"]]
    paths += [(outer, n) for outer in NESTED for n in PROPERTIES[outer]["required"]]
    path = draw(st.sampled_from(paths))
    _delete(intake, path)
    return _dotted(path), "required"


def unknown_field(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    where = draw(st.sampled_from(((), *((n,) for n in NESTED))))
    known = PROPERTIES if not where else PROPERTIES[where[0]]["properties"]
    name = draw(names.filter(lambda n: n not in known))
    _set(intake, (*where, name), draw(st.text(max_size=5)))
    return _dotted((*where, name)), "not_allowed"


def not_in_enum(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    path = draw(st.sampled_from(ENUM_FIELDS))
    schema = PROPERTIES[path[0]] if len(path) == 1 else PROPERTIES[path[0]]["properties"][path[1]]
    _set(intake, path, draw(st.text(max_size=12).filter(lambda v: v not in schema["enum"])))
    return _dotted(path), "invalid_choice"


def bad_goal(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    choice = draw(st.sampled_from(("empty", "unknown", "duplicate")))
    if choice == "empty":
        intake["goals"] = []
        return "goals", "required"
    if choice == "duplicate":
        intake["goals"] = [intake["goals"][0], intake["goals"][0]]
        return "goals", "duplicate"
    index = draw(st.integers(0, len(intake["goals"])))
    intake["goals"].insert(
        index, draw(st.text(max_size=10).filter(lambda g: g not in PROPERTIES["goals"]["items"]["enum"]))
    )
    return f"goals[{index}]", "invalid_choice"


def wrong_type(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    path = draw(
        st.sampled_from(
            [
                ("given_name",),
                ("family_name",),
                ("postcode",),
                ("qualification", "title"),
                ("message",),
                ("email",),
                ("registered_with_employment_agency",),
                ("consent", "sms"),
                ("goals",),
                ("qualification",),
            ]
        )
    )
    if path in (("registered_with_employment_agency",), ("consent", "sms")):
        value = draw(NOT_A_BOOLEAN)
    elif path in (("goals",), ("qualification",)):
        value = draw(st.one_of(st.text(max_size=5), st.integers(), st.none()))
    else:
        value = draw(NOT_A_STRING)
    _set(intake, path, value)
    return _dotted(path), "wrong_type"


def too_long(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    path, limit = draw(st.sampled_from(TEXT_LIMITS))
    _set(intake, path, "x" * draw(st.integers(limit + 1, limit + 50)))
    return _dotted(path), "too_long"


def blank_text(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    path = draw(st.sampled_from((("given_name",), ("family_name",), ("qualification", "title"))))
    _set(intake, path, draw(st.text(alphabet=" \t\n\u00a0\u3000", max_size=5)))
    return _dotted(path), "required"


def bad_postcode(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    intake["postcode"] = draw(st.text(max_size=8).filter(lambda p: not (len(p) == 5 and p.isascii() and p.isdigit())))
    return "postcode", "invalid_postcode"


def consent_refused(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    name = draw(st.sampled_from(("data_processing", "share_with_partners")))
    intake["consent"][name] = False
    return f"consent.{name}", "consent_required"


def sms_without_phone(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    intake["consent"]["sms"] = True
    intake.pop("phone", None)
    return "phone", "required"


def undialable_phone(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    intake["phone"] = draw(st.sampled_from(("000", "12", "0151", "+49 000 000", "(((", "+1 555 0000", "0049")))
    return "phone", "invalid_phone"


def bad_email(draw: st.DrawFn, intake: dict[str, Any]) -> tuple[str, str]:
    local = st.text(max_size=10)
    intake["email"] = draw(
        st.one_of(
            st.text(max_size=20).filter(lambda e: "@" not in e and e.strip() != ""),
            st.builds("{}@{}".format, local, st.text(alphabet="abcdefgh-", max_size=10)),  # no dot in the domain
            st.builds("{} {}@example.org".format, local, local),  # a space
        )
    )
    return "email", "invalid_email"


MUTATORS: tuple[Mutator, ...] = (
    missing_required,
    unknown_field,
    not_in_enum,
    bad_goal,
    wrong_type,
    too_long,
    blank_text,
    bad_postcode,
    consent_refused,
    sms_without_phone,
    undialable_phone,
    bad_email,
)


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    intake = copy.deepcopy(draw(valid_intakes()))
    mutate = draw(st.sampled_from(MUTATORS))
    field, code = mutate(draw, intake)
    return Mutation(intake, field, f"{mutate.__name__}:{code}")
