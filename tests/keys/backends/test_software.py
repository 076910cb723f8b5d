"""Software backend storage: sealed files, atomic writes, integrity, shredding."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from keys.backends import (
    BackendUnavailable,
    KeyMaterialNotFound,
    KeySpec,
    KeyStoreIntegrityError,
    SigningAlgorithm,
)
from keys.backends.software import SoftwareBackend

# Markers of serialized private keys that must never appear in a store file.
PLAINTEXT_MARKERS = [
    b"-----BEGIN",
    b"PRIVATE KEY",
    bytes.fromhex("2a864886f70d010101"),  # rsaEncryption OID
    bytes.fromhex("2a8648ce3d0201"),  # id-ecPublicKey OID
    bytes.fromhex("2a8648ce3d030107"),  # prime256v1 OID
]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def master_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def software(master_key: bytes, store: Path) -> SoftwareBackend:
    return SoftwareBackend(master_key, store)


def _key_files(store: Path) -> list[Path]:
    return sorted(store.iterdir())


def test_one_sealed_0600_file_per_handle(software: SoftwareBackend, store: Path) -> None:
    handles = [software.generate(spec=spec, label="l").handle for spec in KeySpec]
    files = _key_files(store)
    assert [f.name for f in files] == sorted(f"{h}.key" for h in handles)
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        data = path.read_bytes()
        assert data.startswith(b"CKSW\x01")
        for marker in PLAINTEXT_MARKERS:
            assert marker not in data


def test_aes_key_bytes_not_in_file(software: SoftwareBackend, store: Path) -> None:
    """The raw key is never exposed, so check the file body is just iv-less sealed
    bytes of the right size (32-byte key + 16-byte tag) and high-entropy."""
    handle = software.generate(spec=KeySpec.AES_256, label="l").handle
    body = (store / f"{handle}.key").read_bytes()[6 + len("AES_256") + 12 :]
    assert len(body) == 32 + 16
    assert len(set(body)) > 20


def test_other_master_key_cannot_open(software: SoftwareBackend, store: Path) -> None:
    handle = software.generate(spec=KeySpec.AES_256, label="l").handle
    intruder = SoftwareBackend(os.urandom(32), store)
    with pytest.raises(KeyStoreIntegrityError):
        intruder.encrypt(handle, plaintext=b"p", aad=b"")
    ed = software.generate(spec=KeySpec.ED25519, label="l").handle
    with pytest.raises(KeyStoreIntegrityError):
        intruder.sign(ed, message=b"m", algorithm=SigningAlgorithm.ED25519)


def test_same_master_key_reopens_store(master_key: bytes, software: SoftwareBackend, store: Path) -> None:
    handle = software.generate(spec=KeySpec.AES_256, label="l").handle
    sealed = software.encrypt(handle, plaintext=b"p", aad=b"a")
    assert SoftwareBackend(master_key, store).decrypt(handle, ciphertext=sealed, aad=b"a") == b"p"


def test_tampered_or_swapped_files_are_detected(software: SoftwareBackend, store: Path) -> None:
    a = software.generate(spec=KeySpec.AES_256, label="a").handle
    b = software.generate(spec=KeySpec.AES_256, label="b").handle
    path_a, path_b = store / f"{a}.key", store / f"{b}.key"
    # swapping records between handles fails: the AAD binds the handle
    data_a, data_b = path_a.read_bytes(), path_b.read_bytes()
    path_a.write_bytes(data_b)
    with pytest.raises(KeyStoreIntegrityError):
        software.encrypt(a, plaintext=b"p", aad=b"")
    # relabelling the spec fails too
    path_a.write_bytes(data_a.replace(b"AES_256", b"EC_P256"))
    with pytest.raises(KeyStoreIntegrityError):
        software.encrypt(a, plaintext=b"p", aad=b"")
    for broken in (data_a[:-1] + bytes([data_a[-1] ^ 1]), data_a[:10], b"", b"XXXX" + data_a[4:]):
        path_a.write_bytes(broken)
        with pytest.raises(KeyStoreIntegrityError):
            software.encrypt(a, plaintext=b"p", aad=b"")


def test_destroy_removes_file_and_leaves_no_tombstone(software: SoftwareBackend, store: Path) -> None:
    keep = software.generate(spec=KeySpec.AES_256, label="keep").handle
    doomed = software.generate(spec=KeySpec.RSA_2048, label="doomed").handle
    software.destroy(doomed)
    assert [p.name for p in _key_files(store)] == [f"{keep}.key"]
    with pytest.raises(KeyMaterialNotFound):
        software.public_key(doomed)


def test_handles_cannot_escape_store(software: SoftwareBackend, store: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.key"
    outside.write_bytes(b"x")
    for handle in ("../outside", "sw_../../outside", str(outside), "sw_" + "0" * 32 + "/.."):
        with pytest.raises(KeyMaterialNotFound):
            software.destroy(handle)
    assert outside.exists()


def test_rejects_bad_master_key(store: Path) -> None:
    for bad in (b"", b"k" * 16, b"k" * 31, b"k" * 33, "k" * 32):
        with pytest.raises(ValueError):
            SoftwareBackend(bad, store)  # type: ignore[arg-type]


def test_repr_hides_master_key(master_key: bytes, software: SoftwareBackend) -> None:
    text = repr(software) + str(vars(software))
    assert master_key.hex() not in text
    assert repr(master_key) not in text


def test_health(software: SoftwareBackend, store: Path) -> None:
    software.health()
    store.rmdir()
    with pytest.raises(BackendUnavailable):
        software.health()


def test_no_temp_files_after_many_writes(software: SoftwareBackend, store: Path) -> None:
    for _ in range(20):
        software.generate(spec=KeySpec.AES_256, label="l")
    assert all(p.name.startswith("sw_") and p.suffix == ".key" for p in store.iterdir())
