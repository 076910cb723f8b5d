"""Coordinator errors. Messages carry counts and node ids only, never key material."""

from __future__ import annotations

from collections.abc import Iterable


class CoordinatorError(Exception):
    """Base class of every coordinator failure."""


class NodesUnavailable(CoordinatorError):
    """Fewer than the needed number of nodes gave a usable answer (a dependency outage)."""

    def __init__(self, answered: int, needed: int, total: int) -> None:
        self.answered, self.needed, self.total = answered, needed, total
        super().__init__(f"only {answered} of {total} MPC nodes answered usably; {needed} needed")


class KeyNotFound(CoordinatorError):
    """The nodes do not know the key id, or it was destroyed."""

    def __init__(self) -> None:
        super().__init__("no such MPC key (unknown or destroyed)")


class KeyDisabled(CoordinatorError):
    """The nodes refuse to use the key: it is disabled at the nodes."""

    def __init__(self) -> None:
        super().__init__("MPC key is disabled at the nodes")


class KeyExists(CoordinatorError):
    """Key generation refused: the id is (or was) in use on a node."""

    def __init__(self) -> None:
        super().__init__("an MPC key with this id exists or existed")


class InvalidRequest(CoordinatorError, ValueError):
    """The request itself is invalid (bad key id, wrong key type, input the nodes reject)."""


class DealerMisbehaved(CoordinatorError):
    """Key generation/refresh aborted: these dealers' contributions did not verify."""

    def __init__(self, dealers: Iterable[int], accused_by: Iterable[int] = ()) -> None:
        self.dealers = tuple(sorted(set(dealers)))
        self.accused_by = tuple(sorted(set(accused_by)))
        listed = ", ".join(map(str, self.dealers))
        super().__init__(f"MPC key generation aborted: dealer node(s) {listed} misbehaved")


class KeyGenerationFailed(CoordinatorError):
    """Key generation/refresh could not complete (nodes disagree, partial failure)."""


class DecryptionFailed(CoordinatorError):
    """No quorum of threshold-RSA partials passed the re-encryption check."""

    def __init__(self) -> None:
        super().__init__("no quorum of MPC nodes produced a verifiable RSA result")


class CustomerNodeUnavailable(CoordinatorError):
    """A composed key needs its customer node, and that node did not take part.

    Raised even when every provider node is up: without the customer's part k_c
    nobody can compute the key's output. ``reason`` is a stable code (see
    ``REASONS``); the message says that the customer node is required and why.
    """

    REASONS = {
        "not_given": "no customer node was given for this key",
        "unreachable": "it is unreachable or timed out",
        "unauthorized": "it does not accept this coordinator's requests",
        "key_disabled": "it has the key disabled",
        "key_held": "its operator has disabled the key there",
        "key_not_found": "it does not know this key",
        "key_destroyed": "it has destroyed its part of the key",
        "misbehaved": "its answer did not verify (reported as misbehaviour)",
        "mismatch": "it is not the customer node this key was created with",
        "refused": "it refused the request",
    }

    def __init__(self, reason: str) -> None:
        self.reason = reason if reason in self.REASONS else "refused"
        super().__init__(
            f"the customer node required by this key is unavailable: {self.REASONS[self.reason]}"
        )
