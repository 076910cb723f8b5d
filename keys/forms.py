"""Forms of the keys UI; each field says what it is for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings

from keys.backends import KeySpec
from keys.custody import available_custody
from keys.models import CustomerNode, KeyUsage
from keys.services import MAX_ROTATION_DAYS

if TYPE_CHECKING:
    from tenants.models import Tenant

SPEC_HELP = (
    "AES_256 for encryption and key wrapping (XKS, CSE, Vault); RSA for Microsoft DKE and signatures; "
    "EC_P256/ED25519 for signatures; ML_KEM_768 and ML_DSA_65 are post-quantum."
)


class KeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Unique within your organisation, e.g. 'payments-xks'.")
    description = forms.CharField(max_length=500, required=False, help_text="What the key protects.")
    spec = forms.ChoiceField(choices=[(s.value, s.value) for s in KeySpec], help_text=SPEC_HELP)
    usage = forms.ChoiceField(
        choices=KeyUsage.choices, help_text="Fixed at creation; every call is checked against it."
    )
    custody = forms.ChoiceField(help_text="Where the key material lives. It never leaves that place.")
    customer_node_id = forms.ChoiceField(
        required=False,
        label="Customer node",
        help_text="MPC AES_256 keys only: your own node takes part in every use (stop it, the key stops).",
    )
    rotation_period_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_ROTATION_DAYS,
        required=False,
        help_text="Rotate automatically every this many days (blank: rotate by hand only).",
    )

    def __init__(self, *args: Any, tenant: Tenant | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # ``fields`` holds copies of the ChoiceFields declared above (typed as plain Field).
        custody = cast(forms.ChoiceField, self.fields["custody"])
        custody.choices = [(c.value, c.label) for c in available_custody()]
        nodes = CustomerNode.objects.filter(tenant=tenant).order_by("name") if tenant is not None else []
        node = cast(forms.ChoiceField, self.fields["customer_node_id"])
        node.choices = [("", "none"), *((str(n.pk), n.name) for n in nodes)]


class ScheduleDeletionForm(forms.Form):
    waiting_days = forms.IntegerField(
        min_value=settings.KEY_DELETION_MIN_DAYS,
        max_value=settings.KEY_DELETION_MAX_DAYS,
        initial=30,
        help_text="The key stops working now and is destroyed after this many days, unless you cancel.",
    )


class CustomerNodeForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="For you, e.g. 'our datacentre node'.")
    url = forms.URLField(max_length=300, help_text="Where Cockpit's coordinator reaches your node.")
    identity_public_key = forms.RegexField(
        regex=r"^[0-9a-fA-F]{64}$",
        help_text="Ed25519 public key (hex) that `python -m mpc.node init --customer` printed.",
    )
    x25519_public_key = forms.RegexField(
        regex=r"^[0-9a-fA-F]{64}$", help_text="X25519 public key (hex), printed too."
    )
