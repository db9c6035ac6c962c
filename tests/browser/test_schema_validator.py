"""The browser's validator (schema-validate.js) and the server's (chalicelib/validation.py) agree.

Same schema file, same documents, same answer: every field path and code. Several hundred
documents: each field deleted, emptied, of the wrong type, too long, plus the tricky cases.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from chalicelib.schemas import load_schema
from chalicelib.validation import validate
from tests.browser.live_app import LiveApp

VALID: dict[str, Any] = {
    "language": "fa",
    "given_name": "Dariush",
    "family_name": "Karimi",
    "phone": "0151 2345 6789",
    "email": "d.karimi@example.org",
    "postcode": "80331",
    "qualification": {"country": "IR", "title": "کارشناسی مهندسی عمران", "profession_group": "it", "level": "master"},
    "german_level": "A2",
    "goals": ["job", "language"],
    "registered_with_employment_agency": True,
    "message": "Salam",
    "consent": {"data_processing": True, "share_with_partners": True, "sms": False},
}
ODD_VALUES: list[Any] = ["", " ", "x", 0, 7.5, None, True, False, [], {}, ["job"], "x" * 2001, "😀" * 101]


def leaf_paths(node: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in node.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from leaf_paths(value, (*prefix, key))


def changed(path: tuple[str, ...], value: Any = ..., delete: bool = False) -> dict[str, Any]:
    doc = copy.deepcopy(VALID)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


def documents() -> list[Any]:
    docs: list[Any] = [VALID, {}, [], "intake", None, 42]
    for path in leaf_paths(VALID):
        docs.append(changed(path, delete=True))
        docs += [changed(path, value) for value in ODD_VALUES]
    docs += [
        {**VALID, "unknown": 1, "another": "x"},
        changed(("qualification", "extra"), "x"),
        changed(("consent", "sms"), True),
        {k: v for k, v in changed(("consent", "sms"), True).items() if k != "phone"},
        changed(("goals",), ["job", "job"]),
        changed(("goals",), ["job", "nope"]),
        changed(("given_name",), "\u200b"),
        changed(("given_name",), "\ufeff"),
        changed(("given_name",), "  \u200b \u200f\u2066"),
        changed(("given_name",), "\u061c\u3164\u2800"),
        changed(("given_name",), "\x01\x02"),
        changed(("given_name",), "\u00a0"),
        changed(("given_name",), "😀" * 100),
        changed(("family_name",), "ليلى-حداد"),
        changed(("phone",), "+49 (151) 234-56789"),
        changed(("phone",), "++49 151"),
        changed(("phone",), "٠١٥١٢٣٤٥٦٧٨٩"),
        changed(("email",), "no-at-sign"),
        changed(("postcode",), "8033"),
        changed(("postcode",), "803311"),
        changed(("postcode",), "８０３３１"),
        # Python's `$` also matches before a final newline; validation.py reads patterns as ECMA-262.
        changed(("postcode",), "80331\n"),
        changed(("consent", "data_processing"), 1),
        changed(("registered_with_employment_agency",), "true"),
    ]
    return docs


def test_browser_and_server_report_the_same_fields_and_codes(live: LiveApp, mobile_page: Any) -> None:
    page = mobile_page
    page.goto(f"{live.url}/en")
    # The page's strict CSP forbids eval, so wait with a locator, not wait_for_function.
    page.locator("#submit:enabled").wait_for()  # intake.js ran, so schema-validate.js (loaded first) did too
    schema = load_schema("intake")
    docs = documents()
    in_browser = page.evaluate(
        "([schema, docs]) => docs.map(d => SchemaValidate.validate(schema, d).map(e => [e.field, e.code]))",
        [schema, docs],
    )
    on_server = [[[e.field, e.code] for e in validate("intake", doc)] for doc in docs]
    mismatches = [(doc, b, s) for doc, b, s in zip(docs, in_browser, on_server, strict=True) if b != s]
    assert not mismatches, f"{len(mismatches)} of {len(docs)} differ, e.g. {mismatches[:3]}"
    assert sum(1 for errors in on_server if errors) > 200, "the documents exercise the validators"
    assert on_server[0] == [], "the base document is valid"
