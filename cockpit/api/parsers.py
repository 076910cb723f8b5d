"""A JSON parser that refuses bodies over the configured limit before reading them whole."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from cockpit.errors import PayloadTooLarge


class LimitedJSONParser(JSONParser):
    """Read at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes; larger bodies get 413, bad JSON gets 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        if not raw:
            return {}
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ParseError("The request body is not valid UTF-8 JSON.") from None
