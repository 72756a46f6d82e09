"""A tap on the wire between boto3 and the emulated AWS: it records, delays and breaks calls.

moto answers every request from botocore's ``before-send`` event, through a single stubber that
every client of every session registers (sessions created before the tap included, such as a warm
function's or one built from assumed-role credentials). ``AwsWire`` wraps that stubber, so one
object sees each HTTP attempt of the code under test and can:

* record it (service, operation, Region, calling account, thread, start and end time), which is
  how the benchmarks count calls and find the longest chain of calls made one after another;
* add latency, so that calls the code runs concurrently overlap in time as they would over a
  network (moto otherwise answers in about a millisecond, with the GIL held);
* answer in AWS's place with a fault (throttling, access denied, a service error) or raise a
  connect or read timeout. Faults happen at ``before-send``, below botocore's retry handler, so
  the clients' own retry configuration (adaptive mode, attempts, timeouts) is what gets tested;
* meter request rates as AWS does (``Throttle``): token buckets per quota, calling account and
  Region, a request finding its bucket empty answered with the service's throttling error.

A faulted attempt never reaches moto, so it has no side effect: a throttled SNS publish delivers
nothing, as in AWS.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self
from unittest import mock

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

__all__ = [
    "ACCESS_DENIED",
    "CONNECT_TIMEOUT",
    "READ_TIMEOUT",
    "THROTTLING",
    "UNAVAILABLE",
    "AwsError",
    "AwsWire",
    "Delay",
    "Fault",
    "Quota",
    "Throttle",
    "Timeout",
    "WireCall",
    "longest_chain",
]

_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/]+)/\d{8}/([^/]+)/")


@dataclass(frozen=True)
class AwsError:
    """An error response, in the wire format of the called service's protocol.

    ``code`` may name one error for every service or map service ids to their own codes (AWS
    spells throttling differently per service); ``"*"`` is the fallback.
    """

    code: str | dict[str, str]
    status: int
    message: str

    def code_for(self, service: str) -> str:
        if isinstance(self.code, str):
            return self.code
        return self.code.get(service, self.code["*"])


@dataclass(frozen=True)
class Timeout:
    """The request never gets an answer in time: botocore raises after its configured timeout.

    With ``delivered``, AWS received the request and acted on it, and only its answer was lost:
    what a read timeout is from the caller's side, and why a retried write must not assume the
    first attempt did nothing.
    """

    phase: str  # "connect" or "read"
    delivered: bool = False


THROTTLING = AwsError(
    {
        "*": "ThrottlingException",
        "organizations": "TooManyRequestsException",
        "sts": "Throttling",
        "sns": "Throttling",
        "dynamodb": "ProvisionedThroughputExceededException",
    },
    400,
    "Rate exceeded",
)
ACCESS_DENIED = AwsError(
    {"*": "AccessDeniedException", "sts": "AccessDenied", "sns": "AuthorizationError"},
    403,
    "User is not authorized to perform this action",
)
UNAVAILABLE = AwsError(
    {"*": "ServiceUnavailableException", "organizations": "ServiceException", "sts": "ServiceUnavailable"},
    503,
    "The service is unavailable. Try again later.",
)


@dataclass(frozen=True)
class Delay:
    """The call succeeds, but only after ``seconds``: a slow or hanging dependency."""

    seconds: float


READ_TIMEOUT = Timeout("read")
CONNECT_TIMEOUT = Timeout("connect")
LOST_ANSWER = Timeout("read", delivered=True)


@dataclass
class Fault:
    """Answer matching calls with ``error``: the next ``times`` of them, or all while installed.

    ``account`` matches the calling account; ``body_contains`` a text in the request (e.g. the
    role name in an AssumeRole request).
    """

    service: str = "*"
    operation: str = "*"
    error: AwsError | Timeout | Delay = THROTTLING
    times: int | None = None
    account: str | None = None
    body_contains: str | None = None
    hits: int = 0

    def matches(self, service: str, operation: str, account: str | None, body: str) -> bool:
        return (
            self.service in ("*", service)
            and self.operation in ("*", operation)
            and self.account in (None, account)
            and (self.body_contains is None or self.body_contains in body)
            and (self.times is None or self.hits < self.times)
        )


@dataclass(frozen=True)
class WireCall:
    """One HTTP attempt: ``fault`` names the injected error, or is None when moto answered.

    ``emulated_seconds`` is the time the attempt spent in the emulation (moto and this tap),
    injected latency excluded: the part of a measured duration that AWS would not cost.
    ``emulated_cpu_seconds`` is the CPU time moto spent answering it, which is what to subtract
    from a process's CPU time when calls run concurrently.
    """

    service: str
    operation: str
    region: str | None
    access_key_id: str | None
    thread: str
    started: float
    ended: float
    emulated_seconds: float
    emulated_cpu_seconds: float
    fault: str | None
    # True when the fault is the `Throttle`'s answer (the bucket was empty), not an injected one.
    throttled: bool = False

    @property
    def name(self) -> str:
        return f"{self.service}:{self.operation}"

    @property
    def account(self) -> str | None:
        """The calling account (looked up on demand: moto's lookup is not cheap)."""
        return _account_of(self.access_key_id) if self.access_key_id else None


@dataclass(frozen=True)
class Quota:
    """A request-rate quota as a token bucket: ``rate`` tokens a second, holding ``burst`` at most."""

    rate: float
    burst: float


class Throttle:
    """Token buckets keyed by (quota, calling account, Region), as AWS meters request rates.

    ``quotas`` maps a botocore service id (``sts``, ``sso-admin``), or ``service:Operation`` for
    an operation metered on its own (``account:ListRegions``; it wins over its service's), to its
    figures; calls of services not named are never throttled. Each bucket starts full. A request
    that finds its bucket empty takes no token and is refused: the wire answers it with the
    service's throttling error (`THROTTLING`), which botocore's retry handler (and the adaptive
    mode's client-side rate limiter) treats as AWS's. ``throttled`` counts refusals by quota.
    """

    def __init__(self, quotas: Mapping[str, Quota], *, clock: Callable[[], float] = time.monotonic) -> None:
        self.quotas = dict(quotas)
        self.throttled: Counter[str] = Counter()
        self._clock = clock
        self._buckets: dict[tuple[str, str | None, str | None], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def meters(self, service: str, operation: str) -> str | None:
        """The quota that meters this call, or None."""
        for name in (f"{service}:{operation}", service):
            if name in self.quotas:
                return name
        return None

    def admit(self, service: str, operation: str, account: str | None, region: str | None) -> bool:
        """Take a token from the call's bucket; False (and nothing taken) when it has none."""
        name = self.meters(service, operation)
        if name is None:
            return True
        quota = self.quotas[name]
        key = (name, account, region)
        with self._lock:
            now = self._clock()
            tokens, since = self._buckets.get(key, (quota.burst, now))
            tokens = min(quota.burst, tokens + (now - since) * quota.rate)
            admitted = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if admitted else tokens, now)
            if not admitted:
                self.throttled[name] += 1
        return admitted


def longest_chain(calls: list[WireCall]) -> list[WireCall]:
    """The most calls of which each starts after the previous one ended.

    Calls that overlap in time ran concurrently; a chain of calls that do not overlap is the
    least number of round trips the code waited for one after another. Earliest-end-first greedy
    selection finds the longest such chain.
    """
    chain: list[WireCall] = []
    for call in sorted(calls, key=lambda c: c.ended):
        if not chain or call.started >= chain[-1].ended:
            chain.append(call)
    return chain


def _account_of(access_key_id: str) -> str | None:
    try:
        from moto.iam.models import get_account_id_from  # moto maps access keys to accounts
    except ImportError:  # pragma: no cover - an older moto
        return None
    account: str | None = get_account_id_from(access_key_id)
    return account


class AwsWire:
    """Context manager: while installed, every attempt to reach the emulated AWS passes here.

    ``latency`` seconds are added to every attempt (before moto answers), ``fail`` adds a fault,
    ``throttle`` meters the attempts that no fault answers (a throttled one still pays the
    latency). Only one wire may be installed at a time.
    """

    _installed: ClassVar[AwsWire | None] = None

    def __init__(self, *, latency: float = 0.0, throttle: Throttle | None = None) -> None:
        self.latency = latency
        self.throttle = throttle
        self.calls: list[WireCall] = []
        # Access key -> account, as moto maps them (a key never changes account): the throttle
        # needs the calling account of every metered call, and moto's lookup scans every account.
        self._accounts: dict[str, str] = {}
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        # Calls made in `bystanding` (a test's own look at the world) pass no fault.
        self._bystander = threading.local()
        self._patch: Any = None

    # ------------------------------------------------------------------ install
    def __enter__(self) -> Self:
        if AwsWire._installed is not None:
            raise RuntimeError("another AwsWire is installed")
        wire = self
        original: Callable[..., AWSResponse | None] = BotocoreStubber.__call__

        def tapped(
            stubber: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kwargs: Any
        ) -> AWSResponse | None:
            return wire._attempt(
                lambda: original(stubber, event_name, request, **kwargs), event_name, request
            )

        self._patch = mock.patch.object(BotocoreStubber, "__call__", tapped)
        self._patch.start()
        AwsWire._installed = self
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._patch is not None:
            self._patch.stop()
            self._patch = None
        AwsWire._installed = None

    # ------------------------------------------------------------------ control
    def fail(
        self,
        service: str = "*",
        operation: str = "*",
        *,
        error: AwsError | Timeout | Delay = THROTTLING,
        times: int | None = None,
        account: str | None = None,
        body_contains: str | None = None,
    ) -> Fault:
        """Break matching calls (``service`` is botocore's id, e.g. ``sso-admin``)."""
        fault = Fault(service, operation, error, times, account, body_contains)
        with self._lock:
            self._faults.append(fault)
        return fault

    @contextmanager
    def bystanding(self) -> Iterator[None]:
        """While inside, this thread's calls are answered by moto whatever faults are set: a test
        acting as the owner or looking at the world is not the code under test."""
        self._bystander.active = True
        try:
            yield
        finally:
            self._bystander.active = False

    def heal(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> list[WireCall]:
        """Forget the recorded calls and return them."""
        with self._lock:
            calls, self.calls = self.calls, []
        return calls

    @contextmanager
    def recording(self) -> Iterator[list[WireCall]]:
        """The calls made inside the block (the list fills when the block ends)."""
        self.reset()
        recorded: list[WireCall] = []
        try:
            yield recorded
        finally:
            recorded.extend(self.reset())

    # ------------------------------------------------------------------ the tap
    def _attempt(
        self, forward: Callable[[], AWSResponse | None], event_name: str, request: AWSPreparedRequest
    ) -> AWSResponse | None:
        started, cpu_started = time.perf_counter(), time.thread_time()
        _, service, operation = [*event_name.split("."), "", ""][:3]
        scope = _CREDENTIAL_SCOPE.search(_header(request, "Authorization"))
        region = scope.group(2) if scope else None
        access_key_id = scope.group(1) if scope else None
        body = _body_text(request)
        with self._lock:
            faults = [] if getattr(self._bystander, "active", False) else list(self._faults)
        throttle = self.throttle
        metered = throttle is not None and throttle.meters(service, operation) is not None
        account = (
            self._calling_account(access_key_id)
            if access_key_id and (metered or any(f.account for f in faults))
            else None
        )
        with self._lock:
            fault = next((f for f in faults if f.matches(service, operation, account, body)), None)
            if fault is not None:
                fault.hits += 1
        throttled = (
            fault is None and throttle is not None and not throttle.admit(service, operation, account, region)
        )
        delay = self.latency + (fault.error.seconds if fault and isinstance(fault.error, Delay) else 0.0)
        if delay:
            time.sleep(delay)
        try:
            if throttled:
                return _throttling_response(request, service)
            if fault is None or isinstance(fault.error, Delay):
                return forward()
            if isinstance(fault.error, Timeout):
                if fault.error.delivered:
                    forward()  # AWS acts on it; the answer never reaches the caller
                error_class = ConnectTimeoutError if fault.error.phase == "connect" else ReadTimeoutError
                raise error_class(endpoint_url=request.url)
            return _error_response(request, service, fault.error)
        finally:
            ended, cpu_ended = time.perf_counter(), time.thread_time()
            fault_name = (
                THROTTLING.code_for(service)
                if throttled
                else (None if fault is None else _fault_name(fault.error, service))
            )
            call = WireCall(
                service=service,
                operation=operation,
                region=region,
                access_key_id=access_key_id,
                thread=threading.current_thread().name,
                started=started,
                ended=ended,
                emulated_seconds=max(0.0, ended - started - delay),
                emulated_cpu_seconds=cpu_ended - cpu_started,
                fault=fault_name,
                throttled=throttled,
            )
            with self._lock:
                self.calls.append(call)

    def _calling_account(self, access_key_id: str) -> str | None:
        account = self._accounts.get(access_key_id)
        if account is None:
            account = _account_of(access_key_id)
            if account is not None:
                self._accounts[access_key_id] = account
        return account


def _header(request: AWSPreparedRequest, name: str) -> str:
    value = request.headers.get(name, "")
    return value.decode() if isinstance(value, bytes) else str(value)


def _body_text(request: AWSPreparedRequest) -> str:
    body = request.body
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body if isinstance(body, str) else ""


def _fault_name(error: AwsError | Timeout | Delay, service: str) -> str:
    if isinstance(error, Delay):
        return f"delayed {error.seconds:g} s"
    return f"{error.phase}-timeout" if isinstance(error, Timeout) else error.code_for(service)


def _throttling_response(request: AWSPreparedRequest, service: str) -> AWSResponse:
    """The service's throttling error. A REST JSON service (e.g. Account Management) names the
    error in the ``x-amzn-ErrorType`` header, which is where botocore reads it from."""
    if _header(request, "X-Amz-Target") or "Action=" in _body_text(request):
        return _error_response(request, service, THROTTLING)
    code = THROTTLING.code_for(service)
    headers = {
        "Content-Type": "application/json",
        "x-amzn-ErrorType": code,
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    body = json.dumps({"message": THROTTLING.message})
    return AWSResponse(request.url, THROTTLING.status, headers, MockRawResponse(body))  # type: ignore[arg-type]


def _error_response(request: AWSPreparedRequest, service: str, error: AwsError) -> AWSResponse:
    """The error as the service would send it: JSON for JSON protocols, XML for query ones."""
    code, request_id = error.code_for(service), str(uuid.uuid4())
    if _header(request, "X-Amz-Target"):
        body = json.dumps({"__type": code, "message": error.message})
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id}
    else:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{code}</Code><Message>{error.message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}
    return AWSResponse(request.url, error.status, headers, MockRawResponse(body))  # type: ignore[arg-type]
