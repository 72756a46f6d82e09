"""The synthesized templates as IAM sees them once deployed: roles, trust, resource policies, SCPs.

`Deployment` resolves each template's intrinsic functions (Ref, Fn::GetAtt, Fn::Join, pseudo
parameters) to concrete ARNs. The central stack's resources get the names the emulation gives them
(`emulator.environment.CENTRAL_RESOURCE_NAMES`), so that a call recorded in the emulation names
what the template names; the member templates are resolved for the account of the role asked for,
as the StackSet deploys them in each account. The organization is the configuration's
(`o-exampleorg1`, root `r-ab12`); recorded calls are translated into it (`Translation`).

Which policies decide a call:
- identity policies: the inline policies of the role and the `AWS::IAM::Policy` resources attached to
  it (managed policies are refused: none is used, and their documents are not in the templates);
- the trust policy of the role an `sts:AssumeRole` assumes;
- the resource policy of the resource acted on: the reports bucket's (bucket and objects), a queue's,
  a topic's, the alert key's, the event bus's, a member account's forwarding dead-letter queue's;
- the SCPs the management stack deploys (the guard SCP and the CreateInstance SCP), taken as attached
  at the root, so in force in every account but the management account: wherever their targets
  put them, they can deny no more than that.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from emulator.environment import CENTRAL_RESOURCE_NAMES
from infra.config import GuardrailConfig

Document = dict[str, Any]

CENTRAL_STACK: Final = "IdentityCenterGuardrailCentral"
MANAGEMENT_STACK: Final = "IdentityCenterGuardrailManagement"
ROLES_TEMPLATE: Final = "StackSet IdentityCenterGuardrail-MemberRoles"
FORWARDING_TEMPLATE: Final = "StackSet IdentityCenterGuardrail-EventForwarding"
FULL_AWS_ACCESS: Final[Document] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
# The function each handler is, as the recorder names them.
HANDLERS: Final = {
    "guardrail.handlers.detect.handler": "detect",
    "guardrail.handlers.sweep.plan_handler": "planner",
    "guardrail.handlers.sweep.work_handler": "worker",
    "guardrail.handlers.sweep.summarize_handler": "summary",
}
# Resource types whose names the emulation fixes, by the construct id their logical id starts with.
_EMULATED: Final = {
    ("AWS::SNS::Topic", "AlertTopic"): CENTRAL_RESOURCE_NAMES["AlertTopic"],
    ("AWS::SNS::Topic", "ChatTopic"): CENTRAL_RESOURCE_NAMES["ChatTopic"],
    ("AWS::SQS::Queue", "DeadLetterQueue"): CENTRAL_RESOURCE_NAMES["DeadLetterQueue"],
    ("AWS::DynamoDB::Table", "IdempotencyTable"): CENTRAL_RESOURCE_NAMES["IdempotencyTable"],
    ("AWS::DynamoDB::Table", "InventoryTable"): CENTRAL_RESOURCE_NAMES["InventoryTable"],
    ("AWS::S3::Bucket", "ReportsBucket"): CENTRAL_RESOURCE_NAMES["ReportsBucket"],
    ("AWS::Scheduler::ScheduleGroup", "DeletionSchedules"): CENTRAL_RESOURCE_NAMES["DeletionSchedulesGroup"],
    ("AWS::IAM::Role", "DeletionSchedulesSchedulerRole"): CENTRAL_RESOURCE_NAMES[
        "DeletionSchedulesSchedulerRole"
    ],
}


class TemplateError(ValueError):
    """A template holds something this model cannot resolve."""


@dataclass(frozen=True)
class Where:
    """One template: its name, and where it is deployed."""

    template: str
    account: str
    region: str


def _physical_name(document: Document, logical_id: str, where: Where) -> str:
    resource = document["Resources"][logical_id]
    kind = resource["Type"]
    for (emulated_kind, prefix), name in _EMULATED.items():
        if kind == emulated_kind and logical_id.startswith(prefix):
            return name
    properties = resource.get("Properties", {})
    for key in ("RoleName", "FunctionName", "TopicName", "QueueName", "TableName", "BucketName", "Name"):
        if isinstance(properties.get(key), str):
            return str(properties[key])
    # CloudFormation's generated names: <stack>-<logical id>-<suffix>; the suffix is left out.
    return f"{where.template}-{logical_id}"


def _attribute(document: Document, logical_id: str, attribute: str | None, where: Where) -> str:
    """What a Ref (attribute None) or Fn::GetAtt of a resource stands for once deployed."""
    kind = document["Resources"][logical_id]["Type"]
    name = _physical_name(document, logical_id, where)
    account, region = where.account, where.region
    path = document["Resources"][logical_id].get("Properties", {}).get("Path", "/")
    arns: dict[str, Callable[[], str]] = {
        "AWS::IAM::Role": lambda: f"arn:aws:iam::{account}:role{path}{name}",
        "AWS::SNS::Topic": lambda: f"arn:aws:sns:{region}:{account}:{name}",
        "AWS::SQS::Queue": lambda: f"arn:aws:sqs:{region}:{account}:{name}",
        "AWS::DynamoDB::Table": lambda: f"arn:aws:dynamodb:{region}:{account}:table/{name}",
        "AWS::S3::Bucket": lambda: f"arn:aws:s3:::{name}",
        "AWS::KMS::Key": lambda: f"arn:aws:kms:{region}:{account}:key/{logical_id}",
        "AWS::Lambda::Function": lambda: f"arn:aws:lambda:{region}:{account}:function:{name}",
        "AWS::Events::EventBus": lambda: f"arn:aws:events:{region}:{account}:event-bus/{name}",
        "AWS::Events::Rule": lambda: f"arn:aws:events:{region}:{account}:rule/{name}",
        "AWS::Scheduler::ScheduleGroup": lambda: (
            f"arn:aws:scheduler:{region}:{account}:schedule-group/{name}"
        ),
        "AWS::StepFunctions::StateMachine": lambda: f"arn:aws:states:{region}:{account}:stateMachine:{name}",
        "AWS::Logs::LogGroup": lambda: f"arn:aws:logs:{region}:{account}:log-group:{name}:*",
        "AWS::CloudWatch::Alarm": lambda: f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
        "AWS::Organizations::Policy": lambda: f"p-{logical_id.lower()[:8]}",
    }
    if attribute is None:
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{region}.amazonaws.com/{account}/{name}"
        if kind in ("AWS::SNS::Topic", "AWS::StepFunctions::StateMachine", "AWS::Organizations::Policy"):
            return arns[kind]()
        return name
    if attribute in ("Arn", "TopicArn", "Id") and kind in arns:
        return arns[kind]()
    if attribute in ("Name", "QueueName", "TopicName"):
        return name
    if attribute == "QueueUrl":
        return f"https://sqs.{region}.amazonaws.com/{account}/{name}"
    raise TemplateError(f"{where.template}: no value for Fn::GetAtt {logical_id}.{attribute} ({kind})")


def resolve(value: Any, document: Document, where: Where) -> Any:
    """`value` with every intrinsic function resolved, as CloudFormation would deploy it."""
    if isinstance(value, list):
        return [resolve(item, document, where) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        name = value["Ref"]
        pseudo = {"AWS::Partition": "aws", "AWS::AccountId": where.account, "AWS::Region": where.region}
        if name in pseudo:
            return pseudo[name]
        if name in document.get("Parameters", {}):
            return f"<parameter {name}>"
        return _attribute(document, name, None, where)
    if set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        logical_id, attribute = target if isinstance(target, list) else target.split(".", 1)
        return _attribute(document, logical_id, attribute, where)
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part, document, where)) for part in parts)
    if set(value) == {"Fn::Select"}:
        index, items = value["Fn::Select"]
        return resolve(items, document, where)[int(index)]
    if set(value) == {"Fn::Split"}:
        separator, text = value["Fn::Split"]
        return str(resolve(text, document, where)).split(separator)
    if any(key.startswith("Fn::") for key in value):
        raise TemplateError(f"{where.template}: cannot resolve {json.dumps(value)[:200]}")
    return {key: resolve(item, document, where) for key, item in value.items()}


def _statements(document: Document) -> list[Document]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


@dataclass(frozen=True)
class Role:
    """A role as deployed in one account: its identity policies and its trust policy."""

    arn: str
    label: str
    where: Where
    logical_id: str
    # As `Statement.owner` names it: the role's name when the template gives one, else its logical id.
    owner: str
    policies: Mapping[str, Document]
    trust: Document

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ResourcePolicy:
    """The policy of one resource: `resources` are the ARNs it decides for (a bucket's objects too)."""

    label: str
    where: Where
    logical_id: str
    resources: tuple[str, ...]
    document: Document

    def covers(self, arn: str) -> bool:
        return any(arn == r or (r.endswith("/*") and arn.startswith(r[:-1])) for r in self.resources)


@dataclass(frozen=True)
class Statement:
    """One statement of one policy in the templates, for the least-privilege report."""

    template: str
    owner: str
    kind: str  # identity, trust, resource, scp
    policy: str
    index: int  # 1-based, as the simulator counts
    document: Document
    # As the template holds it, intrinsic functions unresolved: what the report shows.
    raw: Document

    @property
    def sid(self) -> str:
        return str(self.document.get("Sid") or f"#{self.index}")

    @property
    def effect(self) -> str:
        return str(self.document.get("Effect", "Allow"))

    @property
    def actions(self) -> list[str]:
        value = self.document.get("Action") or self.document.get("NotAction") or []
        return [value] if isinstance(value, str) else list(value)

    @property
    def key(self) -> tuple[str, str, str, str, int]:
        return (self.template, self.owner, self.kind, self.policy, self.index)


def _raw_resource_policy(resource: Document) -> Document:
    properties = resource["Properties"]
    if resource["Type"] == "AWS::KMS::Key":
        return dict(properties["KeyPolicy"])
    if resource["Type"] == "AWS::Events::EventBusPolicy":
        return {"Statement": [properties["Statement"]]}
    return dict(properties["PolicyDocument"])


def _inline(role: Document) -> dict[str, Document]:
    return {p["PolicyName"]: p["PolicyDocument"] for p in role.get("Properties", {}).get("Policies", [])}


def _attached(document: Document, logical_id: str) -> dict[str, Document]:
    return {
        name: resource["Properties"]["PolicyDocument"]
        for name, resource in document["Resources"].items()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": logical_id} in resource["Properties"]["Roles"]
    }


def _role(document: Document, logical_id: str, where: Where, label: str) -> Role:
    resource = document["Resources"][logical_id]
    if resource["Properties"].get("ManagedPolicyArns"):
        raise TemplateError(
            f"{where.template}: {logical_id} has managed policies, which this model cannot read"
        )
    policies = {**_inline(resource), **_attached(document, logical_id)}
    return Role(
        arn=_attribute(document, logical_id, "Arn", where),
        label=label,
        where=where,
        logical_id=logical_id,
        owner=resource["Properties"].get("RoleName") or logical_id,
        policies=resolve(policies, document, where),
        trust=resolve(resource["Properties"]["AssumeRolePolicyDocument"], document, where),
    )


@dataclass
class Deployment:
    """The templates of one configuration, deployed in the emulated organization's accounts."""

    config: GuardrailConfig
    templates: Mapping[str, Document]
    _roles: dict[str, Role] = field(default_factory=dict)
    _functions: dict[str, Role] = field(default_factory=dict)
    _policies: dict[tuple[str, str], list[ResourcePolicy]] = field(default_factory=dict)

    @property
    def central(self) -> Where:
        return Where(CENTRAL_STACK, self.config.central_account_id, self.config.central_region)

    @property
    def management(self) -> Where:
        return Where(MANAGEMENT_STACK, self.config.management_account_id, self.config.central_region)

    def copy(self) -> Deployment:
        """A deployment of deep copies of the templates, to change one."""
        return Deployment(self.config, copy.deepcopy(dict(self.templates)))

    # ------------------------------------------------------------------ roles
    def function_role(self, function: str) -> Role:
        """The execution role of the detect function or one of the sweep's functions."""
        if function in self._functions:
            return self._functions[function]
        document = self.templates[CENTRAL_STACK]
        for resource in document["Resources"].values():
            properties = resource.get("Properties", {})
            if (
                resource["Type"] == "AWS::Lambda::Function"
                and HANDLERS.get(properties.get("Handler")) == function
            ):
                role_id = properties["Role"]["Fn::GetAtt"][0]
                role = _role(document, role_id, self.central, f"the {function} function's role")
                self._functions[function] = role
                return role
        raise TemplateError(f"{CENTRAL_STACK}: no function runs the {function} handler")

    def _candidates(self, account: str) -> Iterator[tuple[Document, str, Where, str]]:
        """Every role the templates create in `account`, with its template and a label."""
        if account == self.config.central_account_id:
            document = self.templates[CENTRAL_STACK]
            for logical_id, resource in document["Resources"].items():
                if resource["Type"] == "AWS::IAM::Role":
                    yield document, logical_id, self.central, f"{CENTRAL_STACK} role {logical_id}"
        if account == self.config.management_account_id:
            document = self.templates[MANAGEMENT_STACK]
            for logical_id, resource in document["Resources"].items():
                if resource["Type"] == "AWS::IAM::Role":
                    name = resource["Properties"].get("RoleName", logical_id)
                    yield document, logical_id, self.management, f"{MANAGEMENT_STACK} role {name}"
        else:  # the StackSets deploy to every other account (the root, or the configured targets)
            document = self.templates[ROLES_TEMPLATE]
            where = Where(ROLES_TEMPLATE, account, self.config.central_region)
            for logical_id, resource in document["Resources"].items():
                if resource["Type"] == "AWS::IAM::Role":
                    name = resource["Properties"].get("RoleName", logical_id)
                    yield document, logical_id, where, f"{ROLES_TEMPLATE} role {name}"

    def role(self, arn: str) -> Role | None:
        """The role the templates create with this ARN, in the account the ARN names."""
        if arn not in self._roles:
            account = arn.split(":")[4]
            for document, logical_id, where, label in self._candidates(account):
                if _attribute(document, logical_id, "Arn", where) == arn:
                    self._roles[arn] = _role(document, logical_id, where, label)
                    break
            else:
                return None
        return self._roles[arn]

    # ------------------------------------------------------------------ resource policies
    def resource_policies(self, account: str, region: str) -> list[ResourcePolicy]:
        """Every resource policy the templates deploy in `account` and `region`."""
        if (account, region) in self._policies:
            return self._policies[(account, region)]
        found: list[ResourcePolicy] = []
        for template, where in self._placements(account, region):
            document = self.templates[template]
            for logical_id, resource in document["Resources"].items():
                policy = self._resource_policy(document, logical_id, resource, where)
                if policy is not None:
                    found.append(policy)
        self._policies[(account, region)] = found
        return found

    def _placements(self, account: str, region: str) -> list[tuple[str, Where]]:
        placements = []
        if account == self.config.central_account_id and region == self.config.central_region:
            placements.append((CENTRAL_STACK, self.central))
        if account == self.config.management_account_id:
            name = f"{MANAGEMENT_STACK}-{region}"
            if name in self.templates:
                placements.append((name, Where(name, account, region)))
        elif region in self.config.regions:
            placements.append((FORWARDING_TEMPLATE, Where(FORWARDING_TEMPLATE, account, region)))
        return placements

    @staticmethod
    def _resource_policy(
        document: Document, logical_id: str, resource: Document, where: Where
    ) -> ResourcePolicy | None:
        kind, properties = resource["Type"], resource.get("Properties", {})
        label = f"{where.template} {kind.split('::')[-1]} {logical_id}"
        if kind == "AWS::S3::BucketPolicy":
            bucket = resolve(properties["Bucket"], document, where)
            arns: tuple[str, ...] = (f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*")
            return ResourcePolicy(
                label, where, logical_id, arns, resolve(properties["PolicyDocument"], document, where)
            )
        if kind == "AWS::SQS::QueuePolicy":
            urls = resolve(properties["Queues"], document, where)
            arns = tuple(f"arn:aws:sqs:{where.region}:{u.split('/')[-2]}:{u.split('/')[-1]}" for u in urls)
            return ResourcePolicy(
                label, where, logical_id, arns, resolve(properties["PolicyDocument"], document, where)
            )
        if kind == "AWS::SNS::TopicPolicy":
            arns = tuple(resolve(properties["Topics"], document, where))
            return ResourcePolicy(
                label, where, logical_id, arns, resolve(properties["PolicyDocument"], document, where)
            )
        if kind == "AWS::KMS::Key":
            arn = _attribute(document, logical_id, "Arn", where)
            return ResourcePolicy(
                label, where, logical_id, (arn,), resolve(properties["KeyPolicy"], document, where)
            )
        if kind == "AWS::Events::EventBusPolicy":
            statement = resolve(properties["Statement"], document, where)
            bus = resolve(properties["EventBusName"], document, where)
            arn = f"arn:aws:events:{where.region}:{where.account}:event-bus/{bus}"
            return ResourcePolicy(
                label, where, logical_id, (arn,), {"Version": "2012-10-17", "Statement": [statement]}
            )
        return None

    def owns(self, arn: str, account: str, region: str) -> bool:
        """Whether the templates deploy the resource `arn` (an object: its bucket) in that place."""
        placements = [*self._placements(account, region), (CENTRAL_STACK, self.central)]
        if account != self.config.management_account_id:
            placements.append((ROLES_TEMPLATE, Where(ROLES_TEMPLATE, account, self.config.central_region)))
        for template, where in placements:
            document = self.templates[template]
            for logical_id in document["Resources"]:
                try:
                    owned = _attribute(document, logical_id, "Arn", where)
                except TemplateError:
                    continue
                if arn == owned or (owned.startswith("arn:aws:s3:::") and arn.startswith(owned + "/")):
                    return True
        return False

    def resource_policy(self, arn: str, account: str, region: str) -> ResourcePolicy | None:
        for policy in self.resource_policies(account, region):
            if policy.covers(arn):
                return policy
        return None

    # ------------------------------------------------------------------ SCPs
    def scps(self) -> dict[str, Document]:
        """The SCPs the management stack deploys, by name."""
        document = self.templates[MANAGEMENT_STACK]
        return {
            resource["Properties"]["Name"]: resolve(
                resource["Properties"]["Content"], document, self.management
            )
            for resource in document["Resources"].values()
            if resource["Type"] == "AWS::Organizations::Policy"
        }

    # ------------------------------------------------------------------ every statement
    def statements(self) -> list[Statement]:
        """Every statement of every policy the templates hold (resolved for a member account)."""
        member = Where(ROLES_TEMPLATE, "333333333333", self.config.central_region)
        found: list[Statement] = []
        for template, document in sorted(self.templates.items()):
            if (
                template.startswith(f"{MANAGEMENT_STACK}-")
                and template != f"{MANAGEMENT_STACK}-{self.config.central_region}"
            ):
                continue  # one Region's stack stands for them all: they are the same template
            where = {
                CENTRAL_STACK: self.central,
                MANAGEMENT_STACK: self.management,
                ROLES_TEMPLATE: member,
                FORWARDING_TEMPLATE: Where(FORWARDING_TEMPLATE, member.account, member.region),
            }.get(template, Where(template, self.config.management_account_id, self.config.central_region))
            for logical_id, resource in document["Resources"].items():
                found.extend(self._statements_of(template, document, logical_id, resource, where))
        return found

    def _statements_of(
        self, template: str, document: Document, logical_id: str, resource: Document, where: Where
    ) -> list[Statement]:
        kind, properties = resource["Type"], resource.get("Properties", {})
        policies: list[tuple[str, str, str, Document]] = []  # owner, kind, policy name, document
        if kind == "AWS::IAM::Role":
            owner = properties.get("RoleName") or logical_id
            policies.append((owner, "trust", "trust policy", properties["AssumeRolePolicyDocument"]))
            policies += [(owner, "identity", name, doc) for name, doc in _inline(resource).items()]
        elif kind == "AWS::IAM::Policy":
            for role in properties["Roles"]:
                target = document["Resources"][role["Ref"]]["Properties"]
                owner = target.get("RoleName") or role["Ref"]
                policies.append((owner, "identity", logical_id, properties["PolicyDocument"]))
        elif kind == "AWS::Organizations::Policy":
            policies.append((properties["Name"], "scp", properties["Name"], properties["Content"]))
        elif kind == "AWS::Lambda::Permission":
            statement = {
                "Effect": "Allow",
                "Principal": properties["Principal"],
                "Action": properties["Action"],
                "Resource": properties["FunctionName"],
                **(
                    {"Condition": {"ArnLike": {"aws:SourceArn": properties["SourceArn"]}}}
                    if "SourceArn" in properties
                    else {}
                ),
            }
            policies.append((logical_id, "resource", "function permission", {"Statement": [statement]}))
        else:
            policy = self._resource_policy(document, logical_id, resource, where)
            if policy is not None:
                raw = _raw_resource_policy(resource)
                return [
                    Statement(template, logical_id, "resource", policy.label, index, statement, raw_statement)
                    for index, (statement, raw_statement) in enumerate(
                        zip(_statements(policy.document), _statements(raw), strict=True), 1
                    )
                ]
        return [
            Statement(template, owner, kind_, name, index, resolve(statement, document, where), statement)
            for owner, kind_, name, policy in policies
            for index, statement in enumerate(_statements(policy), 1)
        ]


@dataclass(frozen=True)
class Translation:
    """The emulated organization's ids, and what the configuration (and so the templates) calls them."""

    organization_id: str | None
    root_id: str | None
    config: GuardrailConfig

    def __call__(self, text: str) -> str:
        if self.organization_id:
            text = text.replace(self.organization_id, self.config.organization_id)
        if self.root_id and self.config.root_id:
            text = re.sub(rf"\b{re.escape(self.root_id)}\b", self.config.root_id, text)
        # moto's OU ids embed the root's suffix (ou-<root>-...), as Organizations' do.
        if self.root_id and self.config.root_id:
            text = text.replace(f"ou-{self.root_id[2:]}-", f"ou-{self.config.root_id[2:]}-")
        return text
