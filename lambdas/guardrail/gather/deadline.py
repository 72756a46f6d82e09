"""A read not in by the deadline is missing, with the reason: the alert still goes out in time."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Protocol, TypeVar

from botocore.exceptions import ClientError

T = TypeVar("T")


class Submit(Protocol):
    """Runs one AWS read on a pool of calls, returning its future."""

    def __call__(self, work: Callable[[], T]) -> Future[T]: ...


class Missing(Exception):
    """A read that failed or was not in by the deadline, carried out of a branch of the gathering:
    why, and the AWS error code when AWS answered with one. Whoever reads it for a fact records
    that fact missing (`guardrail.gather.assembly.Found.read`)."""

    def __init__(self, reason: str, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


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

    def result(self, future: Future[T]) -> T:
        """The future's value, or `Missing` when it failed or is not in by the deadline."""
        try:
            return future.result(timeout=self.remaining())
        except FutureTimeout:
            raise Missing(f"not gathered within {self._seconds:g} s") from None
        except Missing:
            raise
        except Exception as error:  # any failure of a read is a missing fact, not a crash
            raise Missing(reason(error), error_code(error)) from error
