"""Browser tests: Debian's Chromium driven by Playwright against the app served on loopback.

Reusable pieces (the staff page's tests use the same): `live` (the running app), `browser`,
`mobile_page` / `desktop_page`, `screenshot()` and `serious_violations()` (axe-core).
Never skipped: without Chromium these tests fail and say how to install it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.config import PROJECT_DIR
from tests.browser.live_app import LiveApp, live_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = PROJECT_DIR / "test-artifacts" / "screenshots"
MOBILE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
INSTALL_HINT = "run .ci/run, or: apt-get install -y chromium && .venv/bin/pip install -r requirements-dev.txt"


@pytest.fixture(scope="package")
def live() -> Iterator[LiveApp]:
    """The app (moto server + chalice local) while tests/browser runs; tests tell their data apart by name."""
    with live_app() as app:
        yield app


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: {INSTALL_HINT}", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"Playwright for Python is not installed: {INSTALL_HINT}", pytrace=False)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser: Any, options: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def mobile_page(browser: Any) -> Iterator[Any]:
    """A phone: 390×844, touch, mobile viewport; fails the test on any uncaught script error."""
    yield from _page(browser, MOBILE)


@pytest.fixture
def desktop_page(browser: Any) -> Iterator[Any]:
    yield from _page(browser, DESKTOP)


def screenshot(page: Any, name: str) -> Path:
    """A full-page PNG in test-artifacts/screenshots/ (git-ignored), for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the current page (axe ships inside the pip package)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results.response["violations"]
        if violation.get("impact") in ("serious", "critical")
    ]
