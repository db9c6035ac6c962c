"""GET /staff: the workspace page itself needs no token, carries no data, has a strict CSP and
signs in per stage (pasted token locally, the Cognito hosted UI in production)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.config import settings
from chalicelib.pages.assets import ASSETS_DIR
from chalicelib.pages.staff_page import SCRIPTS, STAFF_LANGUAGES, STYLESHEETS, auth_config, staff_labels
from chalicelib.schemas import load_schema
from chalicelib.services.messaging import QUIET_UNTIL_START
from chalicelib.services.sms_dispatch import NO_LONGER_BOOKED, SUPERSEDED
from chalicelib.services.sms_webhooks import REPLIED_CANNOT_COME
from tests.functional.test_pages import parse

HOSTED_UI = "https://migranet-prod-123456789012.auth.eu-central-1.amazoncognito.com"


@pytest.fixture
def pages() -> Iterator[Client]:
    from app import app

    with Client(app, stage_name="local") as client:
        yield client


@pytest.fixture
def prod_pages(monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """The prod stage as the stack configures it: the domain prefix, the app client, the public URL."""
    from app import app

    monkeypatch.setenv("COGNITO_USER_POOL_ID", "eu-central-1_AbCdEf123")
    monkeypatch.setenv("COGNITO_APP_CLIENT_ID", "5abc1defghijk2lmnop3qrstu")
    monkeypatch.setenv("COGNITO_DOMAIN", "migranet-prod-123456789012")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://intake.migranet.example/api")
    with Client(app, stage_name="prod") as client:
        yield client


def page_data(body: bytes) -> dict[str, Any]:
    found = re.search(rb'<script type="application/json" id="page-data">(.*?)</script>', body, re.S)
    assert found, "the page hands its settings to the script in a JSON block"
    return dict(json.loads(found.group(1)))


def test_the_page_needs_no_token_while_the_api_behind_it_does(pages: Client) -> None:
    page = pages.http.get("/staff")
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert pages.http.get("/staff/").status_code == 200, "the Cognito callback may carry the slash"
    assert pages.http.get("/staff/queue").status_code == 401
    assert pages.http.get("/coordinator/cases").status_code == 401


def test_the_page_has_a_strict_csp_and_loads_only_the_apps_own_files(pages: Client) -> None:
    response = pages.http.get("/staff")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "connect-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    links = parse(response.body).links
    assert {link.split("?")[0].rsplit("/", 1)[-1] for link in links} == set(SCRIPTS) | set(STYLESHEETS)
    for link in links:
        assert link.startswith("/assets/"), link
        assert pages.http.get(link).status_code == 200, link
    assert b"<script>" not in response.body and b" style=" not in response.body and b"onclick" not in response.body


def test_every_control_on_the_page_has_a_label(pages: Client) -> None:
    parsed = parse(pages.http.get("/staff").body)
    unlabelled = [
        c.get("id") or c.get("name") for c in parsed.controls if c.get("id") not in parsed.label_for | parsed.wrapped
    ]
    assert unlabelled == []


@pytest.mark.parametrize(
    ("query", "accept_language", "expected"),
    [
        ("", None, "de"),
        ("", "en-GB,en;q=0.9", "en"),
        ("", "fr-FR,fr;q=0.9,en;q=0.5", "en"),
        ("?lang=de", "en", "de"),
        ("?lang=en", None, "en"),
    ],
)
def test_german_or_english_by_choice_or_by_the_browsers_language(
    pages: Client, query: str, accept_language: str | None, expected: str
) -> None:
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = pages.http.get(f"/staff{query}", headers=headers)
    assert response.headers["Content-Language"] == expected
    assert parse(response.body).html_attrs["lang"] == expected
    assert f"<title>{staff_labels(expected)['page']['title']}</title>".encode() in response.body
    assert page_data(response.body)["lang"] == expected


@pytest.mark.parametrize("query", ["?lang=xx", "?lang=null&lang=null", "?lang=", "?lang=" + "x" * 3000])
def test_a_language_the_page_does_not_have_is_a_404_like_on_the_intake_page(pages: Client, query: str) -> None:
    response = pages.http.get(f"/staff{query}")
    assert response.status_code == 404
    assert json.loads(response.body)["code"] == "not_found"
    assert len(response.body) < 300, "what was asked for is not echoed back at any length"


def test_the_language_switch_links_both_languages(pages: Client) -> None:
    body = pages.http.get("/staff?lang=en").body.decode()
    assert 'href="/staff?lang=de" lang="de"' in body and ">Deutsch</a>" in body
    assert 'href="/staff?lang=en" lang="en"' in body and 'aria-current="page">English</a>' in body


def test_locally_a_pasted_token_signs_in(pages: Client) -> None:
    body = pages.http.get("/staff").body
    assert page_data(body)["auth"] == {"mode": "local"}
    assert b'id="token-form"' in body and b"python -m chalicelib.cli staff-token" in body
    assert b"hosted-signin" not in body


def test_in_production_the_page_signs_in_at_the_cognito_hosted_ui(prod_pages: Client) -> None:
    response = prod_pages.http.get("/staff")
    assert response.status_code == 200
    auth = page_data(response.body)["auth"]
    assert auth == {
        "mode": "cognito",
        "authorize_url": f"{HOSTED_UI}/oauth2/authorize",
        "token_url": f"{HOSTED_UI}/oauth2/token",
        "logout_url": f"{HOSTED_UI}/logout",
        "client_id": "5abc1defghijk2lmnop3qrstu",
        # The callback the user pool client allows: <PublicBaseUrl>/staff (infrastructure/identity.py).
        "redirect_uri": "https://intake.migranet.example/api/staff",
        "scope": "openid email profile",
    }
    assert b'id="hosted-signin"' in response.body and b'id="token-form"' not in response.body
    # The code is traded for the ID token from the browser: only that origin joins connect-src.
    csp = response.headers["Content-Security-Policy"]
    assert f"connect-src 'self' {HOSTED_UI};" in csp
    assert "script-src 'self';" in csp


def test_a_stage_without_cognito_settings_says_so_instead_of_a_broken_button(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("COGNITO_DOMAIN", "COGNITO_APP_CLIENT_ID", "PUBLIC_BASE_URL", "STAFF_REDIRECT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STAGE", "prod")
    assert auth_config(settings()) == {"mode": "unconfigured"}
    monkeypatch.setenv("COGNITO_DOMAIN", "https://login.migranet.example")
    monkeypatch.setenv("COGNITO_APP_CLIENT_ID", "client")
    monkeypatch.setenv("STAFF_REDIRECT_URL", "https://staff.migranet.example/staff")
    config = auth_config(settings())
    assert config["authorize_url"] == "https://login.migranet.example/oauth2/authorize"
    assert config["redirect_uri"] == "https://staff.migranet.example/staff"


def test_the_stack_hands_the_hosted_ui_domain_to_every_function() -> None:
    template = json.loads((ASSETS_DIR.parents[2] / "infrastructure" / "resources.json").read_text(encoding="utf-8"))
    environment = template["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["COGNITO_DOMAIN"] == {"Ref": "StaffUserPoolDomain"}
    callbacks = template["Resources"]["StaffAppClient"]["Properties"]["CallbackURLs"]
    assert callbacks["Fn::If"][1] == [{"Fn::Sub": "${PublicBaseUrl}/staff"}]


def test_the_page_is_revalidated_with_an_etag(pages: Client) -> None:
    first = pages.http.get("/staff?lang=en")
    again = pages.http.get("/staff?lang=en", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.body == b""
    assert "Accept-Language" in first.headers["Vary"]


def test_both_label_files_have_the_same_texts_and_are_really_translated() -> None:
    def flat(node: Any, prefix: str = "") -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in node.items():
            out |= flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value}
        return out

    german, english = flat(staff_labels("de")), flat(staff_labels("en"))
    assert set(german) == set(english)
    same = [key for key in german if german[key] == english[key] and not key.endswith(("signin_command", "_line"))]
    assert len(same) < len(german) * 0.1, same


def test_every_close_outcome_and_case_status_has_a_name_in_both_languages() -> None:
    outcomes = load_schema("close")["properties"]["outcome"]["enum"]
    for language in STAFF_LANGUAGES:
        labels = staff_labels(language)
        assert set(outcomes) <= set(labels["outcomes"]), language
        assert {"routed", "claimed", "scheduled", "closed", "transferred"} <= set(labels["statuses"])


def test_why_an_sms_was_not_sent_is_explained_in_both_languages() -> None:
    reasons = {NO_LONGER_BOOKED, SUPERSEDED, REPLIED_CANNOT_COME, QUIET_UNTIL_START}
    for language in STAFF_LANGUAGES:
        assert reasons <= set(staff_labels(language)["message_reasons"]), language


def test_the_staff_scripts_never_write_html_from_data() -> None:
    for name in SCRIPTS:
        if name == "schema-validate.js":
            continue
        code = re.sub(r"/\*.*?\*/", "", (ASSETS_DIR / name).read_text(encoding="utf-8"), flags=re.S)
        assert ".innerHTML" not in code and "insertAdjacentHTML" not in code and "eval(" not in code, name
        assert "localStorage" not in code and "document.cookie" not in code, f"{name}: the token stays per tab"


def test_the_browser_validator_knows_every_keyword_of_the_transfer_schema() -> None:
    """The transfer form runs schemas/transfer.schema.json in the browser, like the server."""
    from tests.functional.test_pages_form import _keywords

    script = (ASSETS_DIR / "schema-validate.js").read_text(encoding="utf-8")
    supported = set(re.findall(r'"([$\w-]+)"', script[script.index("SUPPORTED = [") : script.index("];")]))
    assert _keywords(load_schema("transfer")) - supported == set()


def test_behind_api_gateways_stage_prefix_every_url_keeps_it() -> None:
    from chalicelib.pages.responses import staff_page

    result = staff_page(lang="en", accept_language=None, context={"path": "/api/staff"}, settings=settings())
    parsed = parse(result.body.encode())
    assert parsed.links and all(link.startswith("/api/assets/") for link in parsed.links)
    data = page_data(result.body.encode())
    assert data["base"] == "/api", "the script calls /api/staff/queue, /api/partners, …"
    assert data["schemas"]["transfer"].startswith("/api/schemas/transfer.schema.json?v=")
    assert 'href="/api/staff?lang=de"' in result.body


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_shipped_routing_rule_has_a_name_for_people(language: str) -> None:
    """The case view and the metrics show it instead of the rule's id ("health-professions")."""
    from chalicelib.data import default_routing_rules

    names = staff_labels(language)["rules"]
    assert {rule["id"] for rule in default_routing_rules()["rules"]} == set(names)
    assert all(name and name not in names for name in names.values())
