"""Prime-order groups of order L over Curve25519: ristretto255 and Ed25519's subgroup.

Why two groups: ristretto255 is a clean prime-order group (no cofactor pitfalls) and is
what RFC 9497 uses for the PRF; the Ed25519 prime-order subgroup is needed so that FROST
signatures verify as ordinary RFC 8032 Ed25519 signatures.

Design rules:

* All curve arithmetic is done by libsodium (ristretto255 via ``pysodium``, which binds
  the system libsodium; Ed25519 via PyNaCl's ``nacl.bindings``). Nothing here hand-rolls
  point arithmetic.
* Elements travel as their canonical 32-byte encodings (``bytes``). Bytes that come from
  the outside must pass :meth:`PrimeOrderGroup.decode_element` first, which rejects
  non-canonical encodings, points outside the prime-order subgroup and (by default) the
  identity.
* Scalars are Python ints in ``[0, L)`` with 32-byte little-endian encodings. Scalar
  arithmetic uses Python ints (it is not curve arithmetic); it is not constant time,
  which is an accepted limit of a Python implementation (see README).
* libsodium's scalar multiplication refuses to return the identity (scalar 0, or the
  identity as input). In a prime-order group k·P is the identity exactly when k ≡ 0 or
  P is the identity, so those cases are answered explicitly before calling libsodium.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable

import nacl.bindings as _nacl
import pysodium as _sodium

from .errors import InvalidEncoding

ORDER = 2**252 + 27742317777372353535851937790883648493
"""L, the prime order shared by ristretto255 and the Ed25519 base-point subgroup."""

SCALAR_SIZE = 32
ELEMENT_SIZE = 32

Element = bytes
"""A canonical 32-byte group element encoding (validated at the trust boundary)."""


def encode_scalar(k: int) -> bytes:
    """Encode a scalar (reduced mod L first) as 32 little-endian bytes."""
    return (k % ORDER).to_bytes(SCALAR_SIZE, "little")


def decode_scalar(data: bytes) -> int:
    """Decode a canonical scalar; reject wrong lengths and values ≥ L (RFC 9591 §6.1)."""
    if len(data) != SCALAR_SIZE:
        raise InvalidEncoding("scalar must be 32 bytes")
    value = int.from_bytes(data, "little")
    if value >= ORDER:
        raise InvalidEncoding("scalar is not reduced modulo the group order")
    return value


def scalar_from_wide_bytes(data: bytes) -> int:
    """Reduce a wide (e.g. 64-byte hash) little-endian string mod L; bias < 2^-250."""
    return int.from_bytes(data, "little") % ORDER


def random_scalar() -> int:
    """Uniform scalar in ``[0, L)`` from the OS CSPRNG."""
    return secrets.randbelow(ORDER)


def random_nonzero_scalar() -> int:
    """Uniform scalar in ``[1, L)``: for nonces and keys that must not be zero."""
    return 1 + secrets.randbelow(ORDER - 1)


def scalar_inverse(k: int) -> int:
    """Multiplicative inverse mod L; zero has none."""
    k %= ORDER
    if k == 0:
        raise ValueError("zero has no inverse modulo the group order")
    return pow(k, -1, ORDER)


class PrimeOrderGroup(ABC):
    """A prime-order group of order L whose elements are canonical 32-byte strings."""

    name: str
    order: int = ORDER
    identity: Element
    generator: Element

    def __repr__(self) -> str:
        return f"<group {self.name}>"

    # -- primitives supplied by libsodium -------------------------------------------
    @abstractmethod
    def _is_valid_non_identity(self, data: bytes) -> bool:
        """libsodium's canonical-encoding and subgroup check (identity excluded)."""

    @abstractmethod
    def _add(self, a: Element, b: Element) -> Element: ...

    @abstractmethod
    def _sub(self, a: Element, b: Element) -> Element: ...

    @abstractmethod
    def _mult(self, k: bytes, a: Element) -> Element: ...

    @abstractmethod
    def _base_mult(self, k: bytes) -> Element: ...

    # -- public API -------------------------------------------------------------------
    def is_identity(self, a: Element) -> bool:
        """True iff ``a`` is the (canonical) identity encoding."""
        return a == self.identity

    def decode_element(self, data: bytes, *, allow_identity: bool = False) -> Element:
        """Validate untrusted bytes as a group element and return them.

        The identity is refused unless ``allow_identity`` (RFC 9497 §3 and RFC 9591 §3.1
        require rejecting it on the wire; Feldman commitments in a refresh legitimately
        start with it).
        """
        data = bytes(data)
        if len(data) != ELEMENT_SIZE:
            raise InvalidEncoding(f"{self.name} element must be {ELEMENT_SIZE} bytes")
        if data == self.identity:
            if allow_identity:
                return data
            raise InvalidEncoding(f"{self.name} identity element not allowed here")
        if not self._is_valid_non_identity(data):
            raise InvalidEncoding(f"bytes are not a valid {self.name} element")
        return data

    def add(self, a: Element, b: Element) -> Element:
        """Group operation a + b."""
        if self.is_identity(a):
            return b
        if self.is_identity(b):
            return a
        return self._add(a, b)

    def sub(self, a: Element, b: Element) -> Element:
        """a - b."""
        if self.is_identity(b):
            return a
        return self._sub(a, b)

    def neg(self, a: Element) -> Element:
        """-a."""
        return self.sub(self.identity, a)

    def scalar_mult(self, k: int, a: Element) -> Element:
        """k·a, returning the identity where libsodium would refuse."""
        k %= ORDER
        if k == 0 or self.is_identity(a):
            return self.identity
        return self._mult(encode_scalar(k), a)

    def scalar_base_mult(self, k: int) -> Element:
        """k·G for the standard generator."""
        k %= ORDER
        if k == 0:
            return self.identity
        return self._base_mult(encode_scalar(k))

    def sum(self, elements: Iterable[Element]) -> Element:
        """Σ elements (identity for an empty iterable)."""
        total = self.identity
        for element in elements:
            total = self.add(total, element)
        return total

    def linear_combination(self, terms: Iterable[tuple[int, Element]]) -> Element:
        """Σ k_i·P_i: the workhorse for Lagrange-in-the-exponent and Feldman checks."""
        return self.sum(self.scalar_mult(k, p) for k, p in terms)


class Ristretto255Group(PrimeOrderGroup):
    """ristretto255 (RFC 9496) through libsodium's ``crypto_core_ristretto255_*``."""

    name = "ristretto255"
    identity = bytes(ELEMENT_SIZE)

    def __init__(self) -> None:
        self.generator = _sodium.crypto_scalarmult_ristretto255_base(encode_scalar(1))

    def _is_valid_non_identity(self, data: bytes) -> bool:
        return bool(_sodium.crypto_core_ristretto255_is_valid_point(data))

    def _add(self, a: Element, b: Element) -> Element:
        return bytes(_sodium.crypto_core_ristretto255_add(a, b))

    def _sub(self, a: Element, b: Element) -> Element:
        return bytes(_sodium.crypto_core_ristretto255_sub(a, b))

    def _mult(self, k: bytes, a: Element) -> Element:
        return bytes(_sodium.crypto_scalarmult_ristretto255(k, a))

    def _base_mult(self, k: bytes) -> Element:
        return bytes(_sodium.crypto_scalarmult_ristretto255_base(k))

    def from_uniform_bytes(self, uniform: bytes) -> Element:
        """RFC 9496 one-way map (``crypto_core_ristretto255_from_hash``) of 64 bytes."""
        if len(uniform) != 64:
            raise ValueError("ristretto255 one-way map takes 64 bytes")
        return bytes(_sodium.crypto_core_ristretto255_from_hash(uniform))


class Ed25519Group(PrimeOrderGroup):
    """The prime-order subgroup of edwards25519 through ``nacl.bindings`` (no clamping)."""

    name = "ed25519"
    identity = b"\x01" + bytes(ELEMENT_SIZE - 1)

    def __init__(self) -> None:
        self.generator = _nacl.crypto_scalarmult_ed25519_base_noclamp(encode_scalar(1))

    def _is_valid_non_identity(self, data: bytes) -> bool:
        # Checks canonical encoding, on-curve, not small order, in the prime-order subgroup.
        return bool(_nacl.crypto_core_ed25519_is_valid_point(data))

    def _add(self, a: Element, b: Element) -> Element:
        return bytes(_nacl.crypto_core_ed25519_add(a, b))

    def _sub(self, a: Element, b: Element) -> Element:
        return bytes(_nacl.crypto_core_ed25519_sub(a, b))

    def _mult(self, k: bytes, a: Element) -> Element:
        return bytes(_nacl.crypto_scalarmult_ed25519_noclamp(k, a))

    def _base_mult(self, k: bytes) -> Element:
        return bytes(_nacl.crypto_scalarmult_ed25519_base_noclamp(k))


RISTRETTO255: Ristretto255Group = Ristretto255Group()
ED25519: Ed25519Group = Ed25519Group()
GROUPS: dict[str, PrimeOrderGroup] = {RISTRETTO255.name: RISTRETTO255, ED25519.name: ED25519}
