"""One strict reader for configuration from environment variables.

Every setting Cockpit reads comes through here so that a bad value stops the process at start with a
message naming the variable, instead of surfacing later as a confusing runtime error.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Mapping
from urllib.parse import urlparse


class ImproperlyConfiguredEnv(Exception):
    """An environment variable is missing or holds a value that cannot be used."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Env:
    """Typed accessors over a mapping of environment variables (``os.environ`` by default)."""

    def __init__(self, source: Mapping[str, str] | None = None) -> None:
        self._source = os.environ if source is None else source

    def raw(self, name: str) -> str | None:
        """Return the value as given, or None when unset."""
        return self._source.get(name)

    def str(self, name: str, default: str | None = None, *, choices: tuple[str, ...] = ()) -> str:
        """A string; required when no default is given."""
        value = self._source.get(name)
        if value is None:
            if default is None:
                raise ImproperlyConfiguredEnv(f"{name} must be set")
            value = default
        if choices and value not in choices:
            raise ImproperlyConfiguredEnv(f"{name}={value!r} is not one of {', '.join(choices)}")
        return value

    def optional_str(self, name: builtins.str) -> builtins.str | None:
        """A string or None; an empty value counts as unset."""
        value = self._source.get(name, "").strip()
        return value or None

    def bool(self, name: builtins.str, default: builtins.bool) -> builtins.bool:
        """A boolean spelled 1/0, true/false, yes/no or on/off."""
        value = self._source.get(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ImproperlyConfiguredEnv(f"{name}={value!r} is not a boolean (use true or false)")

    def int(
        self,
        name: builtins.str,
        default: builtins.int,
        *,
        minimum: builtins.int | None = None,
        maximum: builtins.int | None = None,
    ) -> builtins.int:
        """An integer within optional bounds."""
        value = self._source.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfiguredEnv(f"{name}={value!r} is not an integer") from None
        if minimum is not None and number < minimum:
            raise ImproperlyConfiguredEnv(f"{name}={number} is below the minimum {minimum}")
        if maximum is not None and number > maximum:
            raise ImproperlyConfiguredEnv(f"{name}={number} is above the maximum {maximum}")
        return number

    def list(self, name: builtins.str, default: list[builtins.str]) -> list[builtins.str]:
        """A comma-separated list; blanks are dropped."""
        value = self._source.get(name)
        if value is None:
            return list(default)
        return [item.strip() for item in value.split(",") if item.strip()]

    def url(self, name: builtins.str, *, schemes: tuple[builtins.str, ...]) -> builtins.str | None:
        """A URL whose scheme is one of ``schemes``, or None when unset."""
        value = self.optional_str(name)
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
            raise ImproperlyConfiguredEnv(f"{name} must be a URL with scheme {' or '.join(schemes)}")
        return value

    def secret(
        self,
        name: builtins.str,
        *,
        development_default: builtins.str | None,
        development: builtins.bool,
        min_length: builtins.int,
    ) -> builtins.str:
        """A secret: required outside development, and never shorter than ``min_length``."""
        value = self.optional_str(name)
        if value is None:
            if not development or development_default is None:
                raise ImproperlyConfiguredEnv(f"{name} must be set outside development")
            value = development_default
        if len(value) < min_length:
            raise ImproperlyConfiguredEnv(f"{name} must be at least {min_length} characters")
        return value
