"""Software custody backend — DEVELOPMENT AND TESTS ONLY.

Material is generated with ``cryptography``, serialized, sealed with
AES-256-GCM under a 32-byte master key and stored one file per handle::

    b"CKSW" | version 0x01 | len(spec) u8 | spec ascii | iv(12) | ct || tag(16)

The AAD binds the record to its handle and spec, so files cannot be swapped
or relabelled.  Writes are atomic (temp file, fsync, rename, fsync dir; mode
0600) so a crash never leaves a half-written key.  ``destroy`` first renames
the file away (concurrent readers get ``KeyMaterialNotFound`` rather than
garbage), then overwrites and unlinks it.  On journaling/COW filesystems the
overwrite is best effort; the guarantee comes from the master key sealing.

The master key is kept only inside an ``AESGCM`` object, never as an
attribute, and the backend refuses to be pickled.
"""

from __future__ import annotations

import os
import secrets
import struct
import tempfile
from pathlib import Path
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import _soft
from ._common import (
    check_aead_shape,
    check_handle,
    check_wrap_input,
    check_wrapped_shape,
    new_handle,
    pick_iv,
)
from .base import (
    AeadCiphertext,
    GeneratedKey,
    KeySpec,
    OaepHash,
    Operation,
    SigningAlgorithm,
    check_operation,
    is_asymmetric,
)
from .errors import BackendUnavailable, KeyMaterialNotFound, KeyStoreIntegrityError

_MAGIC = b"CKSW"
_VERSION = 1
_PREFIX = "sw"
_AAD_PREFIX = b"cockpit/software-backend/v1|"


class SoftwareBackend:
    """File-backed custody for development; see the module docstring."""

    name = "software"

    def __init__(self, master_key: bytes, store_dir: Path) -> None:
        if not isinstance(master_key, bytes) or len(master_key) != 32:
            raise ValueError("master_key must be 32 bytes")
        self._kek = AESGCM(master_key)
        self._dir = Path(store_dir)
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"SoftwareBackend(store_dir={str(self._dir)!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("custody backends cannot be pickled")

    # -- lifecycle -----------------------------------------------------------

    def generate(self, *, spec: KeySpec, label: str) -> GeneratedKey:
        """Create material; ``label`` is not stored (the control plane has it)."""
        spec = KeySpec(spec)
        handle = new_handle(_PREFIX)
        material = _soft.generate_material(spec)
        self._write(handle, spec, material)
        public = _soft.spki_der(_soft.load_private(spec, material)) if is_asymmetric(spec) else None
        return GeneratedKey(handle=handle, public_key_der=public)

    def destroy(self, handle: str) -> None:
        """Rename away, overwrite with random bytes, fsync, unlink."""
        path = self._path(handle)
        tombstone = self._dir / f".shred-{secrets.token_hex(8)}"
        try:
            os.rename(path, tombstone)
        except FileNotFoundError:
            raise KeyMaterialNotFound() from None
        size = tombstone.stat().st_size
        with open(tombstone, "r+b") as fh:
            fh.write(secrets.token_bytes(size))
            fh.flush()
            os.fsync(fh.fileno())
        tombstone.unlink()
        self._fsync_dir()

    def health(self) -> None:
        """The store directory must exist and be writable."""
        if not self._dir.is_dir() or not os.access(self._dir, os.W_OK | os.X_OK):
            raise BackendUnavailable("software key store directory is not usable")

    # -- symmetric -----------------------------------------------------------

    def encrypt(
        self, handle: str, *, plaintext: bytes, aad: bytes, iv: bytes | None = None
    ) -> AeadCiphertext:
        key = self._material(handle, Operation.ENCRYPT)
        return _soft.gcm_encrypt(key, iv=pick_iv(iv), plaintext=plaintext, aad=aad)

    def decrypt(self, handle: str, *, ciphertext: AeadCiphertext, aad: bytes) -> bytes:
        key = self._material(handle, Operation.DECRYPT)
        check_aead_shape(ciphertext)
        return _soft.gcm_decrypt(key, ciphertext=ciphertext, aad=aad)

    def wrap(self, handle: str, *, key_material: bytes) -> bytes:
        key = self._material(handle, Operation.WRAP)
        check_wrap_input(key_material)
        return _soft.kwp_wrap(key, key_material)

    def unwrap(self, handle: str, *, wrapped: bytes) -> bytes:
        key = self._material(handle, Operation.UNWRAP)
        check_wrapped_shape(wrapped)
        return _soft.kwp_unwrap(key, wrapped)

    # -- asymmetric ----------------------------------------------------------

    def rsa_decrypt(self, handle: str, *, ciphertext: bytes, hash: OaepHash) -> bytes:
        key = self._private(handle, Operation.RSA_DECRYPT)
        return _soft.rsa_oaep_decrypt(key, ciphertext, OaepHash(hash))  # type: ignore[arg-type]  # spec checked: RSA

    def sign(self, handle: str, *, message: bytes, algorithm: SigningAlgorithm) -> bytes:
        spec, material = self._load(handle)
        check_operation(spec, Operation.SIGN)
        return _soft.sign(spec, _soft.load_private(spec, material), message, algorithm)

    def verify(self, handle: str, *, message: bytes, signature: bytes, algorithm: SigningAlgorithm) -> bool:
        spec, material = self._load(handle)
        check_operation(spec, Operation.VERIFY)
        public = _soft.spki_der(_soft.load_private(spec, material))
        return _soft.verify(spec, public, message, signature, algorithm)

    def kem_decapsulate(self, handle: str, *, kem_ciphertext: bytes) -> bytes:
        key = self._private(handle, Operation.KEM_DECAPSULATE)
        return _soft.decapsulate(key, kem_ciphertext)  # type: ignore[arg-type]  # spec checked: ML-KEM

    def public_key(self, handle: str) -> bytes:
        return _soft.spki_der(self._private(handle, Operation.PUBLIC_KEY))

    # -- storage -------------------------------------------------------------

    def _material(self, handle: str, operation: Operation) -> bytes:
        spec, material = self._load(handle)
        check_operation(spec, operation)
        return material

    def _private(self, handle: str, operation: Operation) -> _soft.PrivateKey:
        spec, material = self._load(handle)
        check_operation(spec, operation)
        return _soft.load_private(spec, material)

    def _path(self, handle: str) -> Path:
        return self._dir / f"{check_handle(_PREFIX, handle)}.key"

    def _load(self, handle: str) -> tuple[KeySpec, bytes]:
        """Read and open a record; missing -> NotFound, bad seal -> Integrity."""
        try:
            record = self._path(handle).read_bytes()
        except FileNotFoundError:
            raise KeyMaterialNotFound() from None
        spec, iv, sealed = _parse_record(record)
        try:
            return spec, self._kek.decrypt(iv, sealed, _aad(handle, spec))
        except InvalidTag:
            raise KeyStoreIntegrityError() from None

    def _write(self, handle: str, spec: KeySpec, material: bytes) -> None:
        iv = secrets.token_bytes(12)
        sealed = self._kek.encrypt(iv, material, _aad(handle, spec))
        spec_bytes = spec.value.encode("ascii")
        record = _MAGIC + struct.pack(">BB", _VERSION, len(spec_bytes)) + spec_bytes + iv + sealed
        fd, tmp = tempfile.mkstemp(dir=self._dir, prefix=".tmp-")  # created 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(record)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._path(handle))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._fsync_dir()

    def _fsync_dir(self) -> None:
        """Make the rename/unlink itself durable."""
        fd = os.open(self._dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _aad(handle: str, spec: KeySpec) -> bytes:
    return _AAD_PREFIX + handle.encode("ascii") + b"|" + spec.value.encode("ascii")


def _parse_record(record: bytes) -> tuple[KeySpec, bytes, bytes]:
    """Split a record; any structural problem is an integrity error."""
    try:
        if record[:4] != _MAGIC or record[4] != _VERSION:
            raise ValueError
        spec_len = record[5]
        spec = KeySpec(record[6 : 6 + spec_len].decode("ascii"))
        rest = record[6 + spec_len :]
        if len(rest) < 12 + 16:
            raise ValueError
    except (ValueError, IndexError, UnicodeDecodeError):
        raise KeyStoreIntegrityError() from None
    return spec, rest[:12], rest[12:]
