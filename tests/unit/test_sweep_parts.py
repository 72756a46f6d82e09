"""The sweep's pure parts: the snapshot, the map's results, the summary's posture, ownership."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from guardrail.core.facts import InstanceFacts, OrganizationFacts
from guardrail.core.ownership import is_own_instance
from guardrail.core.policy import Exemption, Policy
from guardrail.sweep.map_results import read_map_results
from guardrail.sweep.snapshot import Account, Snapshot, Unit
from guardrail.sweep.snapshot import Policy as Scp
from guardrail.sweep.summary import summarize
from guardrail.sweep.worker import AccountResult, InstanceRow, Posture

ORG = OrganizationFacts(organization_id="o-exampleorg1", management_account_id="111111111111")
SNAPSHOT = Snapshot(
    organization=ORG,
    root_id="r-ab12",
    units={"ou-ab12-workload": Unit("Workloads", "r-ab12"), "ou-ab12-prod": Unit("Prod", "ou-ab12-workload")},
    accounts={
        "444444444444": Account("444444444444", "Prod Analytics", "ACTIVE", "ou-ab12-prod"),
        "222222222222": Account("222222222222", "Security", "ACTIVE", "r-ab12"),
        "555555555555": Account("555555555555", "Lost", "ACTIVE", "ou-ab12-gone"),
    },
    policies={"p-full": Scp("FullAWSAccess", "{}"), "p-deny": Scp("Deny", "{}")},
    attachments={"r-ab12": ("p-full",), "ou-ab12-workload": ("p-deny",), "444444444444": ("p-deny",)},
)


def test_the_snapshot_gives_each_account_its_chain_and_its_scps() -> None:
    facts = SNAPSHOT.account_facts("444444444444")
    assert facts is not None
    assert [u.id for u in facts.parents] == ["r-ab12", "ou-ab12-workload", "ou-ab12-prod"]
    assert facts.ou_path == "Workloads/Prod"
    assert [(p.target_id, p.policy_id) for p in SNAPSHOT.policies_for(facts)] == [
        ("444444444444", "p-deny"),
        ("r-ab12", "p-full"),
        ("ou-ab12-workload", "p-deny"),
    ]
    at_root = SNAPSHOT.account_facts("222222222222")
    assert at_root is not None
    assert at_root.ou_path == ""
    assert SNAPSHOT.account_facts("555555555555") is None  # its OU is not in the tree read
    assert SNAPSHOT.account_facts("999999999999") is None


def test_the_map_results_are_read_from_the_manifest() -> None:
    objects = {
        "m/manifest.json": {
            "DestinationBucket": "b",
            "ResultFiles": {
                "SUCCEEDED": [{"Key": "m/SUCCEEDED_0.json"}],
                "FAILED": [{"Key": "m/FAILED_0.json"}],
                "PENDING": [],
            },
        },
        "m/SUCCEEDED_0.json": [{"Input": "{}", "Output": json.dumps({"report_key": "r1"})}],
        "m/FAILED_0.json": [
            {"Input": json.dumps({"Items": [{"account_id": "1"}]}), "Error": "States.Timeout"}
        ],
    }
    results = read_map_results("b", "m/manifest.json", lambda bucket, key: json.dumps(objects[key]).encode())
    assert results.outputs == [{"report_key": "r1"}]
    assert results.failed_inputs == [{"Items": [{"account_id": "1"}]}]


def row(account: str, verdict: str, **fields: object) -> InstanceRow:
    return InstanceRow(
        instance_arn=f"arn:aws:sso:::instance/ssoins-{account}0000",
        account_id=account,
        region="us-east-1",
        name=None,
        status="ACTIVE",
        verdict=verdict,
        severity="info",
        **fields,  # type: ignore[arg-type]
    )


def test_the_summary_adds_up_and_states_the_posture() -> None:
    results = [
        AccountResult(
            account_id="333333333333",
            readable=True,
            instances=(row("3", "compliant", purpose="trial", trial_expires="2026-12-10"),),
            posture=Posture(approved=True),
        ),
        AccountResult(
            account_id="444444444444",
            readable=True,
            instances=(row("4", "violation", rules=("account-not-approved",), change="new"),),
            posture=Posture(approved=False, protected=True),
        ),
        AccountResult(
            account_id="222222222222", readable=True, posture=Posture(approved=False, protected=False)
        ),
        AccountResult(
            account_id="666666666666", readable=False, reason="cannot assume the member role: AccessDenied"
        ),
        AccountResult(
            account_id="555555555555",
            readable=True,
            posture=Posture(approved=False, protected=False, exempted=True),
        ),
    ]
    policy = Policy(
        exemptions=(
            Exemption(account_id="555555555555", expires=date(2026, 12, 5), ticket="SEC-1", reason="r"),
        )
    )
    summary = summarize(
        "run-1",
        {"listed": 7, "ACTIVE": 6, "SUSPENDED": 1},
        results,
        policy,
        started_at=datetime(2026, 12, 1, 6, tzinfo=UTC),
        finished_at=datetime(2026, 12, 1, 6, 2, tzinfo=UTC),
        ending_within_days=14,
    )
    assert (summary.accounts_swept, summary.accounts_read, summary.instances) == (5, 4, 2)
    assert summary.accounts_by_state == {"ACTIVE": 6, "SUSPENDED": 1}
    assert [u.account_id for u in summary.unreadable] == ["666666666666"]
    assert summary.by_verdict == {"compliant": 1, "violation": 1}
    assert summary.violations_by_rule == {"account-not-approved": 1}
    assert summary.alerts == {"new": 1, "changed": 0, "reminder": 0, "resolved": 0}
    assert summary.posture.unprotected_accounts == ("222222222222",)
    assert summary.posture.exempted_accounts == ("555555555555",)
    assert [(e.what, e.expires) for e in summary.posture.ending] == [
        ("exemption", "2026-12-05"),
        ("trial", "2026-12-10"),
    ]
    assert summary.duration_seconds == 120.0


def test_ownership_of_a_listed_instance() -> None:
    listed = InstanceFacts(instance_arn="arn:aws:sso:::instance/ssoins-0000000000000001", region="us-east-1")
    organization = {"arn:aws:sso:::instance/ssoins-00000000000000aa"}
    assert is_own_instance(listed, "333333333333", organization) is True
    assert is_own_instance(listed, "333333333333", None) is None
    owned = InstanceFacts(
        instance_arn=listed.instance_arn, region="us-east-1", owner_account_id="333333333333"
    )
    assert is_own_instance(owned, "333333333333", None) is True
    assert is_own_instance(owned, "444444444444", None) is False
    org = InstanceFacts(instance_arn="arn:aws:sso:::instance/ssoins-00000000000000aa", region="us-east-1")
    assert is_own_instance(org, "333333333333", organization) is False
