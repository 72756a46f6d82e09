"""The functions' environments as the stacks set them, pointed at the emulation.

Each is the function's own model (`guardrail.handlers.environment`) filled with the emulated
world's names, so that the local runner, the emulated deployment and the tests run the functions
with exactly what their constructs would set; metrics and traces off, as outside Lambda.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from guardrail.handlers.environment import (
    LOCAL_POWERTOOLS,
    Alerting,
    DetectEnvironment,
    MemberReads,
    Observability,
    OrganizationReads,
    PendingDeletions,
    PolicyFile,
    SweepPlannerEnvironment,
    SweepSummaryEnvironment,
    SweepWorkerEnvironment,
)


def _observability() -> Observability:
    """Powertools' variables as the stack sets them, the log level the caller's (quiet by default)."""
    return Observability(powertools_log_level=os.environ.get("POWERTOOLS_LOG_LEVEL", "ERROR"))


def handler_environment(env: Any, policy_path: Path) -> dict[str, str]:
    """The function's environment, as the CDK stack sets it, pointed at the emulation; metrics and
    traces off, as outside Lambda."""
    org = env.organization
    function = DetectEnvironment(
        alerting=Alerting(alert_topic_arn=env.topic_arn),
        dead_letter_queue_url=env.dead_letter_queue_url,
        idempotency_table_name=env.idempotency_table_name,
        inventory_table_name=env.inventory_table_name,
        member_reads=_member_reads(org, ("us-east-1", "eu-west-1", "eu-central-1")),
        deleter_role_name=env.deleter_role_name,
        organization_reads=_organization_reads(org),
        policy=PolicyFile(policy_path=str(policy_path)),
        pending_deletions=_pending_deletions(env),
        observability=_observability(),
    )
    return {**function.variables(), **LOCAL_POWERTOOLS}


def _member_reads(org: Any, regions: tuple[str, ...]) -> MemberReads:
    return MemberReads(member_role_name=org.member_role_name, instance_regions=regions)


def _organization_reads(org: Any) -> OrganizationReads:
    return OrganizationReads(
        organizations_role_arn=org.organizations_reader_role_arn, organization_instance_region="us-east-1"
    )


def _pending_deletions(env: Any) -> PendingDeletions:
    return PendingDeletions(
        deletion_schedule_group=env.deletion_schedule_group,
        deletion_target_arn=env.detect_function_arn,
        deletion_scheduler_role_arn=env.deletion_scheduler_role_arn,
    )


def sweep_environment(env: Any, policy_path: Path, regions: tuple[str, ...]) -> dict[str, str]:
    """The sweep functions' environments (planner, worker, summary) with the detect function's, as
    the stacks set them, pointed at the emulation; ``regions`` are the Regions the worker lists."""
    org = env.organization
    policy = PolicyFile(policy_path=str(policy_path))
    alerting = Alerting(alert_topic_arn=env.topic_arn)
    return {
        **handler_environment(env, policy_path),
        **SweepPlannerEnvironment(
            reports_bucket=env.reports_bucket,
            organization_reads=_organization_reads(org),
            observability=_observability(),
        ).variables(),
        **SweepWorkerEnvironment(
            reports_bucket=env.reports_bucket,
            inventory_table_name=env.inventory_table_name,
            alerting=alerting,
            member_reads=_member_reads(org, regions),
            policy=policy,
            idempotency_table_name=env.idempotency_table_name,
            pending_deletions=_pending_deletions(env),
            observability=_observability(),
        ).variables(),
        **SweepSummaryEnvironment(
            reports_bucket=env.reports_bucket,
            alerting=alerting,
            policy=policy,
            observability=_observability(),
        ).variables(),
    }
