"""Demo keys and connector bindings for `make run` (operator bootstrap; idempotent)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from connectors import services as connector_services
from connectors.models import ConnectorBinding, ConnectorKind
from connectors.settings_schema import clean_settings
from connectors.setup_info import setup_info
from keys import services as key_services
from keys.custody import available_custody
from keys.models import Custody, Key
from tenants.models import Tenant

OPERATOR = "bootstrap_demo"
XKS_ROUTE = "xks/demo"
DKE_ROUTE = "demo-dke"


def _key(tenant: Tenant, name: str, spec: str, custody: str) -> Key:
    key = Key.objects.filter(tenant=tenant, name=name).first()
    if key is None:
        key = key_services.key_create(
            actor=OPERATOR, tenant=tenant, name=name, spec=spec, usage="ENCRYPT_DECRYPT",
            custody_name=custody, description="Demo key created by make run",
        )  # fmt: skip
        key.refresh_from_db()  # generation ran on commit (eager Celery in the embedded setup)
    return key


def _hsm_or_software() -> str:
    offered = available_custody()
    return Custody.PKCS11 if Custody.PKCS11 in offered else Custody.SOFTWARE


def demo_keys(tenant: Tenant) -> dict[str, Key]:
    """An HSM (or software) AES key for XKS, an RSA key for DKE, and an MPC AES key when MPC runs."""
    custody = _hsm_or_software()
    keys = {"demo-hsm-aes": _key(tenant, "demo-hsm-aes", "AES_256", custody)}
    if Custody.MPC in available_custody():
        mpc = _key(tenant, "demo-mpc-aes", "AES_256", Custody.MPC)
        if mpc.state == "enabled":  # generation needs the nodes up; a failed key is left out of the demo
            keys["demo-mpc-aes"] = mpc
    keys["demo-dke-rsa"] = _key(tenant, "demo-dke-rsa", "RSA_2048", custody)
    return keys


def _xks(tenant: Tenant, keys: dict[str, Key]) -> dict[str, Any]:
    binding = ConnectorBinding.objects.filter(route=XKS_ROUTE).first()
    if binding is None:
        refs = [connector_services.KeyRef(str(k.pk), name) for name, k in keys.items() if k.spec == "AES_256"]
        binding = connector_services.binding_create(
            actor=OPERATOR, tenant=tenant, kind=ConnectorKind.AWS_XKS, name="demo XKS", route=XKS_ROUTE,
            keys=refs, settings=clean_settings(ConnectorKind.AWS_XKS, {}),
        )  # fmt: skip
    credential = binding.credentials.filter(revoked_at__isnull=True).first()
    assert credential is not None, "the demo XKS binding has no active credential"
    secret = connector_services.credential_secret(credential)
    info = setup_info(binding)
    url = f"{info['XksProxyUriEndpoint']}{info['XksProxyUriPath']}/health"
    curl = (
        f"curl -s --aws-sigv4 'aws:amz:us-east-1:kms-xks-proxy' --user '{credential.access_key_id}:{secret}' "
        f'-H \'Content-Type: application/json\' -d \'{{"requestMetadata": {{"kmsRequestId": "demo", '
        f'"kmsOperation": "KmsHealthCheck"}}}}\' {url}'
    )
    return {**info, "AccessKeyId": credential.access_key_id, "SecretAccessKey": secret, "curl_health": curl}


def _dke(tenant: Tenant, keys: dict[str, Key]) -> dict[str, Any] | None:
    binding = ConnectorBinding.objects.filter(route=DKE_ROUTE).first()
    if binding is None:
        try:
            config = clean_settings(ConnectorKind.MS_DKE, demo_dke_settings())
        except Exception:  # the DKE settings schema refuses the demo values: skip rather than fail the demo
            return None
        binding = connector_services.binding_create(
            actor=OPERATOR, tenant=tenant, kind=ConnectorKind.MS_DKE, name="demo DKE", route=DKE_ROUTE,
            keys=[connector_services.KeyRef(str(keys["demo-dke-rsa"].pk), "DemoLabelKey")], settings=config,
        )  # fmt: skip
    return setup_info(binding)


def demo_dke_settings() -> dict[str, Any]:
    """Entra ID settings for the demo: a placeholder tenant; decrypt needs a real Entra app registration."""
    return {
        "audience": "https://dke.demo.example",
        "valid_issuers": ["https://sts.windows.net/00000000-0000-0000-0000-000000000000/"],
        "jwks": {"mode": "url", "url": "https://login.microsoftonline.com/common/discovery/v2.0/keys"},
        "authorization": {"emails": ["demo-admin@demo.example"]},
    }


def seed_connectors(tenant: Tenant) -> dict[str, Any]:
    """Create (once) the demo keys and bindings; return what the user needs to call them."""
    keys = demo_keys(tenant)
    result: dict[str, Any] = {
        "keys": {
            name: {"id": str(k.pk), "custody": k.custody_label, "state": k.state} for name, k in keys.items()
        },
        "aws_xks": _xks(tenant, keys),
        "public_base_url": settings.PUBLIC_BASE_URL,
    }
    dke = _dke(tenant, keys)
    if dke:
        result["ms_dke"] = dke
    return result
