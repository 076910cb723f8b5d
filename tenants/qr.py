"""QR codes for TOTP enrolment, rendered server-side as inline SVG (no images fetched, no scripts)."""

from __future__ import annotations

import base64

import qrcode
import qrcode.image.svg


def svg(data: str) -> str:
    """An SVG element (no XML declaration) encoding ``data``."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode").split("?>", 1)[-1]


def base32_secret(key: bytes) -> str:
    """The secret as apps expect it when typed by hand, grouped for readability."""
    text = base64.b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))
