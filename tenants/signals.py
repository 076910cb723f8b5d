"""Audit receivers for Django's authentication signals and django-axes lockouts."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

import audit
from audit.models import Outcome


@receiver(user_logged_in)
def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit.record(action="auth.login.password_ok", actor=user, request=request)


@receiver(user_logged_out)
def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record(action="auth.logout", actor=user, request=request)


@receiver(user_login_failed)
def _on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # Only the username is kept; Django has already masked the password in ``credentials``.
    audit.record(
        action="auth.login.failed",
        actor=None,
        outcome=Outcome.FAILURE,
        request=request,
        details={"username": str(credentials.get("username", ""))[:150]},
    )


@receiver(user_locked_out)
def _on_locked_out(
    sender: Any, request: Any, username: str | None, ip_address: str | None, **kwargs: Any
) -> None:
    audit.record(
        action="auth.locked_out",
        actor=None,
        outcome=Outcome.DENIED,
        request=request,
        details={"username": (username or "")[:150]},
    )
