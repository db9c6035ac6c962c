"""The staff workspace (GET /staff) in real headless Chromium: sign in, queue, claim, appointments, SMS log."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.config import settings
from chalicelib.pages.staff_page import render_staff_page, staff_page_headers
from tests.browser.conftest import DESKTOP, MOBILE, _page, screenshot, serious_violations
from tests.browser.intake_form import PARTNER_NAMES
from tests.browser.live_app import LiveApp
from tests.browser.staff_workspace import (
    BERLIN,
    call,
    claimed_by_anna,
    new_case,
    open_case,
    row,
    sign_in,
    staff_token,
    submit_token,
    text,
    working_day,
)

TOKEN_KEY = "migranet.staff.token"


@pytest.fixture
def berlin_elsewhere_page(browser: Any) -> Any:
    """A desktop browser in New York: the page must still show and send Berlin times."""
    yield from _page(browser, {**DESKTOP, "timezone_id": "America/New_York", "locale": "en-US"})


def stored_token(page: Any) -> dict[str, Any]:
    return dict(
        page.evaluate(
            "() => ({session: sessionStorage.getItem('" + TOKEN_KEY + "'), local: localStorage.length,"
            " cookies: document.cookie})"
        )
    )


@pytest.mark.parametrize("language", ["de", "en"])
def test_staff_sign_in_with_a_pasted_token_and_see_only_their_own_partners_queue(
    live: LiveApp, desktop_page: Any, language: str
) -> None:
    page = desktop_page
    own = new_case(live, "lmu-klinikum")
    other = new_case(live, "akademie-ingenieure")
    token = staff_token(live, "lmu-klinikum", name="Anna Berger")

    page.goto(f"{live.url}/staff?lang={language}")
    assert page.get_attribute("html", "lang") == language
    assert page.locator("#signin-title").inner_text() == text(language, "page", "signin_title")
    sign_in(page, live, token, language)

    # Who is signed in shows once the partner list has come (the workspace opens a moment before).
    page.locator("#who:visible").wait_for()
    assert page.locator("#who-name").inner_text() == "Anna Berger"
    assert page.locator("#queue-title").inner_text() == text(language, "page", "queue_routed")
    assert page.locator("#tab-routed").get_attribute("aria-selected") == "true"
    assert row(page, own["reference"]).is_visible()
    assert row(page, other["reference"]).count() == 0, "another institution's applicant is never listed"
    assert page.locator("#tab-network").is_hidden() and page.locator("#tab-metrics").is_hidden()
    stored = stored_token(page)
    assert stored == {"session": token, "local": 0, "cookies": ""}, "the token lives in this tab only"

    page.click("#sign-out")
    page.locator("#signin:visible").wait_for()
    assert page.locator("#workspace").is_hidden()
    assert stored_token(page)["session"] is None
    page.locator("#status", has_text=text(language, "script", "signed_out")).wait_for()


def test_a_claim_opens_the_case_and_a_colleagues_earlier_claim_is_explained(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    first, second = new_case(live, "lmu-klinikum"), new_case(live, "lmu-klinikum")
    sign_in(page, live, staff_token(live, "lmu-klinikum", name="Anna Berger"), "en")
    row(page, second["reference"]).wait_for()
    row(page, first["reference"]).wait_for()

    colleague = staff_token(live, "lmu-klinikum", name="Jonas Weber")
    assert call(live, "POST", f"/staff/cases/{second['case_id']}/claim", colleague)[0] == 200
    stale = row(page, second["reference"])  # the list still shows it as new: the colleague was faster
    stale.locator("button[data-claim]").click()
    expected = text("en", "script", "already_claimed", name="Jonas Weber")
    note = stale.locator(".row-note")
    note.wait_for()
    assert note.inner_text() == expected
    page.locator("#status", has_text=expected).wait_for()
    assert stale.locator("button[data-claim]").count() == 0
    assert stale.locator(".col-holder").inner_text() == "Jonas Weber"

    row(page, first["reference"]).locator("button[data-claim]").click()
    page.locator("#case-reference", has_text=first["reference"]).wait_for()
    page.locator("#case-release:visible").wait_for()
    assert "Handled by you" in page.locator("#case-state").inner_text()
    page.locator("#status", has_text=text("en", "script", "claimed_ok", reference=first["reference"])).wait_for()
    assert page.locator("#case-claim").is_hidden()

    open_case(page, second)
    assert "Handled by Jonas Weber" in page.locator("#case-state").inner_text()
    assert page.locator("#case-claim").is_hidden() and page.locator("#case-release").is_hidden()
    assert page.locator("#section-close").is_hidden() and page.locator("#appointment-form").is_hidden()

    page.click("#tab-mine")
    row(page, first["reference"]).wait_for()
    assert row(page, second["reference"]).count() == 0


def test_the_409_also_shows_in_the_case_view(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case = new_case(live, "lmu-klinikum")
    sign_in(page, live, staff_token(live, "lmu-klinikum", name="Anna Berger"), "de")
    open_case(page, case)
    colleague = staff_token(live, "lmu-klinikum", name="Mehmet Demir")
    assert call(live, "POST", f"/staff/cases/{case['case_id']}/claim", colleague)[0] == 200

    page.click("#case-claim")
    problem = page.locator("#case-problem")
    problem.wait_for()
    assert problem.inner_text() == text("de", "script", "already_claimed", name="Mehmet Demir")
    assert problem.get_attribute("role") == "alert"
    page.locator("#case-state", has_text="Mehmet Demir").wait_for()


def test_a_case_passed_on_by_a_colleague_leaves_the_screen_when_claimed(live: LiveApp, desktop_page: Any) -> None:
    """The claim answers 404 (the case is at another institution now): its applicant's data must not
    stay on this screen with a claim button that can only fail again."""
    page = desktop_page
    case = new_case(live, "lmu-klinikum", family="Kovalenko")
    sign_in(page, live, staff_token(live, "lmu-klinikum", name="Jonas Weber"), "de")
    open_case(page, case)
    page.locator("#case-intake", has_text="Kovalenko").wait_for()
    colleague = staff_token(live, "lmu-klinikum", name="Petra Huber")
    assert call(live, "POST", f"/staff/cases/{case['case_id']}/claim", colleague)[0] == 200
    moved = {"partner": "via-bayern", "reason": "Allgemeine Beratung passt besser."}
    assert call(live, "POST", f"/staff/cases/{case['case_id']}/transfer", colleague, moved)[0] == 200

    page.click("#case-claim")
    page.locator("#case-problem", has_text=text("de", "script", "case_gone")).wait_for()
    assert "Kovalenko" not in page.locator("#case").inner_text()
    assert page.locator("#case-claim").is_hidden() and page.locator("#section-move").is_hidden()
    assert page.evaluate("document.activeElement.id") == "case-title"
    row(page, case["reference"]).wait_for(state="detached")  # the queue beside it no longer lists it


def test_booking_an_appointment_in_berlin_time_and_its_sms_in_the_message_log(
    live: LiveApp, berlin_elsewhere_page: Any
) -> None:
    page = berlin_elsewhere_page
    case = new_case(live, "lmu-klinikum", sms=True)
    live.run_schedule("send_due_messages")  # plans (and sends to the local outbox) the intake confirmation
    token = staff_token(live, "lmu-klinikum", name="Anna Berger")
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: sent.append({"method": r.method, "body": r.post_data_json}) if "/appointments" in r.url else None,
    )
    sign_in(page, live, token, "de")
    open_case(page, case)
    page.click("#case-claim")
    page.locator("#appointment-form:visible").wait_for()
    page.locator("#messages [data-kind=intake_received]").wait_for()  # the intake confirmation is logged

    day = working_day(3)
    page.fill("#appointment-date", day.isoformat())
    page.fill("#appointment-time", "10:30")
    page.select_option("#appointment-duration", "60")
    page.fill("#appointment-location", "Ziemssenstraße 5, Raum E.12")
    page.click("#appointment-submit")

    booked = page.locator("#appointments li.appointment")
    booked.wait_for()
    assert re.search(r"\b10:30\b", booked.inner_text()), "Berlin time, although this browser is in New York"
    assert "60 Minuten" in booked.inner_text()
    posts = [r for r in sent if r["method"] == "POST"]
    assert posts[0]["body"]["start"] == f"{day.isoformat()}T10:30", "local time without offset"
    _, listed = call(live, "GET", f"/staff/cases/{case['case_id']}/appointments", token)
    start = datetime.fromisoformat(listed["appointments"][0]["start"])
    assert start.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") == f"{day.isoformat()} 10:30"

    confirmation = page.locator("#messages [data-kind=appointment_booked]")
    confirmation.wait_for()
    assert text("de", "message_kinds", "appointment_booked") in confirmation.inner_text()
    assert "Ziemssenstraße 5" in confirmation.inner_text(), "the SMS text itself is shown"
    status_badge = confirmation.get_attribute("data-status")
    assert status_badge in ("pending", "sent", "delivered", "queued")
    assert text("de", "message_statuses", status_badge) in confirmation.inner_text()
    assert page.locator("#case-state", has_text=text("de", "statuses", "scheduled")).count() == 1
    # No transfer while an appointment stands, and the page says why instead of hiding the section.
    assert page.locator("#move-blocked").inner_text() == text("de", "page", "move_blocked")
    assert page.locator("#move-blocked").is_visible() and page.locator("#transfer-form").is_hidden()

    # Reschedule: the form comes back with the Berlin date and time filled in.
    booked.locator("[data-act=reschedule]").click()
    assert page.locator("#appointment-date").input_value() == day.isoformat()
    assert page.locator("#appointment-time").input_value() == "10:30"
    page.fill("#appointment-time", "11:15")
    page.click("#appointment-submit")
    page.locator("#appointments li.appointment", has_text="11:15").wait_for()
    assert [r["method"] for r in sent if r["method"] in ("POST", "PATCH")] == ["POST", "PATCH"]
    # The applicant hears of the new time (a new confirmation, or a change notice once the first went out).
    notice = (
        "#messages li.message[data-status=pending]:is([data-kind=appointment_booked], [data-kind=appointment_changed])"
    )
    page.locator(notice, has_text="11:15").wait_for()
    withdrawn = page.locator("#messages li.message[data-status=cancelled]")
    assert withdrawn.count() >= 1, "the 10:30 texts are withdrawn"
    assert text("de", "message_reasons", "rescheduled") in withdrawn.first.inner_text()  # why, in German

    # Cancelling asks first and says the applicant will be texted; "No" keeps the appointment.
    page.locator("#appointments [data-act=cancel]").click()
    question = page.locator("#appointments .cancel-confirm")
    assert text("de", "script", "cancel_confirm_sms") in question.inner_text()
    # By keyboard: the focus starts on "No", so Enter pressed twice cancels nothing; Escape keeps it too.
    assert page.evaluate("document.activeElement.dataset.act") == "keep"
    page.keyboard.press("Enter")
    assert question.count() == 0 and page.evaluate("document.activeElement.dataset.act") == "cancel"
    page.keyboard.press("Enter")
    question.wait_for()
    page.keyboard.press("Escape")
    assert question.count() == 0 and page.evaluate("document.activeElement.dataset.act") == "cancel"
    assert not [r for r in sent if r["method"] == "DELETE"], "nothing cancelled yet"
    page.locator("#appointments [data-act=cancel]").click()
    page.locator("#appointments [data-act=cancel-confirmed]").click()
    page.locator("#appointments li.appointment[data-status=cancelled]").wait_for()
    assert text("de", "appointment_statuses", "cancelled") in page.locator("#appointments").inner_text()
    # The applicant is told of the cancellation; every other text still waiting for the time is withdrawn.
    page.locator("#messages li.message[data-kind=appointment_cancelled][data-status=pending]").wait_for()
    waiting = "#messages li.message[data-status=pending]"
    page.locator(f"{waiting}:not([data-kind=intake_received]):not([data-kind=appointment_cancelled])").wait_for(
        state="detached"
    )
    screenshot(page, "staff-case-appointments-desktop")


def test_no_case_action_is_offered_before_the_case_has_loaded(live: LiveApp, desktop_page: Any) -> None:
    """Typing into a form of a case still loading would be lost when it loads and takes the focus."""
    page = desktop_page
    case, token = claimed_by_anna(live)
    held: list[Any] = []
    page.route(f"**/staff/cases/{case['case_id']}", lambda route: held.append(route))
    sign_in(page, live, token, "en", f"#/case/{case['case_id']}")
    while not held:  # the case's GET is held back: the panel is open and loading
        page.wait_for_timeout(50)
    page.locator("#case:visible").wait_for()
    for action in ("#appointment-form", "#case-claim", "#case-release", "#section-close", "#section-move"):
        assert page.locator(action).is_hidden(), action
    held[0].continue_()
    page.locator("#appointment-form:visible").wait_for()
    assert page.evaluate("document.activeElement.id") == "case-title"


def test_a_booking_sent_again_after_its_answer_was_lost_books_once(live: LiveApp, desktop_page: Any) -> None:
    """The page sends one Idempotency-Key per booking: its resend gets the booking the lost answer
    carried, not a clash with its own slot."""
    page = desktop_page
    case, token = claimed_by_anna(live)
    posts: list[str | None] = []

    def lose_first_answer(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        posts.append(route.request.headers.get("idempotency-key"))
        if len(posts) == 1:
            route.fetch()  # the booking reaches the server and is stored...
            route.abort("connectionreset")  # ...and its answer never reaches the page
        else:
            route.continue_()

    page.route(f"**/staff/cases/{case['case_id']}/appointments", lose_first_answer)
    sign_in(page, live, token, "en", f"#/case/{case['case_id']}")
    page.locator("#appointment-form:visible").wait_for()
    page.fill("#appointment-date", working_day(4).isoformat())
    page.fill("#appointment-time", "09:30")
    page.fill("#appointment-location", "Raum 2.14")
    page.click("#appointment-submit")
    page.locator("#case-problem:visible").wait_for()  # the page says the request failed
    page.click("#appointment-submit")  # the person tries again
    page.locator("#appointments li.appointment", has_text="09:30").wait_for()
    assert page.locator("#case-problem").is_hidden(), page.locator("#case-problem").inner_text()  # no clash
    assert len(posts) == 2 and posts[0] and posts[0] == posts[1], posts
    _, listed = call(live, "GET", f"/staff/cases/{case['case_id']}/appointments", token)
    assert len(listed["appointments"]) == 1


def test_moving_an_appointment_cancelled_in_another_tab_returns_the_form_to_booking(
    live: LiveApp, desktop_page: Any
) -> None:
    page = desktop_page
    case, token = claimed_by_anna(live)
    booking = {"start": f"{working_day(3).isoformat()}T10:00", "duration_minutes": 30, "location": "Raum 2.14"}
    status, booked = call(live, "POST", f"/staff/cases/{case['case_id']}/appointments", token, booking)
    assert status == 201, booked
    sign_in(page, live, token, "de", f"#/case/{case['case_id']}")
    page.locator("#appointments [data-act=reschedule]").click()
    assert page.locator("#appointment-submit").inner_text() == text("de", "page", "save_change")
    appointment_id = booked["appointment"]["appointment_id"]
    assert call(live, "DELETE", f"/staff/cases/{case['case_id']}/appointments/{appointment_id}", token)[0] == 200

    page.fill("#appointment-time", "11:00")
    page.click("#appointment-submit")
    page.locator("#case-problem:visible").wait_for()
    page.locator("#appointment-submit", has_text=text("de", "page", "book")).wait_for()
    assert page.locator("#appointment-form-title").inner_text() == text("de", "page", "appointment_new")
    assert page.locator("#appointment-cancel-edit").is_hidden()


def test_opening_the_page_on_a_case_the_status_line_speaks_of_the_case(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case, token = claimed_by_anna(live)
    sign_in(page, live, token, "de", f"#/case/{case['case_id']}")
    page.locator("#case-reference", has_text=case["reference"]).wait_for()
    page.locator("#queue-table[data-loaded]").wait_for(state="attached")  # the list behind it, too
    page.wait_for_timeout(300)  # the status line is written 30 ms after an announcement
    assert page.locator("#status").inner_text() == text("de", "script", "case_loaded", reference=case["reference"])


def test_a_time_the_summer_time_switch_skips_is_explained_at_the_time_field(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case, token = claimed_by_anna(live)
    sign_in(page, live, token, "de", f"#/case/{case['case_id']}")
    page.locator("#appointment-form:visible").wait_for()
    page.fill("#appointment-date", "2027-03-28")  # Berlin's clocks jump from 02:00 to 03:00
    page.fill("#appointment-time", "02:30")
    page.fill("#appointment-location", "Raum 2.14")
    page.click("#appointment-submit")
    error = page.locator("#appointment-time-error")
    error.wait_for()
    assert error.inner_text() == text("de", "errors", "nonexistent_local_time")
    assert page.evaluate("document.activeElement.id") == "appointment-time"


def test_an_appointment_in_the_past_is_refused_in_the_browser(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case, token = claimed_by_anna(live)
    sign_in(page, live, token, "en", f"#/case/{case['case_id']}")
    page.locator("#appointment-form:visible").wait_for()
    page.fill("#appointment-date", "2020-01-06")
    page.fill("#appointment-time", "09:00")
    page.click("#appointment-submit")
    error = page.locator("#appointment-date-error")
    error.wait_for()
    assert error.inner_text() == text("en", "errors", "in_past")
    assert page.locator("#appointment-location-error").inner_text() == text("en", "errors", "required")
    assert page.evaluate("document.activeElement.id") == "appointment-date"

    # Today, at a time gone by: the time is what needs changing (Berlin's date; 00:00 has always passed).
    page.fill("#appointment-location", "Raum 2.14")
    page.fill("#appointment-date", datetime.now(BERLIN).date().isoformat())
    page.fill("#appointment-time", "00:00")
    page.click("#appointment-submit")
    page.locator("#appointment-time-error", has_text=text("en", "errors", "in_past")).wait_for()
    assert page.evaluate("document.activeElement.id") == "appointment-time"


def test_a_case_opens_from_the_reference_the_applicant_reads_out(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case = new_case(live, "lmu-klinikum")
    other = new_case(live, "akademie-ingenieure")  # another institution's: not found here
    sign_in(page, live, staff_token(live, "lmu-klinikum", name="Anna Berger"), "de")
    page.fill("#find-reference", other["reference"])
    page.click("#find-form button[type=submit]")
    error = page.locator("#find-reference-error")
    error.wait_for()
    assert error.inner_text() == text("de", "script", "find_none", reference=other["reference"])
    page.fill("#find-reference", case["reference"].lower().replace("-", " "))  # as heard on the phone
    page.click("#find-form button[type=submit]")
    page.locator("#case-reference", has_text=case["reference"]).wait_for()
    assert page.evaluate("location.hash") == f"#/case/{case['case_id']}"


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_routing_reason_is_in_the_pages_language(live: LiveApp, desktop_page: Any, language: str) -> None:
    """The rule's reason is stored in the rules' English ("qualification.profession_group is health");
    staff read it with their page's names for the field and the option."""
    from chalicelib.pages.labels import labels as intake_labels

    page = desktop_page
    case, token = claimed_by_anna(live)
    sign_in(page, live, token, language, f"#/case/{case['case_id']}")
    reason = page.locator('#case-routing [data-routing="routing_reason"]')
    reason.wait_for()
    group = intake_labels(language)["fields"]["qualification.profession_group"]["options"]["health"]
    field = text(language, "fields", "qualification.profession_group")
    assert reason.inner_text() == text(language, "script", "rule_is", field=field, values=group)
    routed = page.locator("#history li", has_text=text(language, "actions", "routed"))
    assert text(language, "script", "rule_is", field=field, values=group) in routed.inner_text()
    assert "profession_group" not in routed.inner_text()


def test_cancelling_for_an_applicant_without_sms_says_staff_must_tell_them(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case = new_case(live, "lmu-klinikum", sms=False)
    token = staff_token(live, "lmu-klinikum", name="Anna Berger")
    assert call(live, "POST", f"/staff/cases/{case['case_id']}/claim", token)[0] == 200
    booked = {"start": f"{working_day(4).isoformat()}T10:00", "duration_minutes": 60, "location": "Raum E.12"}
    assert call(live, "POST", f"/staff/cases/{case['case_id']}/appointments", token, booked)[0] == 201
    sign_in(page, live, token, "de", f"#/case/{case['case_id']}")
    page.locator("#messages-flags p").first.wait_for()  # the SMS log has been read: no consent
    page.locator("#appointments [data-act=cancel]").click()
    question = page.locator("#appointments .cancel-confirm").inner_text()
    assert text("de", "script", "cancel_confirm_no_sms") in question
    assert text("de", "script", "cancel_confirm_sms") not in question


def test_the_german_page_explains_a_refused_booking_in_german(live: LiveApp, desktop_page: Any) -> None:
    """The server's errors are English; the page shows its own text for each code it knows."""
    page = desktop_page
    case, token = claimed_by_anna(live)
    other = new_case(live, "lmu-klinikum")
    assert call(live, "POST", f"/staff/cases/{other['case_id']}/claim", token)[0] == 200
    day = working_day(4).isoformat()
    booked = {"start": f"{day}T10:00", "duration_minutes": 60, "location": "Raum E.12"}
    assert call(live, "POST", f"/staff/cases/{other['case_id']}/appointments", token, booked)[0] == 201
    sign_in(page, live, token, "de", f"#/case/{case['case_id']}")
    page.locator("#appointment-form:visible").wait_for()
    page.fill("#appointment-date", day)
    page.fill("#appointment-time", "10:30")
    page.fill("#appointment-location", "Raum E.12")
    page.click("#appointment-submit")
    problem = page.locator("#case-problem")
    problem.wait_for()
    assert problem.inner_text() == text("de", "problems", "appointment_overlap")


def test_a_transfer_is_checked_with_the_schema_in_the_browser_before_it_is_sent(
    live: LiveApp, desktop_page: Any
) -> None:
    page = desktop_page
    case = new_case(live, "lmu-klinikum")
    token = staff_token(live, "lmu-klinikum", name="Anna Berger")
    transfers: list[str] = []
    page.on("request", lambda r: transfers.append(r.url) if r.url.endswith("/transfer") else None)
    sign_in(page, live, token, "de")
    open_case(page, case)

    page.select_option("#transfer-partner", "via-bayern")
    page.fill("#transfer-reason", "  zu kurz  ")
    page.click("#transfer-submit")
    error = page.locator("#transfer-reason-error")
    error.wait_for()
    assert error.inner_text() == text("de", "errors", "too_short")
    assert page.locator("#transfer-reason").get_attribute("aria-invalid") == "true"
    assert transfers == [], "the same schema as the server's refused it before sending"
    assert page.locator("#transfer-partner option[value=lmu-klinikum]").count() == 0, "not to itself"

    page.fill("#transfer-reason", "Sucht vor allem einen Deutschkurs und allgemeine Orientierung.")
    page.click("#transfer-submit")
    page.locator("#case").wait_for(state="hidden")
    done = text("de", "script", "transferred_ok", reference=case["reference"], partner=PARTNER_NAMES["via-bayern"])
    page.locator("#status", has_text=done).wait_for()
    assert len(transfers) == 1
    coordinator = staff_token(live, "lmu-klinikum", role="coordinator", name="Koordination")
    status, moved = call(live, "GET", f"/staff/cases/{case['case_id']}", coordinator)
    assert (status, moved["partner"]) == (200, "via-bayern")
    assert row(page, case["reference"]).count() == 0


def test_closing_a_case_with_an_outcome_moves_it_to_the_closed_list(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case, token = claimed_by_anna(live)
    sign_in(page, live, token, "en", f"#/case/{case['case_id']}")
    page.locator("#section-close:visible").wait_for()

    page.click("#close-submit")
    assert page.locator("#close-outcome-error").inner_text() == text("en", "errors", "required")
    assert page.locator("#close-cancels").is_hidden()  # nothing booked yet

    page.fill("#appointment-date", working_day(3).isoformat())
    page.fill("#appointment-time", "09:00")
    page.fill("#appointment-location", "Raum E.12")
    page.click("#appointment-submit")
    page.locator("#appointments li.appointment[data-status=booked]").wait_for()
    hint = page.locator("#close-cancels:visible")
    hint.wait_for()  # before pressing the button, staff read what the close does to the appointment
    assert hint.inner_text() == text("en", "page", "close_cancels")

    page.select_option("#close-outcome", "counselled")
    page.fill("#close-note", "Recognition application explained; documents complete.")
    page.click("#close-submit")
    page.locator("#case-state", has_text=text("en", "statuses", "closed")).wait_for()
    page.locator("#appointments li.appointment[data-status=cancelled]").wait_for()
    assert page.locator("#section-close").is_hidden() and page.locator("#section-move").is_hidden()
    history = page.locator("#history").inner_text()
    assert text("en", "outcomes", "counselled") in history and "documents complete" in history
    page.locator("#audit", has_text=text("en", "actions", "close")).wait_for()

    page.click("#tab-closed")
    row(page, case["reference"]).wait_for()


def test_an_expired_token_sends_back_to_sign_in_with_a_message(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    brief = staff_token(live, "lmu-klinikum", hours=12 / 3600)  # twelve seconds
    sign_in(page, live, brief, "de")
    message = page.locator("#signin-message")
    message.wait_for(timeout=30_000)
    assert message.inner_text() == text("de", "script", "expired")
    assert page.locator("#workspace").is_hidden()
    assert stored_token(page)["session"] is None


def test_a_forged_token_is_refused_with_the_servers_reason(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    header, claims, signature = staff_token(live, "lmu-klinikum").split(".")
    forged = ".".join([header, claims, signature[:-6] + ("AAAAAA" if not signature.endswith("AAAAAA") else "BBBBBB")])
    # Not sign_in(): the workspace may show and hide again (the server's 401) before a wait sees it.
    submit_token(page, live, forged, "en")
    message = page.locator("#signin-message")
    message.wait_for()
    assert message.inner_text().startswith(text("en", "script", "token_rejected", error="").strip())
    assert "signature" in message.inner_text()
    page.wait_for_timeout(300)  # the status line is written 30 ms after an announcement
    assert "Anna Berger" not in page.locator("#status").inner_text()  # not "signed in as" above the refusal

    for typed, problem in (("not a token", "token_malformed"), ("  ", "token_empty")):
        page.fill("#token", typed)
        page.click("#token-submit")
        error = page.locator("#token-error")
        assert error.is_visible() and error.inner_text() == text("en", "script", problem)
        assert page.evaluate("() => document.activeElement.id") == "token"
        assert page.get_attribute("#token", "aria-invalid") == "true"


def test_a_token_pasted_with_its_bearer_prefix_signs_in(live: LiveApp, desktop_page: Any) -> None:
    """The command's hint says to send it as 'Authorization: Bearer …'; people paste it that way."""
    sign_in(desktop_page, live, "Bearer " + staff_token(live, "lmu-klinikum"), "de")
    desktop_page.locator("#who:visible").wait_for()  # shown once the partners have loaded
    assert desktop_page.locator("#who-name").inner_text() == "Anna Berger"


def test_a_coordinator_sees_every_partner_and_reassigns(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case = new_case(live, "akademie-ingenieure")
    coordinator = staff_token(live, "lmu-klinikum", role="coordinator", name="Katrin Vogel")
    sign_in(page, live, coordinator, "en", "#/network")
    page.locator("#network-filter:visible").wait_for()
    assert page.locator("#tab-network").get_attribute("aria-selected") == "true"
    page.select_option("#filter-partner", "akademie-ingenieure")
    page.click("#network-filter button[type=submit]")
    found = row(page, case["reference"])
    found.wait_for()
    assert found.locator(".col-partner").inner_text() == "Akademie der Ingenieure GmbH"

    open_case(page, case)
    assert page.locator("#move-title-coordinator").is_visible()
    # Another institution's new case: reassign, but no claim (it would take it from Akademie's staff).
    assert page.locator("#case-claim").is_hidden()
    page.select_option("#transfer-partner", "servicestelle-muenchen")
    page.fill("#transfer-reason", "Needs recognition counselling first, then placement.")
    page.click("#transfer-submit")
    page.locator("#case-state", has_text="Servicestelle").wait_for()
    page.locator("#history", has_text=text("en", "actions", "reassigned")).wait_for()
    quoted = text("en", "script", "quoted", text="Needs recognition counselling first, then placement.")
    assert quoted.startswith("“") and quoted in page.locator("#history").inner_text()  # English quotes here
    assert page.evaluate("document.activeElement.id") in ("transfer-submit", "case-title"), "focus kept in the case"
    # The routing shown is the intake's; who holds the case now, and why, stand beside it.
    assert page.locator('[data-routing="routing_partner"]').inner_text() == "Akademie der Ingenieure GmbH"
    assert page.locator('[data-routing="routing_rule"]').inner_text() == text("en", "rules", "engineering-construction")
    assert "Servicestelle" in page.locator('[data-routing="routing_now"]').inner_text()
    reason = page.locator('[data-routing="routing_moved_reason"]').inner_text()
    assert reason == "Needs recognition counselling first, then placement."


def test_a_coordinator_hands_out_and_erases_an_applicants_data_on_request(live: LiveApp, desktop_page: Any) -> None:
    """An applicant asks by phone (GDPR Art. 15 and 17): the coordinator downloads everything stored
    about them, then erases it with a reason and a confirmation. Staff are not offered either."""
    page = desktop_page
    case, staff = claimed_by_anna(live)
    sign_in(page, live, staff, "de", f"#/case/{case['case_id']}")
    page.locator("#case-reference", has_text=case["reference"]).wait_for()
    assert page.locator("#section-privacy").is_hidden()

    coordinator = staff_token(live, "lmu-klinikum", role="coordinator", name="Katrin Vogel")
    page.click("#sign-out")
    sign_in(page, live, coordinator, "de", f"#/case/{case['case_id']}")
    section = page.locator("#section-privacy")
    section.wait_for()
    with page.expect_download() as download_info:
        page.click("#privacy-export")
    download = download_info.value
    assert download.suggested_filename == f"migranet-{case['reference']}.json"
    exported = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert case["family_name"] in json.dumps(exported, ensure_ascii=False)

    page.click("#erase-submit")  # neither a reason nor the confirmation: nothing happens
    assert page.locator("#erase-reason-error").inner_text() == text("de", "errors", "invalid_choice")
    assert page.locator("#erase-confirm-error").inner_text() == text("de", "errors", "confirm_erase")
    assert call(live, "GET", f"/staff/cases/{case['case_id']}", coordinator)[1]["erased_at"] is None
    section.scroll_into_view_if_needed()
    screenshot(page, "staff-case-privacy-de")

    page.select_option("#erase-reason", "applicant_request")
    page.check("#erase-confirm")
    page.click("#erase-submit")
    page.locator("#case-state .erased-note").wait_for()
    assert section.is_hidden()
    assert page.evaluate("document.activeElement.id") == "case-title"
    stored = call(live, "GET", f"/staff/cases/{case['case_id']}", coordinator)[1]
    assert stored["erased_at"] and case["family_name"] not in json.dumps(stored, ensure_ascii=False)


def test_a_coordinator_sees_the_metrics_as_svg_charts_and_downloads_csv(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    new_case(live, "lmu-klinikum")
    coordinator = staff_token(live, "lmu-klinikum", role="coordinator", name="Katrin Vogel")
    sign_in(page, live, coordinator, "de", "#/metrics")
    charts = page.locator("#metrics-charts svg.chart")
    charts.first.wait_for()
    assert charts.count() >= 4
    captions = page.locator("#metrics-charts figcaption").all_inner_texts()
    for key in ("chart_intakes", "chart_claim", "chart_no_show", "chart_sms"):
        assert text("de", "script", key) in captions
    intakes = page.locator('[data-chart="intakes"]')
    assert intakes.locator("svg rect.bar").count() == 5, "one bar per partner"
    assert intakes.locator("svg").get_attribute("role") == "img"
    assert "LMU Klinikum" in (intakes.locator("svg desc").text_content() or "")
    assert page.locator("#metrics-summary .card").count() >= 6
    screenshot(page, "staff-metrics-desktop")

    with page.expect_download() as download_info:
        page.click("#metrics-csv")
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as handle:
        first_line = handle.readline()
    assert first_line.startswith("from,to,scope,intakes,")

    # The button for Excel with German settings: semicolons, and the byte order mark that reading
    # the answer as text drops in the browser is back in the file.
    with page.expect_download() as download_info:
        page.click("#metrics-csv-excel")
    with open(download_info.value.path(), "rb") as handle:
        first_line_bytes = handle.readline()
    assert first_line_bytes.startswith("\ufefffrom;to;scope;intakes;".encode())

    # A period longer than the server allows: its 400 names `to`, shown there in German.
    page.fill("#metrics-from", "2020-01-01")
    page.fill("#metrics-to", "2026-11-30")
    page.click("#metrics-show")
    error = page.locator("#metrics-to-error")
    error.wait_for()
    assert error.inner_text() == text("de", "errors", "range_too_long")
    page.locator("#status", has_text=text("de", "script", "fix_fields")).wait_for()


@pytest.mark.parametrize("language", ["de", "en"])
def test_axe_finds_no_serious_or_critical_violation_on_the_staff_page(
    live: LiveApp, desktop_page: Any, language: str
) -> None:
    page = desktop_page
    case = new_case(live, "lmu-klinikum")
    page.goto(f"{live.url}/staff?lang={language}")
    page.locator("#token-submit:enabled").wait_for()
    assert serious_violations(page) == []

    token = staff_token(live, "lmu-klinikum", name="Anna Berger")
    assert call(live, "POST", f"/staff/cases/{case['case_id']}/claim", token)[0] == 200
    sign_in(page, live, token, language, f"#/case/{case['case_id']}")
    page.locator("#messages li").first.wait_for()
    page.locator("#audit li").first.wait_for()
    assert serious_violations(page) == []


def test_axe_on_the_coordinators_views(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    sign_in(page, live, staff_token(live, "via-bayern", role="coordinator", name="Katrin Vogel"), "en", "#/network")
    page.locator("#queue-table[data-loaded]").wait_for(state="attached")
    assert serious_violations(page) == []
    page.click("#tab-metrics")
    page.locator("#metrics-charts svg.chart").first.wait_for()
    assert serious_violations(page) == []


def test_on_a_phone_the_queue_and_the_case_fit_the_screen(live: LiveApp, mobile_page: Any) -> None:
    page = mobile_page
    case = new_case(live, "lmu-klinikum")
    token = staff_token(live, "lmu-klinikum", name="Anna Berger")
    sign_in(page, live, token, "de")
    row(page, case["reference"]).wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["viewport"]["width"]
    screenshot(page, "staff-queue-de-mobile")

    row(page, case["reference"]).locator("button[data-claim]").tap()
    page.locator("#appointment-form:visible").wait_for()
    page.locator("#messages li").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["viewport"]["width"]
    screenshot(page, "staff-case-de-mobile")


def test_on_a_phone_back_to_the_list_returns_to_the_row_it_left(live: LiveApp, mobile_page: Any) -> None:
    """The case takes the whole screen there: the list must not start again from the top each time."""
    page = mobile_page
    for _ in range(10):
        new_case(live, "akademie-ingenieure")
    sign_in(page, live, staff_token(live, "akademie-ingenieure", name="Lena Koch"), "de")
    from playwright.sync_api import expect  # waits: the focus moves once the partner directory has loaded

    expect(page.locator("#queue-title")).to_be_focused()  # the list, after signing in
    rows = page.locator("#queue-table tbody tr")
    rows.nth(9).wait_for()
    left = rows.nth(8)
    case_id = left.get_attribute("data-case")
    left.scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 1000
    left.locator("a.button-link").tap()
    page.locator("#case-back:visible").wait_for()
    page.locator("#case-back").tap()
    focused = "() => (document.activeElement.closest('tr') || {}).dataset?.case || null"
    for _ in range(50):  # wait_for_function would evaluate a string, which the page's CSP forbids
        if page.evaluate(focused) == case_id:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)  # a refresh of the list behind it must not take the focus away
    assert page.evaluate(focused) == case_id
    assert page.evaluate("document.activeElement.classList.contains('button-link')")
    assert abs(page.evaluate("window.scrollY") - scrolled) < 50


def assert_claim_button_in_the_list(page: Any, reference: str) -> None:
    code = row(page, reference).locator("a.ref").bounding_box()
    assert code["height"] < 30, "the reference breaks at its hyphen over two lines"
    claim = row(page, reference).locator("button[data-claim]")
    box, table = claim.bounding_box(), page.locator("#queue-table").bounding_box()
    wrap = page.locator("#queue-table").locator("xpath=..").bounding_box()
    assert box["x"] + box["width"] <= wrap["x"] + wrap["width"] + 1, "the claim button is cut off by the panel"
    assert table["width"] <= wrap["width"] + 1, "the list scrolls sideways beside the case"


@pytest.mark.parametrize("partner", ["lmu-klinikum", "akademie-ingenieure"])  # the longest profession name
def test_beside_an_open_case_the_queues_buttons_stay_in_the_list(
    live: LiveApp, desktop_page: Any, partner: str
) -> None:
    page = desktop_page
    waiting, opened = new_case(live, partner), new_case(live, partner)
    sign_in(page, live, staff_token(live, partner), "de")
    row(page, opened["reference"]).wait_for()  # other tests' new cases may put it on the next page
    open_case(page, opened)
    assert_claim_button_in_the_list(page, waiting["reference"])


def test_beside_an_open_case_a_coordinators_list_of_every_partner_keeps_its_buttons(
    live: LiveApp, desktop_page: Any
) -> None:
    page = desktop_page  # a partner column more than a partner's own queue
    waiting, opened = new_case(live, "lmu-klinikum"), new_case(live, "lmu-klinikum")
    coordinator = staff_token(live, "lmu-klinikum", role="coordinator", name="Katrin Vogel")
    sign_in(page, live, coordinator, "de", "#/network")
    row(page, waiting["reference"]).wait_for()
    row(page, opened["reference"]).wait_for()  # every partner's new cases: it may be on the next page
    open_case(page, opened)
    assert_claim_button_in_the_list(page, waiting["reference"])
    screenshot(page, "staff-network-beside-case-de")


def test_views_switch_with_the_arrow_keys_and_a_case_opens_with_enter(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case = new_case(live, "lmu-klinikum")
    sign_in(page, live, staff_token(live, "lmu-klinikum"), "en")
    row(page, case["reference"]).wait_for()
    page.focus("#tab-routed")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-mine"
    page.locator("#queue-title", has_text=text("en", "page", "queue_mine")).wait_for()
    page.keyboard.press("ArrowLeft")
    page.locator("#queue-title", has_text=text("en", "page", "queue_routed")).wait_for()
    row(page, case["reference"]).wait_for()

    page.focus(f'#queue-table tr[data-case="{case["case_id"]}"] a.ref')
    page.keyboard.press("Enter")
    page.locator("#case-reference", has_text=case["reference"]).wait_for()
    assert page.evaluate("document.activeElement.id") == "case-title", "the case heading takes the focus"


def test_switching_the_language_keeps_the_sign_in_and_the_open_case(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case = new_case(live, "lmu-klinikum")
    sign_in(page, live, staff_token(live, "lmu-klinikum"), "de")
    open_case(page, case)
    assert page.locator("#h-intake").inner_text() == text("de", "page", "section_intake")

    page.click(".staff-lang a[lang=en]")
    page.wait_for_url(re.compile(r"lang=en"))
    page.locator("#case-reference", has_text=case["reference"]).wait_for()
    assert page.locator("#h-intake").inner_text() == text("en", "page", "section_intake")
    assert page.get_attribute("html", "lang") == "en"
    assert page.locator("#signin").is_hidden()


def test_overdue_and_flagged_cases_are_visibly_marked_and_further_pages_load_with_the_cursor(
    live: LiveApp, desktop_page: Any
) -> None:
    page = desktop_page

    def queue_row(reference: str, queued_at: str, overdue: bool, attention: bool = False) -> dict[str, Any]:
        return {
            "case_id": f"case-{reference}",
            "reference": reference,
            "partner": "lmu-klinikum",
            "status": "routed",
            "queued_at": queued_at,
            "due_at": queued_at.replace("T08", "T16"),
            "language": "uk",
            "profession_group": "health",
            "goals": ["recognition"],
            "rule": "health-professions",
            "claimed_by": None,
            "claimed_by_name": None,
            "overdue": overdue,
            "attention": attention,
        }

    pages = {
        None: {
            "cases": [
                queue_row("AAAA-AAAA", "2026-03-02T08:00:00+00:00", False, attention=True),
                queue_row("BBBB-BBBB", "2026-03-03T08:00:00+00:00", True),
            ],
            "next_cursor": "page-2",
        },
        # Due at Berlin midnight (the SLA counts whole working days): shown as the end of the day before.
        "page-2": {
            "cases": [
                {**queue_row("CCCC-CCCC", "2026-03-04T08:00:00+00:00", True), "due_at": "2026-03-05T23:00:00+00:00"}
            ],
            "next_cursor": None,
        },
    }
    asked: list[str | None] = []

    def serve(route: Any) -> None:
        cursor = parse_qs(urlsplit(route.request.url).query).get("cursor", [None])[0]
        asked.append(cursor)
        body = {"partner": "lmu-klinikum", "status": "routed", **pages[cursor]}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/staff/queue?*", serve)
    sign_in(page, live, staff_token(live, "lmu-klinikum"), "de")
    page.locator("#queue-table[data-loaded]").wait_for(state="attached")
    references = page.locator("#queue-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.reference)")
    assert references == ["BBBB-BBBB", "AAAA-AAAA"], "overdue first, then oldest first"
    overdue = page.locator('#queue-table tr[data-reference="BBBB-BBBB"]')
    assert "overdue" in (overdue.get_attribute("class") or "")
    assert text("de", "script", "overdue") in overdue.inner_text(), "marked in words, not by colour alone"
    flagged = page.locator('#queue-table tr[data-reference="AAAA-AAAA"] .badge.attention')
    assert flagged.inner_text() == text("de", "script", "attention")  # an SMS staff must act on waits there
    assert page.locator('#queue-table tr[data-reference="BBBB-BBBB"] .badge.attention').count() == 0

    page.click("#queue-more")
    page.locator('#queue-table tr[data-reference="CCCC-CCCC"]').wait_for()
    references = page.locator("#queue-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.reference)")
    assert references == ["BBBB-BBBB", "CCCC-CCCC", "AAAA-AAAA"]
    assert asked == [None, "page-2"]
    due = page.locator('#queue-table tr[data-reference="CCCC-CCCC"] .col-due').inner_text()
    assert text("de", "script", "due_end_of_day", date="05.03.2026") in due, due
    # "More" puts the focus on the first new row, not back at the top of the page.
    assert page.evaluate("document.activeElement.closest('tr').dataset.reference") == "CCCC-CCCC"
    assert page.locator("#queue-more").is_hidden(), "no next_cursor: nothing more to load"


def test_a_claimed_case_can_be_released_back_to_the_queue(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case, token = claimed_by_anna(live)
    sign_in(page, live, token, "en", f"#/case/{case['case_id']}")
    page.locator("#case-release:visible").focus()
    page.keyboard.press("Enter")  # by keyboard: the button hides with the release
    page.locator("#case-claim:visible").wait_for()
    page.locator("#status", has_text=text("en", "script", "released_ok", reference=case["reference"])).wait_for()
    assert text("en", "statuses", "routed") in page.locator("#case-state").inner_text()
    page.locator("#history", has_text=text("en", "actions", "released")).wait_for()
    assert page.evaluate("() => document.activeElement.id") == "case-title", "focus stays in the case"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('#case') !== null")


def prod_settings(live: LiveApp) -> Any:
    """The prod stage's settings; its hosted UI a stand-in at the app's own origin, served by page.route."""
    return replace(
        settings(),
        stage="prod",
        auth_mode="cognito",
        cognito_domain=f"{live.url}/hosted-ui",
        cognito_app_client_id="client-123",
        staff_redirect_url=f"{live.url}/staff",
    )


def serve_prod_page(page: Any, prod: Any) -> None:
    page.route(
        lambda url: urlsplit(url).path == "/staff",
        lambda route: route.fulfill(
            status=200, headers=staff_page_headers("en", prod), body=render_staff_page("en", "", prod)
        ),
    )


def hosted_authorize(live: LiveApp, seen: dict[str, Any]) -> Any:
    """The hosted UI's authorize page after the password: back to the staff page with a code."""

    def authorize(route: Any) -> None:
        seen["authorize"] = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        back = json.dumps(f"{live.url}/staff?code=the-code&state={seen['authorize']['state']}")
        # A page that sends the browser on, as the hosted UI does (a routed 302 would be followed
        # without passing page.route again).
        route.fulfill(status=200, content_type="text/html", body=f"<script>location.replace({back})</script>")

    return authorize


def test_in_production_sign_in_goes_through_the_hosted_ui_with_pkce(live: LiveApp, desktop_page: Any) -> None:
    """The page as the prod stage renders it, against a stand-in for Cognito's hosted UI."""
    page = desktop_page
    prod = prod_settings(live)
    hosted = prod.cognito_domain
    token = staff_token(live, "lmu-klinikum", name="Anna Berger")
    seen: dict[str, Any] = {}

    def token_endpoint(route: Any) -> None:
        seen["token"] = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"id_token": token}))

    def logout(route: Any) -> None:
        seen["logout"] = {k: v[0] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        route.fulfill(status=200, content_type="text/plain", body="signed out")

    serve_prod_page(page, prod)
    page.route(f"{hosted}/oauth2/authorize?*", hosted_authorize(live, seen))
    page.route(f"{hosted}/oauth2/token", token_endpoint)
    page.route(f"{hosted}/logout?*", logout)

    page.goto(f"{live.url}/staff?lang=en")  # not signed in: on to the hosted UI without a click
    page.locator("#workspace:visible").wait_for()
    assert page.locator("#token-form").count() == 0

    asked = seen["authorize"]
    assert asked["response_type"] == "code" and asked["client_id"] == "client-123"
    assert asked["redirect_uri"] == f"{live.url}/staff" and asked["code_challenge_method"] == "S256"
    sent = seen["token"]
    assert sent["grant_type"] == "authorization_code" and sent["code"] == "the-code"
    assert sent["redirect_uri"] == asked["redirect_uri"] and sent["client_id"] == "client-123"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(sent["code_verifier"].encode()).digest()).rstrip(b"=")
    assert challenge.decode() == asked["code_challenge"], "PKCE: the verifier matches the challenge"
    assert urlsplit(page.url).query == "", "the code does not stay in the address bar"
    assert stored_token(page)["session"] == token
    # The name is filled in after the workspace shows: wait for it rather than read it at once.
    page.locator("#who-name", has_text="Anna Berger").wait_for()

    page.click("#sign-out")
    page.wait_for_url(f"{hosted}/logout?*")
    assert seen["logout"] == {"client_id": "client-123", "logout_uri": f"{live.url}/staff"}
    assert stored_token(page)["session"] is None


def test_in_production_the_hour_long_id_token_is_renewed_before_it_ends(live: LiveApp, desktop_page: Any) -> None:
    """Cognito's ID token lasts an hour: renewed with the refresh token, nobody is signed out mid-work."""
    page = desktop_page
    prod = prod_settings(live)
    hosted = prod.cognito_domain
    # Ends in 125 s: renewed 2 minutes ahead, i.e. about 5 s after signing in.
    first = staff_token(live, "lmu-klinikum", name="Anna Berger", sub="anna-renew", hours=125 / 3600)
    renewed = staff_token(live, "lmu-klinikum", name="Anna Berger", sub="anna-renew", hours=1)
    asked: list[dict[str, str]] = []

    def token_endpoint(route: Any) -> None:
        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        asked.append(form)
        tokens = (
            {"id_token": first, "refresh_token": "refresh-1"}
            if form["grant_type"] == "authorization_code"
            else {"id_token": renewed}
        )
        route.fulfill(status=200, content_type="application/json", body=json.dumps(tokens))

    serve_prod_page(page, prod)
    page.route(f"{hosted}/oauth2/authorize?*", hosted_authorize(live, {}))
    page.route(f"{hosted}/oauth2/token", token_endpoint)
    page.goto(f"{live.url}/staff?lang=en")
    page.locator("#workspace:visible").wait_for()
    for _ in range(150):
        if len(asked) == 2:
            break
        page.wait_for_timeout(100)
    assert [a["grant_type"] for a in asked] == ["authorization_code", "refresh_token"]
    assert asked[1]["refresh_token"] == "refresh-1" and asked[1]["client_id"] == "client-123"
    page.wait_for_timeout(300)
    assert stored_token(page)["session"] == renewed
    assert page.locator("#workspace").is_visible() and page.locator("#signin").is_hidden()


def test_in_production_a_refused_hosted_sign_in_shows_the_reason_and_a_button_to_retry(
    live: LiveApp, desktop_page: Any
) -> None:
    page = desktop_page
    serve_prod_page(page, prod_settings(live))
    page.goto(f"{live.url}/staff?error=access_denied&error_description=User+is+disabled.")
    message = page.locator("#signin-message")
    message.wait_for()
    assert message.inner_text() == "User is disabled."
    assert page.locator("#hosted-signin").is_enabled()
    assert urlsplit(page.url).query == ""
