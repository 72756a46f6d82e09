"""Deleting an account instance, only after proving the guardrail may, once, and within the cap.

The decision already checked ownership on facts read fresh for the purpose; this module checks
once more against a DescribeInstance right before deleting, because an instance can change
between the two (deleted by its owner meanwhile). Anything short of proof leaves the instance
alone. With a `guard`, the deletion is claimed per instance first (one deletion however often the
event or the schedule fires) and counted against the hourly cap across the organization.

After DeleteInstance the instance is followed until it is `DELETE_IN_PROGRESS` or gone, so that
the alert states the end state, not a hope. ConflictException and throttling are retried with
backoff within the time given, then left to the invocation's own retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from guardrail.adapters.budget import OutOfTime
from guardrail.adapters.clients import AwsClients
from guardrail.adapters.deletion_guard import DeletionGuard
from guardrail.adapters.identity_center import InstanceReader
from guardrail.core.facts import Facts, InstanceStatus
from guardrail.service import RemediationResult

# Errors worth a retry rather than a "failed" report.
RETRYABLE = {"ConflictException", "ThrottlingException", "InternalServerException"}
# Waits between attempts of DeleteInstance, and between looks at the instance after it.
BACKOFF = (1.0, 2.0, 4.0)
FOLLOW = (1.0, 2.0, 4.0, 8.0)


class RetryRemediation(RuntimeError):
    """Deletion hit a transient state past its own retries: fail the invocation so it is retried."""


class OutcomeUnknown(RetryRemediation):
    """DeleteInstance went out and no answer came back (a timeout, a broken connection): it may
    have deleted the instance. The retry reads the instance to find out."""


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _answer_was_lost(error: ClientError) -> bool:
    """A DeleteInstance refused as not found, or as being deleted, on botocore's retry: its first
    attempt may have reached AWS and deleted the instance, its answer lost (a read timeout)."""
    retried = int(error.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0) > 0
    return retried and _code(error) in ("ResourceNotFoundException", "ConflictException")


class InstanceRemediator:
    def __init__(
        self,
        member_clients: Callable[[str], AwsClients],
        *,
        guard: DeletionGuard | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._member_clients = member_clients
        self._guard = guard
        self._sleep = sleep
        self._clock = clock

    def delete(self, facts: Facts) -> RemediationResult:
        subject = facts.subject
        arn = subject.instance_arn
        if arn is None or facts.organization is None:
            return RemediationResult("skipped", "no instance ARN or organization facts")
        try:
            reader = InstanceReader(
                self._member_clients(subject.account_id).client("sso-admin", subject.region), subject.region
            )
            current = reader.describe(arn)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException" and self._deleted_before(arn):
                return RemediationResult("deleted", "deleted by an earlier attempt; the instance is gone")
            return self._refused(error, arn, subject.account_id)
        except BotoCoreError as error:
            raise RetryRemediation(f"{type(error).__name__} while describing {arn}") from error
        if current.owner_account_id != subject.account_id:
            return RemediationResult("skipped", f"the instance is now owned by {current.owner_account_id}")
        if current.owner_account_id == facts.organization.management_account_id:
            return RemediationResult("skipped", "the instance belongs to the management account")
        if current.status == InstanceStatus.DELETE_IN_PROGRESS and self._deleted_before(arn):
            return RemediationResult(
                "deleted", "deleted by an earlier attempt; the instance is DELETE_IN_PROGRESS"
            )
        if current.status != InstanceStatus.ACTIVE:
            return RemediationResult("skipped", f"the instance is now {current.status}")
        # Claimed already while the instance is still ACTIVE: an earlier attempt's DeleteInstance
        # failed or its outcome never came back (a timeout); deleting is what it set out to do, and
        # it was counted against the cap then.
        if self._guard is not None and self._guard.claim(arn):
            now = self._clock()
            if not self._guard.take(now):
                self._guard.release(arn)
                return RemediationResult(
                    "skipped",
                    f"the cap of {self._guard.max_per_hour} deletions an hour is reached; the guardrail keeps "
                    "alerting and deletes nothing more this hour",
                    cap_reached=True,
                    cap_first=self._guard.first_over_cap(now),
                )
        try:
            self._delete(reader, arn)
        except ClientError as error:
            if self._guard is not None:
                self._guard.release(arn)
            return self._refused(error, arn, subject.account_id)
        except OutcomeUnknown:
            raise  # the claim stays: the retry must tell a deletion made from one never made
        except BaseException:
            if self._guard is not None:
                self._guard.release(arn)
            raise
        return RemediationResult(
            "deleted", f"DeleteInstance accepted for {arn} in {subject.region}; {self._follow(reader, arn)}"
        )

    def made_earlier(self, facts: Facts) -> RemediationResult | None:
        """The deletion of the subject's instance, if an earlier attempt claimed (and so made) it."""
        arn = facts.subject.instance_arn
        if arn is None or not self._deleted_before(arn):
            return None
        where = "gone" if facts.instance is None else facts.instance.status
        return RemediationResult("deleted", f"deleted by an earlier attempt; the instance is {where}")

    def _deleted_before(self, arn: str) -> bool:
        """Whether an earlier attempt claimed (and so made) this deletion: a retry after a timeout
        following a successful DeleteInstance must say deleted, not skipped."""
        return self._guard is not None and self._guard.claimed(arn)

    def _delete(self, reader: InstanceReader, arn: str) -> None:
        for wait in (*BACKOFF, None):
            try:
                reader.delete(arn)
                return
            except ClientError as error:
                if _answer_was_lost(error) and self._gone_or_going(reader, arn):
                    return  # botocore's retry met what its first, unanswered attempt had done
                if _code(error) not in RETRYABLE:
                    raise
                if wait is None:
                    raise RetryRemediation(f"{_code(error)} while deleting {arn}") from error
                self._sleep(wait)
            except OutOfTime as error:  # refused before it was sent: certainly not deleted
                raise RetryRemediation(f"{error} while deleting {arn}") from error
            except BotoCoreError as error:
                raise OutcomeUnknown(f"{type(error).__name__} while deleting {arn}") from error

    @staticmethod
    def _gone_or_going(reader: InstanceReader, arn: str) -> bool:
        try:
            return reader.describe(arn).status == InstanceStatus.DELETE_IN_PROGRESS
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return True
            raise OutcomeUnknown(f"{_code(error)} while reading {arn} after DeleteInstance") from error
        except BotoCoreError as error:
            raise OutcomeUnknown(
                f"{type(error).__name__} while reading {arn} after DeleteInstance"
            ) from error

    def _follow(self, reader: InstanceReader, arn: str) -> str:
        """The end state after DeleteInstance: followed until DELETE_IN_PROGRESS or gone."""
        for wait in FOLLOW:
            try:
                status = reader.describe(arn).status
            except ClientError as error:
                if _code(error) == "ResourceNotFoundException":
                    return "the instance is gone"
                return f"its state could not be read ({_code(error)})"
            except BotoCoreError as error:  # the deletion was accepted: say so, whatever the reads do
                return f"its state could not be read ({error})"
            if status == InstanceStatus.DELETE_IN_PROGRESS:
                return "the instance is DELETE_IN_PROGRESS"
            self._sleep(wait)
        return f"the instance was still {status} when the guardrail stopped looking"

    @staticmethod
    def _refused(error: ClientError, arn: str, account_id: str) -> RemediationResult:
        code = _code(error)
        if code == "ResourceNotFoundException":
            return RemediationResult("skipped", "the instance no longer exists")
        if code in RETRYABLE:
            raise RetryRemediation(f"{code} while deleting {arn}") from error
        message = error.response.get("Error", {}).get("Message", "")
        if code in ("AccessDenied", "AccessDeniedException"):
            return RemediationResult(
                "failed",
                f"the member role in {account_id} may not delete the instance ({code}: {message}); it is "
                "missing, or was changed: check the member-roles StackSet there and remediation_enabled",
            )
        return RemediationResult("failed", f"{code}: {message}")
