"""Input and output shapes of the keys API (AWS-KMS-like, base64 for bytes)."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from cockpit.api.fields import Base64Field
from keys.backends import KeySpec, SigningAlgorithm
from keys.models import Custody, Key, KeyUsage, KeyVersion
from keys.service import (
    MAX_AAD,
    MAX_CIPHERTEXT,
    MAX_MESSAGE,
    MAX_PLAINTEXT,
    MAX_WRAP_MATERIAL,
    RSA_ALGORITHMS,
)
from keys.services import MAX_ROTATION_DAYS


class KeyCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    spec = serializers.ChoiceField(choices=[s.value for s in KeySpec])
    usage = serializers.ChoiceField(choices=KeyUsage.values)
    custody = serializers.ChoiceField(choices=Custody.values)
    rotation_period_days = serializers.IntegerField(
        min_value=1, max_value=MAX_ROTATION_DAYS, required=False, allow_null=True
    )
    customer_node_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="MPC AES_256 keys: require this tenant-run node in every use.",
    )


class CustomerNodeIn(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    url = serializers.URLField(max_length=300)
    identity_public_key = serializers.RegexField(r"^[0-9a-fA-F]{64}$")
    x25519_public_key = serializers.RegexField(r"^[0-9a-fA-F]{64}$")


class CustomerNodeOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    url = serializers.CharField()
    identity_public_key = serializers.CharField()
    x25519_public_key = serializers.CharField()
    enrolled_at = serializers.DateTimeField()


class KeyUpdateIn(serializers.Serializer):
    description = serializers.CharField(max_length=500, allow_blank=True)


class ScheduleDeletionIn(serializers.Serializer):
    waiting_days = serializers.IntegerField(
        min_value=settings.KEY_DELETION_MIN_DAYS, max_value=settings.KEY_DELETION_MAX_DAYS, default=30
    )


class KeyVersionOut(serializers.ModelSerializer):
    class Meta:
        model = KeyVersion
        fields = ["number", "state", "created_at", "activated_at", "destroyed_at"]


class KeyOut(serializers.ModelSerializer):
    id = serializers.UUIDField()
    custody_label = serializers.CharField()
    current_version = serializers.SerializerMethodField()

    class Meta:
        model = Key
        fields = [
            "id", "name", "description", "spec", "usage", "custody", "custody_label", "state",
            "status_detail", "rotation_period_days", "next_rotation_at", "deletion_date", "created_at",
            "current_version",
        ]  # fmt: skip

    def get_current_version(self, key: Key) -> int | None:
        from keys.selectors import current_version

        version = current_version(key=key)
        return version.number if version else None


class KeyDetailOut(KeyOut):
    versions = KeyVersionOut(many=True)

    class Meta(KeyOut.Meta):
        fields = [*KeyOut.Meta.fields, "versions"]


class EncryptIn(serializers.Serializer):
    plaintext = Base64Field(max_bytes=MAX_PLAINTEXT)
    aad = Base64Field(max_bytes=MAX_AAD, required=False, default=b"")


class DecryptIn(serializers.Serializer):
    ciphertext = Base64Field(max_bytes=MAX_CIPHERTEXT)
    aad = Base64Field(max_bytes=MAX_AAD, required=False, default=b"")
    algorithm = serializers.ChoiceField(choices=list(RSA_ALGORITHMS), required=False)
    key_version = serializers.IntegerField(min_value=1, required=False)


class DataKeyIn(serializers.Serializer):
    number_of_bytes = serializers.IntegerField(min_value=16, max_value=64, default=32)
    aad = Base64Field(max_bytes=MAX_AAD, required=False, default=b"")


class SignIn(serializers.Serializer):
    message = Base64Field(max_bytes=MAX_MESSAGE)
    algorithm = serializers.ChoiceField(choices=[a.value for a in SigningAlgorithm])


class VerifyIn(SignIn):
    signature = Base64Field(max_bytes=8192)
    key_version = serializers.IntegerField(min_value=1, required=False)


class WrapIn(serializers.Serializer):
    key_material = Base64Field(max_bytes=MAX_WRAP_MATERIAL)


class UnwrapIn(serializers.Serializer):
    wrapped = Base64Field(max_bytes=MAX_CIPHERTEXT)
