"""Errors of the approval flow."""

from cockpit.errors import Conflict, InvalidRequest, PermissionDenied


class InvalidOtp(InvalidRequest):
    """The TOTP code given with an approval is wrong, reused or throttled."""

    code = "invalid_otp"
    default_message = "The authenticator code is not valid. Wait for the next code and try again."


class SelfApproval(PermissionDenied):
    """The requester never counts toward its own quorum."""

    code = "self_approval"
    default_message = "You cannot approve your own request."


class AlreadyDecided(Conflict):
    """Each officer decides once per request."""

    code = "already_decided"
    default_message = "You have already decided on this request."


class RequestClosed(Conflict):
    """The request is no longer open for this action."""

    code = "request_closed"
    default_message = "This request is no longer open."
