"""How staff use the workspace page, shared by its browser tests: tokens, sample cases, sign-in, rows."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.config import PROJECT_DIR
from chalicelib.pages.staff_page import staff_labels
from tests.browser.intake_form import unique_family_name
from tests.browser.live_app import LiveApp

BERLIN = ZoneInfo("Europe/Berlin")
GROUP_OF = {"lmu-klinikum": "health", "akademie-ingenieure": "engineering"}


def text(language: str, section: str, key: str, **values: Any) -> str:
    """A text of the staff label files, with {placeholders} filled as the page fills them."""
    raw = str(staff_labels(language)[section][key])
    for name, value in values.items():
        raw = raw.replace("{" + name + "}", str(value))
    return raw


def staff_token(
    live: LiveApp,
    partner: str,
    *,
    role: str = "staff",
    name: str = "Anna Berger",
    sub: str | None = None,
    hours: float = 8,
) -> str:
    """A token exactly as a person gets one: `python -m chalicelib.cli staff-token` against the running stack."""
    command = [sys.executable, "-m", "chalicelib.cli", "staff-token", "--partner", partner, "--role", role]
    command += ["--name", name, "--sub", sub or f"{role}-{uuid.uuid4().hex[:8]}", "--hours", str(hours)]
    done = subprocess.run(command, env=live.env, cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def call(live: LiveApp, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(live.url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def new_case(live: LiveApp, partner: str = "lmu-klinikum", family: str = "Haddad", sms: bool = True) -> dict[str, Any]:
    """An applicant sent through POST /intake, routed to `partner` by profession; unique by family name."""
    intake = {
        "language": "ar",
        "given_name": "Layla",
        "family_name": unique_family_name(family),
        "phone": "+4915123456789",
        "postcode": "80331",
        "qualification": {
            "country": "SY",
            "title": "Bachelor of Nursing",
            "profession_group": GROUP_OF[partner],
            "level": "bachelor",
        },
        "german_level": "B1",
        "goals": ["recognition", "job"],
        "registered_with_employment_agency": False,
        "consent": {"data_processing": True, "share_with_partners": True, "sms": sms},
    }
    status, body = call(live, "POST", "/intake", body=intake)
    assert status == 201, body
    assert body["partner"] == partner
    return {**body, "family_name": intake["family_name"]}


def claimed_by_anna(live: LiveApp) -> tuple[dict[str, Any], str]:
    """A new LMU case held by Anna Berger, and her token."""
    case = new_case(live, "lmu-klinikum")
    token = staff_token(live, "lmu-klinikum", name="Anna Berger")
    status, body = call(live, "POST", f"/staff/cases/{case['case_id']}/claim", token)
    assert status == 200, body
    return case, token


def submit_token(page: Any, live: LiveApp, token: str, language: str = "de", hash_route: str = "") -> None:
    page.goto(f"{live.url}/staff?lang={language}{hash_route}")
    page.locator("#token-submit:enabled").wait_for()
    page.fill("#token", token)
    page.click("#token-submit")


def sign_in(page: Any, live: LiveApp, token: str, language: str = "de", hash_route: str = "") -> None:
    submit_token(page, live, token, language, hash_route)
    page.locator("#workspace:visible").wait_for()


def row(page: Any, reference: str) -> Any:
    """The queue row of a case, loading further pages until it shows (tests share one app)."""
    found = page.locator(f'#queue-table tr[data-reference="{reference}"]')
    page.locator("#queue-table[data-loaded]").wait_for(state="attached")
    while found.count() == 0 and page.locator("#queue-more").is_visible():
        page.click("#queue-more")
        page.wait_for_timeout(200)
    return found


def open_case(page: Any, case: dict[str, Any]) -> None:
    page.click(f'#queue-table tr[data-case="{case["case_id"]}"] a.ref')
    page.locator("#case-reference", has_text=case["reference"]).wait_for()


def working_day(days_ahead: int) -> date:
    """A weekday at least `days_ahead` days after today in Berlin (appointments must lie ahead)."""
    day = datetime.now(BERLIN).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
