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
from typing import Any, NoReturn, Protocol

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


class Pkcs11MasterKey:
    """The master key as a non-extractable AES-256 key in the node's own HSM (PKCS#11, CKM_AES_GCM).

    Configured in node.json as ``"pkcs11_master_key": {"module": ..., "token_label": ..., "pin_file": ...,
    "key_label": ...}``. The key is generated in the token on first use (TOKEN, SENSITIVE, not EXTRACTABLE)
    and never leaves it; every seal/open is one GCM call in the token. python-pkcs11 opens modules such as
    SoftHSM2 without locking flags, so every call holds one process-wide lock (nodes scale by processes).
    """

    def __init__(
        self, module: str, token_label: str, pin: str, key_label: str = "cockpit-mpc-master"
    ) -> None:
        import threading

        self._module, self._token_label, self._key_label = module, token_label, key_label
        self._pin = pin
        self._lock = threading.Lock()
        # python-pkcs11 objects (the library ships no type information).
        self._session: Any = None
        self._key: Any = None

    def __repr__(self) -> str:
        return f"Pkcs11MasterKey(token={self._token_label!r}, key={self._key_label!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("master keys cannot be pickled")

    def _token_key(self) -> Any:
        import pkcs11
        from pkcs11 import Attribute, KeyType, ObjectClass

        if self._key is None:
            token = pkcs11.lib(self._module).get_token(token_label=self._token_label)
            try:
                self._session = token.open(rw=True, user_pin=self._pin)
            except pkcs11.exceptions.UserAlreadyLoggedIn:  # login is per process and token in PKCS#11
                self._session = token.open(rw=True)
            query = {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: self._key_label}
            found = list(self._session.get_objects(query))
            self._key = found[0] if found else self._session.generate_key(
                KeyType.AES, 256, label=self._key_label, store=True,
                template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            )  # fmt: skip
        return self._key

    def _gcm(self, iv: bytes, aad: bytes) -> tuple[object, object]:
        from pkcs11 import GCMParams, Mechanism

        return Mechanism.AES_GCM, GCMParams(iv, aad, 128)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        iv = secrets.token_bytes(_IV_SIZE)
        mechanism, params = self._gcm(iv, aad)
        try:
            with self._lock:
                sealed = self._token_key().encrypt(plaintext, mechanism=mechanism, mechanism_param=params)
        except Exception as exc:  # any token failure: the store must not continue with an unsealed value
            raise MasterKeyError(f"HSM master key unavailable ({type(exc).__name__})") from None
        return iv + bytes(sealed)

    def open(self, sealed: bytes, aad: bytes) -> bytes:
        if len(sealed) < _IV_SIZE + 16:
            raise MasterKeyError("sealed record too short")
        mechanism, params = self._gcm(sealed[:_IV_SIZE], aad)
        try:
            with self._lock:
                return bytes(
                    self._token_key().decrypt(sealed[_IV_SIZE:], mechanism=mechanism, mechanism_param=params)
                )
        except Exception:
            raise MasterKeyError("sealed record failed authentication, or the HSM is unavailable") from None


def master_key_from_config(settings: dict[str, str] | None, key_file: Path) -> MasterKey:
    """A ``Pkcs11MasterKey`` when node.json configures one, else the file key."""
    if not settings:
        return FileMasterKey(key_file)
    pin = Path(settings["pin_file"]).read_text().strip()
    return Pkcs11MasterKey(
        settings["module"], settings["token_label"], pin, settings.get("key_label", "cockpit-mpc-master")
    )
