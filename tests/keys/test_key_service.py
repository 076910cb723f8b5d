"""Every spec and usage round-trips through keys.service on both the software and the PKCS#11 backend."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from keys import errors as key_errors
from keys import service
from keys.models import KeyState
from testkit import World, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("custody")]
CUSTODY = ["software", "pkcs11"]


def caller(world: World) -> service.Caller:
    return service.Caller(actor=world.admin_a, channel="api")


@pytest.mark.parametrize("custody_name", CUSTODY)
def test_aes_encrypt_decrypt_round_trip_with_aad(
    world: World, django_capture_on_commit_callbacks: Any, custody_name: str
) -> None:
    key = make_key(
        django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, custody=custody_name
    )
    assert key.state == KeyState.ENABLED
    sealed = service.encrypt(key=key, plaintext=b"card 4111", aad=b"ctx", caller=caller(world))
    assert b"card 4111" not in sealed.value
    assert (
        service.decrypt(key=key, ciphertext=sealed.value, aad=b"ctx", caller=caller(world)).value
        == b"card 4111"
    )
    with pytest.raises(key_errors.InvalidCiphertext):
        service.decrypt(key=key, ciphertext=sealed.value, aad=b"other", caller=caller(world))
    tampered = sealed.value[:-1] + bytes([sealed.value[-1] ^ 1])
    with pytest.raises(key_errors.InvalidCiphertext):
        service.decrypt(key=key, ciphertext=tampered, aad=b"ctx", caller=caller(world))
    result, plaintext = service.generate_data_key(key=key, caller=caller(world), number_of_bytes=32)
    assert len(plaintext) == 32
    assert service.decrypt(key=key, ciphertext=result.value, caller=caller(world)).value == plaintext


@pytest.mark.parametrize("custody_name", CUSTODY)
def test_aes_raw_aead_for_connectors(
    world: World, django_capture_on_commit_callbacks: Any, custody_name: str
) -> None:
    key = make_key(
        django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, custody=custody_name
    )
    version, sealed = service.aead_encrypt(
        key=key, plaintext=b"x" * 100, aad=b"a" * 50, caller=caller(world), iv=b"\x07" * 12
    )
    assert sealed.iv == b"\x07" * 12 and len(sealed.tag) == 16
    assert (
        service.aead_decrypt(key=key, version=version, ciphertext=sealed, aad=b"a" * 50, caller=caller(world))
        == b"x" * 100
    )


@pytest.mark.parametrize("custody_name", CUSTODY)
@pytest.mark.parametrize("spec", ["AES_256", "ML_KEM_768"])
def test_wrap_unwrap_round_trip(
    world: World, django_capture_on_commit_callbacks: Any, custody_name: str, spec: str
) -> None:
    key = make_key(
        django_capture_on_commit_callbacks,
        tenant=world.tenant_a,
        actor=world.admin_a,
        custody=custody_name,
        spec=spec,
        usage="WRAP_UNWRAP",
    )
    material = bytes(range(32))
    wrapped = service.wrap(key=key, key_material=material, caller=caller(world))
    assert material not in wrapped.value
    assert service.unwrap(key=key, wrapped=wrapped.value, caller=caller(world)).value == material
    with pytest.raises(key_errors.InvalidCiphertext):
        service.unwrap(
            key=key, wrapped=wrapped.value[:-1] + bytes([wrapped.value[-1] ^ 1]), caller=caller(world)
        )


@pytest.mark.parametrize("custody_name", CUSTODY)
@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "RSA_4096"])
def test_rsa_encrypt_decrypt_oaep_sha256_and_sha1(
    world: World, django_capture_on_commit_callbacks: Any, custody_name: str, spec: str
) -> None:
    key = make_key(
        django_capture_on_commit_callbacks,
        tenant=world.tenant_a,
        actor=world.admin_a,
        custody=custody_name,
        spec=spec,
    )
    sealed = service.encrypt(key=key, plaintext=b"dke content key", caller=caller(world))
    assert service.decrypt(key=key, ciphertext=sealed.value, caller=caller(world)).value == b"dke content key"
    public = serialization.load_der_public_key(service.public_key(key=key, caller=caller(world)).value)
    assert isinstance(public, rsa.RSAPublicKey)
    sha1 = public.encrypt(
        b"legacy", padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    )
    result = service.decrypt(key=key, ciphertext=sha1, algorithm="RSAES_OAEP_SHA_1", caller=caller(world))
    assert result.value == b"legacy"


SIGNING = [
    ("RSA_2048", "RSASSA_PSS_SHA_256"),
    ("EC_P256", "ECDSA_SHA_256"),
    ("ED25519", "ED25519"),
    ("ML_DSA_65", "ML_DSA_65"),
]


@pytest.mark.parametrize("custody_name", CUSTODY)
@pytest.mark.parametrize(("spec", "algorithm"), SIGNING)
def test_sign_verify_round_trip_checked_by_cryptography(
    world: World, django_capture_on_commit_callbacks: Any, custody_name: str, spec: str, algorithm: str
) -> None:
    key = make_key(
        django_capture_on_commit_callbacks,
        tenant=world.tenant_a,
        actor=world.admin_a,
        custody=custody_name,
        spec=spec,
        usage="SIGN_VERIFY",
    )
    signed = service.sign(key=key, message=b"release 1.2.3", algorithm=algorithm, caller=caller(world))
    assert service.verify(
        key=key, message=b"release 1.2.3", signature=signed.value, algorithm=algorithm, caller=caller(world)
    ) == (1, True)
    assert service.verify(
        key=key, message=b"release 1.2.4", signature=signed.value, algorithm=algorithm, caller=caller(world)
    ) == (1, False)
    public = serialization.load_der_public_key(service.public_key(key=key, caller=caller(world)).value)
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(
            signed.value,
            b"release 1.2.3",
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    elif isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signed.value, b"release 1.2.3", ec.ECDSA(hashes.SHA256()))
    elif isinstance(public, ed25519.Ed25519PublicKey):
        public.verify(signed.value, b"release 1.2.3")
    else:
        public.verify(signed.value, b"release 1.2.3")  # ML-DSA-65 public key from cryptography


@pytest.mark.parametrize(
    ("spec", "usage", "operation"),
    [
        ("AES_256", "ENCRYPT_DECRYPT", "wrap"),
        ("AES_256", "WRAP_UNWRAP", "encrypt"),
        ("ED25519", "SIGN_VERIFY", "encrypt"),
    ],
)
def test_usage_is_enforced_on_every_call(
    world: World, django_capture_on_commit_callbacks: Any, spec: str, usage: str, operation: str
) -> None:
    key = make_key(
        django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, spec=spec, usage=usage
    )
    calls = {
        "wrap": lambda: service.wrap(key=key, key_material=b"k" * 32, caller=caller(world)),
        "encrypt": lambda: service.encrypt(key=key, plaintext=b"x", caller=caller(world)),
    }
    with pytest.raises(key_errors.WrongKeyUsage):
        calls[operation]()


def test_a_ciphertext_of_another_key_is_refused(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    one = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, name="one")
    two = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a, name="two")
    sealed = service.encrypt(key=one, plaintext=b"secret", caller=caller(world))
    with pytest.raises(key_errors.InvalidCiphertext, match="another key"):
        service.decrypt(key=two, ciphertext=sealed.value, caller=caller(world))


def test_oversized_inputs_are_refused_before_the_backend(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    with pytest.raises(key_errors.OversizedInput):
        service.encrypt(key=key, plaintext=b"x" * 4301, caller=caller(world))
    with pytest.raises(key_errors.OversizedInput):
        service.encrypt(key=key, plaintext=b"x", aad=b"a" * 8201, caller=caller(world))


def test_operations_are_counted_and_audited_without_data(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from audit.models import AuditEvent
    from keys.selectors import operation_totals

    key = make_key(django_capture_on_commit_callbacks, tenant=world.tenant_a, actor=world.admin_a)
    sealed = service.encrypt(key=key, plaintext=b"top secret payload", caller=caller(world))
    with pytest.raises(key_errors.InvalidCiphertext):
        service.decrypt(key=key, ciphertext=sealed.value[:-1], caller=caller(world))
    totals = {(r["operation"], r["succeeded"], r["failed"]) for r in operation_totals(key=key)}
    assert totals == {("encrypt", 1, 0), ("decrypt", 0, 1)}
    events = AuditEvent.objects.filter(
        action__in=["key.encrypt", "key.decrypt"], target_id=str(key.pk)
    ).order_by("id")
    assert [(e.action, e.outcome, e.details["version"], e.details.get("reason")) for e in events] == [
        ("key.encrypt", "success", 1, None),
        ("key.decrypt", "failure", 1, "invalid_ciphertext"),
    ]
    assert all(0 < e.details["latency_ms"] < 60_000 for e in events)  # how long the custody call took
    assert "top secret" not in str(list(events.values_list("details", flat=True)))
