"""Browser tests: Playwright drives Debian's chromium (never a downloaded browser) against a live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("COCKPIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT_DIR = Path(os.environ.get("COCKPIT_TEST_OUTPUT", Path(__file__).resolve().parents[2] / "test-output"))


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless chromium per module; fails clearly when Debian's chromium is missing.

    Module scope on purpose: Playwright's sync API keeps an event loop running in this thread while it is
    open, which would break later tests that use ``async_to_sync``.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps does)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are still
    # synchronous and safe here.
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
            )
            yield instance
            instance.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """Where this test saves screenshots: test-output/<test name>/."""
    path = OUTPUT_DIR / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path
