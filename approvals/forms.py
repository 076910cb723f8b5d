"""Forms of the approvals UI."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from approvals.policy import LIMITS
from approvals.registry import operation_classes


class ApproveForm(forms.Form):
    otp = forms.RegexField(
        regex=r"^\s*\d{6,8}\s*$",
        label="Authenticator code",
        help_text="Approving needs a fresh code from your authenticator app, even though you are signed in.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False, help_text="Optional: why, for the audit log.")


class PolicyForm(forms.Form):
    operation_class = forms.ChoiceField(help_text="Which kind of operation this rule governs.")
    required_approvals = forms.IntegerField(
        min_value=LIMITS["required_approvals"][0], max_value=LIMITS["required_approvals"][1], initial=2,
        help_text="Distinct officers, never counting the requester.",
    )  # fmt: skip
    window_hours = forms.IntegerField(
        min_value=LIMITS["window_hours"][0], max_value=LIMITS["window_hours"][1], initial=24,
        help_text="Requests expire after this long.",
    )  # fmt: skip
    time_lock_minutes = forms.IntegerField(
        min_value=0, max_value=LIMITS["time_lock_minutes"][1], initial=0,
        help_text="Delay between the quorum and execution, during which any officer can veto.",
    )  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # ``fields`` holds a copy of the ChoiceField declared above (typed as plain Field).
        cast(forms.ChoiceField, self.fields["operation_class"]).choices = [
            (c, c) for c in operation_classes()
        ]
