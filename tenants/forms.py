"""Forms of the tenants app; every field says what it is for."""

from __future__ import annotations

from typing import Any

from django import forms

from tenants.models import Role
from tenants.services.tokens import MAX_TOKEN_LIFETIME_DAYS


class OtpCodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6-digit code from your authenticator app, or one of your backup codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class EnrolmentForm(forms.Form):
    code = forms.CharField(
        label="First code from the app",
        max_length=12,
        help_text="After scanning the QR code, type the 6-digit code the app shows.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class InvitationAcceptForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="The name you will sign in with.")
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters; not a common password.",
    )
    password_again = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if cleaned.get("password") != cleaned.get("password_again"):
            raise forms.ValidationError("The two passwords differ.")
        return cleaned


class RolesField(forms.MultipleChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            choices=Role.choices,
            widget=forms.CheckboxSelectMultiple,
            help_text=(
                "Admins manage members, keys and connectors; officers approve loosening operations with a "
                "fresh TOTP code; auditors read the audit log; billing viewers read plans and reports."
            ),
            **kwargs,
        )


class InviteForm(forms.Form):
    email = forms.EmailField(
        help_text="If this person already has a Cockpit account, the roles apply at once."
    )
    roles = RolesField()


class RolesForm(forms.Form):
    roles = RolesField()


class ServiceAccountForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="For example 'ci-pipeline' or 'billing-app'.")
    description = forms.CharField(max_length=300, required=False, help_text="What calls the API with it.")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="Where this token will live, e.g. 'prod deploy job'.")
    lifetime_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_TOKEN_LIFETIME_DAYS,
        initial=90,
        help_text=f"The token stops working after this many days (at most {MAX_TOKEN_LIFETIME_DAYS}).",
    )
