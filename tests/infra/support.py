"""Helpers shared by the infrastructure tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, cast

import msgspec
import yaml
from aws_cdk import App, cx_api
from aws_cdk.assertions import Template

from guardrail.handlers.environment import FunctionEnvironment
from infra.application import (
    CENTRAL_STACK_NAME,
    CONFIG_CONTEXT_KEY,
    MANAGEMENT_STACK_NAME,
    build_app,
    management_region_stack_name,
)
from infra.bundling import PROJECT_ROOT
from infra.central_stack import CentralStack
from infra.config import GuardrailConfig, load_config

SAMPLE_EVENTS = PROJECT_ROOT / "samples" / "events"
EXAMPLE_CONFIG = PROJECT_ROOT / "config" / "guardrail.yaml"
EXAMPLE_POLICY = PROJECT_ROOT / "policy" / "policy.yaml"
# A fixed synth date, so that which policy exemptions the SCP excepts does not depend on the day.
SYNTH_DATE = date(2026, 11, 30)
# The variant configuration's organization: OUs under the example's root r-ab12.
SANDBOX_OU = "ou-ab12-sandbox1"
WORKLOADS_OU = "ou-ab12-workload"
APPROVED_ACCOUNT = "333333333333"
# The variant configuration's sweep: every setting away from its default, the schedule off.
VARIANT_SWEEP: dict[str, Any] = {
    "enabled": False,
    "schedule": "rate(12 hours)",
    "time_zone": "Europe/Paris",
    "reminder_days": 3,
    "ending_within_days": 30,
    "batch_size": 10,
    "max_concurrency": 5,
    "tolerated_failure_percentage": 5,
    "report_retention_days": 30,
}
# The variant configuration's detect function concurrency and the deployment roles its guard excepts.
VARIANT_RESERVED_CONCURRENCY = 25
VARIANT_DEPLOYMENT_ROLE_PATTERNS = ("cdk-*-cfn-exec-role-*", "GuardrailDeployer")
# The variant configuration's administrators who may read the reports bucket.
VARIANT_REPORTS_READERS = (
    "arn:aws:iam::222222222222:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_SecurityAudit_*",
)
# The delegated-administrator configuration's names for the sweep's roles.
CUSTOM_PLANNER_ROLE_NAME = "GuardrailPlannerOfSweeps"
CUSTOM_WORKER_ROLE_NAME = "GuardrailWorkerOfSweeps"

Document = dict[str, Any]


def resources(document: Document, resource_type: str) -> dict[str, Document]:
    return {
        name: resource
        for name, resource in document["Resources"].items()
        if resource["Type"] == resource_type
    }


def only(document: Document, resource_type: str) -> Document:
    (resource,) = resources(document, resource_type).values()
    return resource


@dataclass(frozen=True)
class Synthesized:
    """One synthesized app, with what the tests look at.

    `stack`, `template` and `document` are the central stack's; the other stacks are reached by
    name through `stack_document`.
    """

    app: App
    stack: CentralStack
    template: Template
    document: Document
    outdir: Path
    config: GuardrailConfig
    assembly: cx_api.CloudAssembly

    def resources(self, resource_type: str) -> dict[str, Document]:
        return resources(self.document, resource_type)

    def only(self, resource_type: str) -> Document:
        return only(self.document, resource_type)

    def logical_id(self, resource_type: str) -> str:
        (logical_id,) = self.resources(resource_type)
        return logical_id

    def function_id(self, handler: str) -> str:
        """The logical id of the function running `handler`."""
        (logical_id,) = [
            name
            for name, function in self.resources("AWS::Lambda::Function").items()
            if function["Properties"]["Handler"] == handler
        ]
        return logical_id

    def function(self, handler: str) -> Document:
        """The properties of the function running `handler`."""
        return cast(Document, self.document["Resources"][self.function_id(handler)]["Properties"])

    def role_id(self, handler: str) -> str:
        """The logical id of the role of the function running `handler`."""
        return cast(str, self.function(handler)["Role"]["Fn::GetAtt"][0])

    def role(self, handler: str) -> Document:
        return cast(Document, self.document["Resources"][self.role_id(handler)]["Properties"])

    def role_policy_statements(self, role_id: str) -> list[Document]:
        """Every statement of the AWS::IAM::Policy resources attached to the role `role_id`."""
        return [
            statement
            for policy in self.resources("AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]

    def function_statements(self, handler: str) -> list[Document]:
        """What the role of the function running `handler` may do."""
        return self.role_policy_statements(self.role_id(handler))

    def resource_of(self, resource_type: str, id_prefix: str) -> tuple[str, Document]:
        """The one resource of `resource_type` whose logical id starts with `id_prefix`."""
        (found,) = [(k, r) for k, r in self.resources(resource_type).items() if k.startswith(id_prefix)]
        return found

    def alert_topic_id(self) -> str:
        """The logical id of the alert topic (with chat on, there is a second topic)."""
        return self.resource_of("AWS::SNS::Topic", "AlertTopic")[0]

    def chat_topic_ids(self) -> list[str]:
        """The logical id of the chat topic, when chat is on; none otherwise."""
        return [k for k in self.resources("AWS::SNS::Topic") if k.startswith("ChatTopic")]

    def stack_document(self, stack_name: str) -> Document:
        return cast(Document, self.assembly.get_stack_by_name(stack_name).template)

    def stack_names(self) -> list[str]:
        return sorted(stack.stack_name for stack in self.assembly.stacks)

    @property
    def management(self) -> Document:
        return self.stack_document(MANAGEMENT_STACK_NAME)

    def management_region(self, region: str) -> Document:
        return self.stack_document(management_region_stack_name(region))

    def stack_sets(self) -> dict[str, Document]:
        """The StackSets' properties by StackSet name, from whichever stack holds them."""
        found: dict[str, Document] = {}
        for stack in self.assembly.stacks:
            for resource in resources(
                cast(Document, stack.template), "AWS::CloudFormation::StackSet"
            ).values():
                found[resource["Properties"]["StackSetName"]] = resource["Properties"]
        return found

    def member_template(self, stack_set_name: str) -> Document:
        """The template a StackSet deploys, parsed from its TemplateBody."""
        return cast(Document, json.loads(self.stack_sets()[stack_set_name]["TemplateBody"]))


POWERTOOLS_VARIABLES = {
    "POWERTOOLS_SERVICE_NAME": "identity-center-guardrail",
    "POWERTOOLS_METRICS_NAMESPACE": "IdentityCenterGuardrail",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


def assert_environment(
    variables: Document,
    model: type[FunctionEnvironment],
    expected: Document,
    *,
    unset: frozenset[str] = frozenset(),
) -> None:
    """A function's environment is its model's variables (the handler reads them back with the
    model) and Powertools', with the `expected` values; a field of the model not in `expected` must
    be at its default (an optional one empty). `unset` names the fields deliberately left at their
    default, for the report."""
    declared = model.declared()  # Powertools' variables among them (the `Observability` part)
    assert set(variables) == set(declared)
    assert {k: variables[k] for k in POWERTOOLS_VARIABLES} == POWERTOOLS_VARIABLES
    assert {k: variables[k] for k in expected} == expected
    for name, default in declared.items():
        if name in expected:
            continue
        assert default is not msgspec.NODEFAULT, f"{name} is required but not expected by the test"
        assert variables[name] == default, name


def readable(value: Any) -> Any:
    """A template value with its tokens as text: `<Id>` for a Ref, `<Id.Arn>` for a Fn::GetAtt,
    `<Id.Name>` for a state machine's name taken from its ARN, pseudo parameters resolved."""
    if isinstance(value, list):
        return [readable(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        pseudo = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "222222222222"}
        return pseudo.get(value["Ref"], f"<{value['Ref']}>")
    if set(value) == {"Fn::GetAtt"}:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(readable(part)) for part in parts)
    if set(value) == {"Fn::Select"}:
        index, split = value["Fn::Select"]
        # arn:aws:states:<region>:<account>:stateMachine:<name>
        assert index == 6, value
        assert split["Fn::Split"][0] == ":", value
        return f"<{split['Fn::Split'][1]['Ref']}.Name>"
    return {key: readable(item) for key, item in value.items()}


def _as_list(value: Any) -> list[Any]:
    return sorted(value) if isinstance(value, list) else [value]


def normalized(statements: list[Document]) -> list[Document]:
    """Statements with their tokens as text and their actions and resources as sorted lists."""
    found = []
    for statement in readable(statements):
        statement = dict(statement)
        statement["Action"] = _as_list(statement["Action"])
        statement["Resource"] = _as_list(statement["Resource"])
        found.append(statement)
    return sorted(found, key=lambda s: json.dumps(s, sort_keys=True))


def assert_statements(actual: list[Document], expected: list[Document]) -> None:
    """Exactly these statements, whatever their order and the order of their actions and resources."""
    assert normalized(actual) == normalized(expected)


def channel_statements(s: Synthesized) -> list[Document]:
    """What the detect function and the sweep worker need for the optional channels of the
    variant (chat and Security Hub CSPM on), readable; nothing in the example (both off)."""
    if not s.config.chat.enabled and not s.config.security_hub.enabled:
        return []
    # The variant has both on.
    assert s.config.chat.enabled
    assert s.config.security_hub.enabled
    (chat,) = s.chat_topic_ids()
    idempotency = s.resource_of("AWS::DynamoDB::Table", "IdempotencyTable")[0]
    return [
        {
            "Sid": "PublishChatNotifications",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": f"<{chat}>",
        },
        {
            "Sid": "ImportSecurityHubFindings",
            "Effect": "Allow",
            "Action": "securityhub:BatchImportFindings",
            "Resource": "arn:aws:securityhub:us-east-1:222222222222:product/222222222222/default",
        },
        {
            "Sid": "UpdateSecurityHubFindingWorkflows",
            "Effect": "Allow",
            "Action": "securityhub:BatchUpdateFindings",
            "Resource": "arn:aws:securityhub:us-east-1:222222222222:hub/default",
        },
        {
            "Sid": "RecordAlertDeliveries",
            "Effect": "Allow",
            "Action": ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
            "Resource": f"<{idempotency}.Arn>",
            "Condition": {
                "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["delivery#*"]},
                "Null": {"dynamodb:LeadingKeys": "false"},
            },
        },
    ]


# The detect function's name and ARN where pending deletions are deployed (remediation_enabled).
DETECT_FUNCTION_NAME = "IdentityCenterGuardrail-Detect"
DETECT_FUNCTION_ARN = f"arn:aws:lambda:us-east-1:222222222222:function:{DETECT_FUNCTION_NAME}"
DELETION_SCHEDULE_GROUP_NAME = "IdentityCenterGuardrail-PendingDeletions"


def deletion_group_id(s: Synthesized) -> str:
    """The logical id of the schedule group of pending deletions (with remediation_enabled)."""
    return s.logical_id("AWS::Scheduler::ScheduleGroup")


def scheduler_role_id(s: Synthesized) -> str:
    """The logical id of the role the deletion schedules invoke the detect function with."""
    return s.resource_of("AWS::IAM::Role", "DeletionSchedules")[0]


def deletion_statements(s: Synthesized) -> list[Document]:
    """What the detect function and the sweep worker need to schedule and cancel pending deletions,
    readable: with remediation_enabled (the variant), their schedules and their role; nothing
    otherwise (the example)."""
    if not s.config.remediation_enabled:
        return []
    return [
        {
            "Sid": "ScheduleDeletions",
            "Effect": "Allow",
            "Action": [
                "scheduler:CreateSchedule",
                "scheduler:DeleteSchedule",
                "scheduler:GetSchedule",
                "scheduler:UpdateSchedule",
            ],
            "Resource": f"arn:aws:scheduler:us-east-1:222222222222:schedule/<{deletion_group_id(s)}>/guardrail-delete-*",
        },
        {
            "Sid": "PassSchedulerRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"<{scheduler_role_id(s)}.Arn>",
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        },
    ]


def deletion_variables(s: Synthesized) -> dict[str, Any]:
    """The pending-deletion variables of the detect function and the sweep worker: the group, the
    detect function's own ARN and the scheduler role with remediation_enabled; empty otherwise."""
    if not s.config.remediation_enabled:
        return {
            "DELETION_SCHEDULE_GROUP": "",
            "DELETION_TARGET_ARN": "",
            "DELETION_SCHEDULER_ROLE_ARN": "",
            "DELETION_DEAD_LETTER_ARN": "",
        }
    return {
        "DELETION_SCHEDULE_GROUP": {"Ref": deletion_group_id(s)},
        "DELETION_TARGET_ARN": DETECT_FUNCTION_ARN,
        "DELETION_SCHEDULER_ROLE_ARN": {"Fn::GetAtt": [scheduler_role_id(s), "Arn"]},
        "DELETION_DEAD_LETTER_ARN": {"Fn::GetAtt": [dead_letter_queue_id(s), "Arn"]},
    }


def dead_letter_queue_id(s: Synthesized) -> str:
    """The logical id of the central dead-letter queue."""
    return s.resource_of("AWS::SQS::Queue", "DeadLetterQueue")[0]


def cdk_context(**overrides: Any) -> dict[str, Any]:
    """The context of cdk.json (feature flags included), so tests see what `cdk synth` sees."""
    document = json.loads((PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8"))
    context = cast(dict[str, Any], document["context"])
    context.update(overrides)
    return context


def synthesize(config_path: Path, outdir: Path) -> Synthesized:
    """Build and synthesize the app like `cdk synth`; cdk-nag raises on an unacknowledged finding."""
    app = build_app(
        context=cdk_context(**{CONFIG_CONTEXT_KEY: str(config_path)}), outdir=str(outdir), today=SYNTH_DATE
    )
    assembly = app.synth()
    stack = app.node.find_child(CENTRAL_STACK_NAME)
    assert isinstance(stack, CentralStack)
    document = cast(Document, assembly.get_stack_by_name(stack.stack_name).template)
    return Synthesized(
        app, stack, Template.from_stack(stack), document, outdir, load_config(config_path), assembly
    )


def example_config_data() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8")))


def example_policy_data() -> dict[str, Any]:
    return cast(dict[str, Any], yaml.safe_load(EXAMPLE_POLICY.read_text(encoding="utf-8")))


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def pseudo_parameters(account_id: str, region: str) -> dict[str, str]:
    """What CloudFormation's pseudo parameters resolve to in a stack of `account_id` and `region`."""
    return {"AWS::Partition": "aws", "AWS::AccountId": account_id, "AWS::Region": region}


def resolve(value: Any, pseudo: dict[str, str]) -> Any:
    """Resolve the Ref/Fn::Join of pseudo parameters in a template value, as CloudFormation would."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return pseudo[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part, pseudo)) for part in parts)
    if isinstance(value, dict):
        return {key: resolve(item, pseudo) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, pseudo) for item in value]
    return value


# --- IAM roles ---------------------------------------------------------------------------------------

CENTRAL_BUS_ARN = "arn:aws:events:us-east-1:222222222222:event-bus/identity-center-guardrail"
DETECT_ROLE_ARN = "arn:aws:iam::222222222222:role/IdentityCenterGuardrailDetectFunction"
SWEEP_PLANNER_ROLE_ARN = "arn:aws:iam::222222222222:role/IdentityCenterGuardrailSweepPlanner"
SWEEP_WORKER_ROLE_ARN = "arn:aws:iam::222222222222:role/IdentityCenterGuardrailSweepWorker"
DETECT_HANDLER = "guardrail.handlers.detect.handler"
PLANNER_HANDLER = "guardrail.handlers.sweep.plan_handler"
WORKER_HANDLER = "guardrail.handlers.sweep.work_handler"
SUMMARY_HANDLER = "guardrail.handlers.sweep.summarize_handler"
FORWARDING_RULE_NAME = "IdentityCenterGuardrail-ForwardInstanceEvents"
# The example organization's resources, as Organizations names them in ARNs (management account, id).
ORGANIZATION = "arn:aws:organizations::111111111111"
ORGANIZATION_ACCOUNTS = f"{ORGANIZATION}:account/o-exampleorg1/*"
ORGANIZATION_UNITS = f"{ORGANIZATION}:ou/o-exampleorg1/ou-*"
ORGANIZATION_ROOT = f"{ORGANIZATION}:root/o-exampleorg1/r-ab12"
ORGANIZATION_SCPS = [
    f"{ORGANIZATION}:policy/o-exampleorg1/service_control_policy/p-*",
    "arn:aws:organizations::aws:policy/service_control_policy/p-*",
]
# The statements granting the Organizations reads on them, as the roles that read hold them.
READ_ACCOUNTS = {
    "Sid": "ReadAccounts",
    "Effect": "Allow",
    "Action": ["organizations:DescribeAccount", "organizations:ListTagsForResource"],
    "Resource": ORGANIZATION_ACCOUNTS,
}
READ_PARENTS = {
    "Sid": "ReadParents",
    "Effect": "Allow",
    "Action": "organizations:ListParents",
    "Resource": [ORGANIZATION_ACCOUNTS, ORGANIZATION_UNITS],
}
READ_UNITS = {
    "Sid": "ReadOrganizationalUnits",
    "Effect": "Allow",
    "Action": "organizations:DescribeOrganizationalUnit",
    "Resource": ORGANIZATION_UNITS,
}
LIST_POLICIES_OF_TARGETS = {
    "Sid": "ListPoliciesOfTargets",
    "Effect": "Allow",
    "Action": "organizations:ListPoliciesForTarget",
    "Resource": [ORGANIZATION_ACCOUNTS, ORGANIZATION_UNITS, ORGANIZATION_ROOT],
}
LIST_CHILDREN = {
    "Sid": "ListChildren",
    "Effect": "Allow",
    "Action": ["organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"],
    "Resource": [ORGANIZATION_UNITS, ORGANIZATION_ROOT],
}
READ_AND_TARGETS_OF_SCPS = {
    "Sid": "ReadServiceControlPolicies",
    "Effect": "Allow",
    "Action": ["organizations:DescribePolicy", "organizations:ListTargetsForPolicy"],
    "Resource": ORGANIZATION_SCPS,
}


def role_named(template: Document, name: str) -> Document:
    """The properties of the role called `name` in a template."""
    (role,) = [
        r["Properties"]
        for r in resources(template, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName") == name
    ]
    return cast(Document, role)


def role_statements(role: Document) -> list[Document]:
    """The statements of a role's inline policies."""
    return [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]


def actions(statement: Document) -> list[str]:
    value = statement["Action"]
    return [value] if isinstance(value, str) else list(value)


def granted(role: Document) -> set[str]:
    return {action for s in role_statements(role) if s["Effect"] == "Allow" for action in actions(s)}


def assert_trusts_only(role: Document, pseudo: dict[str, str], *role_arns: str) -> None:
    """Only these central roles may assume `role`: the central account, narrowed to their ARNs."""
    (statement,) = resolve(role["AssumeRolePolicyDocument"]["Statement"], pseudo)
    assert statement == {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
        "Condition": {
            "ArnEquals": {"aws:PrincipalArn": role_arns[0] if len(role_arns) == 1 else list(role_arns)}
        },
    }


def assert_trusts_only_the_detect_function(role: Document, pseudo: dict[str, str]) -> None:
    """Only the central detect function's role may assume `role`: its account, narrowed to its ARN."""
    assert_trusts_only(role, pseudo, DETECT_ROLE_ARN)


def assert_trusts_only_the_detect_function_and_the_sweep_worker(
    role: Document, pseudo: dict[str, str]
) -> None:
    """The member role of a swept account: the detect function's role and the sweep worker's, no other."""
    assert_trusts_only(role, pseudo, DETECT_ROLE_ARN, SWEEP_WORKER_ROLE_ARN)


def assert_forwarding_role(role: Document, pseudo: dict[str, str]) -> None:
    """EventBridge, for this account's forwarding rule only, may put events on the central bus only."""
    account = pseudo["AWS::AccountId"]
    (trust,) = resolve(role["AssumeRolePolicyDocument"]["Statement"], pseudo)
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": f"arn:aws:events:*:{account}:rule/{FORWARDING_RULE_NAME}"},
    }
    (statement,) = resolve(role_statements(role), pseudo)
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == CENTRAL_BUS_ARN


@cache
def _read_event(name: str) -> str:
    return (SAMPLE_EVENTS / name).read_text(encoding="utf-8")


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of a sample event from samples/events."""
    return cast(dict[str, Any], json.loads(_read_event(name)))


# --- the sweep's state machine -----------------------------------------------------------------------

PLACEHOLDER_ACCOUNT = "222222222222"
PLACEHOLDER_REGION = "us-east-1"


def placeholder(document: Document, logical_id: str, attribute: str | None) -> str:
    """What a Ref (attribute None) or Fn::GetAtt of a resource stands for: a made-up name or ARN."""
    kind = document["Resources"][logical_id]["Type"]
    if kind == "AWS::Lambda::Function" and attribute == "Arn":
        return f"arn:aws:lambda:{PLACEHOLDER_REGION}:{PLACEHOLDER_ACCOUNT}:function:{logical_id}"
    if kind == "AWS::S3::Bucket" and attribute is None:
        return f"{logical_id.lower()}-placeholder"
    raise AssertionError(f"no placeholder for {kind} {logical_id} {attribute}")


def state_machine_definition(
    s: Synthesized, values: dict[str, str] | None = None, *, document: Document | None = None
) -> Document:
    """The sweep's definition (ASL) as Step Functions gets it: DefinitionString's Fn::Join with each
    Ref and Fn::GetAtt resolved, to `values[logical_id]` when given, else to a placeholder."""
    document = document if document is not None else s.document
    pseudo = pseudo_parameters(PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION)
    (machine,) = resources(document, "AWS::StepFunctions::StateMachine").values()
    separator, parts = machine["Properties"]["DefinitionString"]["Fn::Join"]

    def text(part: Any) -> str:
        if isinstance(part, str):
            return part
        if set(part) == {"Ref"}:
            name = part["Ref"]
            return (
                pseudo[name]
                if name in pseudo
                else (values or {}).get(name) or placeholder(document, name, None)
            )
        if set(part) == {"Fn::GetAtt"}:
            name, attribute = part["Fn::GetAtt"]
            return (values or {}).get(name) or placeholder(document, name, attribute)
        raise AssertionError(f"unexpected part of the definition: {part}")

    return cast(Document, json.loads(separator.join(text(part) for part in parts)))
