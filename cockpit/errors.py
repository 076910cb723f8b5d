"""The application's exception hierarchy: the one error contract of the tenant API and UI.

Services raise these; ``cockpit.api.exceptions.exception_handler`` renders them as
``{"error": {"code", "message", "details", "request_id"}}``. Provider protocols keep their own wire formats
in their connectors. Messages are short, human and never contain secrets or key material.
"""

from __future__ import annotations

from typing import Any


class CockpitError(Exception):
    """Base of every error that Cockpit reports to a caller on purpose."""

    status_code = 400
    code = "bad_request"
    default_message = "The request cannot be served."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class InvalidRequest(CockpitError):
    """The input is malformed or fails validation."""

    code = "invalid_request"
    default_message = "The request is invalid."


class NotAuthenticated(CockpitError):
    """No valid credential was presented."""

    status_code = 401
    code = "not_authenticated"
    default_message = "Authentication is required."


class PermissionDenied(CockpitError):
    """The caller is known but lacks the role for this action in this tenant."""

    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to do this."


class NotFound(CockpitError):
    """The object does not exist, or exists in another tenant (never distinguished)."""

    status_code = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(CockpitError):
    """The object's current state does not allow the operation."""

    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."


class PlanLimitExceeded(Conflict):
    """The tenant's subscription plan does not allow more of this resource."""

    code = "plan_limit_exceeded"
    default_message = "Your plan's limit has been reached."


class PayloadTooLarge(CockpitError):
    """The request body or a field is larger than allowed."""

    status_code = 413
    code = "payload_too_large"
    default_message = "The request is too large."


class InputTooLarge(PayloadTooLarge):
    """One input field is larger than its limit."""

    code = "input_too_large"
    default_message = "An input is too large."


class DependencyUnavailable(CockpitError):
    """A backend Cockpit depends on (HSM, MPC nodes, database) cannot serve the request now."""

    status_code = 503
    code = "dependency_unavailable"
    default_message = "A backend is unavailable; try again later."
