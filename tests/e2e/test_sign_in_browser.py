"""An officer signs in with password and TOTP in a real browser and lands on the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from testkit import PASSWORD, World, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_officer_signs_in_with_password_and_totp_and_sees_the_dashboard(
    world: World, live_server: Any, browser: Any, output_dir: Path
) -> None:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/t/{world.tenant_a.slug}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", world.officer_a.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/accounts/otp/**")
    page.fill("#id_code", totp_code(world.officer_a))
    page.click("main button[type=submit]")
    page.wait_for_selector("[data-testid=dashboard-title]")
    assert world.tenant_a.name in page.inner_text("[data-testid=dashboard-title]")
    assert page.is_visible("text=Approvals") and page.is_visible("text=Members")
    page.screenshot(path=str(output_dir / "dashboard.png"), full_page=True)
    assert (output_dir / "dashboard.png").stat().st_size > 5000
    csp_violations = [e for e in errors if "Content Security Policy" in e]
    assert not csp_violations, csp_violations
    context.close()


def test_wrong_code_keeps_the_browser_out(
    world: World, live_server: Any, browser: Any, output_dir: Path
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", world.officer_a.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/accounts/otp/**")
    page.fill("#id_code", "000000" if totp_code(world.officer_a) != "000000" else "111111")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=not valid")
    page.screenshot(path=str(output_dir / "wrong-code.png"))
    page.goto(f"{live_server.url}/t/{world.tenant_a.slug}/")
    assert "/accounts/otp/" in page.url
    context.close()
