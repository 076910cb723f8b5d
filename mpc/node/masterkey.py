"""The node's master key: seals every share at rest with AES-256-GCM.

Why an interface: the file implementation is enough for development and for
hosts with encrypted disks, but production nodes should keep the master key in
an HSM. A ``Pkcs11MasterKey`` implementing the same two methods with
CKM_AES_GCM on a non-extractable token key (e.g. through
``keys.backends._p11conn``-style session handling, kept in this package so that
``mpc`` does not import the Django app) drops in without touching the store.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import NoReturn, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_IV_SIZE = 12
_KEY_SIZE = 32


class MasterKeyError(Exception):
    """The master key is missing/unusable, or a sealed record failed authentication."""


class MasterKey(Protocol):
    """Seal/open small records; the AAD binds a record to where it is stored."""

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        """Return iv || ciphertext || tag."""
        ...

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        """Inverse of :meth:`seal`; raise :class:`MasterKeyError` on any failure."""
        ...


class FileMasterKey:
    """32 random bytes in a 0600 file, created on first start.

    The raw key lives only inside an ``AESGCM`` object; there is no attribute
    holding it, and the object refuses to be pickled.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._aead = AESGCM(self._load_or_create())

    def __repr__(self) -> str:
        return f"FileMasterKey(path={str(self._path)!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("master keys cannot be pickled")

    def _load_or_create(self) -> bytes:
        try:
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self._read()
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(_KEY_SIZE))
            fh.flush()
            os.fsync(fh.fileno())
        return self._read()

    def _read(self) -> bytes:
        if os.stat(self._path).st_mode & 0o077:
            raise MasterKeyError("master key file must not be readable by group or others")
        data = self._path.read_bytes()
        if len(data) != _KEY_SIZE:
            raise MasterKeyError("master key file must hold exactly 32 bytes")
        return data

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        iv = secrets.token_bytes(_IV_SIZE)
        return iv + self._aead.encrypt(iv, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < _IV_SIZE + 16:
            raise MasterKeyError("sealed record is truncated")
        try:
            return self._aead.decrypt(sealed[:_IV_SIZE], sealed[_IV_SIZE:], aad)
        except InvalidTag:
            raise MasterKeyError("sealed record failed authentication") from None
