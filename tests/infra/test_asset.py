"""The function's asset holds our package and the policy, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

from guardrail.core.policy import load_policy
from infra.bundling import LAMBDA_SOURCE, POLICY_FILE_NAME
from tests.infra.support import Synthesized


def _asset_dir(synthesized: Synthesized) -> Path:
    code = synthesized.only("AWS::Lambda::Function")["Properties"]["Code"]
    asset_hash = code["S3Key"].removesuffix(".zip")
    folder = synthesized.outdir / f"asset.{asset_hash}"
    assert folder.is_dir()
    return folder


def test_asset_contains_the_package_and_the_policy_only(synthesized: Synthesized) -> None:
    folder = _asset_dir(synthesized)
    assert sorted(p.name for p in folder.iterdir()) == ["guardrail", POLICY_FILE_NAME]
    assert (folder / "guardrail" / "__init__.py").is_file()


def test_asset_package_is_a_copy_of_the_source_without_caches(synthesized: Synthesized) -> None:
    folder = _asset_dir(synthesized) / "guardrail"
    shipped = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    source = LAMBDA_SOURCE / "guardrail"
    expected = sorted(
        p.relative_to(source).as_posix()
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
    )
    assert shipped == expected
    assert not [name for name in shipped if "__pycache__" in name or name.endswith(".pyc")]
    forbidden = ("tests", "emulator", "guardrail_cli", "conftest")
    assert not [name for name in shipped if any(part in name for part in forbidden)]


def test_asset_policy_is_the_validated_policy_as_json(synthesized: Synthesized) -> None:
    shipped = json.loads((_asset_dir(synthesized) / POLICY_FILE_NAME).read_text(encoding="utf-8"))
    assert shipped == synthesized.config.load_policy().model_dump(mode="json")
    assert load_policy(_asset_dir(synthesized) / POLICY_FILE_NAME) == synthesized.config.load_policy()
