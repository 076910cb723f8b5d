"""Writes for tenants, members, invitations, service accounts, API tokens and OTP enrolment."""

from tenants.services.access import require_role
from tenants.services.members import (
    invitation_accept,
    invitation_create,
    membership_add,
    membership_remove,
    membership_set_roles,
    tenant_create,
)
from tenants.services.otp import (
    backup_codes_regenerate,
    otp_verify,
    totp_enrolment_begin,
    totp_enrolment_confirm,
)
from tenants.services.tokens import (
    api_token_authenticate,
    api_token_issue,
    api_token_revoke,
    service_account_create,
)

__all__ = [
    "api_token_authenticate",
    "api_token_issue",
    "api_token_revoke",
    "backup_codes_regenerate",
    "invitation_accept",
    "invitation_create",
    "membership_add",
    "membership_remove",
    "membership_set_roles",
    "otp_verify",
    "require_role",
    "service_account_create",
    "tenant_create",
    "totp_enrolment_begin",
    "totp_enrolment_confirm",
]
