"""What IAM authorizes for each AWS call the functions make: the action(s), the resource ARN(s), the
request context.

One entry per operation the functions call. An action is the Service Authorization Reference's; a
resource is built from the call's parameters in the ARN format of the resource type the reference
lists for the action, or `*` for an action that lists none (`sso:ListInstances`,
`sso:ListApplications`: a grant on an instance ARN does not grant them). Some calls need a second
authorization that the caller never asks for by name: publishing to a topic encrypted with a
customer managed key needs the publisher's `kms:GenerateDataKey` and `kms:Decrypt` on that key;
creating a schedule that names a role needs `iam:PassRole` on it.

An operation missing here is an error in the evaluation (`UnmappedCall`), so that a new call is
never silently left unchecked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Context = tuple[tuple[str, str | tuple[str, ...]], ...]


@dataclass(frozen=True)
class Need:
    """One authorization a call needs."""

    action: str
    resource: str
    context: Context = ()
    # The account that owns the resource, for ARNs that hold none (S3, Identity Center instances).
    resource_account: str | None = None
    # Why the call needs it when the call does not name the action (an implied authorization).
    implied: str | None = None
    # Why the resource cannot be checked against the action's resource types, when it cannot.
    unvalidated: str | None = None


@dataclass(frozen=True)
class Call:
    """What the recorder saw of one call: enough to build its needs."""

    service: str
    operation: str
    params: Mapping[str, Any]
    region: str
    account: str
    # Looked up while the emulated world was alive (see the recorder): the key of an SNS topic, a
    # DynamoDB table's partition key attribute.
    lookups: Mapping[str, Any] = field(default_factory=dict)


class UnmappedCall(ValueError):
    """A call with no entry here: the evaluation cannot say what it needs."""


def _org(account: str) -> str:
    return f"arn:aws:organizations::{account}"


def _value(attribute: Mapping[str, Any]) -> str:
    """The text of a DynamoDB attribute value, {"S": ...} or {"N": ...}."""
    for kind in ("S", "N", "B"):
        if kind in attribute:
            return str(attribute[kind])
    raise UnmappedCall(f"a key attribute of an unexpected type: {attribute}")


def _table(call: Call, name: str) -> str:
    return f"arn:aws:dynamodb:{call.region}:{call.account}:table/{name}"


def _leading(call: Call, table: str, keys: list[Mapping[str, Any]]) -> Context:
    """dynamodb:LeadingKeys: every partition key value the request names."""
    attribute = call.lookups.get(f"hash_key:{table}")
    if attribute is None:
        return ()
    values = tuple(sorted({_value(key[attribute]) for key in keys if attribute in key}))
    return (("dynamodb:LeadingKeys", values),)


def _item(call: Call) -> list[Need]:
    table = call.params["TableName"]
    key = call.params.get("Key") or call.params.get("Item") or {}
    return [Need(f"dynamodb:{call.operation}", _table(call, table), _leading(call, table, [key]))]


def _batch_get(call: Call) -> list[Need]:
    return [
        Need("dynamodb:BatchGetItem", _table(call, table), _leading(call, table, list(request["Keys"])))
        for table, request in call.params["RequestItems"].items()
    ]


def _batch_write(call: Call) -> list[Need]:
    needs = []
    for table, requests in call.params["RequestItems"].items():
        keys = [
            request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key") or {}
            for request in requests
        ]
        needs.append(Need("dynamodb:BatchWriteItem", _table(call, table), _leading(call, table, keys)))
    return needs


def _query(call: Call) -> list[Need]:
    table = call.params["TableName"]
    index = call.params.get("IndexName")
    resource = _table(call, table) + (f"/index/{index}" if index else "")
    return [Need("dynamodb:Query", resource)]


def _instance(call: Call, *names: str) -> str:
    for name in names:
        if name in call.params:
            return str(call.params[name])
    raise UnmappedCall(f"{call.service}:{call.operation} without {' or '.join(names)}")


def _sso(action: str, *names: str) -> Callable[[Call], list[Need]]:
    def needs(call: Call) -> list[Need]:
        return [Need(action, _instance(call, *names), resource_account=call.account)]

    return needs


def _unscoped(action: str) -> Callable[[Call], list[Need]]:
    def needs(call: Call) -> list[Need]:
        return [Need(action, "*")]

    return needs


def _organizations_target(call: Call, target: str, organization: str, management: str) -> str:
    """The ARN of an account, OU, root or policy given by its id, in the calling organization."""
    prefix = _org(management)
    if target.startswith("ou-"):
        return f"{prefix}:ou/{organization}/{target}"
    if target.startswith("r-"):
        return f"{prefix}:root/{organization}/{target}"
    if target.startswith("p-"):
        if target == "p-FullAWSAccess":  # AWS managed: its ARN names neither account nor organization
            return f"arn:aws:organizations::aws:policy/service_control_policy/{target}"
        return f"{prefix}:policy/{organization}/service_control_policy/{target}"
    return f"{prefix}:account/{organization}/{target}"


_AWS_MANAGED_POLICIES = "arn:aws:organizations::aws:policy/"
AWS_MANAGED_POLICY = (
    "the Service Authorization Reference lists the AWS managed policies' ARNs (resource type awspolicy) "
    "for no action, DescribePolicy included; the statement is matched against the ARN as IAM would, "
    "without the resource-type check"
)


def _organizations(action: str, parameter: str | None) -> Callable[[Call], list[Need]]:
    def needs(call: Call) -> list[Need]:
        if parameter is None:
            return [Need(action, "*")]
        organization = call.lookups["organization_id"]
        management = call.lookups["management_account_id"]
        target = str(call.params[parameter])
        resource = _organizations_target(call, target, organization, management)
        unvalidated = AWS_MANAGED_POLICY if resource.startswith(_AWS_MANAGED_POLICIES) else None
        # IAM takes Organizations resources as the caller's (the management account's, or a
        # delegated administrator's through the organization's resource policy).
        return [Need(action, resource, resource_account=call.account, unvalidated=unvalidated)]

    return needs


def _assume_role(call: Call) -> list[Need]:
    role = str(call.params["RoleArn"])
    context: list[tuple[str, str | tuple[str, ...]]] = []
    if call.lookups.get("resource_org_id"):
        context.append(("aws:ResourceOrgID", call.lookups["resource_org_id"]))
    return [Need("sts:AssumeRole", role, tuple(context), resource_account=role.split(":")[4])]


def _publish(call: Call) -> list[Need]:
    topic = str(call.params["TopicArn"])
    needs = [Need("sns:Publish", topic)]
    key = call.lookups.get("topic_key")
    if key:
        via = (("kms:ViaService", f"sns.{call.region}.amazonaws.com"), ("kms:CallerAccount", call.account))
        reason = f"SNS encrypts the message for {topic} with the caller's permission on the topic's key"
        needs += [
            Need("kms:GenerateDataKey", key, via, implied=reason),
            Need("kms:Decrypt", key, via, implied=reason),
        ]
    return needs


def _queue_arn(call: Call, url: str) -> str:
    # https://sqs.<region>.amazonaws.com/<account>/<name> (moto: the same path)
    account, name = url.rstrip("/").split("/")[-2:]
    return f"arn:aws:sqs:{call.region}:{account}:{name}"


def _sqs_by_url(action: str) -> Callable[[Call], list[Need]]:
    def needs(call: Call) -> list[Need]:
        return [Need(action, _queue_arn(call, str(call.params["QueueUrl"])))]

    return needs


def _get_queue_url(call: Call) -> list[Need]:
    owner = call.params.get("QueueOwnerAWSAccountId") or call.account
    return [Need("sqs:GetQueueUrl", f"arn:aws:sqs:{call.region}:{owner}:{call.params['QueueName']}")]


def _rule(action: str, parameter: str) -> Callable[[Call], list[Need]]:
    def needs(call: Call) -> list[Need]:
        bus = call.params.get("EventBusName")
        name = call.params[parameter]
        path = f"{bus}/{name}" if bus and bus != "default" else name
        return [Need(action, f"arn:aws:events:{call.region}:{call.account}:rule/{path}")]

    return needs


def _object(action: str) -> Callable[[Call], list[Need]]:
    def needs(call: Call) -> list[Need]:
        return [
            Need(
                action,
                f"arn:aws:s3:::{call.params['Bucket']}/{call.params['Key']}",
                resource_account=call.lookups.get("bucket_owner", call.account),
            )
        ]

    return needs


def _head_object(call: Call) -> list[Need]:
    """GetObject; and ListBucket, without which S3 answers a missing key with 403, not 404."""
    (get,) = _object("s3:GetObject")(call)
    listing = Need(
        "s3:ListBucket",
        f"arn:aws:s3:::{call.params['Bucket']}",
        resource_account=get.resource_account,
        implied="S3 tells a missing object (404) from a refusal (403) only to a caller that may list the bucket",
    )
    return [get, listing]


def _list_bucket(call: Call) -> list[Need]:
    prefix = call.params.get("Prefix")
    context = (("s3:prefix", prefix),) if prefix is not None else ()
    return [
        Need(
            "s3:ListBucket",
            f"arn:aws:s3:::{call.params['Bucket']}",
            context,
            resource_account=call.lookups.get("bucket_owner", call.account),
        )
    ]


def _schedule_arn(call: Call) -> str:
    group = call.params.get("GroupName") or "default"
    return f"arn:aws:scheduler:{call.region}:{call.account}:schedule/{group}/{call.params['Name']}"


def _create_schedule(call: Call) -> list[Need]:
    """CreateSchedule or UpdateSchedule, and passing the role the schedule names."""
    needs = [Need(f"scheduler:{call.operation}", _schedule_arn(call))]
    role = call.params.get("Target", {}).get("RoleArn")
    if role:
        needs.append(
            Need(
                "iam:PassRole",
                str(role),
                (("iam:PassedToService", "scheduler.amazonaws.com"),),
                implied="a schedule names the role Scheduler invokes its target with",
            )
        )
    return needs


def _schedule(action: str) -> Callable[[Call], list[Need]]:
    def needs(call: Call) -> list[Need]:
        return [Need(action, _schedule_arn(call))]

    return needs


def _import_findings(call: Call) -> list[Need]:
    products = sorted({str(finding["ProductArn"]) for finding in call.params["Findings"]})
    return [Need("securityhub:BatchImportFindings", product) for product in products]


def _update_findings(call: Call) -> list[Need]:
    return [
        Need(
            "securityhub:BatchUpdateFindings", f"arn:aws:securityhub:{call.region}:{call.account}:hub/default"
        )
    ]


def _list_regions(call: Call) -> list[Need]:
    other = call.params.get("AccountId")
    if other and other != call.account:
        organization = call.lookups["organization_id"]
        return [
            Need("account:ListRegions", f"arn:aws:account::{call.account}:account/{organization}/{other}")
        ]
    return [Need("account:ListRegions", f"arn:aws:account::{call.account}:account")]


OPERATIONS: dict[tuple[str, str], Callable[[Call], list[Need]]] = {
    # Identity Center: the instance API (endpoint prefix and IAM prefix `sso`).
    ("sso-admin", "ListInstances"): _unscoped("sso:ListInstances"),
    ("sso-admin", "ListApplications"): _unscoped("sso:ListApplications"),
    ("sso-admin", "DescribeInstance"): _sso("sso:DescribeInstance", "InstanceArn"),
    ("sso-admin", "DeleteInstance"): _sso("sso:DeleteInstance", "InstanceArn"),
    ("sso-admin", "ListTagsForResource"): _sso("sso:ListTagsForResource", "ResourceArn", "InstanceArn"),
    ("account", "ListRegions"): _list_regions,
    # Organizations: ids in the parameters, ARNs in the organization of the management account.
    ("organizations", "DescribeOrganization"): _organizations("organizations:DescribeOrganization", None),
    ("organizations", "ListAccounts"): _organizations("organizations:ListAccounts", None),
    ("organizations", "ListRoots"): _organizations("organizations:ListRoots", None),
    ("organizations", "ListPolicies"): _organizations("organizations:ListPolicies", None),
    ("organizations", "DescribeAccount"): _organizations("organizations:DescribeAccount", "AccountId"),
    ("organizations", "ListParents"): _organizations("organizations:ListParents", "ChildId"),
    ("organizations", "DescribeOrganizationalUnit"): _organizations(
        "organizations:DescribeOrganizationalUnit", "OrganizationalUnitId"
    ),
    ("organizations", "ListTagsForResource"): _organizations(
        "organizations:ListTagsForResource", "ResourceId"
    ),
    ("organizations", "ListPoliciesForTarget"): _organizations(
        "organizations:ListPoliciesForTarget", "TargetId"
    ),
    ("organizations", "DescribePolicy"): _organizations("organizations:DescribePolicy", "PolicyId"),
    ("organizations", "ListTargetsForPolicy"): _organizations(
        "organizations:ListTargetsForPolicy", "PolicyId"
    ),
    ("organizations", "ListOrganizationalUnitsForParent"): _organizations(
        "organizations:ListOrganizationalUnitsForParent", "ParentId"
    ),
    ("organizations", "ListAccountsForParent"): _organizations(
        "organizations:ListAccountsForParent", "ParentId"
    ),
    ("sts", "AssumeRole"): _assume_role,
    # The central account's resources.
    ("sns", "Publish"): _publish,
    ("sqs", "SendMessage"): _sqs_by_url("sqs:SendMessage"),
    ("sqs", "GetQueueAttributes"): _sqs_by_url("sqs:GetQueueAttributes"),
    ("sqs", "GetQueueUrl"): _get_queue_url,
    ("dynamodb", "GetItem"): _item,
    ("dynamodb", "PutItem"): _item,
    ("dynamodb", "UpdateItem"): _item,
    ("dynamodb", "DeleteItem"): _item,
    ("dynamodb", "BatchGetItem"): _batch_get,
    ("dynamodb", "BatchWriteItem"): _batch_write,
    ("dynamodb", "Query"): _query,
    ("s3", "PutObject"): _object("s3:PutObject"),
    ("s3", "GetObject"): _object("s3:GetObject"),
    # HeadObject is authorized as GetObject (the Service Authorization Reference has no HeadObject).
    ("s3", "HeadObject"): _head_object,
    ("s3", "ListObjectsV2"): _list_bucket,
    ("scheduler", "CreateSchedule"): _create_schedule,
    ("scheduler", "UpdateSchedule"): _create_schedule,
    ("scheduler", "GetSchedule"): _schedule("scheduler:GetSchedule"),
    ("scheduler", "DeleteSchedule"): _schedule("scheduler:DeleteSchedule"),
    ("securityhub", "BatchImportFindings"): _import_findings,
    ("securityhub", "BatchUpdateFindings"): _update_findings,
    # The sweep's coverage check, in each member account and Region.
    ("events", "DescribeRule"): _rule("events:DescribeRule", "Name"),
    ("events", "ListTargetsByRule"): _rule("events:ListTargetsByRule", "Rule"),
}

# What each mapper reads from the emulated world while the call is made (see the recorder).
LOOKUPS: dict[tuple[str, str], tuple[str, ...]] = {
    **{
        ("organizations", operation): ("organization",)
        for _, operation in [k for k in OPERATIONS if k[0] == "organizations"]
    },
    ("account", "ListRegions"): ("organization",),
    ("sts", "AssumeRole"): ("resource_org",),
    ("sns", "Publish"): ("topic_key",),
    **{
        ("dynamodb", operation): ("hash_keys",)
        for _, operation in [k for k in OPERATIONS if k[0] == "dynamodb"]
    },
    **{("s3", operation): ("bucket_owner",) for _, operation in [k for k in OPERATIONS if k[0] == "s3"]},
}


def needs_of(call: Call) -> list[Need]:
    """Every authorization `call` needs; `UnmappedCall` for an operation this module does not know."""
    mapper = OPERATIONS.get((call.service, call.operation))
    if mapper is None:
        raise UnmappedCall(
            f"{call.service}:{call.operation} is not in tests/iam/calls.py: add what IAM authorizes for it"
        )
    return mapper(call)
