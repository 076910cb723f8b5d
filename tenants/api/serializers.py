"""Input and output shapes of the tenants API; fields are listed explicitly."""

from __future__ import annotations

from rest_framework import serializers

from tenants.models import ApiToken, Role, ServiceAccount
from tenants.selectors import Member  # imported at run time: drf-spectacular reads the hints
from tenants.services.tokens import MAX_TOKEN_LIFETIME_DAYS


class TenantOut(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())


class MemberOut(serializers.Serializer):
    id = serializers.IntegerField(source="user.pk")
    username = serializers.CharField(source="user.username")
    email = serializers.EmailField(source="user.email")
    roles = serializers.SerializerMethodField()

    def get_roles(self, member: Member) -> list[str]:
        return sorted(member.roles)


class RolesIn(serializers.Serializer):
    roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices), allow_empty=False, max_length=len(Role.choices)
    )


class ServiceAccountIn(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class ServiceAccountOut(serializers.ModelSerializer):
    class Meta:
        model = ServiceAccount
        fields = ["id", "name", "description", "is_active", "created_at"]


class TokenIn(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    lifetime_days = serializers.IntegerField(min_value=1, max_value=MAX_TOKEN_LIFETIME_DAYS, default=90)


class TokenOut(serializers.ModelSerializer):
    prefix = serializers.CharField(source="display_prefix")
    service_account = serializers.CharField(source="service_account.name")
    active = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "service_account",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "active",
        ]

    def get_active(self, token: ApiToken) -> bool:
        return token.is_active()


class IssuedTokenOut(TokenOut):
    token = serializers.SerializerMethodField(
        help_text="The raw token. Shown once; Cockpit keeps only a digest."
    )

    class Meta(TokenOut.Meta):
        fields = [*TokenOut.Meta.fields, "token"]

    def get_token(self, token: ApiToken) -> str:
        return str(self.context["raw"])
