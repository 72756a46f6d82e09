"""Reading a policy file: YAML for people, JSON as shipped to the function, checked against the
catalogue so that a misspelt rule id is an error, never a rule silently left at its defaults."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from guardrail.core.catalogue import RULE_IDS, RULES
from guardrail.core.policy import INSTANCE_ARN_PATTERN, Policy, RuleSettings
from guardrail.core.regions import IDENTITY_CENTER_REGIONS
from guardrail.core.strict import ConversionError, convert, read_utf8, read_yaml


class PolicyError(ValueError):
    """A policy that cannot be used, the file and the field named first."""


def check_rule_ids(fields: Mapping[str, str]) -> None:
    """Raise if a rule id is not in the catalogue; `fields` maps where each id was found to the id."""
    for field, rule_id in fields.items():
        if rule_id not in RULE_IDS:
            raise ValueError(f"{field}: unknown rule id {rule_id!r}; known: {', '.join(sorted(RULE_IDS))}")


def parse_policy(data: Any, *, source: str = "policy") -> Policy:
    """Strict conversion: wrong types, unknown keys, broken constraints and unknown rule ids name
    their field."""
    try:
        _check_rule_settings(data)
        policy = convert(data, Policy)
        check_rule_ids(
            {f"rules.{rule_id}": rule_id for rule_id in policy.rules}
            | {
                f"exemptions[{i}].rules[{j}]": rule_id
                for i, exemption in enumerate(policy.exemptions)
                for j, rule_id in enumerate(exemption.rules)
            }
        )
    except (ConversionError, ValueError) as error:
        raise PolicyError(f"{source} is invalid: {error}") from None
    return policy


def _check_rule_settings(data: Any) -> None:
    """Each rule's settings on their own first: an error inside a dict would not name its key."""
    rules = data.get("rules") if isinstance(data, dict) else None
    for rule_id, settings in rules.items() if isinstance(rules, dict) else ():
        try:
            convert(settings, RuleSettings)
        except ConversionError as error:
            raise error.within(f"rules.{rule_id}") from None


# No blank at the start or end of the entry, nor beside a `/` (around a name of a path).
_NO_BLANKS_AROUND = r"^(?!\s)(?![\s\S]*\s$)(?![\s\S]*(\s/|/\s))"


def json_schema() -> dict[str, Any]:
    """The policy file's JSON Schema, for editors (validation and completion) and reviewers."""
    # Through JSON and back, so that defaults are plain JSON values (lists, not tuples).
    definitions = msgspec.json.decode(msgspec.json.encode(msgspec.json.schema(Policy)))["$defs"]
    rule_ids = {"enum": [rule.id for rule in RULES]}
    definitions["Exemption"]["properties"]["rules"]["items"] |= rule_ids
    definitions["Exemption"]["oneOf"] = [{"required": ["account_id"]}, {"required": ["instance_arn"]}]
    # What the models' own checks refuse, for editors to flag too: blanks for a ticket or a reason,
    # an instance ARN that is not one, blanks around an OU name (or id).
    exemption = definitions["Exemption"]["properties"]
    for text in ("ticket", "reason"):
        exemption[text] |= {"pattern": r"\S"}
    exemption["instance_arn"]["anyOf"][0] |= {"pattern": INSTANCE_ARN_PATTERN}
    definitions["Approvals"]["properties"]["organizational_units"]["items"] |= {"pattern": _NO_BLANKS_AROUND}
    policy = definitions.pop("Policy")  # at the top, where editors look for the document's keys
    policy["properties"]["rules"]["propertyNames"] = rule_ids
    regions = policy["properties"]["allowed_regions"]["anyOf"][0]
    regions["items"] |= {"enum": sorted(IDENTITY_CENTER_REGIONS)}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **policy, "$defs": definitions}


def load_policy(path: str | Path) -> Policy:
    """Read a policy from YAML (for people) or JSON (as shipped to the function)."""
    path = Path(path)
    try:
        text = read_utf8(path)
    except OSError as error:
        raise PolicyError(f"cannot read policy {path}: {error.strerror}") from None
    except ValueError as error:
        raise PolicyError(str(error)) from None
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise PolicyError(f"{path} is not valid JSON: {error}") from None
    else:
        import yaml

        try:
            data = read_yaml(text)
        except yaml.YAMLError as error:
            raise PolicyError(f"{path} is not valid YAML: {error}") from None
    if data is None or data == {}:
        # Every key has a default, but an empty file is a mistake, not a policy of defaults.
        raise PolicyError(f"{path} is empty: a policy states at least its `version: 1`")
    return parse_policy(data, source=str(path))
