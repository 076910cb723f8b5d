"""Errors of the key service, in the one error contract (codes name the exact problem)."""

from cockpit.errors import Conflict, DependencyUnavailable, InputTooLarge, InvalidRequest


class KeyDisabled(Conflict):
    """The key exists but is not enabled (disabled, pending deletion, destroyed or not ready)."""

    code = "key_disabled"
    default_message = "The key is not enabled."


class InvalidKeyState(Conflict):
    """The lifecycle change is not allowed from the key's current state."""

    code = "invalid_key_state"
    default_message = "The key's state does not allow this."


class WrongKeyUsage(InvalidRequest):
    """The operation does not match the usage fixed at the key's creation."""

    code = "wrong_key_usage"
    default_message = "The key's usage does not allow this operation."


class InvalidCiphertext(InvalidRequest):
    """The ciphertext is malformed, was made under another key, or fails authentication."""

    code = "invalid_ciphertext"
    default_message = "The ciphertext is not valid for this key."


class OversizedInput(InputTooLarge):
    """An input field exceeds its limit."""


class CustodyUnavailable(DependencyUnavailable):
    """The custody backend (HSM, MPC nodes) cannot serve right now."""

    code = "custody_unavailable"
    default_message = "The key's custody backend is unavailable; try again shortly."
