"""The node's short-lived cache of unsealed shares never outlives the key's state in the store.

The state (enabled, held, destroyed, epoch) is read from the store on every request,
including writes the operator's CLI makes from another process; only the unsealed,
parsed share is reused.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mpc.coordinator import Coordinator
from mpc.crypto import tprf
from mpc.crypto.group import RISTRETTO255
from mpc.node.config import load_config
from mpc.node.context import MaterialCache, NodeContext
from mpc.node.errors import KeyDestroyed, KeyDisabled, KeyHeld
from mpc.node.server import build_context
from mpc.wire import b64e
from tests.mpc.node.harness import Harness


def _x(key_id: str) -> str:
    return b64e(tprf.make_input("", key_id, 1, b"\x03" * 12))


def test_cache_entries_match_key_epoch_and_kind_and_expire() -> None:
    cache = MaterialCache(ttl=0.2, limit=3)
    cache.put("a", 0, "scalar", "share-a0")
    assert cache.get("a", 0, "scalar") == "share-a0"
    assert cache.get("a", 0, "rsa") is None  # another kind: a miss, and the entry is gone
    assert cache.get("a", 0, "scalar") is None
    cache.put("a", 1, "scalar", "share-a1")
    assert cache.get("a", 0, "scalar") is None  # an older epoch never matches a newer entry
    cache.put("b", 0, "scalar", "b")
    cache.drop("b")
    assert cache.get("b", 0, "scalar") is None
    cache.put("c", 0, "scalar", "c")
    time.sleep(0.25)
    assert cache.get("c", 0, "scalar") is None
    for key in "defg":  # the limit holds
        cache.put(key, 0, "scalar", key)
    assert len(cache) <= 3
    assert cache.get("g", 0, "scalar") == "g"


@pytest.fixture
def node1(harness: Harness) -> Iterator[NodeContext]:
    """Node 1's context built in this process from its own config, store and master key."""
    ctx = build_context(load_config(harness.cluster.node_dir(1) / "node.json"))
    try:
        yield ctx
    finally:
        ctx.store.close()


def test_a_node_reuses_its_unsealed_share_until_the_key_is_disabled(
    node1: NodeContext, coordinator: Coordinator
) -> None:
    coordinator.generate_scalar_key("cache-disable", "ristretto255")
    _, first = node1.scalar_share("cache-disable", RISTRETTO255)
    _, second = node1.scalar_share("cache-disable", RISTRETTO255)
    assert second is first and len(node1.materials) == 1
    node1.store.set_state("cache-disable", False)
    with pytest.raises(KeyDisabled):
        node1.scalar_share("cache-disable", RISTRETTO255)
    assert len(node1.materials) == 0  # a refusal drops what was cached
    node1.store.set_state("cache-disable", True)
    _, third = node1.scalar_share("cache-disable", RISTRETTO255)
    assert third is not first and third.secret == first.secret
    node1.store.set_hold("cache-disable", True)
    with pytest.raises(KeyHeld):
        node1.scalar_share("cache-disable", RISTRETTO255)
    node1.store.set_hold("cache-disable", False)
    node1.store.destroy("cache-disable")
    with pytest.raises(KeyDestroyed):
        node1.scalar_share("cache-disable", RISTRETTO255)


def test_an_operator_hold_or_destroy_from_another_process_stops_a_warm_node_at_once(
    harness: Harness, coordinator: Coordinator
) -> None:
    coordinator.generate_scalar_key("cache-operator", "ristretto255")
    path, body = "/keys/cache-operator/tprf/evaluate", {"inputs": [_x("cache-operator")]}
    warm = harness.raw(1, path, body)
    assert warm.status == 200  # node 1 now holds the unsealed share in memory
    with harness.store(1) as store:  # what `python -m mpc.node keys disable` does
        store.set_hold("cache-operator", True)
    refused = harness.raw(1, path, body)
    assert (refused.status, refused.body["error"]["code"]) == (403, "key_held")
    with harness.store(1) as store:
        store.set_hold("cache-operator", False)
    again = harness.raw(1, path, body)
    assert again.status == 200 and again.body["elements"] == warm.body["elements"]
    with harness.store(1) as store:  # `keys destroy`
        store.destroy("cache-operator")
    gone = harness.raw(1, path, body)
    assert (gone.status, gone.body["error"]["code"]) == (410, "key_destroyed")


def test_after_a_refresh_a_warm_node_answers_from_the_new_epoch(
    harness: Harness, coordinator: Coordinator
) -> None:
    coordinator.generate_scalar_key("cache-refresh", "ristretto255")
    path, body = "/keys/cache-refresh/tprf/evaluate", {"inputs": [_x("cache-refresh")]}
    before = harness.raw(2, path, body)
    assert before.status == 200 and before.body["epoch"] == 0
    report = coordinator.refresh("cache-refresh")
    assert report.complete
    after = harness.raw(2, path, body)
    assert after.status == 200 and after.body["epoch"] == report.epoch == 1
    assert after.body["elements"] != before.body["elements"]  # a new share, not the cached old one
