"""Exceptions raised by custody backends.

Every message is a fixed string chosen here, never built from caller input or
key material: exceptions end up in logs, API error bodies and error trackers,
and anything interpolated into them would leak.  ``InvalidCiphertext`` goes
further and accepts no message at all, so callers cannot accidentally turn it
into a padding/tag oracle by saying *why* decryption failed.
"""

from __future__ import annotations


class BackendError(Exception):
    """Base class of every custody-backend failure."""

    default_message = "custody backend operation failed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class KeyMaterialNotFound(BackendError):
    """The handle is unknown, malformed, or its material was destroyed.

    The handle itself is deliberately not echoed: it is caller input.
    """

    default_message = "no key material for this handle"


class InvalidCiphertext(BackendError):
    """Authentication/decoding failed (GCM tag, OAEP, key unwrap, KEM blob).

    One generic message, no detail, no constructor argument: distinguishing
    failure causes is exactly what padding-oracle attacks need.
    """

    default_message = "ciphertext is invalid"

    def __init__(self) -> None:
        super().__init__(self.default_message)

    def __reduce__(self) -> tuple[type[InvalidCiphertext], tuple[()]]:
        """Stay picklable (e.g. task results) despite the argument-free constructor."""
        return (type(self), ())


class UnsupportedOperation(BackendError):
    """The key's spec does not allow the requested operation or algorithm."""

    default_message = "operation not supported for this key spec"


class InvalidArgument(BackendError, ValueError):
    """Malformed caller input that is not a ciphertext (IV length, sizes).

    Also a ``ValueError`` so generic input-validation handlers catch it.
    """

    default_message = "invalid argument"


class KeyStoreIntegrityError(BackendError):
    """Stored material failed its integrity check (wrong master key, tampering).

    Kept apart from ``InvalidCiphertext`` because it is an operator problem,
    not a bad request, and should page someone.
    """

    default_message = "stored key material failed its integrity check"


class BackendUnavailable(BackendError):
    """The backend cannot serve right now (library, token, session, storage)."""

    default_message = "custody backend unavailable"
