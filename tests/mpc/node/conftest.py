"""A real 2-of-3 MPC cluster per test module: node processes on free loopback ports.

Before every test the ``healthy`` fixture restarts any node that a previous test
killed or started with a fault flag, so tests do not depend on each other's order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mpc.coordinator import Coordinator
from tests.mpc.node.harness import Harness, running_cluster


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with running_cluster(tmp_path_factory, "mpc-cluster") as harness:
        yield harness


@pytest.fixture(autouse=True)
def healthy(harness: Harness) -> Harness:
    harness.ensure_healthy()
    harness.reports.clear()
    return harness


@pytest.fixture
def coordinator(harness: Harness) -> Coordinator:
    return harness.coordinator()
