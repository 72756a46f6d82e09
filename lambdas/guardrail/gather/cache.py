"""Caches that outlive one invocation: Organizations data and role sessions change rarely."""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class TtlCache:
    """A small thread-safe cache.

    Concurrent requests for a missing key share one load (and its failure, which is not cached),
    so a burst of events for a new account assumes its role once. `refresh` loads a key whatever
    the cache holds. A value is stored only if its load started after that of the value it would
    replace, so a slow load never overwrites a fresher one.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._items: dict[Any, tuple[float, int, Any]] = {}  # key -> (expiry, load ticket, value)
        self._loading: dict[Any, Future[Any]] = {}
        self._tickets = itertools.count()
        self._lock = threading.Lock()

    def peek(self, key: Any) -> tuple[bool, Any]:
        """Whether a fresh value is cached, and the value."""
        with self._lock:
            hit = self._items.get(key)
        return (True, hit[2]) if hit is not None and hit[0] > self._clock() else (False, None)

    def _store(self, key: Any, ticket: int, value: Any) -> None:
        """Under the lock."""
        current = self._items.get(key)
        if current is None or current[1] < ticket:
            self._items[key] = (self._clock() + self._seconds, ticket, value)

    def get(self, key: Any, load: Callable[[], T]) -> T:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] > self._clock():
                cached: T = hit[2]  # the value `load` gave for this key
                return cached
            pending = self._loading.get(key)
            owner = pending is None
            if pending is None:
                pending = self._loading[key] = Future()
            ticket = next(self._tickets)
        if not owner:
            shared: T = pending.result()  # what the owner's `load` gave
            return shared
        try:
            value = load()  # outside the lock: loads are network calls
        except BaseException as error:
            with self._lock:
                del self._loading[key]
            pending.set_exception(error)
            raise
        with self._lock:
            self._store(key, ticket, value)
            del self._loading[key]
        pending.set_result(value)
        return value

    def refresh(self, key: Any, load: Callable[[], T]) -> T:
        """Load the key now, whatever is cached or being loaded, and cache what was loaded."""
        with self._lock:
            ticket = next(self._tickets)
        value = load()  # a failure leaves the cache as it was
        with self._lock:
            self._store(key, ticket, value)
        return value


class Reads(Protocol):
    """Where one gathering takes the facts worth caching from: `TtlCache` or `FreshReads`."""

    def peek(self, key: Any) -> tuple[bool, Any]: ...

    def get(self, key: Any, load: Callable[[], T]) -> T: ...


class FreshReads:
    """The reads of one fresh gathering: each key is read from AWS once, after the gathering
    started, whatever the cache holds; what is read refreshes the cache for later gatherings."""

    def __init__(self, cache: TtlCache) -> None:
        self._cache = cache
        self._read = TtlCache(math.inf)  # what this gathering has read (or is reading), by key

    def peek(self, key: Any) -> tuple[bool, Any]:
        return self._read.peek(key)

    def get(self, key: Any, load: Callable[[], T]) -> T:
        return self._read.get(key, lambda: self._cache.refresh(key, load))
