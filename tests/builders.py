"""Small builders of facts for tests: every field defaults to the example organization."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from guardrail.core.facts import (
    AccountFacts,
    Actor,
    ApiCall,
    Facts,
    InstanceFacts,
    Operation,
    OrganizationalUnit,
    OrganizationFacts,
    Outcome,
    ServiceControlPolicy,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "events"
MANAGEMENT, SECURITY, SANDBOX, PROD = "111111111111", "222222222222", "333333333333", "444444444444"
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-3e4f5a6b7c8d9e0f"
DENY_SCP = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "sso:CreateInstance", "Resource": "*"}],
    }
)
ALLOW_ALL_SCP = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return data


def call(**overrides: Any) -> ApiCall:
    fields: dict[str, Any] = {
        "event_id": "evt-1",
        "operation": Operation.CREATE,
        "event_time": datetime(2026, 11, 2, 9, 14, 3, tzinfo=UTC),
        "account_id": SANDBOX,
        "region": "us-east-1",
        "outcome": Outcome.SUCCEEDED,
        "instance_arn": INSTANCE_ARN,
        "actor": Actor(arn=f"arn:aws:iam::{SANDBOX}:user/bob", type="IAMUser"),
    }
    fields.update(overrides)
    return ApiCall(**fields)


def sandbox_account(account_id: str = SANDBOX) -> AccountFacts:
    return AccountFacts(
        account_id=account_id,
        name="Sandbox Bob",
        parents=(
            OrganizationalUnit(id="r-ab12", name="Root"),
            OrganizationalUnit(id="ou-ab12-sandbox", name="Sandbox"),
        ),
    )


def prod_account(account_id: str = PROD) -> AccountFacts:
    return AccountFacts(
        account_id=account_id,
        name="Prod Analytics",
        parents=(
            OrganizationalUnit(id="r-ab12", name="Root"),
            OrganizationalUnit(id="ou-ab12-workload", name="Workloads"),
            OrganizationalUnit(id="ou-ab12-prod", name="Prod"),
        ),
    )


def instance(**overrides: Any) -> InstanceFacts:
    fields: dict[str, Any] = {
        "instance_arn": INSTANCE_ARN,
        "region": "us-east-1",
        "owner_account_id": SANDBOX,
        "name": "q-business-trial",
        "status": "ACTIVE",
        "created_date": datetime(2026, 11, 2, 9, 14, 3, tzinfo=UTC),
        "tags": {"purpose": "trial", "owner": "bob@example.com", "expires": "2026-12-15"},
    }
    fields.update(overrides)
    return InstanceFacts(**fields)


def facts(**overrides: Any) -> Facts:
    """Complete facts for a compliant trial in the Sandbox account, unless overridden.

    `call` is the triggering call (the subject is what it is about), unless `trigger` and
    `subject` are given."""
    the_call = overrides.pop("call", None) or call()
    the_instance = overrides.pop("instance", instance())
    fields: dict[str, Any] = {
        "subject": the_call.subject,
        "trigger": the_call,
        "organization": OrganizationFacts(organization_id="o-exampleorg1", management_account_id=MANAGEMENT),
        "account": sandbox_account(the_call.account_id) if the_call.account_id != PROD else prod_account(),
        "instance": the_instance,
        "account_instances": (the_instance,) if the_instance else (),
        "applications": (),
        "organization_instances": (),
        "service_control_policies": (
            ServiceControlPolicy(policy_id="p-FullAWSAccess", target_id="r-ab12", document=ALLOW_ALL_SCP),
        ),
    }
    fields.update(overrides)
    return Facts(**fields)


def tag_event(
    operation: str,
    resource_arn: str,
    *,
    instance_arn: str | None = None,
    tags: dict[str, str] | None = None,
    tag_keys: tuple[str, ...] = (),
    account_id: str = SANDBOX,
    region: str = "us-east-1",
) -> dict[str, Any]:
    """A TagResource or UntagResource as CloudTrail records it (camelCase request parameters),
    made from the sample CreateInstance of the same account: a fresh event id each time."""
    event = sample("create-instance-cli-trial-tagged")
    detail = event["detail"]
    request: dict[str, Any] = {"instanceArn": instance_arn or resource_arn, "resourceArn": resource_arn}
    if operation == "TagResource":
        request["tags"] = [{"key": k, "value": v} for k, v in (tags or {}).items()]
    else:
        request["tagKeys"] = list(tag_keys)
    event["id"] = str(uuid.uuid4())
    event["account"] = detail["recipientAccountId"] = account_id
    event["region"] = detail["awsRegion"] = region
    detail.update(
        eventName=operation,
        eventID=str(uuid.uuid4()),
        requestParameters=request,
        responseElements=None,
        userAgent="aws-cli/2.31.4 command/sso-admin."
        + ("tag-resource" if operation == "TagResource" else "untag-resource"),
    )
    detail["userIdentity"]["accountId"] = account_id
    detail["userIdentity"]["arn"] = f"arn:aws:iam::{account_id}:user/bob"
    return event
