"""Two officers, two browsers: A requests destruction, B sees the prompt live and approves with TOTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from approvals.models import QuorumPolicy
from keys.models import Key, KeyState
from testkit import PASSWORD, World, fresh_totp, make_key, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("custody")]


def sign_in(browser: Any, base: str, user: Any) -> Any:
    page = browser.new_context().new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/accounts/otp/**")
    page.fill("#id_code", totp_code(user))
    page.click("main button[type=submit]")
    page.wait_for_selector("[data-testid=dashboard-title]")
    return page


def test_officer_b_sees_the_prompt_live_and_approves_with_totp(
    world: World,
    asgi_live_server: str,
    browser: Any,
    output_dir: Path,
    django_capture_on_commit_callbacks: Any,
) -> None:
    key = make_key(
        django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, name="ledger"
    )
    # This tenant's policy: one officer besides the requester approves destruction.
    QuorumPolicy.objects.create(tenant=world.tenant_a, operation_class="key.destroy", required_approvals=1)
    base, slug = asgi_live_server, world.tenant_a.slug

    officer_b = sign_in(browser, base, world.officer2_a)
    officer_b.goto(f"{base}/t/{slug}/approvals/")
    officer_b.wait_for_selector("#live-status.on")  # the socket is connected
    assert officer_b.is_visible("[data-testid=no-open-requests]")

    officer_a = sign_in(browser, base, world.officer_a)
    officer_a.goto(f"{base}/t/{slug}/keys/{key.pk}/")
    officer_a.click("text=Request destruction…")
    officer_a.fill("#id_waiting_days", "7")
    officer_a.click("[data-testid=request-destruction]")
    officer_a.wait_for_selector("[data-testid=request-digest]")
    officer_a.wait_for_selector("#live-status.on")
    assert officer_a.inner_text("[data-testid=request-state]") == "Pending"
    officer_a.screenshot(path=str(output_dir / "a-requested.png"), full_page=True)

    # B's open page shows the prompt, the badge and the new row, without a reload.
    prompt = officer_b.wait_for_selector("[data-testid=live-prompt]", timeout=10_000)
    assert "ledger" in prompt.inner_text() and "asks for approval" in prompt.inner_text()
    officer_b.wait_for_selector("[data-testid=approvals-badge]:has-text('1')")
    officer_b.wait_for_selector("[data-testid=approval-lists] >> text=Destroy key 'ledger'")
    officer_b.screenshot(path=str(output_dir / "b-prompt.png"), full_page=True)

    officer_b.click("[data-testid=live-prompt] a")
    officer_b.fill("[data-testid=approve-otp]", fresh_totp(world.officer2_a))
    officer_b.click("[data-testid=approve-button]")
    officer_b.wait_for_selector("[data-testid=request-state]:has-text('Done')")
    officer_b.screenshot(path=str(output_dir / "b-approved.png"), full_page=True)

    # A's page updates by itself.
    officer_a.wait_for_selector("[data-testid=request-state]:has-text('Done')", timeout=10_000)
    assert "will be destroyed on" in officer_a.inner_text("[data-testid=request-outcome]")
    officer_a.screenshot(path=str(output_dir / "a-done.png"), full_page=True)
    assert Key.objects.get(pk=key.pk).state == KeyState.PENDING_DELETION
