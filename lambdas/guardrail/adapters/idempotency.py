"""One alert per CloudTrail event, however often EventBridge delivers it.

EventBridge may fire a rule more than once for one event, and the guardrail's own retries
replay events: the CloudTrail event id is claimed in DynamoDB (Powertools idempotency) before
the alert goes out. A failed publish releases the claim, so the retry publishes; a completed
one makes every later delivery return the stored result without publishing again.

When DynamoDB fails *after* the alert went out, the invocation is not failed: a retry would find
the claim expired and publish a second alert. The summary says ``recorded: False`` instead, for
the handler to log and count.

A copy that arrives while another invocation holds the claim is a duplicate being handled, not a
failure: it returns as a duplicate (``in_progress: True``). Should the holder fail, its claim is
released and its own retry (or, after them, the dead-letter queue) has the event: nothing is lost
by not failing the copy, and the errors alarm hears only of real failures.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from guardrail.adapters.clients import CLIENT_CONFIG
from guardrail.core.alert import Alert
from guardrail.core.facts import ApiCall

# Long enough to cover EventBridge's 24 h of retries and the function's own.
CLAIM_SECONDS = 48 * 3600


class OncePerEvent:
    """Wraps `handle(call) -> Alert` so that it runs at most once per event id."""

    def __init__(
        self,
        handle: Callable[[ApiCall], Alert | None],
        table_name: str,
        session: boto3.session.Session | None = None,
        *,
        client: Any = None,
    ) -> None:
        self._handle = handle
        self._local = threading.local()
        self.config = IdempotencyConfig(
            event_key_jmespath="event_id",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=CLAIM_SECONDS,
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=table_name, boto3_session=session, boto_config=CLIENT_CONFIG, boto3_client=client
        )
        self._run = idempotent_function(
            data_keyword_argument="claim",
            persistence_store=persistence,
            config=self.config,
            key_prefix="instance-api-call",
        )(self._summarize)

    def _summarize(self, claim: dict[str, str], call: ApiCall) -> dict[str, Any]:
        """`claim` is what the key is taken from: Powertools reads dicts, dataclasses and pydantic."""
        self._local.ran = True
        alert = self._handle(call)
        if alert is None:  # judged and recorded, but no news to publish (a tag change)
            summary: dict[str, Any] = {
                "event_id": call.event_id,
                "verdict": None,
                "subject": None,
                "published": False,
            }
        else:
            summary = {"event_id": call.event_id, "verdict": alert.body["verdict"], "subject": alert.subject}
        self._local.published = summary
        return summary

    def register(self, context: LambdaContext | None) -> None:
        if context is not None:
            self.config.register_lambda_context(context)

    def __call__(self, call: ApiCall) -> tuple[dict[str, Any], bool]:
        """The summary of the alert, and whether this delivery was a duplicate.

        Raises when nothing was published (the claim failed, or the alert did), so that the
        invocation is retried.
        """
        self._local.ran = False
        self._local.published = None
        try:
            summary: dict[str, Any] = self._run(claim={"event_id": call.event_id}, call=call)
        except IdempotencyAlreadyInProgressError:
            return {"event_id": call.event_id, "in_progress": True}, True
        except IdempotencyPersistenceLayerError:
            published: dict[str, Any] | None = self._local.published
            if published is None:
                raise
            return {**published, "recorded": False}, False
        return summary, not self._local.ran
