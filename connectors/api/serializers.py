"""Input and output shapes of the connectors API."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from connectors.models import BindingCredential, ConnectorBinding, ConnectorKind
from connectors.setup_info import setup_info


class KeyRefIn(serializers.Serializer):
    key_id = serializers.UUIDField()
    external_id = serializers.CharField(max_length=128)


class BindingIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConnectorKind.values)
    name = serializers.CharField(max_length=80)
    route = serializers.CharField(max_length=120)
    # DRF hands max_length to the ListSerializer that many=True builds; the stubs omit that keyword.
    keys = KeyRefIn(many=True, allow_empty=False, max_length=50)  # type: ignore[call-arg]
    settings = serializers.DictField(required=False, default=dict)


class WidenIn(serializers.Serializer):
    keys = KeyRefIn(many=True, allow_empty=False, max_length=50)  # type: ignore[call-arg]  # as above


class CredentialOut(serializers.ModelSerializer):
    class Meta:
        model = BindingCredential
        fields = ["access_key_id", "created_at", "revealed_at", "revoked_at"]


class BindingOut(serializers.ModelSerializer):
    keys = serializers.SerializerMethodField()
    credentials = CredentialOut(many=True)
    setup = serializers.SerializerMethodField()

    class Meta:
        model = ConnectorBinding
        fields = [
            "id",
            "kind",
            "name",
            "route",
            "state",
            "settings",
            "created_at",
            "keys",
            "credentials",
            "setup",
        ]

    def get_keys(self, binding: ConnectorBinding) -> list[dict[str, str]]:
        return [
            {"key_id": str(b.key_id), "key_name": b.key.name, "external_id": b.external_id}
            for b in binding.bound_keys.select_related("key")
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_setup(self, binding: ConnectorBinding) -> dict[str, object]:
        return setup_info(binding)
