"""The SCP reader agrees with an IAM policy simulator, over generated SCP sets at every level.

`guardrail.core.scp.read_create_instance` decides, without knowing the call, whether the SCPs in force
on an account certainly deny `sso:CreateInstance` (it runs in the Lambda, without Node). Here each
generated set (`tests/scp_sets.py`: Deny and Allow statements at the root, the OUs and the account,
FullAWSAccess present or replaced) is also given to `@cloud-copilot/iam-simulate` for concrete calls by
a principal of the account: every Region, principal and instance id of `CONTEXTS`, and, in the
simulator's Discovery mode, any Region and any principal at all. Then:

- the reader says "denied": the simulator denies every one of those calls;
- the simulator allows one of them: the reader does not say "denied" (the same, read the other way);
- the reader says "not denied" with no doubt: the simulator allows every one of them.

An undetermined reading may go either way; the tally printed at the end says how often the simulator
allowed some call there. What AWS puts in the request context is given as the reader assumes it:
`aws:PrincipalAccount` and `aws:ResourceAccount` are the account, `aws:PrincipalOrgPaths` its path.

`SCP_DIFFERENTIAL_EXAMPLES` sets how many sets are generated (250 by default, a few seconds; raise
it for a long run, e.g. 20000).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings

from guardrail.core.scp import ScpReading, read_create_instance
from tests import scp_sets as sets
from tests.iam.simulator import ALLOW_ALL, Decision, OrgLevel, Request, shared_simulator

EXAMPLES = int(os.environ.get("SCP_DIFFERENTIAL_EXAMPLES", "250"))
UNKNOWN = ("aws:RequestedRegion", "aws:PrincipalArn")  # any value, in Discovery mode


def requests(scps: sets.ScpSet) -> tuple[list[Request], list[Request]]:
    """The concrete calls of CONTEXTS, and one Discovery call per instance id (any Region, principal)."""
    levels = [OrgLevel(level.target, dict(level.policies)) for level in scps.levels]

    def request(context: sets.Context, discovery: bool) -> Request:
        return Request(
            action="sso:CreateInstance",
            resource=context.instance_arn,
            principal=context.principal,
            context={
                "aws:RequestedRegion": context.region,
                "aws:PrincipalOrgPaths": [scps.org_path],
                "aws:ResourceAccount": sets.ACCOUNT,
            },
            identity_policies={"AdministratorAccess": ALLOW_ALL},  # only the SCPs decide
            scps=levels,
            discovery=discovery,
            unknown_keys=UNKNOWN if discovery else (),
        )

    strict = [request(context, False) for context in sets.CONTEXTS]
    anyhow = [request(sets.Context(sets.REGIONS[0], sets.PRINCIPALS[0], i), True) for i in sets.INSTANCE_IDS]
    return strict, anyhow


def explain(scps: sets.ScpSet, reading: ScpReading, decisions: list[tuple[Request, Decision]]) -> str:
    calls = "\n".join(
        f"  {r.context.get('aws:RequestedRegion')} {r.principal} {r.resource}"
        f"{' (any Region, any principal)' if r.discovery else ''}: {d.reason()}"
        for r, d in decisions
    )
    return f"reader: {reading}\nsimulator:\n{calls}\nSCPs by level:\n{scps.describe()}"


def test_the_scp_reader_agrees_with_the_iam_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    simulator = shared_simulator()
    tally: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(sets.scp_sets())
    def agree(scps: sets.ScpSet) -> None:
        reading = read_create_instance(scps.attached(), sets.ACCOUNT, scps.targets, scps.org_path)
        strict, anyhow = requests(scps)
        decisions = simulator.evaluate_many([*strict, *anyhow])
        allowed = [d.allowed for d in decisions]
        why = explain(scps, reading, list(zip([*strict, *anyhow], decisions, strict=True)))
        tally["sets"] += 1
        tally["requests"] += len(decisions)
        if reading.denied:
            assert not any(allowed), f"the reader says denied, the simulator allows a call\n{why}"
            tally["denied"] += 1
        elif not reading.doubts:
            assert all(allowed[: len(strict)]), (
                f"the reader says not denied, the simulator denies a call\n{why}"
            )
            tally["not denied"] += 1
        else:
            tally[
                "undetermined, some call allowed" if any(allowed) else "undetermined, every call denied"
            ] += 1

    agree()
    with capsys.disabled():
        print(
            f"\nSCP reader vs IAM simulator, {tally['sets']} generated SCP sets, {tally['requests']} requests: "
            f"certainly denied {tally['denied']} (the simulator denies every call: all agree), "
            f"certainly not denied {tally['not denied']} (the simulator allows every call: all agree), "
            f"undetermined {tally['undetermined, some call allowed'] + tally['undetermined, every call denied']} "
            f"(the simulator allows some call in {tally['undetermined, some call allowed']}, denies every call "
            f"tried in {tally['undetermined, every call denied']})"
        )
    # The generated sets reach every outcome, or the agreement says little.
    assert tally["denied"]
    assert tally["not denied"]
    assert tally["undetermined, some call allowed"]
