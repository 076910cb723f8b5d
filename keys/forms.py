"""Forms of the keys UI; each field says what it is for."""

from __future__ import annotations

from django import forms
from django.conf import settings

from keys.backends import KeySpec
from keys.custody import available_custody
from keys.models import CustomerNode, KeyUsage
from keys.services import MAX_ROTATION_DAYS

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

    def __init__(self, *args: object, tenant: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["custody"].choices = [(c.value, c.label) for c in available_custody()]  # type: ignore[attr-defined]
        nodes = CustomerNode.objects.filter(tenant=tenant).order_by("name") if tenant is not None else []
        self.fields["customer_node_id"].choices = [("", "none"), *((str(n.pk), n.name) for n in nodes)]  # type: ignore[attr-defined]


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
