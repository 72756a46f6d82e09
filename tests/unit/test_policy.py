"""The policy schema: strict validation whose every error names its field, and the files it loads."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from guardrail.core.catalogue import RULE_IDS
from guardrail.core.policy import (
    INSTANCE_ARN_PATTERN,
    Exemption,
    Mode,
    Policy,
    RuleSettings,
    Severity,
    policy_data,
)
from guardrail.core.policy_file import PolicyError, json_schema, load_policy, parse_policy
from guardrail.core.strict import convert

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "policy" / "policy.yaml"
COMMITTED_SCHEMA = ROOT / "policy" / "policy.schema.json"
EXEMPTION = {"account_id": "555555555555", "expires": "2027-03-31", "ticket": "SEC-1", "reason": "pilot"}
INSTANCE_ARN = "arn:aws:sso:::instance/ssoins-3e4f5a6b7c8d9e0f"
BY_INSTANCE = {"account_id": None, "instance_arn": INSTANCE_ARN}
ARN_FIELD = "exemptions[0].instance_arn"


def test_the_example_policy_is_valid() -> None:
    policy = load_policy(EXAMPLE)
    assert policy.mode is Mode.DRY_RUN
    assert policy.approved.organizational_units == ("Sandbox", "Workloads/Experiments", "ou-ab12-labs0001")
    assert policy.max_trial_days == 60
    assert policy.exemptions[0].expires == date(2027, 3, 31)
    assert policy.settings("trial-expired").action == "remediate"
    assert policy.settings("attempt-denied").severity is Severity.INFO


def test_unlisted_rules_keep_their_defaults() -> None:
    assert Policy().settings("scp-gap") == RuleSettings(enabled=True, severity=None, action="alert")


def test_an_empty_document_is_the_default_policy() -> None:
    assert parse_policy({}) == Policy()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"version": 2}, "version"),
        ({"mode": "on"}, "mode"),
        ({"modes": "enforce"}, "modes"),
        ({"approved": {"acounts": []}}, "approved.acounts"),
        ({"approved": {"accounts": ["12345"]}}, "approved.accounts[0]"),
        ({"approved": {"accounts": [123456789012]}}, "approved.accounts[0]"),
        ({"approved": {"organizational_units": [""]}}, "approved.organizational_units[0]"),
        ({"allowed_regions": ["us-east-1", "Frankfurt"]}, "allowed_regions[1]"),
        ({"tags": {"allowed_purposes": ["poc"]}}, "tags.allowed_purposes[0]"),
        ({"max_trial_days": 0}, "max_trial_days"),
        ({"max_trial_days": "ninety"}, "max_trial_days"),
        ({"rules": {"scp-gap": {"action": "delete"}}}, "rules.scp-gap.action"),
        ({"rules": {"scp-gap": {"severity": "urgent"}}}, "rules.scp-gap.severity"),
        ({"rules": {"scp-gap": {"enabeld": False}}}, "rules.scp-gap.enabeld"),
        ({"exemptions": [{**EXEMPTION, "expires": "soon"}]}, "exemptions[0].expires"),
        ({"exemptions": [{**EXEMPTION, "ticket": ""}]}, "exemptions[0].ticket"),
        ({"exemptions": [{**EXEMPTION, "tickt": "SEC-2"}]}, "exemptions[0].tickt"),
        ({"exemptions": [{k: v for k, v in EXEMPTION.items() if k != "reason"}]}, "exemptions[0].reason"),
        ({"exemptions": [{**EXEMPTION, "ticket": "   "}]}, "exemptions[0].ticket"),
        ({"exemptions": [{**EXEMPTION, "reason": " \n\t"}]}, "exemptions[0].reason"),
        (
            {"exemptions": [{**EXEMPTION, **BY_INSTANCE, "instance_arn": "ssoins-3e4f5a6b7c8d9e0f"}]},
            ARN_FIELD,
        ),
        ({"approved": {"organizational_units": ["Sandbox", " Labs"]}}, "approved.organizational_units[1]"),
    ],
)
def test_a_bad_value_or_unknown_key_is_an_error_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(data, source="org-policy.yaml")
    message = str(raised.value)
    assert message.startswith("org-policy.yaml is invalid: ")
    assert f" {field}: " in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"mode": "enforced"}, "mode: 'enforced' is not one of dry-run, enforce (did you mean enforce?)"),
        ({"version": 2}, "version: 2 is not one of 1"),
        (
            {"rules": {"scp-gap": {"severity": "urgent"}}},
            "rules.scp-gap.severity: 'urgent' is not one of info, low, medium, high, critical",
        ),
        (
            {"rules": {"scp-gap": {"action": "remediation"}}},
            "rules.scp-gap.action: 'remediation' is not one of alert, remediate (did you mean remediate?)",
        ),
        (
            {"tags": {"allowed_purposes": ["trial", "poc"]}},
            "tags.allowed_purposes[1]: 'poc' is not one of trial, no-org-adoption, isolated-users",
        ),
    ],
)
def test_a_value_not_among_the_choices_lists_them(data: dict[str, Any], says: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy(data, source="p.yaml")
    assert str(raised.value) == f"p.yaml is invalid: {says}"


def test_a_policy_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    latin1 = tmp_path / "policy.yaml"
    latin1.write_bytes("version: 1\n# r\u00e9vis\u00e9e\nmode: dry-run\n".encode("latin-1"))
    with pytest.raises(PolicyError) as raised:
        load_policy(latin1)
    assert str(raised.value) == (
        f"{latin1} is not UTF-8 text: byte 0xe9 on line 2 cannot be read; save the file as UTF-8"
    )


def test_the_first_problem_found_is_reported() -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy({"mode": "on", "max_trial_days": 0})
    assert str(raised.value).startswith("policy is invalid: mode: ")


@pytest.mark.parametrize("data", [[], "enforce", 3])
def test_a_document_that_is_not_a_mapping_is_an_error_at_the_top_level(data: Any) -> None:
    with pytest.raises(PolicyError, match=r"is invalid: Expected `object`, got `\w+`$"):
        parse_policy(data)


# -- exemptions target exactly one thing ---------------------------------------------------------


def test_an_exemption_targets_an_account_or_an_instance() -> None:
    assert convert(EXEMPTION, Exemption).account_id == "555555555555"
    assert convert({**EXEMPTION, **BY_INSTANCE}, Exemption).instance_arn == INSTANCE_ARN


@pytest.mark.parametrize(
    "target",
    [
        {"account_id": "555555555555", "instance_arn": "arn:aws:sso:::instance/ssoins-1"},
        {"account_id": None},
    ],
    ids=["both", "neither"],
)
def test_an_exemption_with_both_or_neither_target_is_an_error(target: dict[str, Any]) -> None:
    with pytest.raises(PolicyError, match=r"exemptions\[0\]: .*exactly one of account_id or instance_arn"):
        parse_policy({"exemptions": [{**EXEMPTION, **target}]})


# -- what would silently never match is refused --------------------------------------------------


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sso:::instance/ssoins-3e4f5a6b7c8d9e0f",
        "arn:aws-us-gov:sso:::instance/ssoins-3e4f5a6b7c8d9e0f",
        "arn:aws-cn:sso:::instance/ins-3e4f5a6b7c8d9e0f",
    ],
)
def test_an_exemption_takes_an_instance_arn_of_any_partition(arn: str) -> None:
    assert (
        parse_policy({"exemptions": [{**EXEMPTION, **BY_INSTANCE, "instance_arn": arn}]})
        .exemptions[0]
        .instance_arn
        == arn
    )


@pytest.mark.parametrize(
    "arn",
    [
        "ssoins-3e4f5a6b7c8d9e0f",  # the id alone
        "arn:aws:sso:::instance/ssoins-1",  # not an id AWS gives
        f"{INSTANCE_ARN} ",
        "arn:aws:sso:::permissionSet/ssoins-3e4f5a6b7c8d9e0f/ps-0123456789abcdef",
        "arn:aws:sso::333333333333:instance/ssoins-3e4f5a6b7c8d9e0f",  # an instance ARN holds no account
        "arn:aws:identitystore::333333333333:identitystore/d-1234567890",
    ],
)
def test_an_exemption_for_something_that_is_not_an_instance_arn_is_refused(arn: str) -> None:
    """Compared with the instance ARNs AWS gives, it would never match: the exemption would be dead."""
    with pytest.raises(PolicyError) as raised:
        parse_policy({"exemptions": [{**EXEMPTION, **BY_INSTANCE, "instance_arn": arn}]}, source="p.yaml")
    assert str(raised.value) == (
        f"p.yaml is invalid: {ARN_FIELD}: {arn!r} is not an IAM Identity Center instance ARN "
        "(arn:<partition>:sso:::instance/ssoins-<16 characters>), so the exemption would never apply"
    )


def test_the_instance_arns_an_exemption_takes_are_those_an_event_may_carry() -> None:
    from guardrail.pipeline.events import INSTANCE_ARN_PATTERN as EVENTS_PATTERN

    assert INSTANCE_ARN_PATTERN == EVENTS_PATTERN


@pytest.mark.parametrize("field", ["ticket", "reason"])
@pytest.mark.parametrize("blank", [" ", "   ", "\t\n", "\u00a0"])
def test_a_ticket_or_reason_of_blanks_is_missing(field: str, blank: str) -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy({"exemptions": [{**EXEMPTION, field: blank}]}, source="p.yaml")
    assert str(raised.value).startswith(f"p.yaml is invalid: exemptions[0].{field}: missing: only blanks")


@pytest.mark.parametrize(
    ("entry", "name"),
    [
        (" Sandbox", " Sandbox"),
        ("Sandbox ", "Sandbox "),
        ("Workloads /Prod", "Workloads "),
        ("Workloads/ Prod", " Prod"),
        ("ou-ab12-sandbox ", "ou-ab12-sandbox "),
        (" r-ab12", " r-ab12"),
    ],
)
def test_an_approved_ou_with_blanks_around_a_name_is_refused(entry: str, name: str) -> None:
    """Names are compared exactly: ' Sandbox' would approve no account of Sandbox."""
    with pytest.raises(PolicyError) as raised:
        parse_policy({"approved": {"organizational_units": ["Labs", entry]}}, source="p.yaml")
    message = str(raised.value)
    assert message.startswith(
        f"p.yaml is invalid: approved.organizational_units[1]: {entry!r} has blanks around {name!r}"
    )
    assert "\n" not in message


def test_blanks_inside_an_ou_name_are_part_of_it() -> None:
    policy = parse_policy({"approved": {"organizational_units": ["Data Science/Team A"]}})
    assert policy.approved.organizational_units == ("Data Science/Team A",)


# -- rule ids come from the catalogue ------------------------------------------------------------


def test_an_unknown_rule_id_in_rules_is_named_with_its_key() -> None:
    with pytest.raises(PolicyError) as raised:
        parse_policy({"rules": {"attempt-refused": {"enabled": False}}})
    message = str(raised.value)
    assert "is invalid: rules.attempt-refused: " in message
    assert "unknown rule id 'attempt-refused'" in message
    assert "attempt-denied" in message  # the known ids are listed, to spot the typo


def test_an_unknown_rule_id_in_an_exemption_is_named_with_its_position() -> None:
    with pytest.raises(PolicyError, match=r"exemptions\[0\]\.rules\[1\]: unknown rule id 'scp_gap'"):
        parse_policy({"exemptions": [{**EXEMPTION, "rules": ["account-not-approved", "scp_gap"]}]})


def test_every_catalogue_rule_id_is_accepted() -> None:
    policy = parse_policy(
        {
            "rules": {rule: {"enabled": True} for rule in RULE_IDS},
            "exemptions": [{**EXEMPTION, "rules": sorted(RULE_IDS)}],
        }
    )
    assert set(policy.rules) == RULE_IDS


def test_the_policy_model_does_not_know_the_catalogue_the_file_reader_does() -> None:
    # The catalogue is built on the policy's types: the model cannot check rule ids, the reader must.
    exemption = Exemption(
        account_id="555555555555", expires=date(2027, 1, 1), ticket="T", reason="R", rules=("nope",)
    )
    assert exemption.rules == ("nope",)
    with pytest.raises(PolicyError, match=r"exemptions\[0\]\.rules\[0\]: unknown rule id 'nope'"):
        parse_policy({"exemptions": [msgspec.to_builtins(exemption)]})


# -- loading files -------------------------------------------------------------------------------


def test_a_json_policy_loads_like_the_yaml_one(tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    shipped = tmp_path / "policy.json"
    shipped.write_text(json.dumps(data, default=str))
    assert load_policy(shipped) == load_policy(EXAMPLE)


def test_the_shipped_json_reads_back_into_the_same_policy() -> None:
    """What synth ships to the function (`policy_data` as JSON) is the policy that was validated."""
    policy = load_policy(EXAMPLE)
    shipped = json.loads(json.dumps(policy_data(policy)))
    assert shipped["exemptions"][0]["expires"] == "2027-03-31"
    assert parse_policy(shipped) == policy


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "{}\n"])
def test_an_empty_policy_file_is_refused_naming_the_file(tmp_path: Path, text: str) -> None:
    empty = tmp_path / "policy.yaml"
    empty.write_text(text)
    with pytest.raises(PolicyError, match=r"policy\.yaml is empty"):
        load_policy(empty)


def test_a_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"cannot read policy .*absent\.yaml: No such file"):
        load_policy(tmp_path / "absent.yaml")


def test_invalid_yaml_is_a_policy_error(tmp_path: Path) -> None:
    broken = tmp_path / "policy.yaml"
    broken.write_text("mode: [dry-run\n")
    with pytest.raises(PolicyError, match="is not valid YAML"):
        load_policy(broken)


def test_invalid_json_is_a_policy_error(tmp_path: Path) -> None:
    broken = tmp_path / "policy.json"
    broken.write_text('{"mode": ')
    with pytest.raises(PolicyError, match="is not valid JSON"):
        load_policy(broken)


def test_errors_in_a_file_name_the_file_and_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text('approved:\n  accounts: ["4444"]\n')
    with pytest.raises(PolicyError, match=r"policy\.yaml is invalid: approved\.accounts\[0\]: "):
        load_policy(bad)


# -- the JSON Schema for editors -----------------------------------------------------------------


def test_the_committed_schema_is_the_generated_one() -> None:
    """`guardrail schema > policy/policy.schema.json` regenerates it after a change to the models."""
    assert json.loads(COMMITTED_SCHEMA.read_text(encoding="utf-8")) == json_schema()


def test_the_schema_offers_the_rule_ids_and_forbids_unknown_keys() -> None:
    schema = json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]["rules"]["propertyNames"]["enum"]) == RULE_IDS
    exemption = schema["$defs"]["Exemption"]
    assert set(exemption["properties"]["rules"]["items"]["enum"]) == RULE_IDS
    assert exemption["additionalProperties"] is False
    assert schema["properties"]["max_trial_days"]["description"]  # editors show the field's docs


def test_the_example_policy_names_its_schema_on_its_first_line() -> None:
    first_line = EXAMPLE.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=policy.schema.json"


def _as_json(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))  # YAML dates become strings, as editors see them


def test_an_editor_accepts_the_example_and_flags_what_the_loader_rejects() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(json_schema())
    example = _as_json(yaml.safe_load(EXAMPLE.read_text()))
    assert list(validator.iter_errors(example)) == []
    accepted = {"approved": {"organizational_units": ["Data Science/Team A", "r-ab12"]}}
    by_instance = {**{k: v for k, v in EXEMPTION.items() if k != "account_id"}, "instance_arn": INSTANCE_ARN}
    assert list(validator.iter_errors({**accepted, "exemptions": [by_instance]})) == []
    rejected: list[dict[str, Any]] = [
        {"rules": {"attempt-refused": {}}},
        {"modes": "enforce"},
        {"exemptions": [{"expires": "2027-01-01", "ticket": "T", "reason": "R"}]},
        {"approved": {"accounts": [123456789012]}},
        {"approved": {"organizational_units": ["Workloads /Prod"]}},
        {"approved": {"organizational_units": ["ou-ab12-labs0001 "]}},
        {"exemptions": [{**EXEMPTION, "ticket": "  "}]},
        {"exemptions": [{**EXEMPTION, "reason": "\t"}]},
        {"exemptions": [{**EXEMPTION, **BY_INSTANCE, "instance_arn": "arn:aws:sso:::instance/ssoins-1"}]},
    ]
    for bad in rejected:
        assert list(validator.iter_errors(bad)), bad
        with pytest.raises(PolicyError):
            parse_policy(bad)
