"""MPC custody through the key service: real node processes; no node and not Cockpit holds a whole key."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding
from django.test import Client

from audit.models import AuditEvent
from keys import custody as custody_registry
from keys import errors as key_errors
from keys import service, services
from keys.backends import KeyMaterialNotFound
from keys.models import Key, KeyState, VersionState
from testkit import World, assert_error, make_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("mpc_custody")]


def caller(world: World) -> service.Caller:
    return service.Caller(actor=world.admin_a)


def mpc_key(
    world: World, capture: Any, spec: str = "AES_256", usage: str = "ENCRYPT_DECRYPT", name: str = ""
) -> Key:
    return make_key(
        capture,
        tenant=world.tenant_a,
        actor=world.admin_a,
        custody="mpc",
        spec=spec,
        usage=usage,
        name=name or None,
    )


def test_aes_round_trip_and_data_keys(world: World, django_capture_on_commit_callbacks: Any) -> None:
    key = mpc_key(world, django_capture_on_commit_callbacks)
    assert key.state == KeyState.ENABLED and key.versions.get().handle.startswith("mpc_")
    sealed = service.encrypt(key=key, plaintext=b"threshold secret", aad=b"ctx", caller=caller(world))
    assert (
        service.decrypt(key=key, ciphertext=sealed.value, aad=b"ctx", caller=caller(world)).value
        == b"threshold secret"
    )
    with pytest.raises(key_errors.InvalidCiphertext):
        service.decrypt(key=key, ciphertext=sealed.value, aad=b"other", caller=caller(world))
    result, data_key = service.generate_data_key(key=key, caller=caller(world))
    assert service.decrypt(key=key, ciphertext=result.value, caller=caller(world)).value == data_key


@pytest.mark.parametrize("spec", ["RSA_2048", "RSA_3072", "RSA_4096"])
def test_rsa_decrypts_oaep_sha256_and_sha1(
    world: World, django_capture_on_commit_callbacks: Any, spec: str
) -> None:
    key = mpc_key(world, django_capture_on_commit_callbacks, spec=spec)
    public = serialization.load_der_public_key(service.public_key(key=key, caller=caller(world)).value)
    for name, algorithm in (("RSAES_OAEP_SHA_256", hashes.SHA256()), ("RSAES_OAEP_SHA_1", hashes.SHA1())):
        ct = public.encrypt(
            b"dke key", padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)
        )  # type: ignore[union-attr]
        assert (
            service.decrypt(key=key, ciphertext=ct, algorithm=name, caller=caller(world)).value == b"dke key"
        )


def test_ed25519_frost_signatures_verify_with_cryptography(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = mpc_key(world, django_capture_on_commit_callbacks, spec="ED25519", usage="SIGN_VERIFY")
    signed = service.sign(key=key, message=b"release", algorithm="ED25519", caller=caller(world))
    public = serialization.load_der_public_key(service.public_key(key=key, caller=caller(world)).value)
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(signed.value, b"release")


def test_a_disabled_key_is_refused_by_the_nodes_themselves(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = mpc_key(world, django_capture_on_commit_callbacks)
    handle = key.versions.get().handle
    with django_capture_on_commit_callbacks(execute=True):
        services.key_disable(actor=world.officer_a, key=key)
    backend = custody_registry.get_backend("mpc")
    # Even a compromised control plane that skips its own state check is refused at the nodes.
    with pytest.raises(Exception, match=r"(?i)disabled"):
        backend.encrypt(handle, plaintext=b"x", aad=b"")
    with django_capture_on_commit_callbacks(execute=True):
        services.key_enable(actor="test-approved", key=key)
    key.refresh_from_db()
    assert service.encrypt(key=key, plaintext=b"x", caller=caller(world)).version == 1


def test_refreshed_shares_still_decrypt_old_ciphertexts(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    key = mpc_key(world, django_capture_on_commit_callbacks)
    sealed = service.encrypt(key=key, plaintext=b"before refresh", caller=caller(world))
    with django_capture_on_commit_callbacks(execute=True):
        services.key_refresh_shares_request(actor=world.admin_a, key=key)
    assert AuditEvent.objects.filter(action="key.shares_refreshed", target_id=str(key.pk)).exists()
    assert service.decrypt(key=key, ciphertext=sealed.value, caller=caller(world)).value == b"before refresh"


def test_destruction_wipes_the_shares_on_the_nodes(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    key = mpc_key(world, django_capture_on_commit_callbacks)
    handle = key.versions.get().handle
    services.key_schedule_deletion(actor="test-approved", key=key, waiting_days=7)
    Key.objects.filter(pk=key.pk).update(deletion_date=timezone.now() - timedelta(seconds=1))
    assert services.key_destroy(key_id=str(key.pk)) is True
    assert key.versions.get().state == VersionState.DESTROYED
    with pytest.raises(KeyMaterialNotFound):
        custody_registry.get_backend("mpc").encrypt(handle, plaintext=b"x", aad=b"")


def test_one_node_down_still_works_two_down_is_a_clear_503(
    world: World, django_capture_on_commit_callbacks: Any, mpc_custody: Any
) -> None:
    key = mpc_key(world, django_capture_on_commit_callbacks)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {world.token_a}")
    body = json.dumps({"plaintext": base64.b64encode(b"x").decode()})
    mpc_custody.cluster.kill(1)
    assert (
        api.post(f"/api/v1/keys/{key.pk}/encrypt", data=body, content_type="application/json").status_code
        == 200
    )
    mpc_custody.cluster.kill(2)
    response = api.post(f"/api/v1/keys/{key.pk}/encrypt", data=body, content_type="application/json")
    assert_error(response, 503, "custody_unavailable")


def test_a_lying_node_is_excluded_and_audited(
    world: World, django_capture_on_commit_callbacks: Any, mpc_custody: Any
) -> None:
    key = mpc_key(world, django_capture_on_commit_callbacks)
    sealed = service.encrypt(key=key, plaintext=b"honest", caller=caller(world))
    from tests.mpc.node.harness import prefer

    mpc_custody.restart(1, ("bad-partial",))
    prefer(custody_registry.get_backend("mpc")._coordinator, 1, 2)  # make sure the liar is asked first
    assert service.decrypt(key=key, ciphertext=sealed.value, caller=caller(world)).value == b"honest"
    event = AuditEvent.objects.filter(action="mpc.node_misbehaved").first()
    assert event is not None and event.target_id == "1"


def test_a_key_that_requires_the_customer_node_stops_when_that_node_stops(
    world: World, django_capture_on_commit_callbacks: Any, mpc_custody: Any
) -> None:
    spec = mpc_custody.customer("acme_dc")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {world.token_a}")
    body = {
        "name": "acme dc",
        "url": spec.url,
        "identity_public_key": spec.identity_public_key,
        "x25519_public_key": spec.x25519_public_key,
    }
    enrolled = api.post("/api/v1/customer-nodes", data=json.dumps(body), content_type="application/json")
    assert enrolled.status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        key = services.key_create(
            actor=world.admin_a, tenant=world.tenant_a, name="composed", spec="AES_256",
            usage="ENCRYPT_DECRYPT", custody_name="mpc", customer_node_id=enrolled.json()["id"],
        )  # fmt: skip
    key.refresh_from_db()
    assert key.state == KeyState.ENABLED and key.versions.get().handle.startswith("mpcc_")
    sealed = service.encrypt(key=key, plaintext=b"only with the customer", caller=caller(world))
    mpc_custody.cluster.stop("acme_dc")  # every provider node is still up
    payload = json.dumps({"ciphertext": base64.b64encode(sealed.value).decode()})
    response = api.post(f"/api/v1/keys/{key.pk}/decrypt", data=payload, content_type="application/json")
    assert_error(response, 503, "custody_unavailable")
    mpc_custody.cluster.start("acme_dc")
    assert (
        service.decrypt(key=key, ciphertext=sealed.value, caller=caller(world)).value
        == b"only with the customer"
    )


def test_customer_nodes_are_tenant_scoped_and_checked_at_enrolment(world: World, mpc_custody: Any) -> None:
    from keys.models import CustomerNode

    api_b = Client(HTTP_AUTHORIZATION=f"Bearer {world.token_b}")
    bogus = {
        "name": "nope",
        "url": "http://127.0.0.1:9",
        "identity_public_key": "a" * 64,
        "x25519_public_key": "b" * 64,
    }
    response = api_b.post("/api/v1/customer-nodes", data=json.dumps(bogus), content_type="application/json")
    assert_error(response, 400, "invalid_request")
    assert not CustomerNode.objects.exists()
    node = CustomerNode.objects.create(
        tenant=world.tenant_a,
        name="a-node",
        url="http://x",
        identity_public_key="a" * 64,
        x25519_public_key="b" * 64,
    )
    with pytest.raises(Exception, match="No such customer node"):
        services.key_create(
            actor=world.admin_b, tenant=world.tenant_b, name="steal", spec="AES_256", usage="ENCRYPT_DECRYPT",
            custody_name="mpc", customer_node_id=str(node.pk),
        )  # fmt: skip
    assert world.tenant_a.name not in api_b.get("/api/v1/customer-nodes").content.decode()
