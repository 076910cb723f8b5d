"""Exception hierarchy for the threshold-cryptography library.

Why a dedicated hierarchy: callers (node processes, the coordinator) must be able to
tell "a peer misbehaved, exclude it" apart from "my own input was wrong" without
parsing messages. Messages and attributes carry only public facts (participant ids,
counts); never key material, shares or nonces, so they are safe to log.
"""

from __future__ import annotations

from collections.abc import Iterable


class MpcError(Exception):
    """Base class for every error raised by ``mpc.crypto``."""


class InvalidParameters(MpcError):
    """Inconsistent configuration: bad threshold, duplicate or unknown ids, sizes."""


class InvalidEncoding(MpcError):
    """Bytes that do not decode to a valid group element, scalar or message."""


class InvalidInput(MpcError):
    """An input that the protocol must reject (e.g. it hashes to the identity)."""


def _normalise_ids(ids: int | Iterable[int]) -> tuple[int, ...]:
    if isinstance(ids, int):
        return (ids,)
    return tuple(sorted(set(ids)))


class InvalidProof(MpcError):
    """A peer's contribution failed verification; ``node_ids`` names the culprits.

    Raised for bad DLEQ proofs (threshold PRF) and bad FROST signature shares.
    """

    def __init__(self, node_ids: int | Iterable[int], reason: str = "invalid proof") -> None:
        self.node_ids: tuple[int, ...] = _normalise_ids(node_ids)
        self.reason = reason
        listed = ", ".join(str(i) for i in self.node_ids)
        super().__init__(f"{reason} from node(s) {listed}")

    @property
    def node_id(self) -> int:
        """The first offending node (convenience for the common single-culprit case)."""
        return self.node_ids[0]


class DealerMisbehaved(MpcError):
    """One or more DKG/refresh dealers sent data that does not verify; abort the run."""

    def __init__(self, dealer_ids: int | Iterable[int], reason: str = "dealer misbehaved") -> None:
        self.dealer_ids: tuple[int, ...] = _normalise_ids(dealer_ids)
        self.reason = reason
        listed = ", ".join(str(i) for i in self.dealer_ids)
        super().__init__(f"{reason}: dealer(s) {listed}")


class NotEnoughShares(MpcError):
    """Fewer contributions than the threshold were supplied."""

    def __init__(self, have: int, need: int) -> None:
        self.have = have
        self.need = need
        super().__init__(f"need at least {need} shares, got {have}")


class NonceReuse(MpcError):
    """A single-use FROST nonce was presented a second time."""


class VerificationFailed(MpcError):
    """A combined result failed its final public check (e.g. RSA re-encryption)."""
