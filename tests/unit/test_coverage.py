"""The sweep's coverage, without AWS: what each Region's reads say, which Regions are read, what a
run has to say against the last, and how the summary shows it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from guardrail.core.policy import Policy
from guardrail.gather.deadline import Deadline
from guardrail.sweep.blind_spots import KnownBlindSpots, compare, coverage_alert
from guardrail.sweep.coverage import (
    AccountCoverage,
    BlindSpot,
    BlindSpotKind,
    CoverageChecker,
    ForwardingNames,
    Read,
    Unchecked,
    judge_region,
    unassumable,
)
from guardrail.sweep.summary import summarize, summary_alert, summary_text
from guardrail.sweep.worker import AccountResult

BUS = "arn:aws:events:us-east-1:222222222222:event-bus/identity-center-guardrail"
RULE = "IdentityCenterGuardrail-ForwardInstanceEvents"
QUEUE = "IdentityCenterGuardrail-ForwardingDeadLetters"
NAMES = ForwardingNames(rule_name=RULE, dead_letter_queue_name=QUEUE, central_bus_arn=BUS)
NOW = datetime(2026, 12, 1, 6, tzinfo=UTC)


ENABLED: Read[str] = Read("ENABLED")
TO_THE_BUS: Read[tuple[str, ...]] = Read((BUS,))
EMPTY: Read[int] = Read(0)


def judge(
    state: Read[str] | None = ENABLED,
    targets: Read[tuple[str, ...]] | None = TO_THE_BUS,
    depth: Read[int] | None = EMPTY,
    names: ForwardingNames = NAMES,
) -> tuple[list[BlindSpot], list[Unchecked]]:
    return judge_region("333333333333", "eu-west-1", names, state=state, targets=targets, depth=depth)


def kinds(spots: list[BlindSpot]) -> list[str]:
    return [s.kind.value for s in spots]


# -- one Region -------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"])
def test_an_enabled_rule_to_the_central_bus_with_an_empty_queue_is_no_blind_spot(state: str) -> None:
    assert judge(state=Read(state), targets=Read(("arn:aws:sqs:x", BUS))) == ([], [])


def test_a_disabled_rule_is_a_blind_spot_whose_fix_enables_it_there() -> None:
    spots, unread = judge(state=Read("DISABLED"))
    assert (kinds(spots), unread) == (["rule-disabled"], [])
    assert spots[0].detail == f"the forwarding rule {RULE} is DISABLED"
    assert spots[0].fix == f"in account 333333333333: aws events enable-rule --name {RULE} --region eu-west-1"


def test_a_rule_sending_elsewhere_names_where_it_sends() -> None:
    elsewhere = "arn:aws:events:us-east-1:999999999999:event-bus/default"
    spots, _ = judge(targets=Read((elsewhere,)))
    assert kinds(spots) == ["rule-not-targeting-central-bus"]
    assert f"sends to {elsewhere}, not to the central bus {BUS}" in spots[0].detail
    assert "update-stack-instances" in spots[0].fix
    spots, _ = judge(targets=Read(()))
    assert "sends to nothing" in spots[0].detail


def test_a_missing_rule_and_queue_are_one_blind_spot_a_missing_queue_alone_another() -> None:
    spots, _ = judge(state=Read(None), targets=Read(None), depth=Read(None))
    assert kinds(spots) == ["rule-missing"]
    assert f"nor its dead-letter queue {QUEUE}" in spots[0].detail
    assert "create-stack-instances" in spots[0].fix
    spots, _ = judge(depth=Read(None))
    assert kinds(spots) == ["dead-letter-queue-missing"]


def test_undelivered_events_are_counted() -> None:
    spots, _ = judge(depth=Read(3))
    assert (kinds(spots), spots[0].count) == (["events-undelivered"], 3)
    assert spots[0].detail.startswith("3 events could not be forwarded")


def test_a_read_that_failed_leaves_its_part_unchecked_not_blind() -> None:
    spots, unread = judge(state=Read(failure="AccessDeniedException: not authorized"), targets=Read(("x",)))
    # The targets were read: the rule exists, and sends elsewhere; its state is unknown.
    assert kinds(spots) == ["rule-not-targeting-central-bus"]
    assert [u.reason for u in unread] == ["DescribeRule: AccessDeniedException: not authorized"]
    spots, unread = judge(depth=Read(failure="ThrottlingException: slow down"))
    assert (spots, [u.region for u in unread]) == ([], ["eu-west-1"])


def test_a_name_not_configured_is_not_read() -> None:
    names = ForwardingNames(rule_name=RULE)
    assert judge(targets=None, depth=None, names=names) == ([], [])
    assert ForwardingNames().checked is False
    assert names.checked is True


def test_an_unassumable_role_is_blind_everywhere_in_the_account() -> None:
    coverage = unassumable("666666666666", "AccessDenied: no")
    [spot] = coverage.blind_spots
    assert (coverage.assumed, spot.region, spot.kind) == (False, None, BlindSpotKind.ROLE_NOT_ASSUMABLE)
    assert "IdentityCenterGuardrail-MemberRoles" in spot.fix


# -- one account's reads ------------------------------------------------------------------------------


class FakeAccount:
    """An account's clients: EventBridge and SQS per Region, Account Management's ListRegions."""

    def __init__(self, enabled: set[str], *, deployed: set[str], regions_fail: bool = False) -> None:
        self.enabled, self.deployed, self.regions_fail = enabled, deployed, regions_fail
        self.calls: list[tuple[str, str | None]] = []

    def client(self, service: str, region: str | None = None) -> Any:
        account = self

        def missing(operation: str, code: str) -> ClientError:
            return ClientError({"Error": {"Code": code, "Message": "no"}}, operation)

        class Client:
            def __getattr__(self, operation: str) -> Callable[..., Any]:
                def call(**_: Any) -> Any:
                    account.calls.append((operation, region))
                    if operation == "list_regions":
                        if account.regions_fail:
                            raise missing("ListRegions", "AccessDeniedException")
                        return {"Regions": [{"RegionName": r} for r in sorted(account.enabled)]}
                    if region not in account.deployed:
                        code = (
                            "AWS.SimpleQueueService.NonExistentQueue"
                            if service == "sqs"
                            else "ResourceNotFoundException"
                        )
                        raise missing(operation, code)
                    return {
                        "describe_rule": {"State": "ENABLED"},
                        "list_targets_by_rule": {"Targets": [{"Id": "CentralBus", "Arn": BUS}]},
                        "get_queue_url": {"QueueUrl": f"https://sqs/{region}/{QUEUE}"},
                        "get_queue_attributes": {"Attributes": {"ApproximateNumberOfMessages": "0"}},
                    }[operation]

                return call

        return Client()


def inline[V](work: Callable[[], V]) -> Future[V]:
    future: Future[V] = Future()
    try:
        future.set_result(work())
    except Exception as error:  # the future carries it, as a pool's does
        future.set_exception(error)
    return future


def check(account: FakeAccount, regions: tuple[str, ...]) -> AccountCoverage:
    checker = CoverageChecker(NAMES, regions, inline)
    return checker.start("333333333333", account, Deadline(10)).result()  # type: ignore[arg-type]


def test_only_the_enabled_regions_are_read_and_listregions_only_when_an_opt_in_region_is_watched() -> None:
    account = FakeAccount(
        {"us-east-1", "eu-west-1", "me-south-1"}, deployed={"us-east-1", "eu-west-1", "me-south-1"}
    )
    coverage = check(account, ("us-east-1", "eu-west-1", "me-south-1", "ap-east-1"))
    assert set(coverage.checked) == {"us-east-1", "eu-west-1", "me-south-1"}
    assert (coverage.blind_spots, coverage.unchecked) == ((), ())
    assert ("list_regions", "us-east-1") in account.calls
    assert not [c for c in account.calls if c[1] == "ap-east-1"]  # not enabled: never called
    per_region = [op for op, region in account.calls if region == "eu-west-1"]
    assert sorted(per_region) == [
        "describe_rule",
        "get_queue_attributes",
        "get_queue_url",
        "list_targets_by_rule",
    ]

    account = FakeAccount({"us-east-1"}, deployed={"us-east-1"})
    check(account, ("us-east-1", "eu-west-1"))
    assert "list_regions" not in [op for op, _ in account.calls]  # both enabled by default


def test_an_enabled_region_without_the_forwarding_is_blind() -> None:
    coverage = check(FakeAccount({"us-east-1"}, deployed={"us-east-1"}), ("us-east-1", "eu-west-1"))
    assert [(s.region, s.kind.value) for s in coverage.blind_spots] == [("eu-west-1", "rule-missing")]
    assert set(coverage.checked) == {"us-east-1", "eu-west-1"}


def test_unknown_enabled_regions_leave_the_opt_in_regions_unchecked() -> None:
    account = FakeAccount(set(), deployed={"us-east-1"}, regions_fail=True)
    coverage = check(account, ("us-east-1", "me-south-1"))
    assert coverage.checked == ("us-east-1",)
    [unread] = coverage.unchecked
    assert unread.region is None
    assert "cannot read the enabled Regions: AccessDeniedException" in unread.reason


# -- from one run to the next -----------------------------------------------------------------------


def spot(account: str, region: str | None, kind: BlindSpotKind, detail: str = "d") -> BlindSpot:
    return BlindSpot(account_id=account, region=region, kind=kind, detail=detail, fix="f")


DISABLED = spot("333333333333", "eu-west-1", BlindSpotKind.RULE_DISABLED)
UNDELIVERED = spot("444444444444", "eu-central-1", BlindSpotKind.EVENTS_UNDELIVERED, "3 events")
NO_ROLE = spot("666666666666", None, BlindSpotKind.ROLE_NOT_ASSUMABLE)


def result(account: str, *spots: BlindSpot, checked: tuple[str, ...] = (), **coverage: Any) -> AccountResult:
    return AccountResult(
        account_id=account,
        readable=coverage.get("assumed", True),
        coverage=AccountCoverage(checked=checked, blind_spots=spots, **coverage),
    )


def test_a_first_run_says_every_blind_spot_is_new() -> None:
    news = compare(None, "run-1", [result("333333333333", DISABLED, checked=("eu-west-1",))])
    assert (news.new, news.resolved, news.published) == ((DISABLED,), (), False)
    assert news.known == KnownBlindSpots(run_id="run-1", baseline=(), blind_spots=(DISABLED,))


def test_a_known_blind_spot_is_not_new_even_with_another_detail_and_a_fixed_one_is_resolved() -> None:
    known = KnownBlindSpots(run_id="run-1", blind_spots=(DISABLED, UNDELIVERED))
    grown = spot("444444444444", "eu-central-1", BlindSpotKind.EVENTS_UNDELIVERED, "5 events")
    news = compare(
        known,
        "run-2",
        [
            result("333333333333", checked=("eu-west-1",)),
            result("444444444444", grown, checked=("eu-central-1",)),
        ],
    )
    assert (news.new, news.resolved) == ((), (DISABLED,))
    assert news.known.blind_spots == (grown,)
    assert news.known.baseline == (DISABLED, UNDELIVERED)


def test_a_place_that_could_not_be_looked_at_keeps_its_blind_spot_known() -> None:
    known = KnownBlindSpots(run_id="run-1", blind_spots=(DISABLED, UNDELIVERED, NO_ROLE))
    unread = Unchecked(account_id="333333333333", region="eu-west-1", reason="DescribeRule: AccessDenied")
    news = compare(
        known,
        "run-2",
        [
            result("333333333333", checked=("us-east-1",), unchecked=(unread,)),  # its Region not read
            result("666666666666", NO_ROLE, assumed=False),
        ],
        unswept=["444444444444"],  # in a batch that failed
    )
    assert (news.new, news.resolved) == ((), ())
    assert set(news.known.blind_spots) == {DISABLED, UNDELIVERED, NO_ROLE}


def test_a_role_assumable_again_is_resolved_and_a_place_no_longer_swept_is_forgotten() -> None:
    known = KnownBlindSpots(run_id="run-1", blind_spots=(DISABLED, NO_ROLE))
    news = compare(
        known,
        "run-2",
        [result("666666666666", checked=("us-east-1",)), result("333333333333", checked=("us-east-1",))],
    )
    assert news.resolved == (NO_ROLE,)  # eu-west-1 no longer enabled nor watched: dropped, unsaid
    assert news.known.blind_spots == ()
    assert compare(known, "run-2", []).known.blind_spots == ()  # both accounts left the organization


def test_a_retried_summary_compares_with_its_own_baseline_and_knows_it_published() -> None:
    first = compare(
        KnownBlindSpots(run_id="run-1", blind_spots=()), "run-2", [result("333333333333", DISABLED)]
    )
    kept = KnownBlindSpots(run_id="run-2", baseline=(), blind_spots=(DISABLED,), published=True)
    retried = compare(kept, "run-2", [result("333333333333", DISABLED)])
    assert retried.new == first.new == (DISABLED,)
    assert retried.published is True
    assert compare(kept, "run-3", [result("333333333333", DISABLED)]).new == ()


def test_the_coverage_alert_lists_the_new_with_their_fixes_and_the_resolved() -> None:
    alert = coverage_alert((DISABLED, UNDELIVERED), (NO_ROLE,), "run-2")
    assert alert.subject == "[COVERAGE] 2 new blind spots: 333333333333 eu-west-1 rule-disabled +1"
    assert alert.attributes == {"trigger": "sweep", "verdict": "blind-spot", "severity": "high", "rules": []}
    assert alert.body["kind"] == "coverage"
    assert [s["kind"] for s in alert.body["new"]] == ["rule-disabled", "events-undelivered"]
    assert [s["account_id"] for s in alert.body["resolved"]] == ["666666666666"]
    email = alert.email()
    assert "  333333333333 eu-west-1: d\n    fix: f" in email
    assert "Resolved:\n  666666666666: role-not-assumable" in email
    resolved = coverage_alert((), (DISABLED,), "run-3")
    assert resolved.subject == "[COVERAGE] 1 blind spot resolved: 333333333333 eu-west-1"
    assert (resolved.attributes["verdict"], resolved.attributes["severity"]) == ("resolved", "info")


# -- the summary ----------------------------------------------------------------------------------------


def summary_of(results: list[AccountResult], **news: Any) -> Any:
    return summarize(
        "run-2",
        {"listed": 3, "ACTIVE": 3},
        results,
        Policy(),
        started_at=NOW,
        finished_at=NOW,
        ending_within_days=14,
        **news,
    )


def test_the_summary_counts_the_blind_spots_and_names_the_blind_accounts() -> None:
    unread = Unchecked(account_id="333333333333", region="us-east-1", reason="DescribeRule: AccessDenied")
    results = [
        result("333333333333", DISABLED, checked=("eu-west-1",), unchecked=(unread,)),
        result("444444444444", UNDELIVERED, checked=("eu-central-1", "us-east-1")),
        result("555555555555", checked=("us-east-1",)),
    ]
    summary = summary_of(results, new_blind_spots=(UNDELIVERED,), resolved_blind_spots=())
    coverage = summary.coverage
    assert (coverage.accounts_checked, coverage.regions_checked) == (3, 4)
    assert coverage.by_kind == {"events-undelivered": 1, "rule-disabled": 1}
    assert coverage.unchecked == (unread,)
    assert summary.posture.blind_accounts == ("333333333333", "444444444444")
    text = summary_text(summary)
    assert (
        "coverage: 3 accounts, 4 account-Regions read; 2 blind spots (1 events-undelivered, 1 rule-disabled), 1 new"
        in text
    )
    assert "  NEW 444444444444 eu-central-1: 3 events" in text
    assert "  333333333333 eu-west-1: d" in text
    assert "    333333333333 us-east-1: DescribeRule: AccessDenied" in text
    assert "accounts where the guardrail is blind: 2 (333333333333, 444444444444)" in text
    alert = summary_alert(summary, "bucket/runs/run-2/summary.json")
    assert alert.attributes["severity"] == "medium"
    assert alert.subject.endswith(", 2 blind spots")


def test_a_sweep_that_does_not_check_coverage_says_nothing_of_it() -> None:
    summary = summary_of([AccountResult(account_id="333333333333", readable=True)])
    assert summary.coverage is None
    assert summary.posture.blind_accounts == ()
    text = summary_text(summary)
    assert "coverage" not in text
    assert "blind" not in text
    assert summary_alert(summary, "k").attributes["severity"] == "info"
