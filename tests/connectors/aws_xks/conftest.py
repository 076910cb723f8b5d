"""Fixtures of the XKS tests; helpers live in ``xkskit`` (this folder is put on sys.path here)."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from xkskit import MakeStore, Store, Xks, new_store

from connectors.aws_xks import health
from testkit import World


@pytest.fixture(autouse=True)
def _xks_urls(settings: Any) -> Iterator[None]:
    """The XKS URLs at the site root (where they are mounted), and no health results from other tests."""
    settings.ROOT_URLCONF = "connectors.aws_xks.urls"
    health.forget()
    yield
    health.forget()


@pytest.fixture
def xks() -> Xks:
    return Xks()


@pytest.fixture
def make_store(world: World, django_capture_on_commit_callbacks: Any) -> MakeStore:
    """``make_store("a", custody="pkcs11", rules=[...])``: a key store in tenant A or B."""
    counter = itertools.count()
    return lambda *args, **kwargs: new_store(
        world, django_capture_on_commit_callbacks, next(counter), *args, **kwargs
    )


@pytest.fixture
def store_a(make_store: MakeStore) -> Store:
    return make_store("a")


@pytest.fixture
def store_b(make_store: MakeStore) -> Store:
    return make_store("b")
