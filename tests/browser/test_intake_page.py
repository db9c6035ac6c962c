"""The applicant's intake page in real headless Chromium on a phone-sized screen."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import screenshot, serious_violations
from tests.browser.intake_form import (
    PARTNER_NAMES,
    REFERENCE,
    fill_intake,
    intake_posts,
    tap,
    text,
    unique_family_name,
)
from tests.browser.live_app import LiveApp

NAMES = {"de": ("Layla", "Haddad"), "ar": ("ليلى", "حداد")}


@pytest.mark.parametrize("language", ["de", "ar"])
def test_an_applicant_fills_in_and_sends_the_form_on_a_phone(live: LiveApp, mobile_page: Any, language: str) -> None:
    page = mobile_page
    given, family = NAMES[language][0], unique_family_name(NAMES[language][1])
    posts = intake_posts(page)
    page.goto(f"{live.url}/{language}")
    assert page.get_attribute("html", "lang") == language
    assert page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    assert page.locator("h1").inner_text() == text(language, "page", "title")
    screenshot(page, f"intake-{language}-mobile")

    fill_intake(page, given_name=given, family_name=family)
    page.tap("#submit")

    result = page.locator("#result")
    result.wait_for(state="visible")
    reference = page.locator("#result-reference").inner_text()
    assert REFERENCE.match(reference), reference
    assert page.locator("#result-partner").inner_text() == PARTNER_NAMES["akademie-ingenieure"]
    assert page.locator("#result-partner-about").inner_text() == text(language, "partners", "akademie-ingenieure")
    assert page.locator("#result-title").inner_text() == text(language, "page", "result_title")
    assert page.evaluate("document.activeElement.id") == "result", "the result takes the focus (screen readers)"
    assert page.locator("#intake").is_hidden()
    screenshot(page, f"intake-{language}-sent")

    cases = live.cases_of(family)
    assert [c["reference"] for c in cases] == [reference]
    stored = cases[0]["intake"]
    assert stored["given_name"] == given
    assert stored["language"] == language, "the language field defaults to the page's language"
    assert stored["phone"] == "+4915123456789"
    assert stored["goals"] == ["recognition", "job"]
    # The consent texts were shown in the page's language: the form says so (the consent record keeps it).
    assert stored["consent"] == {
        "data_processing": True,
        "share_with_partners": True,
        "sms": True,
        "language": language,
    }
    assert len(posts) == 1 and posts[0]["key"], "one POST, with an Idempotency-Key"
    assert page.locator("#result-sms-not-possible").is_hidden(), "a German mobile gets its SMS"


def test_sms_asked_for_to_a_turkish_number_are_said_not_to_come_on_the_result(live: LiveApp, mobile_page: Any) -> None:
    page = mobile_page
    page.goto(f"{live.url}/tr")
    fill_intake(page, given_name="Elif", family_name=unique_family_name("Yılmaz"), phone="+90 532 111 22 33")
    page.tap("#submit")
    notice = page.locator("#result-sms-not-possible")
    notice.wait_for(state="visible")
    assert notice.inner_text() == text("tr", "page", "result_sms_not_possible")
    page.reload()  # the answer outlives a reload, and so does what it said
    notice.wait_for(state="visible")


def test_the_status_link_can_be_copied(browser: Any, live: LiveApp) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    try:
        page = context.new_page()
        page.goto(f"{live.url}/en")
        fill_intake(page, given_name="Olena", family_name=unique_family_name("Koval"))
        page.tap("#submit")
        page.locator("#result").wait_for(state="visible")
        page.tap("#copy-status-link")
        done = page.locator("#copy-status-link-done")
        done.filter(has_text=text("en", "page", "link_copied")).wait_for()
        link = page.evaluate("document.getElementById('result-status-link').href")  # absolute, to paste anywhere
        assert link.startswith(live.url + "/status#") and page.evaluate("navigator.clipboard.readText()") == link
    finally:
        context.close()


def test_a_reload_in_the_middle_of_the_form_keeps_what_was_typed_but_not_the_consent(
    live: LiveApp, mobile_page: Any
) -> None:
    """Phones reload tabs they had in the background (an applicant looking up a certificate's title)."""
    page = mobile_page
    page.goto(f"{live.url}/en")
    family = unique_family_name("Koval")
    fill_intake(page, given_name="Olena", family_name=family)
    page.reload()
    assert page.input_value("#f-given_name") == "Olena" and page.input_value("#f-family_name") == family
    assert page.is_checked("#f-goals-job") and page.input_value("#f-postcode") == "80331"
    assert not page.is_checked("#f-consent-data_processing"), "consent is given to the texts as shown, anew"
    page.tap("#f-consent-data_processing")
    page.tap("#f-consent-share_with_partners")
    page.tap("#submit")
    page.locator("#result").wait_for(state="visible")
    page.tap("#new-request")
    page.locator("#intake").wait_for(state="visible")
    assert page.input_value("#f-given_name") == "", "a new request starts empty"


@pytest.mark.parametrize(("minutes", "kept"), [(29, True), (31, False)])
def test_entries_left_unsent_for_half_an_hour_do_not_greet_the_next_person(
    live: LiveApp, mobile_page: Any, minutes: int, kept: bool
) -> None:
    """The tab was put away (saved then) and discarded by the phone; it is opened again `minutes` later."""
    page = mobile_page
    page.goto(f"{live.url}/en")
    fill_intake(page, given_name="Olena", family_name=unique_family_name("Koval"))
    page.evaluate(
        """() => {
            Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )  # the applicant switches to another app
    draft = page.evaluate("JSON.parse(sessionStorage.getItem('migranet.intake.draft'))")
    assert draft["entries"]["f-given_name"] == "Olena"
    draft["at"] -= minutes * 60 * 1000
    page.evaluate("d => sessionStorage.setItem('migranet.intake.draft', JSON.stringify(d))", draft)
    page.evaluate("document.getElementById('intake').hidden = true")  # no save on this reload, as in a discarded tab
    page.reload()
    assert page.input_value("#f-given_name") == ("Olena" if kept else "")


def test_a_list_of_free_answers_is_sent_as_one_item_per_line(live: LiveApp, mobile_page: Any) -> None:
    """A schema field holding a list of free strings (form.py renders one answer per line): the page
    reads the lines into the list it sends. The schema the browser fetches gets the field here, and
    the form the control form.py renders for it; the server, not told of it, then refuses it by name."""
    import json

    from chalicelib.pages.form import FormContext, render_field
    from chalicelib.pages.labels import labels as page_labels
    from chalicelib.schemas import load_schema

    field = {"type": "array", "items": {"type": "string", "maxLength": 40}}
    schema = load_schema("intake")
    extended = {**schema, "properties": {**schema["properties"], "other_languages": field}}
    control = render_field(FormContext("de", page_labels("de")), "other_languages", field, False)
    page = mobile_page
    page.route(
        "**/schemas/intake.schema.json*",
        lambda route: route.fulfill(content_type="application/schema+json", body=json.dumps(extended)),
    )
    posts = intake_posts(page)
    page.goto(f"{live.url}/de")
    page.evaluate("html => document.querySelector('#intake').insertAdjacentHTML('afterbegin', html)", control)
    fill_intake(page, given_name="Mina", family_name=unique_family_name("Rahimi"))
    page.fill("#f-other_languages", "Farsi\n\n  Englisch  \nTürkisch\n")
    page.tap("#submit")
    page.locator("#f-other_languages-error").wait_for()  # the server's 400 names the unknown field
    assert [p["body"]["other_languages"] for p in posts] == [["Farsi", "Englisch", "Türkisch"]]


def test_a_phone_number_with_letters_is_refused_at_the_field_before_sending(live: LiveApp, mobile_page: Any) -> None:
    page = mobile_page
    posts = intake_posts(page)
    page.goto(f"{live.url}/de")
    fill_intake(page, given_name="Olena", family_name=unique_family_name("Koval"), phone="0151 23ab")
    page.tap("#submit")

    error = page.locator("#f-phone-error")
    error.wait_for(state="visible")
    assert error.inner_text() == text("de", "errors", "invalid_phone")
    phone = page.locator("#f-phone")
    assert phone.get_attribute("aria-invalid") == "true"
    assert "f-phone-error" in (phone.get_attribute("aria-describedby") or "").split()
    assert page.evaluate("document.activeElement.id") == "f-phone", "the first error gets the focus"
    summary = page.locator("#error-summary")
    assert summary.is_visible() and summary.get_attribute("role") == "alert"
    assert summary.locator("a").all_inner_texts() == ["Handynummer"]
    assert posts == [], "the browser checked the schema itself; nothing was sent"
    screenshot(page, "intake-de-phone-error")

    page.fill("#f-phone", "0151 2345 6789")
    assert error.is_hidden(), "a corrected entry clears its error while typing"


@pytest.mark.parametrize("language", ["en", "uk"])
def test_sms_asked_for_without_a_number_says_to_give_one_or_untick_sms(
    live: LiveApp, mobile_page: Any, language: str
) -> None:
    """The field is marked optional: "please fill in this field" alone puzzled."""
    page = mobile_page
    page.goto(f"{live.url}/{language}")
    fill_intake(page, given_name="Olena", family_name=unique_family_name("Koval"), phone="")
    page.tap("#submit")
    error = page.locator("#f-phone-error")
    error.wait_for(state="visible")
    assert error.inner_text() == text(language, "errors", "required_phone_for_sms")
    assert "SMS" in error.inner_text()


def test_a_number_only_the_server_can_judge_comes_back_as_an_error_at_the_field(
    live: LiveApp, mobile_page: Any
) -> None:
    page = mobile_page
    family = unique_family_name("Nowak")
    posts = intake_posts(page)
    page.goto(f"{live.url}/ar")
    # Digits only, so the schema's pattern accepts it; the phone library on the server does not.
    fill_intake(page, given_name="Anna", family_name=family, phone="0151 12")
    page.tap("#submit")

    error = page.locator("#f-phone-error")
    error.wait_for(state="visible")
    assert error.inner_text() == text("ar", "errors", "invalid_phone")
    assert page.evaluate("document.activeElement.id") == "f-phone"
    assert len(posts) == 1, "the server answered 400 with the field"
    assert live.cases_of(family) == []
    screenshot(page, "intake-ar-server-error")

    page.fill("#f-phone", "+49 151 23456789")
    page.tap("#submit")
    page.locator("#result").wait_for(state="visible")
    assert len(live.cases_of(family)) == 1
    assert posts[0]["key"] == posts[1]["key"], "a rejected request stored nothing, so the key stays"


@pytest.mark.parametrize("how", ["double-click", "two clicks in one instant"])
def test_a_double_tap_on_send_creates_one_case(live: LiveApp, mobile_page: Any, how: str) -> None:
    page = mobile_page
    family = unique_family_name("Yilmaz")
    posts = intake_posts(page)
    page.goto(f"{live.url}/de")
    fill_intake(page, given_name="Emre", family_name=family)
    if how == "double-click":
        page.dblclick("#submit")
    else:  # faster than a person, and than any re-render
        page.evaluate("() => { const b = document.getElementById('submit'); b.click(); b.click(); }")
    page.locator("#result").wait_for(state="visible")

    assert len(live.cases_of(family)) == 1
    assert len({p["key"] for p in posts}) == 1


def test_a_retry_after_a_lost_answer_creates_one_case(live: LiveApp, mobile_page: Any) -> None:
    page = mobile_page
    family = unique_family_name("Popescu")
    keys: list[str | None] = []

    def drop_first_answer(route: Any) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()  # the server stores the case …
            route.abort("connectionreset")  # … but the phone never hears back
        else:
            route.continue_()

    page.route("**/intake", drop_first_answer)
    page.goto(f"{live.url}/de")
    fill_intake(page, given_name="Ioana", family_name=family)
    page.tap("#submit")

    problem = page.locator("#send-problem")
    problem.wait_for(state="visible")
    assert page.locator("#send-problem-text").inner_text() == text("de", "page", "network_error")
    assert page.evaluate("document.activeElement.id") == "retry"
    assert len(live.cases_of(family)) == 1, "the first request did arrive"
    screenshot(page, "intake-de-network-error")

    page.tap("#retry")
    page.locator("#result").wait_for(state="visible")
    cases = live.cases_of(family)
    assert len(cases) == 1
    assert page.locator("#result-reference").inner_text() == cases[0]["reference"], "the retry got the first answer"
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]


def drop_the_first_answer(page: Any) -> list[int]:
    """The first POST /intake reaches the server (stored) but its answer never reaches the phone."""
    answers: list[int] = []

    def handle(route: Any) -> None:
        if not answers:
            answers.append(route.fetch().status)  # stored …
            route.abort("connectionreset")  # … unheard
        else:
            response = route.fetch()
            answers.append(response.status)
            route.fulfill(response=response)

    page.route("**/intake", handle)
    return answers


@pytest.mark.parametrize("how", ["send", "try-again", "language-switch", "reload"])
def test_an_entry_changed_after_a_lost_answer_still_shows_the_reference(
    live: LiveApp, mobile_page: Any, how: str
) -> None:
    """The first send arrived but its answer was lost; the applicant then adds to the message (and may
    reload the page or switch its language) before sending again. They must get their reference and
    link (the stored answer) and be told the change was not saved; one case, never a second."""
    page = mobile_page
    family = unique_family_name("Sokolova")
    answers = drop_the_first_answer(page)
    page.goto(f"{live.url}/ru")
    fill_intake(page, given_name="Olga", family_name=family)
    page.tap("#submit")
    page.locator("#send-problem").wait_for(state="visible")
    language = "ru"
    if how == "language-switch":
        page.tap(".lang-picker summary")
        page.tap('.lang-picker a[lang="uk"]')
        page.wait_for_url(re.compile(r"/uk$"))
        language = "uk"
        for consent in ("data_processing", "share_with_partners", "sms"):  # given anew, to the texts in Ukrainian
            assert not page.is_checked(f"#f-consent-{consent}")
            tap(page, f"f-consent-{consent}")
    elif how == "reload":
        page.reload()  # the entries come back; the consent is given anew
        assert page.input_value("#f-family_name") == family
        for consent in ("data_processing", "share_with_partners", "sms"):
            tap(page, f"f-consent-{consent}")
    page.fill("#f-message", "Звоните после 17:00")
    page.tap("#retry" if how == "try-again" else "#submit")
    page.locator("#result").wait_for(state="visible")
    cases = live.cases_of(family)
    assert len(cases) == 1 and "17:00" not in cases[0]["intake"]["message"]
    assert page.locator("#result-reference").inner_text() == cases[0]["reference"]
    assert page.locator("#result-status-link").is_visible()
    assert page.locator("#result-changes-lost").inner_text() == text(language, "page", "changes_not_saved")
    assert answers == [201, 409, 201], "the changed body refused, then the first answer replayed"
    page.reload()  # the note stays with the answer
    assert page.locator("#result-changes-lost").inner_text() == text(language, "page", "changes_not_saved")


@pytest.mark.parametrize("language", ["de", "en", "ar", "uk", "tr", "ru", "fa", "ro", "pl", "es", "fr"])
def test_at_320_px_nothing_scrolls_sideways_and_targets_are_large(browser: Any, live: LiveApp, language: str) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{live.url}/{language}")
        page.tap("#submit")  # errors and the summary take room too
        page.locator("#error-summary").wait_for(state="visible")
        page.click(".lang-picker summary")
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"horizontal scroll in {language}: {widths}"
        small = page.evaluate(
            """() => [...document.querySelectorAll(
                  'a, button, select, textarea, input:not([type=radio]):not([type=checkbox]):not([type=hidden]),'
                  + ' label.option, summary')]
                .filter(el => el.offsetParent !== null && !el.classList.contains('skip'))
                .map(el => [el.id || el.getAttribute('for') || el.textContent.trim().slice(0, 30),
                            Math.round(el.getBoundingClientRect().height)])
                .filter(([, height]) => height < 44)"""
        )
        assert small == [], f"touch targets under 44 px in {language}: {small}"
        if language in ("de", "ar"):
            screenshot(page, f"intake-{language}-320px-errors")
    finally:
        context.close()


@pytest.mark.parametrize("language", ["de", "uk", "tr", "en"])
def test_with_text_at_200_percent_on_a_320_px_phone_no_answer_is_cut_off(
    browser: Any, live: LiveApp, language: str
) -> None:
    """Large text is a phone setting many people use; long words ("Berufsausbildung") must wrap, not stick out."""
    context = browser.new_context(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{live.url}/{language}")
        page.evaluate("document.documentElement.style.fontSize = '200%'")
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"horizontal scroll in {language}: {widths}"
        cut = page.evaluate(
            """() => [...document.querySelectorAll('label.option')]
                .filter(el => el.offsetParent !== null)
                .filter(el => el.scrollWidth > el.clientWidth + 1
                              || el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
                .map(el => el.textContent.trim().slice(0, 40))"""
        )
        assert cut == [], f"answers sticking out in {language}: {cut}"
    finally:
        context.close()


@pytest.mark.parametrize("language", ["de", "ar", "fa"])
def test_the_page_with_everything_it_loads_weighs_under_100_kb(live: LiveApp, mobile_page: Any, language: str) -> None:
    page = mobile_page
    loaded: dict[str, int] = {}
    page.on("response", lambda response: loaded.__setitem__(response.url, len(response.body())))
    page.goto(f"{live.url}/{language}")
    page.wait_for_load_state("networkidle")
    assert any("/schemas/intake.schema.json" in url for url in loaded), "the schema is loaded for validation"
    assert all(url.startswith(live.url) for url in loaded), f"everything comes from the app: {list(loaded)}"
    total = sum(loaded.values())
    assert total < 100 * 1024, f"{language}: {total} bytes in {loaded}"


@pytest.mark.parametrize("language", ["de", "ar"])
def test_axe_finds_no_serious_or_critical_violation(live: LiveApp, mobile_page: Any, language: str) -> None:
    page = mobile_page
    page.goto(f"{live.url}/{language}")
    page.wait_for_load_state("networkidle")
    assert serious_violations(page) == [], "on the empty form"

    page.tap("#submit")
    page.locator("#error-summary").wait_for(state="visible")
    assert serious_violations(page) == [], "with every field in error"

    fill_intake(page, given_name="Sara", family_name=unique_family_name("Rossi"))
    page.tap("#submit")
    page.locator("#result").wait_for(state="visible")
    assert serious_violations(page) == [], "on the result"


def test_the_language_picker_switches_language_and_mirrors_the_layout(live: LiveApp, mobile_page: Any) -> None:
    page = mobile_page
    page.goto(f"{live.url}/de")
    label_box = page.locator('label[for="f-given_name"]').bounding_box()
    assert label_box and label_box["x"] < 40, "German reads from the left"

    page.tap(".lang-picker summary")
    page.tap('.lang-picker a[lang="ar"]')
    page.wait_for_url(re.compile(r"/ar$"))
    assert page.get_attribute("html", "dir") == "rtl"
    label_box = page.locator('label[for="f-given_name"]').bounding_box()
    assert label_box and label_box["x"] + label_box["width"] > 390 - 40, "Arabic reads from the right"
    assert page.locator('.lang-picker a[aria-current="page"]').get_attribute("lang") == "ar"

    page.tap(".lang-picker summary")
    page.tap('.lang-picker a[lang="fa"]')
    page.wait_for_url(re.compile(r"/fa$"))
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.locator("#f-qualification-country option[value=IR]").inner_text() == "ایران"

    page.tap(".lang-picker summary")
    page.tap('.lang-picker a[lang="uk"]')
    page.wait_for_url(re.compile(r"/uk$"))
    assert page.get_attribute("html", "dir") == "ltr"
    assert page.locator("h1").inner_text() == text("uk", "page", "title")


def test_switching_the_language_keeps_what_was_typed(live: LiveApp, mobile_page: Any) -> None:
    """Started in the wrong language: the entries come along; the new page's own defaults stay, and
    the consent boxes are ticked anew to the texts in the new language."""
    page = mobile_page
    page.goto(f"{live.url}/de")
    page.fill("#f-given_name", "Emre")
    page.fill("#f-phone", "0151 2345 6789")
    page.select_option("#f-qualification-country", "TR")
    tap(page, "f-german_level-A2")
    tap(page, "f-goals-job")
    tap(page, "f-consent-sms")
    page.tap(".lang-picker summary")
    page.tap('.lang-picker a[lang="tr"]')
    page.wait_for_url(re.compile(r"/tr$"))
    assert page.input_value("#f-given_name") == "Emre" and page.input_value("#f-phone") == "0151 2345 6789"
    assert page.input_value("#f-qualification-country") == "TR"
    assert all(page.is_checked(f"#f-{name}") for name in ("german_level-A2", "goals-job"))
    assert not page.is_checked("#f-consent-sms"), "consent is given to the texts as shown, in Turkish now"
    assert page.input_value("#f-language") == "tr", "messages in the page's new language unless chosen otherwise"
    page.reload()  # kept on leaving this page too (a phone reloads tabs it had in the background)
    assert page.input_value("#f-given_name") == "Emre"


def test_a_language_opened_in_another_tab_leaves_nothing_for_a_later_form_here(live: LiveApp, mobile_page: Any) -> None:
    """On a shared phone: entries must not resurface in the next person's form."""
    page = mobile_page
    page.goto(f"{live.url}/en")
    fill_intake(page, given_name="Stale", family_name=unique_family_name("Person"))
    page.tap(".lang-picker summary")
    with page.context.expect_page() as opened:
        page.click('.lang-picker a[lang="uk"]', modifiers=["Control"])
    opened.value.close()
    page.tap("#submit")
    page.locator("#result").wait_for(state="visible")
    page.locator("#new-request").tap()
    page.locator("#intake").wait_for(state="visible")
    assert page.input_value("#f-given_name") == "" and page.input_value("#f-phone") == ""


def test_the_root_page_speaks_the_browsers_language(browser: Any, live: LiveApp) -> None:
    context = browser.new_context(locale="tr-TR", extra_http_headers={"Accept-Language": "tr-TR,tr;q=0.9,en;q=0.5"})
    try:
        page = context.new_page()
        page.goto(f"{live.url}/")
        assert page.get_attribute("html", "lang") == "tr"
        assert page.locator("#submit").inner_text() == text("tr", "page", "submit")
    finally:
        context.close()


def test_the_consent_texts_are_shown_in_full_before_sending(live: LiveApp, mobile_page: Any) -> None:
    page = mobile_page
    page.goto(f"{live.url}/ar")
    for name in ("data_processing", "share_with_partners", "sms"):
        shown = page.locator(f"#f-consent-{name}-text").inner_text()
        expected = text("ar", "fields", f"consent.{name}", "text")
        assert " ".join(shown.split()) == " ".join(expected.split())
        assert page.locator(f"#f-consent-{name}-text").is_visible()
    assert page.locator("[data-consent-version]").inner_text() == text("ar", "consent_version")


def test_without_javascript_the_page_still_reads_and_says_how_to_send(browser: Any, live: LiveApp) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{live.url}/de")
        assert page.locator("noscript p, .notice").first.inner_text() == text("de", "page", "noscript")
        assert page.locator('label[for="f-family_name"]').inner_text() == text("de", "fields", "family_name", "label")
        assert page.locator("#submit").is_disabled(), "it cannot send JSON without the script"
    finally:
        context.close()


def test_the_form_can_be_filled_and_sent_with_the_keyboard_alone(live: LiveApp, desktop_page: Any) -> None:
    page = desktop_page
    family = unique_family_name("Dubois")
    page.goto(f"{live.url}/fr")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    typed = {
        "given_name": "Marie",
        "family_name": family,
        "phone": "0151 2345 6789",
        "postcode": "80331",
        "qualification.title": "Infirmière diplômée d'État",
        "message": "Merci",
    }
    answered: set[str] = set()
    for _step in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement; return [e.id, e.name || '', e.type || e.tagName]; })()"
        )
        element_id, name, kind = focused
        if element_id == "submit":
            break
        if name in typed:
            page.keyboard.type(typed[name])
        elif name == "qualification.country":
            page.keyboard.type("Fra")  # a closed select picks the option by its first letters
        elif kind in ("radio", "checkbox") and (name not in answered or name.startswith("consent.")):
            page.keyboard.press("Space")
        answered.add(name)
    else:
        pytest.fail("the send button is not reachable with Tab")
    page.keyboard.press("Enter")
    page.locator("#result").wait_for(state="visible")
    cases = live.cases_of(family)
    assert len(cases) == 1
    assert cases[0]["intake"]["qualification"]["country"] == "FR"
    assert cases[0]["intake"]["language"] == "fr"
    assert page.evaluate("document.activeElement.id") == "result"


def test_on_a_slow_connection_the_page_reads_at_once_and_works_soon_after(live: LiveApp, mobile_page: Any) -> None:
    page = mobile_page
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    # Roughly "slow 3G": 400 ms round trips, 50 KB/s down.
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 400, "downloadThroughput": 50 * 1024, "uploadThroughput": 20 * 1024},
    )
    page.goto(f"{live.url}/uk", wait_until="commit")
    page.locator("h1").wait_for(state="visible")
    # The HTML streams in: the heading shows before the send button even exists.
    page.locator("#submit:enabled").wait_for(timeout=20_000)  # the scripts have run
    paint = page.evaluate(
        "performance.getEntriesByName('first-contentful-paint')[0]?.startTime"
        " ?? performance.getEntriesByType('paint').slice(-1)[0]?.startTime"
    )
    ready = page.evaluate("performance.now()")
    assert paint is not None and paint < 4_000, f"first paint after {paint} ms"
    assert ready < 8_000, f"usable after {ready} ms"
