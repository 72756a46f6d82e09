"""boto3 clients with explicit timeouts and adaptive retries, and role assumption.

Every AWS call of the guardrail goes through clients made here, so timeouts, retries and the
credentials they use are decided in one place and tests can hand in their own session.

Clients for assumed roles are made from the same boto3 session, with the role's credentials:
a new session per role would load and parse the service models again, which costs more CPU
than the calls themselves on a cold or busy function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.config import Config

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


class AwsClients:
    """Creates and caches clients for one set of credentials: the session's, or an assumed role's."""

    def __init__(
        self,
        session: boto3.session.Session | None = None,
        *,
        credentials: dict[str, str] | None = None,
        _lock: threading.Lock | None = None,
    ) -> None:
        self._session = session or boto3.session.Session()
        self._credentials = dict(credentials or {})
        self._clients: dict[tuple[str, str | None], Any] = {}
        # boto3 sessions are not thread-safe when creating clients: one lock per session.
        self._lock = _lock or threading.Lock()

    @property
    def session(self) -> boto3.session.Session:
        """The session clients are made from (with the role's credentials, for assumed clients)."""
        return self._session

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region)
        client = self._clients.get(key)  # no lock to find one: threads only wait to create one
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._clients[key] = self._session.client(  # type: ignore[call-overload]
                        service, region_name=region, config=CLIENT_CONFIG, **self._credentials
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
