"""Deleting an account instance: only after proving the guardrail may, once, and within the cap.

The decision already checked ownership on facts read fresh for the purpose; this module checks
once more against a DescribeInstance right before deleting, because an instance can change
between the two (deleted by its owner meanwhile). Anything short of proof leaves the instance
alone. The deletion is claimed per instance for the trigger that deletes it (`DeletionGuard`): a
trigger that finds it claimed by another leaves it to that one, so concurrent triggers make one
DeleteInstance; a retry of the holder carries on where its first attempt stopped. It is counted
against the hourly cap, once per instance, and the count is given back when AWS does not delete.

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
from guardrail.adapters.identity_center import InstanceReader
from guardrail.core.deletion import Attempt, RemediationResult
from guardrail.core.facts import Facts, InstanceStatus
from guardrail.deletion.guard import DeletionGuard

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
        deleter_clients: Callable[[str], AwsClients],
        guard: DeletionGuard,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`deleter_clients` act inside a member account through the role allowed to delete there."""
        self._clients = deleter_clients
        self._guard = guard
        self._sleep = sleep
        self._clock = clock

    def delete(self, facts: Facts, holder: str) -> RemediationResult:
        """Delete the subject's instance for `holder` (the trigger: an event's id, a firing)."""
        subject = facts.subject
        arn = subject.instance_arn
        if arn is None or facts.organization is None:
            return RemediationResult(Attempt.HELD_BACK, "no instance ARN or organization facts")
        try:
            reader = InstanceReader(
                self._clients(subject.account_id).client("sso-admin", subject.region), subject.region
            )
            current = reader.describe(arn)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return self.made_earlier(facts, holder) or RemediationResult(
                    Attempt.GONE, "the instance no longer exists"
                )
            return self._refused(error, arn, subject.account_id)
        except BotoCoreError as error:
            raise RetryRemediation(f"{type(error).__name__} while describing {arn}") from error
        if current.owner_account_id != subject.account_id:
            return RemediationResult(
                Attempt.HELD_BACK, f"the instance is now owned by {current.owner_account_id}"
            )
        if current.owner_account_id == facts.organization.management_account_id:
            return RemediationResult(Attempt.HELD_BACK, "the instance belongs to the management account")
        if current.status == InstanceStatus.DELETE_IN_PROGRESS:
            return self.made_earlier(facts, holder) or RemediationResult(
                Attempt.GONE, "the instance is now DELETE_IN_PROGRESS, not deleted by the guardrail"
            )
        if current.status != InstanceStatus.ACTIVE:
            return RemediationResult(Attempt.HELD_BACK, f"the instance is now {current.status}")
        if not self._guard.claim(arn, holder):
            return RemediationResult(
                Attempt.ELSEWHERE,
                f"its deletion is being carried out by {self._guard.holder(arn) or 'another trigger'}",
            )
        now = self._clock()
        if not self._guard.take(arn, now):
            self._guard.release(arn, holder)
            return RemediationResult(
                Attempt.CAPPED,
                f"the cap of {self._guard.max_per_hour} deletions an hour is reached; the guardrail keeps "
                "alerting and tries again in the next hour",
                cap_first=self._guard.first_over_cap(now),
            )
        try:
            self._delete(reader, arn)
        except OutcomeUnknown:
            raise  # claim and count stay: the retry tells a deletion made from one never made
        except ClientError as error:
            self._undo(arn, holder, now)
            return self._refused(error, arn, subject.account_id)
        except BaseException:
            self._undo(arn, holder, now)  # certainly not deleted (refused before it was sent, or retryable)
            raise
        return RemediationResult(
            Attempt.DELETED,
            f"DeleteInstance accepted for {arn} in {subject.region}; {self._follow(reader, arn)}",
        )

    def made_earlier(self, facts: Facts, holder: str | None = None) -> RemediationResult | None:
        """The deletion of the subject's instance, if the guardrail made it (a trigger holds its claim):
        a retry after a lost answer (`holder` itself), or a trigger that came second, must say
        deleted, not withheld."""
        arn = facts.subject.instance_arn
        made_by = self._guard.holder(arn) if arn is not None else None
        if made_by is None:
            return None
        where = "gone" if facts.instance is None else facts.instance.status
        by = "an earlier attempt" if made_by == holder else f"the guardrail, for {made_by}"
        return RemediationResult(Attempt.DELETED, f"deleted by {by}; the instance is {where}")

    def cap_unsaid(self, now: datetime) -> None:
        """The cap alert of `now`'s hour did not go out: the next withheld deletion says it."""
        self._guard.cap_unsaid(now)

    def _undo(self, arn: str, holder: str, now: datetime) -> None:
        """Nothing was deleted: give the count and the claim back."""
        self._guard.give_back(arn, now)
        self._guard.release(arn, holder)

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
        status = None
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
            return RemediationResult(Attempt.GONE, "the instance no longer exists")
        if code in RETRYABLE:
            raise RetryRemediation(f"{code} while deleting {arn}") from error
        message = error.response.get("Error", {}).get("Message", "")
        if code in ("AccessDenied", "AccessDeniedException"):
            return RemediationResult(
                Attempt.REFUSED,
                f"the deleter role in {account_id} may not delete the instance ({code}: {message}): the role "
                "was changed or removed there, so the guardrail cannot enforce in that account (a blind spot); "
                "check the member-roles StackSet's instance for it and remediation_enabled",
            )
        return RemediationResult(Attempt.REFUSED, f"{code}: {message}")
