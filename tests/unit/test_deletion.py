"""The pending deletion's lifecycle, as a pure model: every transition and every due time."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import msgspec
import pytest

from guardrail.core.decision import Action, Decision, Demand, Finding, Verdict
from guardrail.core.deletion import (
    CAPPED,
    OVERDUE,
    POSTPONEMENTS_BEFORE_ALERT,
    Attempt,
    Effect,
    PendingDeletion,
    RemediationResult,
    State,
    Step,
    attempted,
    firing_refused,
    settle,
)
from guardrail.core.facts import Fact, Facts, GraceEnded, MissingFact, Observation, Operation, Outcome
from guardrail.core.policy import Severity
from tests.builders import INSTANCE_ARN, NOW, PROD, call, facts, instance

H = timedelta(hours=1)
A, B = "account-not-approved", "missing-justification"


def on_call(
    operation: Operation = Operation.CREATE, outcome: Outcome = Outcome.SUCCEEDED, **more: object
) -> Facts:
    return facts(
        call=call(account_id=PROD, operation=operation, outcome=outcome),
        instance=instance(owner_account_id=PROD),
        **more,
    )


def on_sweep() -> Facts:
    return msgspec.structs.replace(on_call(), trigger=Observation(run_id="run-1", observed_at=NOW))


def on_firing(deadline: datetime = NOW) -> Facts:
    return msgspec.structs.replace(on_call(), trigger=GraceEnded(scheduled_at=NOW, deadline=deadline))


def asking(*demands: tuple[str, int], action: Action = Action.SCHEDULE_DELETE) -> Decision:
    findings = tuple(Finding(rule, Severity.HIGH, "reason", {"k": 1}) for rule, _ in demands)
    return Decision(
        Verdict.VIOLATION,
        Severity.HIGH,
        findings,
        (),
        (),
        action,
        "asks",
        demands=tuple(Demand(rule, hours) for rule, hours in demands),
    )


IN_POLICY = Decision(Verdict.COMPLIANT, Severity.INFO, (), (), (), Action.NONE, "nothing to act on")


def pending(due: datetime, **demands: datetime) -> PendingDeletion:
    return PendingDeletion(
        instance_arn=INSTANCE_ARN,
        account_id=PROD,
        region="eu-west-1",
        due=due,
        demands={rule.replace("_", "-"): at for rule, at in demands.items()},
        scheduled_at=NOW - 10 * H,
    )


def must(step: Step | None) -> Step:
    assert step is not None
    return step


# -- scheduling and its due time ------------------------------------------------------------------


def test_a_new_deletion_is_due_at_the_latest_deadline_of_the_rules_asking_for_it() -> None:
    step = must(settle(None, on_call(), asking((A, 2), (B, 48)), NOW))
    assert (step.state, step.effect) == (State.SCHEDULED, Effect.PUT)
    assert step.due == NOW + 48 * H
    assert step.pending is not None
    assert step.pending.demands == {A: NOW + 2 * H, B: NOW + 48 * H}


def test_the_hours_of_a_grace_period_are_all_counted_in_whole_seconds_never_early() -> None:
    later = NOW + timedelta(microseconds=250_000)
    step = must(settle(None, on_call(), asking((A, 7)), later))
    assert step.due == NOW + 7 * H + timedelta(seconds=1)


def test_a_reading_that_finds_the_same_rules_keeps_their_deadlines() -> None:
    kept = pending(NOW + 48 * H, account_not_approved=NOW + 2 * H, missing_justification=NOW + 48 * H)
    step = must(settle(kept, on_call(Operation.TAG), asking((A, 2), (B, 48)), NOW + 5 * H))
    assert (step.state, step.effect, step.news) == (State.PENDING, Effect.NONE, False)
    assert step.pending == kept  # the owner's clock does not restart


def test_a_rule_fixed_during_the_grace_moves_the_deletion_to_the_deadline_of_the_others() -> None:
    kept = pending(NOW + 48 * H, account_not_approved=NOW + 2 * H, missing_justification=NOW + 48 * H)
    step = must(settle(kept, on_call(Operation.TAG), asking((A, 2)), NOW + H))
    assert (step.state, step.effect) == (State.MOVED, Effect.PUT)
    assert step.due == NOW + 2 * H


def test_a_rule_broken_during_the_grace_moves_the_deletion_later_never_earlier() -> None:
    kept = pending(NOW + 2 * H, account_not_approved=NOW + 2 * H)
    step = must(settle(kept, on_call(Operation.UNTAG), asking((A, 2), (B, 72)), NOW + H))
    assert step.state is State.MOVED
    assert step.due == NOW + H + 72 * H
    assert step.pending is not None
    assert step.pending.demands[A] == NOW + 2 * H


# -- at the deadline --------------------------------------------------------------------------------


def test_at_its_deadline_a_deletion_whose_every_rule_has_run_out_is_due() -> None:
    kept = pending(NOW, account_not_approved=NOW - H, missing_justification=NOW)
    step = must(settle(kept, on_firing(), asking((A, 2), (B, 5), action=Action.DELETE), NOW))
    assert (step.state, step.effect) == (State.DUE, Effect.NONE)


def test_at_a_firing_a_rule_still_in_its_grace_moves_the_deletion_rather_than_letting_another_delete() -> (
    None
):
    # Scheduled for A (2 h); meanwhile B (a week) broke, unseen by any reading: the firing finds it.
    kept = pending(NOW, account_not_approved=NOW)
    step = must(settle(kept, on_firing(), asking((A, 2), (B, 168), action=Action.DELETE), NOW))
    assert step.state is State.MOVED
    assert step.due == NOW + 168 * H
    assert B in step.reason


def test_an_event_after_the_deadline_finds_the_deletion_due_and_a_sweep_fires_it_soon_instead() -> None:
    just = NOW - timedelta(minutes=10)
    kept = pending(just, account_not_approved=just)
    event = must(settle(kept, on_call(Operation.TAG), asking((A, 2), action=Action.DELETE), NOW))
    assert event.state is State.DUE
    # Within OVERDUE of its time the firing is on its way: the sweep leaves it be.
    assert must(settle(kept, on_sweep(), asking((A, 2)), NOW)).state is State.PENDING
    lost = must(settle(kept, on_sweep(), asking((A, 2)), just + OVERDUE))
    assert (lost.state, lost.effect) == (State.MOVED, Effect.PUT)
    assert lost.due is not None
    assert lost.due > NOW  # re-armed for a moment to come


def test_a_sweep_never_makes_a_deletion_due_on_the_spot() -> None:
    step = must(settle(None, on_sweep(), asking((A, 0)), NOW))
    assert (step.state, step.effect) == (State.SCHEDULED, Effect.PUT)


# -- what keeps it pending, and what ends it ------------------------------------------------------


def test_missing_facts_keep_a_deletion_pending_and_postpone_it_at_its_deadline_never_dropping_it() -> None:
    kept = pending(NOW, account_not_approved=NOW)
    partial = msgspec.structs.replace(
        on_firing(), missing=(MissingFact(fact=Fact.ACCOUNT, reason="throttled"),)
    )
    withheld = Decision(
        Verdict.VIOLATION, Severity.HIGH, (), (), (), Action.ALERT, "withheld", withheld="facts"
    )
    kept_by_event = must(
        settle(kept, msgspec.structs.replace(partial, trigger=on_call().trigger), withheld, NOW)
    )
    assert (kept_by_event.state, kept_by_event.effect) == (State.PENDING, Effect.NONE)
    waits, current = [], kept
    for _ in range(7):
        step = must(settle(current, partial, withheld, current.due))
        assert step.state is State.POSTPONED
        assert step.pending is not None
        waits.append((step.pending.due - current.due) // H)
        assert step.news == (step.pending.postponements == POSTPONEMENTS_BEFORE_ALERT)
        current = step.pending
    assert waits == [1, 2, 4, 8, 16, 24, 24]


@pytest.mark.parametrize(
    ("decision", "why"),
    [
        (IN_POLICY, "fixed"),
        (
            Decision(
                Verdict.VIOLATION,
                Severity.HIGH,
                (),
                (),
                (),
                Action.WOULD_DELETE,
                "dry",
                demands=(Demand(A, 2),),
            ),
            "dry-run",
        ),
        (
            Decision(
                Verdict.VIOLATION,
                Severity.HIGH,
                (),
                (),
                (),
                Action.ALERT,
                "apps",
                withheld="apps",
                barred=True,
            ),
            "apps",
        ),
    ],
)
def test_a_complete_reading_that_asks_for_no_deletion_cancels_it(decision: Decision, why: str) -> None:
    kept = pending(NOW + H, account_not_approved=NOW + H)
    step = must(settle(kept, on_call(Operation.TAG), decision, NOW))
    assert (step.state, step.effect) == (State.CANCELLED, Effect.REMOVE)
    assert why in step.reason


def test_the_owners_delete_cancels_and_a_rename_or_a_failed_call_keeps_it() -> None:
    kept = pending(NOW + H, account_not_approved=NOW + H)
    deleted = on_call(Operation.DELETE)
    assert must(settle(kept, deleted, IN_POLICY, NOW)).state is State.CANCELLED
    for kept_by in (on_call(Operation.UPDATE), on_call(Operation.TAG, Outcome.FAILED)):
        assert must(settle(kept, kept_by, IN_POLICY, NOW)).state is State.PENDING
    assert settle(None, on_call(Operation.UPDATE), IN_POLICY, NOW) is None


def test_an_instance_aws_says_is_gone_cancels_its_deletion() -> None:
    kept = pending(NOW, account_not_approved=NOW)
    gone = msgspec.structs.replace(
        on_firing(),
        instance=None,
        missing=(MissingFact(fact=Fact.INSTANCE, reason="not found", code="ResourceNotFoundException"),),
    )
    assert must(settle(kept, gone, IN_POLICY, NOW)).state is State.CANCELLED


# -- after an attempt -------------------------------------------------------------------------------


def due_step() -> Step:
    return must(
        settle(pending(NOW, account_not_approved=NOW), on_firing(), asking((A, 0), action=Action.DELETE), NOW)
    )


def test_a_deletion_the_cap_withholds_is_scheduled_for_the_next_hour_and_said_once() -> None:
    at = NOW.replace(minute=42)
    first = attempted(due_step(), RemediationResult(Attempt.CAPPED, "cap"), at)
    assert (first.state, first.effect, first.news) == (State.WITHHELD, Effect.PUT, True)
    assert first.pending is not None
    assert first.pending.due == NOW.replace(minute=0) + H + timedelta(minutes=1)
    assert first.pending.held == CAPPED
    again = attempted(
        dataclasses.replace(due_step(), pending=first.pending),
        RemediationResult(Attempt.CAPPED, "cap"),
        at + H,
    )
    assert (again.state, again.news) == (State.WITHHELD, False)


def test_a_refused_deletion_is_postponed_and_said_each_time() -> None:
    step = attempted(due_step(), RemediationResult(Attempt.REFUSED, "AccessDenied"), NOW)
    assert (step.state, step.effect, step.news) == (State.POSTPONED, Effect.PUT, True)


def test_a_deletion_another_trigger_holds_is_left_to_it_and_kept_for_later_quietly() -> None:
    step = attempted(due_step(), RemediationResult(Attempt.ELSEWHERE, "held by an event"), NOW)
    assert (step.state, step.effect, step.news) == (State.POSTPONED, Effect.PUT, False)


def test_a_deletion_made_ends_the_pending_deletion() -> None:
    step = attempted(due_step(), RemediationResult(Attempt.DELETED, "accepted"), NOW)
    assert (step.state, step.effect) == (State.DELETED, Effect.REMOVE)
    assert step.pending_until is None


# -- firings the guardrail did not make ---------------------------------------------------------------


def test_a_firing_is_acted_on_only_when_it_is_the_schedules_own_and_its_time_has_come() -> None:
    stored = pending(NOW, account_not_approved=NOW)
    assert firing_refused(stored, NOW, NOW) is None
    assert firing_refused(stored, NOW, NOW + H) is None  # late is fine
    assert "not due before" in (firing_refused(stored, NOW, NOW - timedelta(seconds=1)) or "")
    assert "due at" in (firing_refused(stored, NOW - 3 * H, NOW) or "")  # someone's own due time
    assert "no deletion" in (firing_refused(None, NOW, NOW) or "")
