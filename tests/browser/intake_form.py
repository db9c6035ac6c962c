"""How a person fills the intake page, shared by the browser tests."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from chalicelib.data import default_partners
from chalicelib.pages.labels import labels

REFERENCE = re.compile(r"^[2-9A-HJKMNP-TW-Z]{4}-[2-9A-HJKMNP-TW-Z]{4}$")
PARTNER_NAMES = {p["id"]: p["name"] for p in default_partners()}


def unique_family_name(base: str) -> str:
    """Tests share one running app; a unique family name finds this test's cases."""
    return f"{base}-{uuid.uuid4().hex[:8]}"


def tap(page: Any, selector: str) -> None:
    """A finger on the option's label (the large touch target), not on the small box itself."""
    page.tap(f'label[for="{selector}"]')


def fill_intake(
    page: Any,
    *,
    given_name: str,
    family_name: str,
    phone: str = "0151 2345 6789",
    country: str = "SY",
    profession: str = "engineering",
    goals: tuple[str, ...] = ("recognition", "job"),
) -> None:
    page.fill("#f-given_name", given_name)
    page.fill("#f-family_name", family_name)
    page.fill("#f-phone", phone)
    page.fill("#f-email", "applicant@example.org")
    page.fill("#f-postcode", "80331")
    page.select_option("#f-qualification-country", country)
    page.fill("#f-qualification-title", "Bachelor of Civil Engineering")
    tap(page, f"f-qualification-profession_group-{profession}")
    tap(page, "f-qualification-level-bachelor")
    tap(page, "f-german_level-B1")
    for goal in goals:
        tap(page, f"f-goals-{goal}")
    tap(page, "f-registered_with_employment_agency-false")
    page.fill("#f-message", "Ich suche Arbeit als Bauingenieurin. / أبحث عن عمل.")
    tap(page, "f-consent-data_processing")
    tap(page, "f-consent-share_with_partners")
    tap(page, "f-consent-sms")


def intake_posts(page: Any) -> list[dict[str, Any]]:
    """Record every POST /intake the page makes: its Idempotency-Key and body."""
    seen: list[dict[str, Any]] = []

    def record(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/intake"):
            seen.append({"key": request.headers.get("idempotency-key"), "body": json.loads(request.post_data)})

    page.on("request", record)
    return seen


def text(language: str, *path: str) -> str:
    node: Any = labels(language)
    for part in path:
        node = node[part]
    return str(node)
