"""The applicant's status page in Chromium against the live app: view in the case's language,
download everything, delete after a confirmation; wrong or missing links say so."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from chalicelib.pages.labels import labels
from tests.browser.conftest import serious_violations
from tests.live import LiveApp

LINK = re.compile(r"/status#(?P<case_id>[0-9a-f-]{36})\.(?P<secret>[A-Za-z0-9_-]+)$")


def submit_intake(live: LiveApp, family: str) -> tuple[dict[str, Any], str]:
    body = {
        "language": "ar",
        "given_name": "Layla",
        "family_name": family,
        "phone": "0151 1234 5678",
        "postcode": "80331",
        "qualification": {"country": "SY", "title": "Bachelor", "profession_group": "health", "level": "bachelor"},
        "german_level": "B1",
        "goals": ["recognition"],
        "registered_with_employment_agency": False,
        "consent": {"data_processing": True, "share_with_partners": True, "sms": False},
    }
    request = urllib.request.Request(
        f"{live.url}/intake", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        created = json.loads(response.read())
    match = LINK.search(created["status_link"])
    assert match, created["status_link"]
    return created, f"{match['case_id']}.{match['secret']}"


def api_status(live: LiveApp, case_id: str, secret: str) -> int:
    request = urllib.request.Request(f"{live.url}/applicant/{case_id}", headers={"X-Status-Secret": secret})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_an_applicant_sees_the_case_in_their_language_downloads_and_deletes_it(live: LiveApp, mobile_page: Any) -> None:
    family = f"Status{uuid.uuid4().hex[:8]}"
    created, fragment = submit_intake(live, family)
    case_id, secret = fragment.split(".", 1)
    arabic = labels("ar")["status_page"]
    page = mobile_page
    page.goto(f"{live.url}/status#{fragment}")

    page.locator("#case").wait_for(state="visible")
    assert page.locator("html").get_attribute("lang") == "ar"
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("#case-status").inner_text() == arabic["status_routed"]
    assert page.locator("#case-partner").inner_text() == created["partner_name"]
    assert page.locator("#case-reference").inner_text() == created["reference"]
    assert page.locator("#download").inner_text() == arabic["download"]
    assert serious_violations(page) == []

    with page.expect_download() as download_info:
        page.locator("#download").click()
    download = download_info.value
    assert download.suggested_filename == f"migranet-{case_id}.json"
    exported = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert exported["case"]["intake"]["family_name"] == family

    page.locator("#erase").click()
    assert page.locator("#confirm").is_visible()
    assert page.locator("#confirm-text").inner_text() == arabic["erase_confirm_text"]
    page.locator("#erase-cancel").click()  # changed their mind: nothing happens
    assert page.locator("#confirm").is_hidden() and api_status(live, case_id, secret) == 200

    page.locator("#erase").click()
    page.locator("#erase-confirm").click()
    page.locator("#erased").wait_for(state="visible")
    assert page.locator("#erased").inner_text() == arabic["erased"]
    assert page.locator("#case").is_hidden()
    assert api_status(live, case_id, secret) == 404
    assert live.cases_of(family) == []
    [erased] = [c for c in live.cases() if c["case_id"] == case_id]
    assert erased["reference"] == "ERASED" and "family_name" not in erased["intake"]

    page.reload()
    page.locator("#not-found").wait_for(state="visible")


def test_a_wrong_secret_and_a_missing_link_say_what_to_do(live: LiveApp, mobile_page: Any) -> None:
    _created, fragment = submit_intake(live, f"Status{uuid.uuid4().hex[:8]}")
    case_id, secret = fragment.split(".", 1)
    page = mobile_page
    page.set_extra_http_headers({"Accept-Language": "de"})
    page.goto(f"{live.url}/status#{case_id}.{secret[:-2]}xx")
    page.locator("#not-found").wait_for(state="visible")
    assert page.locator("#not-found").inner_text() == labels("de")["status_page"]["not_found"]
    assert page.locator("#case").is_hidden()

    page.goto(f"{live.url}/status")
    page.locator("#no-link").wait_for(state="visible")
    assert page.locator("#loading").is_hidden()
    assert api_status(live, case_id, secret) == 200  # the real link still works


def test_the_intake_page_hands_over_the_link_and_it_opens_the_status_page(live: LiveApp, mobile_page: Any) -> None:
    from tests.browser.intake_form import fill_intake, unique_family_name

    page = mobile_page
    family = unique_family_name("Haddad")
    page.goto(f"{live.url}/de")
    fill_intake(page, given_name="Layla", family_name=family)
    page.tap("#submit")
    page.locator("#result").wait_for(state="visible")
    reference = page.locator("#result-reference").inner_text()
    link = page.locator("#result-status-link")
    assert link.is_visible() and LINK.search(link.inner_text())
    assert page.locator("#result").inner_text().count(labels("de")["page"]["result_status_link"]) == 1

    link.click()
    page.locator("#case").wait_for(state="visible")
    assert page.url.split("#")[0].endswith("/status")
    assert page.locator("#case-reference").inner_text() == reference
    assert page.locator("html").get_attribute("lang") == "de"
