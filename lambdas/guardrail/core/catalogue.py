"""The rule catalogue: what the guardrail checks, why, and how to fix a finding.

Each rule is declared with its id, default severity, the occasions it judges and its
documentation right above its check. Declaration order is the catalogue's order: findings, the
README table (`guardrail rules`) and the policy schema list the rules in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from guardrail.core.dates import parse_day, utc_date
from guardrail.core.facts import Fact, InstanceFacts, Outcome
from guardrail.core.policy import Purpose, Severity
from guardrail.core.regions import partition_of
from guardrail.core.rules import (
    ANY_CALL,
    CREATE_CALLS,
    FAILED_CREATE,
    FAILED_DELETE,
    INSTANCE_STATE,
    INSTANCE_STATE_AND_ATTEMPTS,
    SUCCEEDED_DELETE,
    Catalogue,
    Evaluation,
    Hit,
    Rule,
    Undetermined,
    about_organization_instance,
)
from guardrail.core.scp import read_create_instance

CATALOGUE = Catalogue()
rule = CATALOGUE.rule


@rule(
    "account-not-approved",
    severity=Severity.HIGH,
    applies_to=INSTANCE_STATE,
    summary="The account, or an OU above it, is not approved for account instances.",
    constraint="AWS recommends the organization instance; account instances are for the few cases the "
    "policy approves.",
    fix="Delete the instance, or approve the account or its OU in the policy.",
)
def _account_not_approved(e: Evaluation) -> Hit | None:
    if e.approval() is not None:
        return None
    account = e.facts.account
    where = f" in OU path '{account.ou_path or '(root)'}'" if account else ""
    return Hit(
        f"Account {e.subject.account_id}{where} is not approved for account instances by the policy",
        {"account_id": e.subject.account_id, "ou_path": account.ou_path if account else None},
    )


@rule(
    "management-account-attempt",
    severity=Severity.HIGH,
    applies_to=CREATE_CALLS,
    summary="CreateInstance was called in the organization management account.",
    constraint="Account instances cannot be created in the management account; an attempt there is "
    "unusual activity in the most privileged account.",
    fix="Find out who made the call and why; the management account should hold only the "
    "organization instance.",
)
def _management_account_attempt(e: Evaluation) -> Hit | None:
    management = e.organization().management_account_id
    if e.subject.account_id != management:
        return None
    return Hit(
        f"CreateInstance was called in the organization management account {management}",
        {"management_account_id": management, "error_code": e.call().error_code},
    )


@rule(
    "org-instance-deleted",
    severity=Severity.HIGH,
    applies_to=SUCCEEDED_DELETE,
    summary="DeleteInstance removed the organization instance (a call in the management account).",
    constraint="The organization instance is the organization's workforce access: deleting it removes "
    "its users, groups, permission sets and assignments in every account, and cannot be undone.",
    fix="Find out who made the call and why; rebuild the instance, its identity source, permission "
    "sets and assignments, and limit who may call sso:DeleteInstance in the management account.",
)
def _organization_instance_deleted(e: Evaluation) -> Hit | None:
    about = about_organization_instance(e.facts)
    if about is None:
        raise Undetermined(Fact.ORGANIZATION)
    if not about:
        return None
    subject = e.subject
    return Hit(
        f"DeleteInstance removed the organization instance {subject.instance_arn or '(ARN not recorded)'} "
        f"in the management account {subject.account_id}: Identity Center access ends for the whole "
        "organization",
        {"account_id": subject.account_id, "instance_arn": subject.instance_arn},
    )


@rule(
    "org-instance-delete-attempt",
    severity=Severity.HIGH,
    applies_to=FAILED_DELETE,
    summary="A DeleteInstance of the organization instance was attempted and failed.",
    constraint="The organization instance is the organization's workforce access: an attempt to delete it "
    "is an attempt on the most important identity resource of the organization, whatever stopped it.",
    fix="Find out who made the call and why, and limit who may call sso:DeleteInstance in the management "
    "account.",
)
def _organization_instance_delete_attempt(e: Evaluation) -> Hit | None:
    """In the management account (whose only instance is the organization instance), or, anywhere,
    on the ARN of the organization instance (member accounts see it listed)."""
    subject = e.subject
    in_management = subject.account_id == e.organization().management_account_id
    if not in_management and subject.instance_arn not in {i.instance_arn for i in e.organization_instances()}:
        return None
    call = e.call()
    where = "the management account" if in_management else "member account"
    return Hit(
        f"DeleteInstance of the organization instance {subject.instance_arn or '(ARN not recorded)'} was "
        f"attempted in {where} {subject.account_id} and failed with "
        f"{call.error_code or 'an error'}",
        {
            "account_id": subject.account_id,
            "instance_arn": subject.instance_arn,
            "error_code": call.error_code,
        },
    )


@rule(
    "region-not-allowed",
    severity=Severity.MEDIUM,
    applies_to=INSTANCE_STATE,
    summary="The instance is in a Region the policy does not allow.",
    constraint="An account instance serves one account and Region only; data residency follows the Region.",
    fix="Delete the instance and create it in an allowed Region, or allow the Region.",
)
def _region_not_allowed(e: Evaluation) -> Hit | None:
    allowed = e.policy.allowed_regions
    region = e.subject.region
    if allowed is None or region in allowed:
        return None
    return Hit(
        f"The instance is in {region}; the policy allows {', '.join(allowed) or 'no Region'}",
        {"region": region, "allowed_regions": list(allowed)},
    )


@rule(
    "missing-justification",
    severity=Severity.MEDIUM,
    applies_to=INSTANCE_STATE,
    summary="Required tags (purpose among the AWS use cases, owner) are missing or not allowed.",
    constraint="AWS names three cases for account instances: a trial, no org-wide adoption, isolated users.",
    fix="Tag the instance with its purpose and owner (sso-admin tag-resource).",
)
def _missing_justification(e: Evaluation) -> Hit | None:
    req = e.policy.tags
    purpose, owner = e.purpose(), e.tag(req.owner_key)
    problems = []
    if purpose is None:
        problems.append(f"no '{req.purpose_key}' tag")
    elif purpose not in req.allowed_purposes:
        allowed = ", ".join(req.allowed_purposes)
        problems.append(f"'{req.purpose_key}' is '{purpose}', not one of {allowed}")
    if not owner:
        problems.append(f"no '{req.owner_key}' tag")
    if not problems:
        return None
    # Only the tags this rule read: the instance's other tags are in the alert once, not here.
    looked_at = {key: value for key in (req.purpose_key, req.owner_key) if (value := e.tag(key)) is not None}
    absent = ((req.purpose_key, purpose is None), (req.owner_key, not owner))
    missing = [key for key, is_absent in absent if is_absent]
    return Hit(
        f"The instance does not justify itself: {'; '.join(problems)}",
        {"tags": looked_at, "missing_tags": missing, "allowed_purposes": list(req.allowed_purposes)},
    )


@dataclass(frozen=True)
class _Expiry:
    """A trial's expiry tag as written, and the date it names (None when it names none, and why)."""

    raw: str | None
    day: date | None = None
    problem: str | None = None


def _trial_expiry(e: Evaluation) -> _Expiry:
    raw = e.tag(e.policy.tags.expiry_key)
    if raw is None:
        return _Expiry(None)
    try:
        return _Expiry(raw, parse_day(raw))
    except ValueError as error:
        return _Expiry(raw, problem=str(error))


@rule(
    "trial-expiry",
    severity=Severity.MEDIUM,
    applies_to=INSTANCE_STATE,
    summary="A trial has no expiry date, or one beyond the longest trial allowed.",
    constraint="AWS recommends account instances for temporary trials of managed applications.",
    fix="Tag the instance with an expiry date within the allowed trial length.",
)
def _trial_expiry_rule(e: Evaluation) -> Hit | None:
    if e.purpose() != Purpose.TRIAL:
        return None
    key, longest = e.policy.tags.expiry_key, e.policy.max_trial_days
    expiry = _trial_expiry(e)
    created = utc_date(e.instance().created_date or e.facts.trigger.time)
    facts = {"expires": expiry.raw, "created": created.isoformat(), "max_trial_days": longest}
    if expiry.raw is None:
        return Hit(f"The trial has no '{key}' tag", facts)
    if expiry.day is None:
        return Hit(f"The trial's '{key}' tag is unreadable: {expiry.problem}", facts)
    days = (expiry.day - created).days
    if days > longest:
        return Hit(
            f"The trial runs {days} days (to {expiry.day}), longer than the {longest} days the policy allows",
            facts,
        )
    return None


@rule(
    "trial-expired",
    severity=Severity.HIGH,
    applies_to=INSTANCE_STATE,
    summary="A trial's expiry date has passed and the instance still exists.",
    constraint="A trial is temporary by definition.",
    fix="Delete the instance, or extend the trial with a new expiry tag within policy.",
)
def _trial_expired(e: Evaluation) -> Hit | None:
    if e.purpose() != Purpose.TRIAL:
        return None
    expiry = _trial_expiry(e).day
    if expiry is None or expiry >= e.today:
        return None
    return Hit(
        f"The trial expired on {expiry} and the instance still exists",
        {"expires": expiry.isoformat(), "today": e.today.isoformat()},
    )


@rule(
    "purpose-conflicts-with-org-instance",
    severity=Severity.MEDIUM,
    applies_to=INSTANCE_STATE,
    summary="The purpose is 'no-org-adoption' although the organization has an organization instance.",
    constraint="'No org-wide adoption' is only a reason when there is no organization instance.",
    fix="Use the organization instance, or tag the real purpose ('isolated-users').",
)
def _purpose_conflicts(e: Evaluation) -> Hit | None:
    if e.purpose() != Purpose.NO_ORG_ADOPTION:
        return None
    org_instances = e.organization_instances()
    if not org_instances:
        return None
    return Hit(
        "The purpose is 'no-org-adoption', yet the organization has an organization instance "
        f"({org_instances[0].instance_arn})",
        {"organization_instance_arn": org_instances[0].instance_arn},
    )


@rule(
    "second-instance",
    severity=Severity.MEDIUM,
    applies_to=INSTANCE_STATE_AND_ATTEMPTS,
    summary="Another instance exists in the same account, in any Region.",
    constraint="An account can hold only one instance of Identity Center across all Regions.",
    fix="Keep one instance per account; remove the one that is not needed.",
)
def _second_instance(e: Evaluation) -> Hit | None:
    """Another instance of the account's own, besides the subject.

    A member account's ListInstances shows the organization instance too, and older responses
    carry no `OwnerAccountId`: an instance is the account's own only when its owner says so, or,
    with no owner given, when it is not one of the organization instances, which must then be known.
    """
    subject = e.subject
    organization = e.facts.organization
    if organization is not None and subject.account_id == organization.management_account_id:
        return None  # its instance is the organization instance; management-account-attempt speaks
    known = {i.instance_arn for i in e.facts.organization_instances or ()}

    def own(instance: InstanceFacts) -> bool:
        if instance.instance_arn == subject.instance_arn or instance.instance_arn in known:
            return False
        if instance.owner_account_id is not None:
            return instance.owner_account_id == subject.account_id
        # No owner given: the account's own unless it is an organization instance, which must be known.
        return instance.instance_arn not in {i.instance_arn for i in e.organization_instances()}

    others = [instance for instance in e.account_instances() if own(instance)]
    if not others:
        return None
    listed = ", ".join(f"{i.instance_arn} ({i.region})" for i in others)
    return Hit(
        f"Account {subject.account_id} already has another instance: {listed}",
        {"other_instances": [{"instance_arn": i.instance_arn, "region": i.region} for i in others]},
    )


@rule(
    "scp-gap",
    severity=Severity.MEDIUM,
    applies_to=INSTANCE_STATE_AND_ATTEMPTS,
    summary="The account is not approved, yet the SCPs from the root to it do not certainly deny "
    "sso:CreateInstance (by a Deny, or by a level that allows nothing covering it).",
    constraint="AWS's preventive control for account instances is an SCP: a Deny of sso:CreateInstance, or "
    "allow-lists that leave it out at one level.",
    fix="Attach the guardrail's SCP (or your own) to the account's OU or the root. A statement the finding "
    "names as a doubt is read as not denying.",
)
def _scp_gap(e: Evaluation) -> Hit | None:
    if e.approval() is not None:
        return None
    account_id = e.subject.account_id
    if account_id == e.organization().management_account_id:
        return None  # SCPs never apply to the management account: nothing to close there
    policies = e.service_control_policies()
    account = e.facts.account
    levels = (*(unit.id for unit in account.parents), account_id) if account and account.parents else None
    reading = read_create_instance(
        ((p.policy_id, p.target_id, p.document) for p in policies),
        account_id,
        levels,
        e.org_path(),
        partition_of(e.subject.region),
    )
    if reading.denied:
        return None
    checked = list(dict.fromkeys(p.policy_id for p in policies))
    if reading.doubts:
        # Whatever might deny (or keep a level from allowing) but could not be told is not counted.
        why = (
            f"yet none of the {len(checked)} SCPs in force on it certainly denies sso:CreateInstance; "
            f"what could not be told is read as not denying: {' | '.join(reading.doubts)}"
        )
    elif checked:
        why = (
            f"yet none of the {len(checked)} SCPs in force on it denies sso:CreateInstance: every level from "
            "the root to the account allows it, and no Deny applies"
        )
    else:
        why = "and no SCP is attached from the root to it (SCPs are not enabled): nothing denies it"
    return Hit(
        f"Account {account_id} is not approved, {why}",
        {"scps_checked": checked, "certain": not reading.doubts, "doubts": list(reading.doubts)},
    )


@rule(
    "attempt-denied",
    severity=Severity.LOW,
    applies_to=FAILED_CREATE,
    summary="The CreateInstance call failed: an SCP or AWS refused it, or it was throttled.",
    constraint="A failed attempt means someone wanted an account instance; worth a conversation.",
    fix="Nothing was created; talk to the caller about what they needed.",
)
def _attempt_denied(e: Evaluation) -> Hit | None:
    call = e.call()
    return Hit(
        f"CreateInstance failed with {call.error_code or 'an error'}: {call.error_message or 'no message'}",
        {"error_code": call.error_code, "error_message": call.error_message},
    )


@rule(
    "root-user",
    severity=Severity.HIGH,
    applies_to=ANY_CALL,
    summary="An instance call was made by an account's root user.",
    constraint="The root user is for the few tasks that need it; using it for an identity change "
    "bypasses every IAM control and audit trail built on roles.",
    fix="Find out who used the root credentials and why; secure them (MFA, no access keys) and use a "
    "role for Identity Center changes.",
)
def _root_user(e: Evaluation) -> Hit | None:
    call = e.call()
    if call.actor.type != "Root":
        return None
    outcome = "" if call.outcome is Outcome.SUCCEEDED else f" (it failed: {call.error_code or 'an error'})"
    return Hit(
        f"{call.operation.value} was called by the root user of account {call.account_id}{outcome}",
        {"actor_arn": call.actor.arn, "source_ip": call.actor.source_ip, "user_agent": call.actor.user_agent},
    )


@rule(
    "exemption-expired",
    severity=Severity.MEDIUM,
    applies_to=INSTANCE_STATE_AND_ATTEMPTS,
    summary="An exemption covering this account or instance has passed its date.",
    constraint="Exemptions are time-boxed so that exceptions are reviewed.",
    fix="Renew the exemption with a new ticket, or bring the instance into policy.",
)
def _exemption_expired(e: Evaluation) -> Hit | None:
    subject = e.subject
    expired = [
        x
        for x in e.policy.exemptions
        if x.expires < e.today
        and (
            x.account_id == subject.account_id or (x.instance_arn and x.instance_arn == subject.instance_arn)
        )
    ]
    if not expired:
        return None
    tickets = ", ".join(f"{x.ticket} (expired {x.expires})" for x in expired)
    return Hit(
        f"An exemption covering this account or instance has expired: {tickets}",
        {"exemptions": [{"ticket": x.ticket, "expires": x.expires.isoformat()} for x in expired]},
    )


@rule(
    "delegated-access",
    severity=Severity.HIGH,
    applies_to=ANY_CALL,
    summary="A product provider made the instance call with IAM temporary delegated access.",
    constraint="Temporary delegation lets a provider's account, outside the organization, act in the "
    "account: an identity change made that way is the provider's, not the account team's.",
    fix="Find out which product the provider's account belongs to and what delegation the account "
    "approved; revoke it if unexpected, or list the provider in the policy's trusted_providers.",
)
def _delegated_access(e: Evaluation) -> Hit | None:
    call = e.call()
    provider = call.actor.invoked_by_delegate
    if provider is None or provider in e.policy.trusted_providers:
        return None
    outcome = "" if call.outcome is Outcome.SUCCEEDED else f" (it failed: {call.error_code or 'an error'})"
    return Hit(
        f"{call.operation.value} was made by the product provider account {provider} with IAM temporary "
        f"delegated access{outcome}; the policy's trusted_providers does not list it",
        {"provider_account_id": provider, "actor_arn": call.actor.arn},
    )


RULES: tuple[Rule, ...] = tuple(CATALOGUE.rules)
RULE_IDS: frozenset[str] = frozenset(rule.id for rule in RULES)
RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}
