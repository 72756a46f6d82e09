"""The gatherer's cache: what a fresh gathering reads, and what it leaves for the next one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from guardrail.gather import FreshReads, TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_refresh_loads_whatever_is_cached_and_caches_what_it_loaded() -> None:
    cache = TtlCache(300.0)
    assert cache.get("ou", lambda: "Workloads/Prod") == "Workloads/Prod"

    assert cache.refresh("ou", lambda: "Sandbox") == "Sandbox"
    assert cache.peek("ou") == (True, "Sandbox")
    assert cache.get("ou", lambda: pytest.fail("a fresh value is cached")) == "Sandbox"


def test_a_failed_refresh_leaves_the_cache_as_it_was() -> None:
    cache = TtlCache(300.0)
    cache.get("ou", lambda: "Workloads/Prod")

    def fail() -> str:
        raise RuntimeError("throttled")

    with pytest.raises(RuntimeError):
        cache.refresh("ou", fail)
    assert cache.peek("ou") == (True, "Workloads/Prod")


def test_a_refreshed_value_lives_as_long_as_any_other() -> None:
    clock = Clock()
    cache = TtlCache(300.0, clock)
    cache.refresh("ou", lambda: "Sandbox")
    clock.now = 299.0
    assert cache.peek("ou") == (True, "Sandbox")
    clock.now = 300.0
    assert cache.peek("ou") == (False, None)


def test_a_load_that_started_before_a_refresh_does_not_overwrite_it() -> None:
    cache = TtlCache(300.0)
    started, release = threading.Event(), threading.Event()

    def slow_stale_load() -> str:
        started.set()
        release.wait(5)
        return "Workloads/Prod"

    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(cache.get, "ou", slow_stale_load)
        assert started.wait(5)
        cache.refresh("ou", lambda: "Sandbox")
        release.set()
        assert slow.result(5) == "Workloads/Prod"  # its own callers get what it read...
    assert cache.peek("ou") == (True, "Sandbox")  # ...but the cache keeps the fresher value


def test_a_fresh_gathering_reads_each_key_once_and_never_from_the_cache() -> None:
    cache = TtlCache(300.0)
    cache.get("ou", lambda: "Workloads/Prod")
    reads = FreshReads(cache)
    loads: list[str] = []

    def load() -> str:
        loads.append("ou")
        return "Sandbox"

    assert reads.peek("ou") == (False, None)  # the cache's value is not the gathering's
    assert reads.get("ou", load) == "Sandbox"
    assert reads.get("ou", load) == "Sandbox"
    assert reads.peek("ou") == (True, "Sandbox")
    assert loads == ["ou"]
    assert cache.peek("ou") == (True, "Sandbox")
    # The next fresh gathering reads again.
    assert FreshReads(cache).get("ou", lambda: "Root") == "Root"
