"""boto3 clients with explicit timeouts and adaptive retries, and role assumption.

Every AWS call of the guardrail goes through clients made here, so timeouts, retries and the
credentials they use are decided in one place and tests can hand in their own session.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

CLIENT_CONFIG = Config(
    connect_timeout=3,
    read_timeout=10,
    retries={"max_attempts": 5, "mode": "adaptive"},
    user_agent_extra="identity-center-guardrail",
)


class AwsClients:
    """Creates and caches clients for one set of credentials."""

    def __init__(self, session: boto3.session.Session | None = None) -> None:
        self._session = session or boto3.session.Session()
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    @property
    def session(self) -> boto3.session.Session:
        return self._session

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region)
        with self._lock:  # boto3 sessions are not thread-safe when creating clients
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service, region_name=region, config=CLIENT_CONFIG  # type: ignore[call-overload]
                )
            return self._clients[key]

    def assume(self, role_arn: str, session_name: str) -> AwsClients:
        """Clients acting as `role_arn`; the caller decides how long to keep them."""
        response = self.client("sts").assume_role(
            RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=3600
        )
        credentials = response["Credentials"]
        return AwsClients(
            boto3.session.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=self._session.region_name,
            )
        )
