"""Which Regions are watched, and what `cdk synth` says when Regions where instances can be made are not."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Annotations, Match

from guardrail.core.policy import Policy
from infra.central_stack import ONLY_ALLOWED_REGIONS_WATCHED, REGIONS_NOT_WATCHED, coverage_warnings
from infra.config import GuardrailConfig, known_regions, parse_config
from tests.infra.support import EXAMPLE_POLICY, Synthesized, example_config_data

ALLOWED = ("us-east-1", "eu-west-1", "eu-central-1")  # the example policy's allowed_regions


def _config(**changes: Any) -> GuardrailConfig:
    data = {**example_config_data(), "policy_file": str(EXAMPLE_POLICY), **changes}
    return parse_config({key: value for key, value in data.items() if value is not None})


def test_watching_only_the_allowed_regions_is_warned_about_naming_the_regions() -> None:
    warnings = coverage_warnings(_config(regions=list(ALLOWED)), Policy(allowed_regions=ALLOWED))
    assert set(warnings) == {ONLY_ALLOWED_REGIONS_WATCHED, REGIONS_NOT_WATCHED}
    only_allowed = warnings[ONLY_ALLOWED_REGIONS_WATCHED]
    assert only_allowed.startswith("regions: ")
    assert "region-not-allowed can never fire" in only_allowed
    assert "(us-east-1, eu-west-1, eu-central-1)" in only_allowed
    unwatched = warnings[REGIONS_NOT_WATCHED]
    named = unwatched.split("not watched: ", 1)[1].split(";", 1)[0].split(", ")
    assert named == [region for region in known_regions("sso") if region not in ALLOWED]
    assert "ap-east-1" in named


def test_watching_a_region_beyond_the_allowed_ones_leaves_only_the_unwatched_warning() -> None:
    """An instance in eu-north-1 is seen, so region-not-allowed can fire; the rest is still unseen."""
    config = _config(regions=[*ALLOWED, "eu-north-1"])
    assert set(coverage_warnings(config, Policy(allowed_regions=ALLOWED))) == {REGIONS_NOT_WATCHED}


def test_a_policy_allowing_every_region_has_no_rule_to_miss() -> None:
    config = _config(regions=list(ALLOWED))
    assert set(coverage_warnings(config, Policy(allowed_regions=None))) == {REGIONS_NOT_WATCHED}


@pytest.mark.parametrize("regions", [None, list(reversed(known_regions("sso")))])
def test_watching_every_region_warns_about_nothing(regions: list[str] | None) -> None:
    config = _config(regions=regions)
    assert set(config.regions) == set(known_regions("sso"))
    assert coverage_warnings(config, Policy(allowed_regions=ALLOWED)) == {}


def _warnings(s: Synthesized, warning_id: str) -> list[str]:
    found = Annotations.from_stack(s.stack).find_warning("*", Match.string_like_regexp(f"ack: {warning_id}"))
    return [str(message.entry.data) for message in found]


def test_synth_warns_on_the_central_stack_only_when_regions_are_left_unwatched(
    synthesized: Synthesized, synthesized_variant: Synthesized
) -> None:
    """The variant watches only the allowed Regions; the example watches every one (the default).

    The fixtures synthesized all the same: a warning never fails synthesis.
    """
    (only_allowed,) = _warnings(synthesized_variant, ONLY_ALLOWED_REGIONS_WATCHED)
    assert "every watched Region (us-east-1, eu-west-1, eu-central-1) is allowed" in only_allowed
    (unwatched,) = _warnings(synthesized_variant, REGIONS_NOT_WATCHED)
    assert "ap-east-1" in unwatched
    assert _warnings(synthesized, ONLY_ALLOWED_REGIONS_WATCHED) == []
    assert _warnings(synthesized, REGIONS_NOT_WATCHED) == []
