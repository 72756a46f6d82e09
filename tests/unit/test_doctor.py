"""`guardrail doctor`'s pieces without AWS: the names it holds, held to the infra's, and its output."""

from __future__ import annotations

import json

from emulator import forwarding as emulated
from guardrail_cli import doctor
from guardrail_cli.doctor import Check, DoctorSettings, Problem, document, render


def test_the_names_the_doctor_and_the_emulation_hold_are_the_infras() -> None:
    from guardrail.sweep import coverage
    from infra.application import CENTRAL_STACK_NAME
    from infra.constructs.detect_function import FUNCTION_NAME
    from infra.constructs.event_forwarding import FORWARDING_DEAD_LETTER_QUEUE_NAME, FORWARDING_RULE_NAME
    from infra.constructs.member_stacksets import FORWARDING_STACKSET_NAME, ROLES_STACKSET_NAME

    assert doctor.CENTRAL_STACK_NAME == CENTRAL_STACK_NAME
    assert doctor.FIXED_DETECT_FUNCTION_NAME == FUNCTION_NAME
    assert doctor.FORWARDING_RULE_NAME == emulated.FORWARDING_RULE_NAME == FORWARDING_RULE_NAME
    assert (
        doctor.FORWARDING_DEAD_LETTER_QUEUE_NAME
        == emulated.FORWARDING_DEAD_LETTER_QUEUE_NAME
        == FORWARDING_DEAD_LETTER_QUEUE_NAME
    )
    assert (coverage.MEMBER_ROLES_STACKSET, coverage.FORWARDING_STACKSET) == (
        ROLES_STACKSET_NAME,
        FORWARDING_STACKSET_NAME,
    )


def test_the_central_bus_is_the_configurations() -> None:
    settings = DoctorSettings(
        central_account_id="222222222222",
        central_region="eu-west-1",
        central_bus_name="guardrail-bus",
        member_role_name="Audit",
        regions=("eu-west-1",),
    )
    assert (
        settings.forwarding.central_bus_arn == "arn:aws:events:eu-west-1:222222222222:event-bus/guardrail-bus"
    )
    assert settings.forwarding.rule_name == doctor.FORWARDING_RULE_NAME


CHECKS = [
    Check("detect function", True, "f Active"),
    Check(
        "forwarding rules",
        False,
        "wrong in 1 of 8 account-Regions read",
        (Problem("333333333333 eu-west-1: the rule is DISABLED", "aws events enable-rule ..."),),
    ),
]


def test_each_check_is_one_line_and_each_problem_says_its_fix_below_it() -> None:
    assert render(CHECKS).splitlines() == [
        "ok     detect function: f Active",
        "WRONG  forwarding rules: wrong in 1 of 8 account-Regions read",
        "         333333333333 eu-west-1: the rule is DISABLED",
        "           fix: aws events enable-rule ...",
        "",
        "1 of 2 checks WRONG",
    ]
    assert render(CHECKS[:1]).splitlines()[-1] == "all ok"


def test_the_json_document_holds_every_check() -> None:
    data = json.loads(json.dumps(document(CHECKS)))
    assert data["ok"] is False
    assert data["checks"][1] == {
        "check": "forwarding rules",
        "ok": False,
        "detail": "wrong in 1 of 8 account-Regions read",
        "problems": [
            {"what": "333333333333 eu-west-1: the rule is DISABLED", "fix": "aws events enable-rule ..."}
        ],
    }
    assert document(CHECKS[:1])["ok"] is True
