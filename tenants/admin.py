"""Platform operators administer tenants here; they hold no role inside a tenant unless given one."""

from django.contrib import admin

from tenants.models import ApiToken, Invitation, Membership, ServiceAccount, Tenant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_active", "created_at")
    search_fields = ("name", "slug")
    inlines = [MembershipInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "tenant", "roles", "created_at", "expires_at", "accepted_at", "revoked_at")
    readonly_fields = ("token_digest",)


@admin.register(ServiceAccount)
class ServiceAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "tenant", "is_active", "created_at")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("display_prefix", "name", "tenant", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("token_id", "digest", "created_at", "last_used_at")
