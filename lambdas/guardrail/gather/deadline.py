"""A fact not in by the deadline is missing, with the reason: the alert still goes out in time."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Protocol, TypeVar

from botocore.exceptions import ClientError

from guardrail.core.facts import MissingFact

T = TypeVar("T")


class Submit(Protocol):
    """Runs one AWS read on a pool of calls, returning its future."""

    def __call__(self, work: Callable[[], T]) -> Future[T]: ...


class Missing(Exception):
    """Carries a missing fact out of a branch of the gathering."""

    def __init__(self, fact: str, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.fact = MissingFact(fact=fact, reason=reason, code=code)


def reason(error: BaseException) -> str:
    """What went wrong, as a person reads it: the AWS error code and message, or the exception."""
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        return f"{err.get('Code', 'ClientError')}: {err.get('Message', '')}".strip()
    return f"{type(error).__name__}: {error}"


def error_code(error: BaseException) -> str | None:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code")
    return None


class Deadline:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._end - self._clock())

    def result(self, fact: str, future: Future[T]) -> T:
        """The future's value, or `Missing` for `fact` when it failed or is not in by the deadline."""
        try:
            return future.result(timeout=self.remaining())
        except FutureTimeout:
            raise Missing(fact, f"not gathered within {self._seconds:g} s") from None
        except Missing as gap:
            raise Missing(fact, gap.fact.reason, gap.fact.code) from None
        except Exception as error:  # any failure of a read is a missing fact, not a crash
            raise Missing(fact, reason(error), error_code(error)) from error
