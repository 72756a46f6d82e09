"""boto3 clients with explicit timeouts and retries, and role assumption.

Every AWS call of the guardrail goes through clients made here, so timeouts, retries and the
credentials they use are decided in one place and tests can hand in their own session.

A botocore client is bound to one Region, and making one costs a few milliseconds of CPU (the
event handlers copied, the client class built, the configuration resolved), more than the call
it makes. A sweep reads 25 accounts a batch in every Region they enabled: one client per account,
service and Region would be 34 clients per account. So the clients of assumed roles are made
once per service and Region and shared by every role of the process; each call through an
account's `AwsClients` signs with that account's credentials, bound to the call itself
(`_BoundClient`) and read by botocore's signer in the calling thread. A shared client called
without a binding has no credentials at all: it never falls back to the function's own, nor to
another account's. The shared clients' session uses the function's loader (service models parsed
once per process) and its event handlers (call counters and budgets see every call); they retry
without the state botocore keeps per client (`SHARED_CLIENT_CONFIG`). A role's client is the
shared client seen through the role: its `meta` (and so a handler registered on it) is every role's.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, CredentialResolver, Credentials, ReadOnlyCredentials
from botocore.exceptions import NoCredentialsError

# An attempt takes at most 7 s (the invocation's budget counts on it: `budget`); a call that needs
# longer is retried by botocore, or left to the invocation's retry.
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = 5
CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"max_attempts": 5, "mode": "adaptive"},
    user_agent_extra="identity-center-guardrail",
)
# The shared clients of assumed roles retry with no state kept between calls. botocore's standard
# and adaptive modes keep a retry quota and a client-side rate limiter per client, while AWS
# throttles per account: shared by every account, one account's throttling would use up the
# others' retries and slow their calls. Each call retries its own throttling, with backoff.
SHARED_CLIENT_CONFIG = CLIENT_CONFIG.merge(Config(retries={"max_attempts": 5, "mode": "legacy"}))
# Paginators and waiters call the client later, outside the binding: `pages` pages instead.
_UNBOUND_HELPERS = frozenset({"get_paginator", "get_waiter"})

# The credentials of the call in progress, and the thread making it, set by `_BoundClient`. The
# thread is held too: a context copied during a call (an executor's, a task's) never signs.
_BOUND: contextvars.ContextVar[tuple[int, ReadOnlyCredentials] | None] = contextvars.ContextVar(
    "guardrail_bound_credentials", default=None
)


class _BoundCredentials(Credentials):
    """The credentials of whichever role the current call is bound to; none outside a call."""

    method = "guardrail-bound-role"

    def __init__(self) -> None:  # no static values: each signing reads the binding
        pass

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        bound = _BOUND.get()
        if bound is None or bound[0] != threading.get_ident():
            raise NoCredentialsError()
        return bound[1]

    @property
    def access_key(self) -> str:  # type: ignore[override]
        return str(self.get_frozen_credentials().access_key)

    @property
    def secret_key(self) -> str:  # type: ignore[override]
        return str(self.get_frozen_credentials().secret_key)

    @property
    def token(self) -> str | None:  # type: ignore[override]
        token = self.get_frozen_credentials().token
        return None if token is None else str(token)

    @property
    def account_id(self) -> str | None:
        return getattr(self.get_frozen_credentials(), "account_id", None)


class _BoundProvider(CredentialProvider):
    METHOD = _BoundCredentials.method

    def load(self) -> Credentials:
        return _BoundCredentials()


class SharedClients:
    """One client per service and Region for every assumed role of a process: made from a
    session that shares the function's loader and event handlers, whose only credentials are the
    binding of the call in progress."""

    def __init__(self, session: boto3.session.Session, lock: threading.Lock) -> None:
        root = session._session  # boto3 exposes its botocore session no other way
        core = botocore.session.Session(event_hooks=session.events, include_builtin_handlers=False)
        core.register_component("data_loader", root.get_component("data_loader"))
        core.register_component("credential_provider", CredentialResolver([_BoundProvider()]))
        core.user_agent_name, core.user_agent_version = root.user_agent_name, root.user_agent_version
        self._core = core
        self._lock = lock
        self._clients: dict[tuple[str, str | None], Any] = {}

    @property
    def created(self) -> int:
        """How many clients were made (each service and Region once)."""
        return len(self._clients)

    def client(self, service: str, region: str | None) -> Any:
        key = (service, region)
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._clients[key] = self._core.create_client(
                        service, region_name=region, config=SHARED_CLIENT_CONFIG
                    )
        return client


class _BoundClient:
    """A shared client seen through one role: each of its operations signs with that role's
    credentials. Attributes that are not operations (`meta`, `exceptions`) are the client's."""

    __slots__ = ("_client", "_credentials", "_operations")

    def __init__(self, client: Any, credentials: ReadOnlyCredentials) -> None:
        self._client = client
        self._credentials = credentials
        self._operations: dict[str, str] = client.meta.method_to_api_mapping

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # the slots, before they are set (copy), and private parts
            raise AttributeError(name)
        if name in _UNBOUND_HELPERS:
            raise AttributeError(f"{name} would call the client outside its role's credentials: use pages()")
        attribute = getattr(self._client, name)
        if name not in self._operations:
            return attribute
        credentials = self._credentials

        def call(*args: Any, **kwargs: Any) -> Any:
            token = _BOUND.set((threading.get_ident(), credentials))
            try:
                return attribute(*args, **kwargs)
            finally:
                _BOUND.reset(token)

        call.__name__ = name
        return call


class AwsClients:
    """Clients for one set of credentials: the session's, or an assumed role's (`assume`)."""

    def __init__(
        self,
        session: boto3.session.Session | None = None,
        *,
        credentials: dict[str, str] | None = None,
        _lock: threading.Lock | None = None,
        _shared: SharedClients | None = None,
    ) -> None:
        self._session = session or boto3.session.Session()
        # boto3 sessions are not thread-safe when creating clients: one lock per session.
        self._lock = _lock or threading.Lock()
        self._shared = _shared
        self._role: ReadOnlyCredentials | None = None
        if credentials:
            self._shared = _shared or SharedClients(self._session, self._lock)
            self._role = ReadOnlyCredentials(
                credentials["aws_access_key_id"],
                credentials["aws_secret_access_key"],
                credentials.get("aws_session_token"),
            )
        self._clients: dict[tuple[str, str | None], Any] = {}

    @property
    def session(self) -> boto3.session.Session:
        """The session the function's own clients are made from (and whose event handlers see the
        calls of every role assumed from it)."""
        return self._session

    @property
    def shared(self) -> SharedClients:
        """The clients every role assumed from this session shares (made on first use)."""
        if self._shared is None:
            with self._lock:
                if self._shared is None:
                    self._shared = SharedClients(self._session, self._lock)
        return self._shared

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region)
        client = self._clients.get(key)  # no lock to find one: threads only wait to create one
        if client is not None:
            return client
        if self._role is not None:
            # The Region the role's session would have had: the function's own.
            region = region or self._session.region_name
            client = _BoundClient(self.shared.client(service, region), self._role)
            return self._clients.setdefault(key, client)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._session.client(  # type: ignore[call-overload]
                    service, region_name=region, config=CLIENT_CONFIG
                )
        return client

    def assume(self, role_arn: str, session_name: str) -> AwsClients:
        """Clients acting as `role_arn`; the caller decides how long to keep them."""
        response = self.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=3600
        )
        credentials = response["Credentials"]
        return AwsClients(
            self._session,
            credentials={
                "aws_access_key_id": credentials["AccessKeyId"],
                "aws_secret_access_key": credentials["SecretAccessKey"],
                "aws_session_token": credentials["SessionToken"],
            },
            _lock=self._lock,
            _shared=self.shared,
        )


def pages(call: Callable[..., Any], **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a call paged with ``NextToken``.

    botocore's paginators load their models on first use, scanning the data directory of every
    service; on a cold function, threads that all do it at once cost more than the calls.
    """
    token: str | None = None
    while True:
        page: dict[str, Any] = call(**params, **({"NextToken": token} if token else {}))
        yield page
        next_token = page.get("NextToken")
        if not next_token:
            return
        if next_token == token:
            raise RuntimeError(f"{getattr(call, '__name__', 'call')} returned the same NextToken twice")
        token = next_token


class CallCounter:
    """Counts the AWS calls made through a boto3 session (each attempt of each client call)."""

    def __init__(self, session: boto3.session.Session) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        session.events.register("before-call", self._count)

    def _count(self, **_: Any) -> None:
        with self._lock:
            self.calls += 1
