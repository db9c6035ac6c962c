"""The form follows the schema; the label files cover it in every language; the assets stay honest."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib.data import default_partners
from chalicelib.pages.assets import ASSETS_DIR
from chalicelib.pages.form import FormContext, render_properties
from chalicelib.pages.labels import LABELS_DIR, labels, languages, raw_labels
from chalicelib.schemas import load_schema
from chalicelib.validation import _KEYWORD_CODES

PAGE_SCHEMAS = ["intake"]  # schemas a page validates in the browser with schema-validate.js


def render(schema: dict[str, Any], language: str = "en") -> str:
    return render_properties(FormContext(language, labels(language)), schema)


def keys(node: Any, prefix: str = "") -> set[str]:
    if not isinstance(node, dict):
        return {prefix}
    found: set[str] = set()
    for key, value in node.items():
        found |= keys(value, f"{prefix}.{key}" if prefix else key)
    return found


def test_a_field_added_to_the_schema_appears_in_the_form() -> None:
    schema = json.loads(json.dumps(load_schema("intake")))
    schema["properties"]["city_district"] = {"type": "string", "maxLength": 80, "description": "Where in Munich."}
    schema["properties"]["qualification"]["properties"]["years"] = {"enum": ["0-2", "3-5", "6+"]}
    schema["properties"]["contact_by"] = {"type": "array", "items": {"enum": ["phone", "email"]}, "minItems": 1}
    html = render(schema, "de")
    assert 'name="city_district"' in html and ">City district" in html and "Where in Munich." in html
    assert html.count('name="qualification.years"') == 3 and 'type="radio"' in html
    assert html.count('name="contact_by" value=') == 2 and 'type="checkbox"' in html


def test_a_list_of_free_answers_added_to_the_schema_gets_one_answer_per_line() -> None:
    schema = json.loads(json.dumps(load_schema("intake")))
    schema["properties"]["other_languages"] = {"type": "array", "items": {"type": "string", "maxLength": 40}}
    html = render(schema, "de")
    assert '<textarea id="f-other_languages" name="other_languages"' in html and 'data-list="lines"' in html
    assert 'name="other_languages" value=' not in html  # not a single line whose text would be dropped


def test_if_the_schema_asks_for_the_consent_version_the_form_sends_the_shown_one() -> None:
    schema = json.loads(json.dumps(load_schema("intake")))
    schema["properties"]["consent"]["properties"]["version"] = {"type": "string", "pattern": "^consent-"}
    html = render(schema, "ar")
    assert f'<input type="hidden" name="consent.version" value="{labels("ar")["consent_version"]}">' in html


def test_the_form_sends_the_language_its_consent_texts_are_shown_in() -> None:
    html = render(load_schema("intake"), "uk")
    assert '<input type="hidden" name="consent.language" value="uk">' in html


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string", "format": "email"}, 'type="email"'),
        ({"type": "string", "x-format": "phone"}, 'type="tel"'),
        ({"type": "string", "maxLength": 2000}, "<textarea"),
        ({"type": "boolean"}, 'type="checkbox"'),
        ({"const": True}, 'type="checkbox"'),
        ({"enum": [f"v{i}" for i in range(12)]}, "<select"),
        ({"enum": ["a", "b"]}, 'type="radio"'),
        ({"type": "object", "properties": {"x": {"type": "string"}}}, "<fieldset"),
        ({"const": "v1"}, 'type="hidden"'),
    ],
)
def test_each_kind_of_schema_field_gets_a_fitting_control(schema: dict[str, Any], expected: str) -> None:
    assert expected in render({"type": "object", "properties": {"field": schema}})


def test_required_fields_are_marked_and_optional_ones_say_so() -> None:
    html = render(load_schema("intake"), "de")
    assert re.search(r'<input[^>]*name="given_name"[^>]*required', html)
    assert re.search(r'for="f-email">E-Mail-Adresse <span class="optional">\(freiwillig\)</span>', html)


@pytest.mark.parametrize("language", ["de", "en", "ar", "uk", "tr", "ru", "fa", "ro", "pl", "es", "fr"])
def test_every_language_file_has_every_text_english_has(language: str) -> None:
    assert (LABELS_DIR / f"{language}.json").is_file()
    missing = keys(raw_labels("en")) - keys(raw_labels(language))
    assert not missing, f"{language}.json lacks {sorted(missing)}"
    extra = keys(raw_labels(language)) - keys(raw_labels("en"))
    assert not extra, f"{language}.json has texts English lacks: {sorted(extra)}"
    assert all(value.strip() for value in _strings(raw_labels(language)))


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def test_every_language_is_really_translated() -> None:
    english = raw_labels("en")
    for language in languages():
        if language == "en":
            continue
        own = raw_labels(language)
        for section in ("page", "errors"):
            same = [k for k, v in own[section].items() if v == english[section][k] and k != "brand" and len(v) > 3]
            assert not same, f"{language}: {section} still English: {same}"
        consent = own["fields"]["consent.data_processing"]["text"]
        assert consent != english["fields"]["consent.data_processing"]["text"]


def test_the_consent_texts_carry_one_version_id_in_all_languages() -> None:
    versions = {raw_labels(language)["consent_version"] for language in languages()}
    assert len(versions) == 1
    assert re.fullmatch(r"consent-\d{4}-\d{2}", versions.pop())
    for language in languages():
        for name in load_schema("intake")["properties"]["consent"]["properties"]:
            if name == "language":
                continue  # not a text to accept: the page's language, sent as a hidden field
            assert len(raw_labels(language)["fields"][f"consent.{name}"]["text"]) > 80, (language, name)


def _schema_values(node: Any, key: str) -> set[str]:
    if isinstance(node, dict):
        found = {str(node[key])} if key in node else set()
        return found.union(*(_schema_values(v, key) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_schema_values(v, key) for v in node))
    return set()


def test_every_error_code_the_server_sends_has_a_text_in_every_language() -> None:
    codes = set(_KEYWORD_CODES.values()) | _schema_values(load_schema("intake"), "x-error-code") | {"invalid_phone"}
    for language in languages():
        texts = raw_labels(language)["errors"]
        assert codes <= set(texts), f"{language}: no text for {sorted(codes - set(texts))}"
        assert "{max}" in texts["too_long"], language


def test_every_small_choice_and_partner_has_a_name_in_every_language() -> None:
    schema = load_schema("intake")
    enums = {
        "qualification.profession_group": schema["properties"]["qualification"]["properties"]["profession_group"],
        "qualification.level": schema["properties"]["qualification"]["properties"]["level"],
        "german_level": schema["properties"]["german_level"],
        "goals": schema["properties"]["goals"]["items"],
    }
    for language in languages():
        fields = raw_labels(language)["fields"]
        for path, node in enums.items():
            assert set(fields[path]["options"]) == set(node["enum"]), (language, path)
        assert set(raw_labels(language)["partners"]) == {p["id"] for p in default_partners()}, language


def _keywords(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key)
            if key in ("properties", "$defs"):
                for sub in value.values():
                    found |= _keywords(sub)
            elif key not in ("enum", "const", "required", "examples", "default"):
                found |= _keywords(value)
    elif isinstance(node, list):
        for item in node:
            found |= _keywords(item)
    return found


def test_the_browser_validator_knows_every_keyword_the_page_schemas_use() -> None:
    script = (ASSETS_DIR / "schema-validate.js").read_text(encoding="utf-8")
    supported = set(re.findall(r'"([$\w-]+)"', script[script.index("SUPPORTED = [") : script.index("];")]))
    for name in PAGE_SCHEMAS:
        unknown = _keywords(load_schema(name)) - supported
        assert not unknown, f"schemas/{name}.schema.json uses {sorted(unknown)}; teach schema-validate.js first"


PHYSICAL = re.compile(
    r"(margin|padding|border)-(left|right)|(?<![-\w])(left|right)\s*:|text-align:\s*(left|right)|float:\s*(left|right)"
)


@pytest.mark.parametrize("stylesheet", sorted(p.name for p in ASSETS_DIR.glob("*.css")))
def test_stylesheets_use_logical_properties_so_rtl_mirrors(stylesheet: str) -> None:
    css = re.sub(r"/\*.*?\*/", "", (ASSETS_DIR / stylesheet).read_text(encoding="utf-8"), flags=re.S)
    assert PHYSICAL.findall(css) == []
