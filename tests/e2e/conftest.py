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
def asgi_live_server(transactional_db: None) -> Iterator[str]:
    """Cockpit's ASGI application (HTTP and WebSockets) on Daphne in a child process; yields its base URL.

    The child is forked after the test database exists and uses it, so data the test creates is visible
    to the server; the channel layer and eager Celery tasks live in the child with the consumers.
    """
    from functools import partial

    from channels.testing.live import make_application, set_database_connection
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    process = DaphneProcess(
        "127.0.0.1",
        partial(make_application, static_wrapper=ASGIStaticFilesHandler),
        setup=set_database_connection,
    )
    process.start()
    if not process.ready.wait(timeout=30):
        process.terminate()
        pytest.fail("the live ASGI server did not start")
    try:
        yield f"http://127.0.0.1:{process.port.value}"
    finally:
        process.terminate()
        process.join(timeout=10)


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """Where this test saves screenshots: test-output/<test name>/."""
    path = OUTPUT_DIR / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path
