"""Keys API: one view per resource or verb; each parses, calls one service, renders."""

from __future__ import annotations

import base64
from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from approvals.api.serializers import ApprovalRequestOut
from approvals.api.views import render as render_request
from approvals.services import request_create
from cockpit.api.validation import validated
from keys import service, services
from keys.api import serializers as s
from keys.models import Key
from keys.selectors import customer_nodes_of, key_of, keys_of
from tenants.api.base import TenantAPIView


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


class KeyScoped(TenantAPIView):
    """Loads ``self.key`` within the caller's tenant (404 otherwise)."""

    def key(self, key_id: str) -> Key:
        return key_of(tenant=self.tenant, key_id=key_id)

    @property
    def caller(self) -> service.Caller:
        return service.Caller(actor=self.actor, channel="api")


class KeyList(TenantAPIView):
    @extend_schema(responses=s.KeyOut(many=True), summary="The tenant's keys")
    def get(self, request: Request) -> Response:
        return Response(s.KeyOut(keys_of(tenant=self.tenant), many=True).data)

    @extend_schema(
        request=s.KeyCreateIn, responses={202: ApprovalRequestOut}, summary="Request a new key (dual control)"
    )
    def post(self, request: Request) -> Response:
        data = validated(s.KeyCreateIn, request.data)
        params = {**data, "rotation_period_days": data.get("rotation_period_days")}
        filed = request_create(actor=self.actor, tenant=self.tenant, operation="keys.create", params=params)
        return render_request(filed, status=202)


class KeyDetail(KeyScoped):
    @extend_schema(responses=s.KeyDetailOut, summary="One key with its versions")
    def get(self, request: Request, key_id: str) -> Response:
        return Response(s.KeyDetailOut(self.key(key_id)).data)

    @extend_schema(request=s.KeyUpdateIn, responses=s.KeyDetailOut, summary="Change the description")
    def patch(self, request: Request, key_id: str) -> Response:
        key = self.key(key_id)
        data = validated(s.KeyUpdateIn, request.data)
        key = services.key_update_description(actor=self.actor, key=key, description=data["description"])
        return Response(s.KeyDetailOut(key).data)


class _Lifecycle(KeyScoped):
    takes_input: type[serializers.Serializer] | None = None

    def apply(self, key: Key, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def post(self, request: Request, key_id: str) -> Response:
        key = self.key(key_id)
        data = validated(self.takes_input, request.data) if self.takes_input else {}
        self.apply(key, data)
        key.refresh_from_db()
        return Response(s.KeyDetailOut(key).data)


class _Requested(KeyScoped):
    """A loosening verb: files an approval request (202) instead of acting."""

    operation = ""
    takes_input: type[serializers.Serializer] | None = None

    def post(self, request: Request, key_id: str) -> Response:
        key = self.key(key_id)
        data = validated(self.takes_input, request.data) if self.takes_input else {}
        params = {"key_id": str(key.pk), **data}
        return render_request(
            request_create(actor=self.actor, tenant=self.tenant, operation=self.operation, params=params), 202
        )


@extend_schema(request=None, responses={202: ApprovalRequestOut}, summary="Request a rotation (dual control)")
class KeyRotate(_Requested):
    operation = "keys.rotate"


@extend_schema(request=None, responses=s.KeyDetailOut, summary="Disable at once (kill switch)")
class KeyDisable(_Lifecycle):
    def apply(self, key: Key, data: dict[str, Any]) -> Any:
        return services.key_disable(actor=self.actor, key=key)


@extend_schema(request=None, responses={202: ApprovalRequestOut}, summary="Request enabling (dual control)")
class KeyEnable(_Requested):
    operation = "keys.enable"


@extend_schema(
    request=s.ScheduleDeletionIn,
    responses={202: ApprovalRequestOut},
    summary="Request destruction (dual control)",
)
class KeyScheduleDeletion(_Requested):
    operation = "keys.schedule_deletion"
    takes_input = s.ScheduleDeletionIn


@extend_schema(request=None, responses=s.KeyDetailOut, summary="Cancel a scheduled destruction")
class KeyCancelDeletion(_Lifecycle):
    def apply(self, key: Key, data: dict[str, Any]) -> Any:
        return services.key_cancel_deletion(actor=self.actor, key=key)


def _out(name: str, **fields: serializers.Field) -> serializers.Serializer:
    return inline_serializer(
        name, {"key_id": serializers.UUIDField(), "key_version": serializers.IntegerField(), **fields}
    )


class KeyEncrypt(KeyScoped):
    @extend_schema(
        request=s.EncryptIn,
        responses=_out("EncryptOut", ciphertext=serializers.CharField()),
        summary="Encrypt",
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = self.key(key_id)
        data = validated(s.EncryptIn, request.data)
        result = service.encrypt(key=key, plaintext=data["plaintext"], aad=data["aad"], caller=self.caller)
        return Response(
            {"key_id": str(key.pk), "key_version": result.version, "ciphertext": _b64(result.value)}
        )


class KeyDecrypt(KeyScoped):
    @extend_schema(
        request=s.DecryptIn,
        responses=_out("DecryptOut", plaintext=serializers.CharField()),
        summary="Decrypt",
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = self.key(key_id)
        data = validated(s.DecryptIn, request.data)
        result = service.decrypt(
            key=key, ciphertext=data["ciphertext"], aad=data["aad"], caller=self.caller,
            algorithm=data.get("algorithm"), key_version=data.get("key_version"),
        )  # fmt: skip
        return Response(
            {"key_id": str(key.pk), "key_version": result.version, "plaintext": _b64(result.value)}
        )


class KeyGenerateDataKey(KeyScoped):
    @extend_schema(
        request=s.DataKeyIn,
        responses=_out("DataKeyOut", plaintext=serializers.CharField(), ciphertext=serializers.CharField()),
        summary="Generate a data key (plaintext + encrypted copy)",
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = self.key(key_id)
        data = validated(s.DataKeyIn, request.data)
        result, plaintext = service.generate_data_key(
            key=key, number_of_bytes=data["number_of_bytes"], aad=data["aad"], caller=self.caller
        )
        body = {
            "key_id": str(key.pk),
            "key_version": result.version,
            "plaintext": _b64(plaintext),
            "ciphertext": _b64(result.value),
        }
        return Response(body)


class KeySign(KeyScoped):
    @extend_schema(
        request=s.SignIn, responses=_out("SignOut", signature=serializers.CharField()), summary="Sign"
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = self.key(key_id)
        data = validated(s.SignIn, request.data)
        result = service.sign(
            key=key, message=data["message"], algorithm=data["algorithm"], caller=self.caller
        )
        return Response(
            {
                "key_id": str(key.pk),
                "key_version": result.version,
                "signature": _b64(result.value),
                "algorithm": data["algorithm"],
            }
        )


class KeyVerify(KeyScoped):
    @extend_schema(
        request=s.VerifyIn, responses=_out("VerifyOut", valid=serializers.BooleanField()), summary="Verify"
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = self.key(key_id)
        data = validated(s.VerifyIn, request.data)
        version, valid = service.verify(
            key=key, message=data["message"], signature=data["signature"], algorithm=data["algorithm"],
            caller=self.caller, key_version=data.get("key_version"),
        )  # fmt: skip
        return Response({"key_id": str(key.pk), "key_version": version, "valid": valid})


class KeyWrap(KeyScoped):
    @extend_schema(
        request=s.WrapIn,
        responses=_out("WrapOut", wrapped=serializers.CharField()),
        summary="Wrap key material",
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = self.key(key_id)
        data = validated(s.WrapIn, request.data)
        result = service.wrap(key=key, key_material=data["key_material"], caller=self.caller)
        return Response({"key_id": str(key.pk), "key_version": result.version, "wrapped": _b64(result.value)})


class KeyUnwrap(KeyScoped):
    @extend_schema(
        request=s.UnwrapIn,
        responses=_out("UnwrapOut", key_material=serializers.CharField()),
        summary="Unwrap",
    )
    def post(self, request: Request, key_id: str) -> Response:
        key = self.key(key_id)
        data = validated(s.UnwrapIn, request.data)
        result = service.unwrap(key=key, wrapped=data["wrapped"], caller=self.caller)
        return Response(
            {"key_id": str(key.pk), "key_version": result.version, "key_material": _b64(result.value)}
        )


class KeyPublicKey(KeyScoped):
    @extend_schema(
        responses=_out("PublicKeyOut", public_key=serializers.CharField()), summary="Public key (DER, base64)"
    )
    def get(self, request: Request, key_id: str) -> Response:
        key = self.key(key_id)
        version = request.query_params.get("key_version")
        number = int(version) if version and version.isdigit() else None
        result = service.public_key(key=key, caller=self.caller, key_version=number)
        return Response(
            {"key_id": str(key.pk), "key_version": result.version, "public_key": _b64(result.value)}
        )


class CustomerNodeList(TenantAPIView):
    @extend_schema(responses=s.CustomerNodeOut(many=True), summary="The tenant's own MPC nodes")
    def get(self, request: Request) -> Response:
        return Response(s.CustomerNodeOut(customer_nodes_of(tenant=self.tenant), many=True).data)

    @extend_schema(
        request=s.CustomerNodeIn, responses={201: s.CustomerNodeOut}, summary="Enrol a customer node"
    )
    def post(self, request: Request) -> Response:
        data = validated(s.CustomerNodeIn, request.data)
        node = services.customer_node_enrol(actor=self.actor, tenant=self.tenant, **data)
        return Response(s.CustomerNodeOut(node).data, status=201)
