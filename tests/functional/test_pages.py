"""The page routes through chalice.test.Client: HTML, assets, the served schema, errors and caching."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.pages.html import base_path
from chalicelib.pages.labels import labels, languages
from chalicelib.schemas import load_schema

LANGUAGES = ["de", "en", "ar", "uk", "tr", "ru", "fa", "ro", "pl", "es", "fr"]


@pytest.fixture
def pages() -> Any:
    # The pages read no table; a client without moto keeps these tests fast.
    from app import app

    with Client(app, stage_name="local") as client:
        yield client


class Controls(HTMLParser):
    """Every form control and label of a page, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.wrapped: set[str] = set()
        self.html_attrs: dict[str, str] = {}
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.html_attrs = values
        if tag == "label":
            self.open_labels += 1
            if "for" in values:
                self.label_for.add(values["for"])
        if tag in ("input", "select", "textarea") and values.get("type") != "hidden":
            self.controls.append(values)
            if self.open_labels and values.get("id"):
                self.wrapped.add(values["id"])
        if (tag == "link" and values.get("rel") == "stylesheet") or (tag == "script" and values.get("src")):
            self.links.append(values.get("href") or values.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1


def parse(body: bytes) -> Controls:
    parser = Controls()
    parser.feed(body.decode("utf-8"))
    return parser


def schema_paths(schema: dict[str, Any], prefix: str = "") -> list[str]:
    """The leaf field paths of an object schema (objects become fieldsets, leaves controls)."""
    paths = []
    for name, sub in schema.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        paths += schema_paths(sub, path) if "properties" in sub else [path]
    return paths


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_has_its_page_with_the_right_direction(pages: Client, language: str) -> None:
    response = pages.http.get(f"/{language}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Language"] == language
    page = parse(response.body)
    assert page.html_attrs["lang"] == language
    assert page.html_attrs["dir"] == ("rtl" if language in ("ar", "fa") else "ltr")
    assert html.escape(labels(language)["page"]["title"]) in response.body.decode()


def test_the_intake_languages_are_the_schemas_language_enum() -> None:
    assert list(languages()) == LANGUAGES == load_schema("intake")["properties"]["language"]["enum"]


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("fa-IR,fa;q=0.9,en;q=0.8", "fa"),
        ("en-GB,en;q=0.9,ar;q=0.8", "en"),
        ("zh-CN,uk;q=0.7,ru;q=0.8", "ru"),
        ("ja,zh", "de"),
        ("", "de"),
        ("ar;q=0,tr;q=0.5", "tr"),
    ],
)
def test_the_root_page_picks_the_browsers_language(pages: Client, accept_language: str, expected: str) -> None:
    response = pages.http.get("/", headers={"Accept-Language": accept_language})
    assert response.status_code == 200
    assert parse(response.body).html_attrs["lang"] == expected
    assert response.headers["Vary"] == "Accept-Language"


def test_opening_the_forms_api_path_in_a_browser_shows_the_form(pages: Client) -> None:
    response = pages.http.get("/intake", headers={"Accept-Language": "uk,en;q=0.5"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert parse(response.body).html_attrs["lang"] == "uk"


@pytest.mark.parametrize(
    "path", ["/xx", "/DE", "/favicon.ico", "/assets/nope.js", "/assets/..%2Fapp.py", "/" + "q" * 3000]
)
def test_unknown_pages_and_files_are_404_in_the_error_shape(pages: Client, path: str) -> None:
    response = pages.http.get(path)
    assert response.status_code == 404
    body = json.loads(response.body)
    assert body["code"] == "not_found" and body["error"]
    assert len(response.body) < 300, "what was asked for is not echoed back at any length"


def test_every_schema_field_has_a_labelled_control(pages: Client) -> None:
    page = parse(pages.http.get("/de").body)
    names = {control["name"] for control in page.controls}
    hidden = {"consent.language"}  # the page's own language, not a question (sent as a hidden field)
    assert set(schema_paths(load_schema("intake"))) - hidden <= names
    assert '<input type="hidden" name="consent.language" value="de">' in pages.http.get("/de").body.decode()
    unlabelled = [c["id"] for c in page.controls if c["id"] not in page.label_for and c["id"] not in page.wrapped]
    assert unlabelled == []


def test_country_names_are_localised_and_sorted_for_the_reader(pages: Client) -> None:
    german = pages.http.get("/de").body.decode()
    arabic = pages.http.get("/ar").body.decode()
    assert '<option value="SY">Syrien</option>' in german
    assert '<option value="SY">سوريا</option>' in arabic
    assert german.index(">Österreich<") < german.index(">Pakistan<"), "Ö sorts with O, not after Z"
    assert german.count('<option value="') >= 250


def test_assets_are_served_with_a_version_and_long_caching(pages: Client) -> None:
    page = parse(pages.http.get("/de").body)
    assets = [link for link in page.links if "/assets/" in link or "/schemas/" in link]
    assert {re.sub(r"\?.*", "", a) for a in assets} >= {"/assets/base.css", "/assets/intake.js"}
    for url in assets:
        response = pages.http.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        again = pages.http.get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.body in (b"", None)
    plain = pages.http.get("/assets/intake.js")
    assert plain.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "immutable" not in plain.headers["Cache-Control"], "an unversioned URL must revalidate"


def test_the_browser_gets_the_servers_own_schema(pages: Client) -> None:
    response = pages.http.get("/schemas/intake.schema.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/schema+json")
    assert json.loads(response.body) == load_schema("intake")
    assert pages.http.get("/schemas/intake.json").status_code == 404


def test_pages_are_revalidated_cheaply_and_carry_a_strict_csp(pages: Client) -> None:
    first = pages.http.get("/ar")
    assert "script-src 'self'" in first.headers["Content-Security-Policy"]
    assert "default-src 'none'" in first.headers["Content-Security-Policy"]
    again = pages.http.get("/ar", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    # Compared weakly (a CDN that gzips sends W/"…" back), and `*` is any current version (RFC 9110).
    for held in (f"W/{first.headers['ETag']}", '"stale", ' + f"W/{first.headers['ETag']}", "*"):
        assert pages.http.get("/ar", headers={"If-None-Match": held}).status_code == 304, held
    assert pages.http.get("/ar", headers={"If-None-Match": 'W/"stale"'}).status_code == 200


@pytest.mark.parametrize("language", LANGUAGES)
def test_page_and_everything_it_loads_stay_under_100_kb(pages: Client, language: str) -> None:
    response = pages.http.get(f"/{language}")
    total = len(response.body) + sum(len(pages.http.get(url).body) for url in parse(response.body).links)
    total += len(pages.http.get("/schemas/intake.schema.json").body)  # fetched by the script
    assert total < 100 * 1024, f"{language}: {total} bytes"


@pytest.mark.parametrize(
    ("requested", "route", "expected"),
    [
        ("/api/de", "/de", "/api"),
        ("/api/", "/", "/api"),
        ("/api", "/", "/api"),
        ("/de", "/de", ""),
        ("/", "/", ""),
        (None, "/de", ""),
    ],
)
def test_urls_in_pages_keep_api_gateways_stage_prefix(requested: str | None, route: str, expected: str) -> None:
    assert base_path({"path": requested} if requested else None, route) == expected


def test_a_page_behind_a_stage_prefix_links_inside_that_prefix(pages: Client) -> None:
    from chalicelib.pages.responses import intake_page

    result = intake_page("de", accept_language=None, context={"path": "/api/de"})
    page = parse(result.body.encode())
    assert page.links and all(link.startswith("/api/") for link in page.links)
    assert 'action="/api/intake"' in result.body
    assert '"endpoint":"/api/intake"' in result.body
