"""Forms of the connectors UI."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms

from connectors.models import ConnectorKind
from keys.models import Key

SETTINGS_HELP = (
    'Optional JSON. XKS: {"secondary_authorization": [{"awsPrincipalArn": "arn:aws:iam::111122223333:*", '
    '"kmsOperation": ["Encrypt", "Decrypt"]}], "request_quota": {"requests_per_second": 500, "burst": 1000}} '
    "(the quota is optional, per serving process; beyond it: ThrottlingException). "
    'DKE (required): {"audience": "https://dke.example.com", '
    '"valid_issuers": ["https://sts.windows.net/<tenant id>/"], "jwks": {"mode": "url", "url": '
    '"https://login.microsoftonline.com/common/discovery/v2.0/keys"}, '
    '"authorization": {"emails": ["a@example.com"]}}.'
)


class BindingForm(forms.Form):
    kind = forms.ChoiceField(choices=ConnectorKind.choices, help_text="Which platform will call Cockpit.")
    name = forms.CharField(max_length=80, help_text="For you, e.g. 'payments XKS store'.")
    route = forms.CharField(
        max_length=117,
        help_text="XKS: the URI path prefix AWS uses, e.g. xks/payments. DKE: part of the key URL.",
    )
    key = forms.ModelChoiceField(queryset=Key.objects.none(), help_text="The key the platform may use.")
    external_id = forms.CharField(
        max_length=128, help_text="What the platform calls it: the XKS external key id, or the DKE key name."
    )
    settings = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), required=False, help_text=SETTINGS_HELP
    )

    def __init__(self, *args: Any, tenant: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # ``fields`` holds a copy of the ModelChoiceField declared above (typed as plain Field).
        key = cast(forms.ModelChoiceField, self.fields["key"])
        key.queryset = Key.objects.filter(tenant=tenant, state="enabled").order_by("name")

    def clean_settings(self) -> dict[str, Any]:
        raw = self.cleaned_data["settings"].strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            raise forms.ValidationError("Not valid JSON.") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("Settings must be a JSON object.")
        return value
