"""The applicant's status page in Chromium against the live app: view in the case's language,
download everything, delete after a confirmation; wrong or missing links say so."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from chalicelib.pages.labels import labels
from tests.browser.conftest import screenshot, serious_violations
from tests.browser.staff_workspace import call, staff_token, working_day
from tests.live import LiveApp

LINK = re.compile(r"/status#(?P<case_id>[0-9a-f-]{36})\.(?P<secret>[A-Za-z0-9_-]+)$")


def submit_intake(live: LiveApp, family: str, language: str = "ar") -> tuple[dict[str, Any], str]:
    body = {
        "language": language,
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
    assert page.locator(".brand").inner_text() == labels("ar")["page"]["brand"]  # the header too
    assert page.locator("#appointments").is_hidden()  # none booked yet
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
    assert page.evaluate("document.activeElement.id") == "erase-cancel", "the safe answer has the focus"
    page.locator("#erase-cancel").click()  # changed their mind: nothing happens
    assert page.locator("#confirm").is_hidden() and api_status(live, case_id, secret) == 200
    page.locator("#erase").click()
    page.keyboard.press("Escape")  # so does Escape
    assert page.locator("#confirm").is_hidden() and page.evaluate("document.activeElement.id") == "erase"

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


@pytest.mark.parametrize("tail", [".", ")", "%20", ".%20"])
def test_a_link_copied_with_the_sentences_full_stop_still_opens_the_case(
    live: LiveApp, mobile_page: Any, tail: str
) -> None:
    created, fragment = submit_intake(live, f"Status{uuid.uuid4().hex[:8]}", language="de")
    page = mobile_page
    page.goto(f"{live.url}/status#{fragment}{tail}")
    page.locator("#case").wait_for(state="visible")
    assert created["reference"] in page.locator("#case").inner_text()


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

    # A reload (a phone reloads a page left in the background) keeps the reference and the link on
    # screen, in this tab only.
    shown_link = link.inner_text()
    page.reload()
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#result-reference").inner_text() == reference and link.inner_text() == shown_link
    assert page.locator("#intake").is_hidden()

    link.click()
    page.locator("#case").wait_for(state="visible")
    assert page.url.split("#")[0].endswith("/status")
    assert page.locator("#case-reference").inner_text() == reference
    assert page.locator("html").get_attribute("lang") == "de"

    # "New request" forgets it: an empty form, and the next visit starts there too.
    page.goto(f"{live.url}/de")
    page.locator("#new-request").tap()
    page.locator("#intake").wait_for(state="visible")
    assert page.locator("#result").is_hidden() and page.locator("#f-given_name").input_value() == ""
    page.goto(f"{live.url}/de")
    page.locator("#intake").wait_for(state="visible")
    assert page.locator("#result").is_hidden()


def test_the_applicant_sees_their_appointments_when_and_where(live: LiveApp, mobile_page: Any) -> None:
    created, fragment = submit_intake(live, f"Termin{uuid.uuid4().hex[:8]}")
    token = staff_token(live, created["partner"], name="Anna Berger")
    path = f"/staff/cases/{created['case_id']}"
    assert call(live, "POST", f"{path}/claim", token)[0] == 200
    day = working_day(3).isoformat()
    online = {"start": f"{day}T14:00", "duration_minutes": 30, "online_url": "https://meet.example/abc"}
    in_person = {"start": f"{day}T09:30", "duration_minutes": 45, "location": "Ziemssenstraße 5, Raum 2.14"}
    status, online_booked = call(live, "POST", f"{path}/appointments", token, online)
    assert status == 201, online_booked
    status, booked = call(live, "POST", f"{path}/appointments", token, in_person)
    assert status == 201, booked
    arabic = labels("ar")["status_page"]
    page = mobile_page
    page.goto(f"{live.url}/status#{fragment}")

    items = page.locator("#appointment-list li")
    items.first.wait_for()
    assert page.locator("#appointments-title").inner_text() == arabic["appointments_title"]
    assert items.count() == 2  # soonest first
    assert items.nth(0).locator("time").get_attribute("datetime") == booked["appointment"]["start"]
    assert items.nth(0).locator("p").inner_text() == in_person["location"]
    link = items.nth(1).locator("a")
    assert link.get_attribute("href") == online["online_url"]
    assert link.inner_text() == arabic["appointment_online"]
    # The date in words (Arabic weekday and month, Berlin time), not an ISO string.
    assert day not in items.nth(0).locator("time").inner_text()
    assert serious_violations(page) == []
    screenshot(page, "status-appointments-ar-mobile")

    add = items.nth(0).locator("button.calendar")
    assert add.inner_text() == arabic["add_to_calendar"]
    with page.expect_download() as download_info:
        add.click()
    download = download_info.value
    assert download.suggested_filename == f"migranet-{day}.ics"
    event = Path(download.path()).read_text(encoding="utf-8").replace("\r\n ", "")
    assert f"SUMMARY:{arabic['calendar_summary']}: {created['partner_name']}" in event
    assert "LOCATION:Ziemssenstraße 5\\, Raum 2.14\\, München" in event  # another building: the place and the city

    # Cancelled by staff while the page is open: its calendar button shows the list as it is now,
    # the cancelled one still in its place, marked, with nothing to add to a calendar.
    online_id = online_booked["appointment"]["appointment_id"]
    assert call(live, "DELETE", f"{path}/appointments/{online_id}", token)[0] == 200
    items.nth(1).locator("button.calendar").click()
    cancelled = page.locator("#appointment-list li.cancelled")
    cancelled.wait_for()
    assert items.count() == 2 and page.locator("#problem").is_hidden()
    assert cancelled.locator("time").get_attribute("datetime") == online_booked["appointment"]["start"]
    assert cancelled.locator("p").inner_text() == arabic["appointment_cancelled"]
    assert cancelled.locator("button, a").count() == 0
    assert items.nth(0).locator("button.calendar").count() == 1  # the other one is untouched
    assert serious_violations(page) == []
    screenshot(page, "status-appointment-cancelled-ar-mobile")
    page.reload()  # and so it opens next time, until its time has passed
    cancelled.wait_for()
    assert items.count() == 2 and items.nth(1).get_attribute("class") == "cancelled"


PERSIAN_SOLAR_MONTHS = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)


@pytest.mark.parametrize(("zone", "told"), [("Asia/Tehran", True), ("Europe/Berlin", False)])
def test_a_phone_outside_germanys_time_zone_is_told_the_times_are_munichs(
    browser: Any, live: LiveApp, zone: str, told: bool
) -> None:
    created, fragment = submit_intake(live, f"Zeit{uuid.uuid4().hex[:8]}", language="fa")
    token = staff_token(live, created["partner"], name="Anna Berger")
    path = f"/staff/cases/{created['case_id']}"
    assert call(live, "POST", f"{path}/claim", token)[0] == 200
    online = {
        "start": f"{working_day(3).isoformat()}T16:00",
        "duration_minutes": 30,
        "online_url": "https://meet.example/x",
    }
    assert call(live, "POST", f"{path}/appointments", token, online)[0] == 201
    context = browser.new_context(timezone_id=zone, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{live.url}/status#{fragment}")
        page.locator("#appointment-list li").first.wait_for()
        note = page.locator("#times-in-munich")
        assert note.is_visible() is told
        if told:
            assert note.inner_text() == labels("fa")["status_page"]["times_in_munich"]
    finally:
        context.close()


def test_a_farsi_page_dates_the_appointment_as_its_sms_does(live: LiveApp, mobile_page: Any) -> None:
    """The SMS and the .ics say 1 December; the page must not say 10 Azar (Persian solar calendar)."""
    from babel.dates import get_month_names

    created, fragment = submit_intake(live, f"Taqvim{uuid.uuid4().hex[:8]}", language="fa")
    token = staff_token(live, created["partner"], name="Anna Berger")
    path = f"/staff/cases/{created['case_id']}"
    assert call(live, "POST", f"{path}/claim", token)[0] == 200
    day = working_day(3)
    booked = {"start": f"{day.isoformat()}T14:00", "duration_minutes": 45, "location": "Raum 2.14"}
    assert call(live, "POST", f"{path}/appointments", token, booked)[0] == 201
    page = mobile_page
    page.goto(f"{live.url}/status#{fragment}")
    when = page.locator("#appointment-list li time").first
    when.wait_for()
    shown = when.inner_text()
    assert get_month_names("wide", locale="fa")[day.month] in shown, shown  # the SMS's month name
    assert not [m for m in PERSIAN_SOLAR_MONTHS if re.search(rf"(^|\s){m}(\s|$|،)", shown)], shown


def test_a_second_link_pasted_into_the_same_tab_shows_its_own_case(live: LiveApp, mobile_page: Any) -> None:
    first, first_fragment = submit_intake(live, f"Erste{uuid.uuid4().hex[:8]}")
    second, second_fragment = submit_intake(live, f"Zweite{uuid.uuid4().hex[:8]}")
    page = mobile_page
    page.goto(f"{live.url}/status#{first_fragment}")
    page.locator("#case-reference", has_text=first["reference"]).wait_for()
    page.goto(f"{live.url}/status#{second_fragment}")  # only the fragment changes: no new page load
    page.locator("#case-reference", has_text=second["reference"]).wait_for()
