"""Serializer fields shared by API apps."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cockpit.errors import InputTooLarge


@extend_schema_field(OpenApiTypes.BYTE)
class Base64Field(serializers.Field):
    """Bytes carried as standard base64 in JSON; strict decoding, size checked after decoding."""

    default_error_messages = {
        "invalid": "Not valid base64.",
        "type": "Expected a base64 string.",
    }

    def __init__(self, *, max_bytes: int | None = None, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> bytes:
        if not isinstance(data, str):
            self.fail("type")
        if self.max_bytes is not None and len(data) > (self.max_bytes + 2) // 3 * 4 + 4:
            self._too_large()
        try:
            value = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid")
        if self.max_bytes is not None and len(value) > self.max_bytes:
            self._too_large()
        return value

    def _too_large(self) -> None:
        # Oversized input is its own error (413 input_too_large), not a generic validation failure.
        raise InputTooLarge(
            f"{self.field_name} is longer than {self.max_bytes} bytes.", details={"field": self.field_name}
        )

    def to_representation(self, value: bytes) -> str:
        return base64.b64encode(value).decode("ascii")
