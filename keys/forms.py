"""Forms of the keys UI; each field says what it is for."""

from __future__ import annotations

from django import forms
from django.conf import settings

from keys.backends import KeySpec
from keys.custody import available_custody
from keys.models import KeyUsage
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
    rotation_period_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_ROTATION_DAYS,
        required=False,
        help_text="Rotate automatically every this many days (blank: rotate by hand only).",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["custody"].choices = [(c.value, c.label) for c in available_custody()]  # type: ignore[attr-defined]


class ScheduleDeletionForm(forms.Form):
    waiting_days = forms.IntegerField(
        min_value=settings.KEY_DELETION_MIN_DAYS,
        max_value=settings.KEY_DELETION_MAX_DAYS,
        initial=30,
        help_text="The key stops working now and is destroyed after this many days, unless you cancel.",
    )
