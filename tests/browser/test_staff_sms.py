"""The staff workspace's SMS side in real headless Chromium: the message log, "please check" flags and
their resolution, consent after STOP, attendance, an erased case, the confirmation waiting for the sweep."""

from __future__ import annotations

import json
from typing import Any

from tests.browser.live_app import LiveApp
from tests.browser.staff_workspace import (
    call,
    claimed_by_anna,
    new_case,
    sign_in,
    staff_token,
    text,
)


def _json_route(body: Any, seen: list[Any] | None = None) -> Any:
    def handle(route: Any) -> None:
        if seen is not None:
            seen.append({"method": route.request.method, "body": route.request.post_data_json})
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    return handle


def test_the_message_log_shows_delivery_failures_replies_and_flags(live: LiveApp, desktop_page: Any) -> None:
    """Every state a message can reach, as the API reports it (served here so that none depends on timing)."""
    page = desktop_page
    case, token = claimed_by_anna(live)
    at = "2026-03-02T09:00:00+00:00"
    cancelled_at = "2026-03-04T15:30:00+00:00"
    log = {
        "case_id": case["case_id"],
        "sms_consent": True,
        "opted_out": True,
        "attention": [{"at": at, "reason": "cannot_come", "appointment_id": "a1"}],
        "messages": [
            {
                "direction": "outbound",
                "kind": "intake_received",
                "status": "delivered",
                "body": "MigraNet: …",
                "language": "uk",
                "sent_at": at,
                "created_at": at,
            },
            {
                "direction": "outbound",
                "kind": "appointment_booked",
                "status": "failed",
                "error_code": "30003",
                "body": "…",
                "created_at": at,
            },
            {
                "direction": "outbound",
                "kind": "reminder",
                "status": "sent",
                "reply": "2",
                "reply_at": at,
                "body": "…",
                "sent_at": at,
            },
            {
                "direction": "inbound",
                "kind": "inbound",
                "status": "received",
                "body": "2",
                "reply": "2",
                "attention": "cannot_come",
                "appointment_id": "a1",
                "created_at": at,
            },
            {"direction": "outbound", "kind": "reminder", "status": "unknown", "body": "…", "created_at": at},
            {
                "direction": "outbound",
                "kind": "appointment_changed",
                "status": "undelivered",
                "error_code": "21610",
                "reason": "Twilio reported undelivered",
                "body": "…",
                "created_at": at,
            },
            {"direction": "outbound", "kind": "reminder", "status": "pending", "body": "…", "due_at": at},
            {
                "direction": "outbound",
                "kind": "reminder",
                "status": "cancelled",
                "reason": "appointment cancelled",
                "body": "…",
                "created_at": at,
                "updated_at": cancelled_at,
            },
        ],
    }
    page.route(f"**/staff/cases/{case['case_id']}/messages", _json_route(log))
    sign_in(page, live, token, "de", f"#/case/{case['case_id']}")
    items = page.locator("#messages li.message")
    items.first.wait_for()
    assert items.count() == 8
    # A cancelled reminder shows when it was cancelled, not when it was planned.
    cancelled = page.locator("#messages li[data-status=cancelled] time")
    assert cancelled.get_attribute("datetime") == cancelled_at
    assert (
        text("de", "message_reasons", "appointment cancelled")
        in page.locator("#messages li[data-status=cancelled]").inner_text()
    )
    # Opted out: the reminder still planned says it will not go out, and the opt-out is a state
    # (no "please check" badge, which nothing here could clear).
    held = page.locator("#messages li[data-status=pending]").inner_text()
    assert text("de", "script", "held_by_opt_out") in held
    unsubscribed = page.locator("#messages li[data-status=undelivered]").inner_text()
    assert text("de", "script", "unsubscribed_at_twilio") in unsubscribed, "an opt-out, not a fault"
    for status in ("delivered", "failed", "sent", "received", "unknown"):
        item = page.locator(f"#messages li[data-status={status}]")
        assert text("de", "message_statuses", status) in item.inner_text(), status
    assert (
        text("de", "script", "error_code", code="30003")
        in page.locator("#messages li[data-status=failed]").inner_text()
    )
    reply = text("de", "script", "reply", reply="2 (" + text("de", "script", "reply_2") + ")")
    assert reply in page.locator("#messages li[data-status=sent]").inner_text()
    flags = page.locator("#messages-flags").inner_text()
    assert text("de", "script", "opted_out") in flags
    assert page.locator("#messages-flags p", has_text=text("de", "script", "opted_out")).locator(".badge").count() == 0
    assert text("de", "attention_reasons", "cannot_come") in flags
    assert page.locator("#messages li[data-status=unknown] .badge.attention").count() == 1
    assert page.locator("#messages li[data-status=received] .badge.attention").count() == 1

    # Once the flag is dealt with, the `2` it came from stays in the log with its reason, but no
    # longer asks for anyone.
    page.unroute(f"**/staff/cases/{case['case_id']}/messages")
    page.route(f"**/staff/cases/{case['case_id']}/messages", _json_route({**log, "attention": []}))
    page.reload()
    items.first.wait_for()
    received = page.locator("#messages li[data-status=received]")
    assert text("de", "attention_reasons", "cannot_come") in received.inner_text()
    assert received.locator(".badge.attention").count() == 0


def test_sms_allowed_no_longer_says_yes_once_the_applicant_opted_out(live: LiveApp, desktop_page: Any) -> None:
    """The intake said yes; STOP by SMS since (in the consent record) or an opt-out Twilio reported
    (the SMS log's opted_out) must show beside it, where staff look before promising an SMS."""
    page = desktop_page
    case, token = claimed_by_anna(live)
    status, stored = call(live, "GET", f"/staff/cases/{case['case_id']}", token)
    assert status == 200 and stored["consent"]["sms"] is True, stored
    log = {"case_id": case["case_id"], "sms_consent": True, "opted_out": True, "attention": [], "messages": []}
    page.route(f"**/staff/cases/{case['case_id']}/messages", _json_route(log))
    sign_in(page, live, token, "de", f"#/case/{case['case_id']}")
    field = page.locator("#case-intake dd.field-consent-sms")
    page.locator("#messages-flags p").first.wait_for()
    assert field.inner_text() == text("de", "script", "sms_consent_opted_out")

    withdrawn = {**stored, "consent": {**stored["consent"], "sms_withdrawn_at": "2026-03-02T08:15:00.000000+00:00"}}
    page.route(f"**/staff/cases/{case['case_id']}", _json_route(withdrawn))
    # After a STOP the API reports no SMS consent as well; the SMS section names the reason only.
    page.unroute(f"**/staff/cases/{case['case_id']}/messages")
    page.route(f"**/staff/cases/{case['case_id']}/messages", _json_route({**log, "sms_consent": False}))
    page.reload()
    page.locator("#messages-flags p").first.wait_for()
    assert field.inner_text() == text("de", "script", "sms_consent_withdrawn", when="02.03.2026, 09:15")
    assert text("de", "script", "no_sms_consent") not in page.locator("#messages-flags").inner_text()


def test_attendance_is_recorded_for_an_appointment_that_has_begun(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case, token = claimed_by_anna(live)
    began = {
        "appointment_id": "a1",
        "case_id": case["case_id"],
        "start": "2026-03-02T08:00:00.000000+00:00",
        "duration_minutes": 45,
        "mode": "in_person",
        "location": "Ziemssenstraße 5",
        "status": "booked",
        "attended": None,
        "upcoming": False,
        "applicant_reply": "1",
    }
    listing = {"case_id": case["case_id"], "appointments": [began], "attention": []}
    recorded: list[Any] = []
    page.route(f"**/staff/cases/{case['case_id']}/appointments", _json_route(listing))
    page.route(f"**/staff/cases/{case['case_id']}/appointments/a1/attendance", _json_route({}, recorded))
    sign_in(page, live, token, "en", f"#/case/{case['case_id']}")
    item = page.locator("#appointments li[data-appointment=a1]")
    item.wait_for()
    assert "09:00" in item.inner_text(), "08:00 UTC on 2 March is 09:00 in Berlin"
    assert item.locator("[data-act=reschedule]").count() == 0, "a past appointment cannot be moved"
    assert text("en", "script", "applicant_reply", reply="1 (" + text("en", "script", "reply_1") + ")") in (
        item.inner_text()
    )
    began["attended"] = False  # what the API lists once it is recorded
    item.locator("[data-act=no_show]").click()
    page.locator("#status", has_text=text("en", "script", "attendance_ok")).wait_for()
    assert recorded == [{"method": "POST", "body": {"attended": False}}]
    # Which one was recorded shows on the buttons themselves, not only to screen readers.
    chosen = item.locator("[data-act=no_show][aria-pressed=true]")
    chosen.wait_for()
    other = item.locator("[data-act=attended]")
    background = "getComputedStyle(e).backgroundColor"
    assert chosen.evaluate(f"e => {background}") != other.evaluate(f"e => {background}")
    # And in the case's history, with its value.
    stored = call(live, "GET", f"/staff/cases/{case['case_id']}", token)[1]
    entry = {
        "at": "2026-03-02T09:00:00+00:00",
        "action": "attendance_recorded",
        "partner": "lmu-klinikum",
        "staff_id": "anna",
        "staff_name": "Anna Berger",
        "detail": {"appointment_id": "a1", "attended": False},
    }
    page.route(f"**/staff/cases/{case['case_id']}", _json_route({**stored, "history": [*stored["history"], entry]}))
    page.reload()
    recorded_entry = page.locator("#history li", has_text=text("en", "actions", "attendance_recorded"))
    recorded_entry.wait_for()
    assert text("en", "appointment_statuses", "no_show") in recorded_entry.inner_text()


def test_a_flag_for_an_undelivered_sms_is_marked_dealt_with(live: LiveApp, desktop_page: Any) -> None:
    """The flag shows under its appointment and above the SMS log; "Erledigt" resolves it (the API's own
    flow is in tests/functional/test_sms_attention.py; here it is served, so nothing depends on timing)."""
    page = desktop_page
    case, token = claimed_by_anna(live)
    flag = {"at": "2026-03-02T09:00:00+00:00", "reason": "sms_not_delivered", "appointment_id": "a1"}
    upcoming = {
        "appointment_id": "a1",
        "case_id": case["case_id"],
        "start": "2099-03-02T08:00:00.000000+00:00",
        "duration_minutes": 45,
        "mode": "in_person",
        "location": "Ziemssenstraße 5",
        "status": "booked",
        "upcoming": True,
    }
    resolved: list[Any] = []

    def flags() -> list[dict[str, Any]]:
        return [] if resolved else [flag]

    def appointments(route: Any) -> None:
        listing = {"case_id": case["case_id"], "appointments": [upcoming], "attention": flags()}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(listing))

    def messages(route: Any) -> None:
        log = {"case_id": case["case_id"], "sms_consent": True, "opted_out": False, "messages": []}
        route.fulfill(status=200, content_type="application/json", body=json.dumps({**log, "attention": flags()}))

    _, stored = call(live, "GET", f"/staff/cases/{case['case_id']}", token)
    page.route(f"**/staff/cases/{case['case_id']}/appointments", appointments)
    page.route(f"**/staff/cases/{case['case_id']}/messages", messages)
    done = _json_route({**stored, "attention": []}, resolved)
    page.route(f"**/staff/cases/{case['case_id']}/attention/resolve", done)
    sign_in(page, live, token, "de", f"#/case/{case['case_id']}")
    reason = text("de", "attention_reasons", "sms_not_delivered")
    page.locator("#messages-flags", has_text=reason).wait_for()
    assert reason in page.locator("#appointments li[data-appointment=a1]").inner_text()
    # Above the SMS log the flag says which appointment it is about, and so does each button's name.
    appointment = page.locator("#appointments li[data-appointment=a1] .when").inner_text().split(",")[0]
    assert appointment in page.locator("#messages-flags").inner_text()
    named = text("de", "script", "resolve_attention_named", reason=text("de", "attention_kinds", "sms_not_delivered"))
    buttons = page.get_by_role("button", name=named)
    assert buttons.count() == 2  # under the appointment and above the SMS log: either resolves it
    assert all(appointment in (b.get_attribute("aria-label") or "") for b in buttons.all())
    assert buttons.first.inner_text() == text("de", "script", "resolve_attention")
    buttons.first.click()
    page.locator("#status", has_text=text("de", "script", "attention_resolved")).wait_for()
    assert resolved == [{"method": "POST", "body": {"reason": "sms_not_delivered", "appointment_id": "a1"}}]
    page.locator("#messages-flags .attention-line").wait_for(state="detached")
    assert page.locator("#appointments .attention-line").count() == 0


def test_a_flag_a_colleague_resolved_first_is_reported_as_done(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case, token = claimed_by_anna(live)
    flag = {"at": "2026-03-02T09:00:00+00:00", "reason": "sms_not_delivered", "appointment_id": None}
    log = {"case_id": case["case_id"], "sms_consent": True, "opted_out": False, "attention": [flag], "messages": []}
    page.route(f"**/staff/cases/{case['case_id']}/messages", _json_route(log))

    def already(route: Any) -> None:
        body = {"error": "attention_not_open", "code": "attention_not_open", "message": "Nothing … waiting"}
        route.fulfill(status=409, content_type="application/json", body=json.dumps(body))

    page.route(f"**/staff/cases/{case['case_id']}/attention/resolve", already)
    sign_in(page, live, token, "de", f"#/case/{case['case_id']}")
    flags = page.locator("#messages-flags")
    flags.locator("button").wait_for()
    assert text("de", "script", "attention_no_appointment") in flags.inner_text()
    flags.locator("button").click()
    page.locator("#status", has_text=text("de", "script", "attention_already_resolved")).wait_for()
    assert page.locator("#case-problem").is_hidden(), "what was wanted is done: no error"


def test_an_erased_case_offers_no_action_and_says_why(live: LiveApp, desktop_page: Any) -> None:
    """The API refuses every action on an erased case (409); the page does not offer them."""
    page = desktop_page
    case = new_case(live, "lmu-klinikum")
    token = staff_token(live, "lmu-klinikum")
    _, stored = call(live, "GET", f"/staff/cases/{case['case_id']}", token)
    erased_at = "2026-03-02T09:00:00.000000+00:00"
    history = [
        *stored["history"],
        {"at": erased_at, "action": "sms_consent_withdrawn", "partner": "lmu-klinikum", "by": None, "detail": {}},
        {
            "at": erased_at,
            "action": "appointment_passed",
            "partner": "lmu-klinikum",
            "by": "system",
            "detail": {"by_name": "appointment schedule"},
        },
        {
            "at": erased_at,
            "action": "erased",
            "partner": "lmu-klinikum",
            "by": None,
            "detail": {"reason": "applicant_request"},
        },
    ]
    erased = {
        **stored,
        "reference": "ERASED",
        "intake": {"goals": ["job"]},
        "claimed_by_name": None,
        "erased_at": erased_at,
        "history": history,
    }
    page.route(f"**/staff/cases/{case['case_id']}", _json_route(erased))
    log = {"case_id": case["case_id"], "sms_consent": False, "opted_out": False, "attention": [], "messages": []}
    page.route(f"**/staff/cases/{case['case_id']}/messages", _json_route(log))  # erased: no number, no SMS
    by_schedule = {
        "at": erased_at,
        "action": "appointment_erased",
        "staff_id": "system",
        "staff_name": "appointment schedule",
        "partner": None,
    }
    page.route(f"**/staff/cases/{case['case_id']}/audit", _json_route({"entries": [by_schedule]}))
    sign_in(page, live, token, "de", f"#/case/{case['case_id']}")
    page.locator("#case-state", has_text=text("de", "script", "erased_case")).wait_for()
    for control in ("#case-claim", "#case-release", "#appointment-form", "#section-close", "#section-move"):
        assert page.locator(control).is_hidden(), control
    history_text = page.locator("#history").inner_text()
    for action in ("erased", "sms_consent_withdrawn", "appointment_passed"):
        assert text("de", "actions", action) in history_text, action
    assert text("de", "script", "by_system") in history_text and "appointment schedule" not in history_text
    page.locator("#messages li").first.wait_for()
    assert text("de", "script", "no_sms_consent") not in page.locator("#section-messages").inner_text()
    assert page.locator("#messages").inner_text() == text("de", "script", "erased_messages")
    assert page.locator("#case-reference").inner_text() == text("de", "script", "erased_reference")
    assert "{name}" not in page.locator("#case-state").inner_text()  # no holder's name is left to show
    audit = page.locator("#audit li").first
    audit.wait_for()
    assert text("de", "actions", "appointment_erased") in audit.inner_text()
    assert text("de", "script", "by_system") in audit.inner_text() and "appointment schedule" not in audit.inner_text()
    erased_entry = page.locator("#history li", has_text=text("de", "actions", "erased")).inner_text()
    assert text("de", "erase_reasons", "applicant_request") in erased_entry


def test_a_new_case_shows_its_confirmation_sms_waiting_until_the_sweep(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    case, token = claimed_by_anna(live)
    sign_in(page, live, token, "de", f"#/case/{case['case_id']}")
    waiting = page.locator("#messages-flags p", has_text=text("de", "script", "confirmation_pending"))
    waiting.wait_for()
    live.run_schedule("send_due_messages")
    page.reload()
    page.locator("#messages li[data-kind=intake_received]").wait_for()
    assert waiting.count() == 0
