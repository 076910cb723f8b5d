"""pkcs11 backend specifics: token attributes, object cleanup, threads, recovery, fork."""

from __future__ import annotations

import os
import pickle
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
from pkcs11 import Attribute as A
from pkcs11 import KeyType, ObjectClass
from pkcs11 import exceptions as p11x

from keys.backends import (
    BackendUnavailable,
    InvalidCiphertext,
    KeyMaterialNotFound,
    KeySpec,
    OaepHash,
    SigningAlgorithm,
    _common,
    _keywrap,
    _p11keys,
)
from keys.backends.pkcs11 import Pkcs11Backend, _ecb_encryptor

CLASSICAL = [KeySpec.AES_256, KeySpec.RSA_2048, KeySpec.EC_P256, KeySpec.ED25519]
SENSITIVE_ATTRS = {
    KeyType.AES: [A.VALUE],
    KeyType.RSA: [A.PRIVATE_EXPONENT, A.PRIME_1, A.PRIME_2, A.EXPONENT_1, A.COEFFICIENT],
    KeyType.EC: [A.VALUE],
    KeyType.EC_EDWARDS: [A.VALUE],
}


def _objects(backend: Pkcs11Backend, query: dict) -> list[dict[str, Any]]:
    """Snapshot of matching token objects (read under the backend's lock)."""

    def op(session: Any) -> list[dict[str, Any]]:
        return [{"class": o[A.CLASS], "label": o[A.LABEL], "obj": o} for o in session.get_objects(query)]

    return backend._connection.run(op)


@pytest.mark.parametrize("spec", CLASSICAL)
def test_keys_live_in_token_and_are_unreadable(pkcs11_backend: Pkcs11Backend, spec: KeySpec) -> None:
    handle = pkcs11_backend.generate(spec=spec, label="l").handle

    def op(session: Any) -> None:
        objs = list(session.get_objects({A.LABEL: handle}))
        assert {o[A.CLASS] for o in objs} == (
            {ObjectClass.SECRET_KEY} if spec is KeySpec.AES_256
            else {ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY}
        )  # fmt: skip
        for obj in objs:
            assert obj[A.TOKEN] is True
            assert obj[A.PRIVATE] is True
            assert obj[A.ID] == _common.handle_id(handle)
            if obj[A.CLASS] == ObjectClass.PUBLIC_KEY:
                continue
            assert obj[A.SENSITIVE] is True
            assert obj[A.EXTRACTABLE] is False
            assert obj[A.ALWAYS_SENSITIVE] is True
            assert obj[A.NEVER_EXTRACTABLE] is True
            for attribute in SENSITIVE_ATTRS[obj.key_type]:
                with pytest.raises(p11x.AttributeSensitive):
                    obj[attribute]

    pkcs11_backend._connection.run(op)
    pkcs11_backend.destroy(handle)


@pytest.mark.parametrize("spec", [KeySpec.ML_KEM_768, KeySpec.ML_DSA_65])
def test_pq_keys_are_sealed_token_data_objects(pkcs11_backend: Pkcs11Backend, spec: KeySpec) -> None:
    key = pkcs11_backend.generate(spec=spec, label="l")

    def op(session: Any) -> None:
        (data,) = session.get_objects({A.LABEL: key.handle})
        assert data[A.CLASS] == ObjectClass.DATA
        assert data[A.TOKEN] is True
        assert data[A.PRIVATE] is True
        record = _p11keys.PqRecord.parse(data[A.VALUE])
        assert record.spec is spec
        assert record.public_der == key.public_key_der
        assert len(record.sealed) == {KeySpec.ML_KEM_768: 64, KeySpec.ML_DSA_65: 32}[spec] + 16
        query = {A.CLASS: ObjectClass.SECRET_KEY, A.LABEL: _p11keys.WRAPPING_KEY_LABEL}
        (wrapping_key,) = session.get_objects(query)
        assert wrapping_key[A.ID] == record.wrapping_key_id
        assert wrapping_key[A.SENSITIVE] is True
        assert wrapping_key[A.EXTRACTABLE] is False
        with pytest.raises(p11x.AttributeSensitive):
            wrapping_key[A.VALUE]

    pkcs11_backend._connection.run(op)
    pkcs11_backend.destroy(key.handle)


@pytest.mark.parametrize("spec", [*CLASSICAL, KeySpec.ML_KEM_768])
def test_destroy_removes_every_token_object(pkcs11_backend: Pkcs11Backend, spec: KeySpec) -> None:
    handle = pkcs11_backend.generate(spec=spec, label="l").handle
    assert _objects(pkcs11_backend, {A.LABEL: handle})
    pkcs11_backend.destroy(handle)
    assert _objects(pkcs11_backend, {A.LABEL: handle}) == []
    assert _objects(pkcs11_backend, {A.ID: _common.handle_id(handle)}) == []


def test_capability_probes_record_softhsm_behaviour(pkcs11_backend: Pkcs11Backend) -> None:
    """SoftHSM 2.6.1: native OAEP only with SHA-1, non-conformant C_WrapKey KWP."""
    rsa = pkcs11_backend.generate(spec=KeySpec.RSA_2048, label="l").handle
    aes = pkcs11_backend.generate(spec=KeySpec.AES_256, label="l").handle
    for hash in OaepHash:
        with pytest.raises(InvalidCiphertext):
            pkcs11_backend.rsa_decrypt(rsa, ciphertext=b"\x01" * 256, hash=hash)
    pkcs11_backend.wrap(aes, key_material=b"k")
    cache = pkcs11_backend._connection.cache
    assert cache["native-oaep-SHA_1"] is True
    assert cache["native-oaep-SHA_256"] is False
    assert cache["native-kwp"] is False
    for handle in (rsa, aes):
        pkcs11_backend.destroy(handle)


def test_in_token_ecb_keywrap_is_rfc5649(pkcs11_backend: Pkcs11Backend) -> None:
    """Known AES key imported as a session object: the ECB path equals cryptography."""
    kek = os.urandom(32)

    def op(session: Any) -> list[tuple[bytes, bytes]]:
        key = session.create_object({
            A.CLASS: ObjectClass.SECRET_KEY, A.KEY_TYPE: KeyType.AES, A.TOKEN: False,
            A.VALUE: kek, A.ENCRYPT: True,
        })  # fmt: skip
        try:
            return [(m, _keywrap.wrap_with_padding(_ecb_encryptor(key), m))
                    for m in (os.urandom(n) for n in (1, 5, 8, 20, 33))]  # fmt: skip
        finally:
            key.destroy()

    for material, wrapped in pkcs11_backend._connection.run(op):
        assert wrapped == aes_key_wrap_with_padding(kek, material)


def test_threads_share_the_library_safely(pkcs11_backend: Pkcs11Backend) -> None:
    aes = pkcs11_backend.generate(spec=KeySpec.AES_256, label="t").handle
    ec = pkcs11_backend.generate(spec=KeySpec.EC_P256, label="t").handle
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(50):
                plaintext = f"{n}-{i}".encode()
                sealed = pkcs11_backend.encrypt(aes, plaintext=plaintext, aad=b"t")
                assert pkcs11_backend.decrypt(aes, ciphertext=sealed, aad=b"t") == plaintext
                if i % 10 == 0:
                    sig = pkcs11_backend.sign(ec, message=plaintext, algorithm=SigningAlgorithm.ECDSA_SHA_256)
                    assert pkcs11_backend.verify(
                        ec, message=plaintext, signature=sig, algorithm=SigningAlgorithm.ECDSA_SHA_256
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# python-pkcs11's search-context finalizer reports the dead session once more
# from __del__ (ignored, printed via sys.unraisablehook): noise, not a failure.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_recovers_when_session_is_closed_behind_its_back(pkcs11_backend: Pkcs11Backend) -> None:
    handle = pkcs11_backend.generate(spec=KeySpec.AES_256, label="r").handle
    sealed = pkcs11_backend.encrypt(handle, plaintext=b"before", aad=b"")
    connection = pkcs11_backend._connection
    old = connection._session
    connection.run(lambda session: session.close())  # logs out and closes the real session
    assert pkcs11_backend.decrypt(handle, ciphertext=sealed, aad=b"") == b"before"
    assert connection._session is not old
    pkcs11_backend.health()


def test_fork_child_reinitialises(pkcs11_backend: Pkcs11Backend) -> None:
    handle = pkcs11_backend.generate(spec=KeySpec.AES_256, label="f").handle
    sealed = pkcs11_backend.encrypt(handle, plaintext=b"from parent", aad=b"")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's session
        status = 1
        try:
            ok = pkcs11_backend.decrypt(handle, ciphertext=sealed, aad=b"") == b"from parent"
            child_sealed = pkcs11_backend.encrypt(handle, plaintext=b"from child", aad=b"")
            os.write(write_end, pickle.dumps((ok, child_sealed)))
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    ok, child_sealed = pickle.loads(payload)
    assert ok
    assert pkcs11_backend.decrypt(handle, ciphertext=child_sealed, aad=b"") == b"from child"


def test_remembered_objects_spare_the_token_search(pkcs11_backend: Pkcs11Backend) -> None:
    handle = pkcs11_backend.generate(spec=KeySpec.AES_256, label="r").handle
    sealed = pkcs11_backend.encrypt(handle, plaintext=b"one", aad=b"")
    assert handle in pkcs11_backend._connection.objects
    assert pkcs11_backend.decrypt(handle, ciphertext=sealed, aad=b"") == b"one"
    pkcs11_backend.destroy(handle)
    assert handle not in pkcs11_backend._connection.objects
    with pytest.raises(KeyMaterialNotFound):
        pkcs11_backend.encrypt(handle, plaintext=b"two", aad=b"")


def test_key_destroyed_by_another_process_is_not_served_from_memory(pkcs11_backend: Pkcs11Backend) -> None:
    handle = pkcs11_backend.generate(spec=KeySpec.AES_256, label="gone").handle
    sealed = pkcs11_backend.encrypt(handle, plaintext=b"before", aad=b"")
    assert handle in pkcs11_backend._connection.objects  # this process remembers the token object
    pid = os.fork()
    if pid == 0:  # another process (a second worker) destroys the key
        status = 1
        try:
            pkcs11_backend.destroy(handle)
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with pytest.raises(KeyMaterialNotFound):
        pkcs11_backend.decrypt(handle, ciphertext=sealed, aad=b"")
    assert handle not in pkcs11_backend._connection.objects


def test_unavailable_library_or_token(softhsm: Any) -> None:
    for backend in (
        Pkcs11Backend("/nonexistent/libpkcs11.so", softhsm.token_label, softhsm.user_pin),
        Pkcs11Backend(softhsm.module, "no-such-token", softhsm.user_pin),
    ):
        with pytest.raises(BackendUnavailable):
            backend.health()
        with pytest.raises(BackendUnavailable):
            backend.generate(spec=KeySpec.AES_256, label="x")


def test_wrong_pin_is_latched_not_retried(softhsm: Any) -> None:
    backend = Pkcs11Backend(softhsm.module, softhsm.spare_token_label, "000000")
    with pytest.raises(BackendUnavailable) as excinfo:
        backend.health()
    assert "000000" not in str(excinfo.value)
    assert "000000" not in repr(backend)
    assert isinstance(excinfo.value.__cause__, p11x.PinIncorrect)
    with pytest.raises(BackendUnavailable) as again:
        backend.health()
    assert again.value.__cause__ is None  # latched: no second C_Login attempt


def test_same_token_backends_share_one_session(softhsm: Any, pkcs11_backend: Pkcs11Backend) -> None:
    twin = Pkcs11Backend(softhsm.module, softhsm.token_label, softhsm.user_pin)
    assert twin._connection is pkcs11_backend._connection
    handle = twin.generate(spec=KeySpec.AES_256, label="twin").handle
    sealed = pkcs11_backend.encrypt(handle, plaintext=b"p", aad=b"")
    assert twin.decrypt(handle, ciphertext=sealed, aad=b"") == b"p"
    twin.destroy(handle)


def test_pin_never_shows(softhsm: Any, pkcs11_backend: Pkcs11Backend) -> None:
    connection = pkcs11_backend._connection
    for text in (repr(pkcs11_backend), repr(connection), repr(vars(connection))):
        assert softhsm.user_pin not in text
