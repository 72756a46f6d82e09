"""The function's asset: our package, the policy and msgspec built for Lambda's platform, nothing else."""

from __future__ import annotations

import importlib.util
import json
import marshal
import re
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from guardrail.core.policy import policy_data
from guardrail.core.policy_file import load_policy
from infra.bundling import (
    LAMBDA_PLATFORM,
    LAMBDA_SOURCE,
    POLICY_FILE_NAME,
    PROJECT_ROOT,
    REQUIREMENTS_FILE_NAME,
    BytecodeError,
    DependencyInstallError,
    GuardrailBundling,
    compile_bytecode,
    install_dependencies,
)
from tests.infra.support import DETECT_HANDLER, EXAMPLE_POLICY, Synthesized

EM_AARCH64 = 183  # ELF e_machine of 64-bit ARM


def _asset_dir(synthesized: Synthesized) -> Path:
    code = synthesized.function(DETECT_HANDLER)["Code"]
    asset_hash = code["S3Key"].removesuffix(".zip")
    folder = synthesized.outdir / f"asset.{asset_hash}"
    assert folder.is_dir()
    return folder


def _pin(requirements: Path, package: str) -> str:
    match = re.search(rf"^{package}==(\S+)", requirements.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{package} is not pinned in {requirements}"
    return match.group(1)


def test_every_function_runs_the_one_asset_bundled_once(synthesized: Synthesized) -> None:
    """The detect function and the sweep's three share the code: one asset, bundled and uploaded once."""
    codes = [f["Properties"]["Code"] for f in synthesized.resources("AWS::Lambda::Function").values()]
    assert len(codes) == 4
    assert all(code == codes[0] for code in codes)
    assert len(list(synthesized.outdir.glob("asset.*"))) == 1


def test_asset_contains_the_package_the_policy_and_msgspec_only(synthesized: Synthesized) -> None:
    """And Jinja2 with MarkupSafe, for the sweep's report (`guardrail.sweep.report`)."""
    folder = _asset_dir(synthesized)
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [
            "guardrail",
            "msgspec",
            f"msgspec-{version('msgspec')}.dist-info",
            "jinja2",
            f"jinja2-{version('jinja2')}.dist-info",
            "markupsafe",
            f"markupsafe-{version('markupsafe')}.dist-info",
            POLICY_FILE_NAME,
        ]
    )
    assert (folder / "guardrail" / "__init__.py").is_file()
    assert (folder / "msgspec" / "__init__.py").is_file()


def test_asset_package_is_a_copy_of_the_source(synthesized: Synthesized) -> None:
    folder = _asset_dir(synthesized) / "guardrail"
    shipped = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    source = LAMBDA_SOURCE / "guardrail"
    expected = sorted(
        p.relative_to(source).as_posix()
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in {".pyc", ".pyo"}
    )
    assert shipped == expected
    forbidden = ("tests", "emulator", "guardrail_cli", "conftest")
    assert not [name for name in shipped if any(part in name for part in forbidden)]


def _bytecode(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.pyc")}


def test_asset_ships_bytecode_lambda_can_use_when_synthesized_with_its_python(
    synthesized: Synthesized,
) -> None:
    """Lambda's code directory is read-only: without bytecode, every cold start compiles."""
    folder = _asset_dir(synthesized)
    bytecode = _bytecode(folder)
    if not LAMBDA_PLATFORM.compiles_here:
        assert bytecode == {}
        return
    tag = sys.implementation.cache_tag  # cpython-313
    expected = {
        (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").relative_to(folder).as_posix()
        for p in folder.rglob("*.py")
    }
    assert set(bytecode) == expected
    for data in bytecode.values():
        assert data[:4] == importlib.util.MAGIC_NUMBER
        assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, source never checked
    assert not [p for p in folder.rglob("*") if p.suffix == ".pyo"]


@pytest.mark.skipif(
    not LAMBDA_PLATFORM.compiles_here, reason="bytecode is compiled with the runtime's Python only"
)
def test_bundling_is_reproducible_byte_for_byte(tmp_path: Path) -> None:
    """The same sources give the same asset, so its hash (and a deployment) changes only with them."""
    policy = load_policy(EXAMPLE_POLICY)
    trees = []
    for name in ("first", "second"):
        target = tmp_path / name
        target.mkdir()
        GuardrailBundling(policy).try_bundle(str(target), image=None)  # type: ignore[arg-type]
        trees.append(
            {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()}
        )
    assert trees[0] == trees[1]
    pyc = trees[0][f"guardrail/pipeline/__pycache__/events.{sys.implementation.cache_tag}.pyc"]
    code = marshal.loads(pyc[16:])  # noqa: S302 - bytecode this test just built
    assert code.co_filename == "/var/task/guardrail/pipeline/events.py"  # as Lambda tracebacks show


def test_a_syntax_error_stops_the_bundling(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def broken(:\n", encoding="utf-8")
    with pytest.raises(BytecodeError, match=r"broken\.py"):
        compile_bytecode(tmp_path)


def test_asset_policy_is_the_validated_policy_as_json(synthesized: Synthesized) -> None:
    shipped = json.loads((_asset_dir(synthesized) / POLICY_FILE_NAME).read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(policy_data(synthesized.config.load_policy())))
    assert load_policy(_asset_dir(synthesized) / POLICY_FILE_NAME) == synthesized.config.load_policy()


def test_asset_msgspec_is_built_for_the_function_platform(synthesized: Synthesized) -> None:
    folder = _asset_dir(synthesized)
    (extension,) = (folder / "msgspec").glob("_core*")
    assert extension.name == "_core.cpython-313-aarch64-linux-gnu.so"
    header = extension.read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    assert header[4] == 2  # 64-bit
    assert header[5] == 1  # little-endian
    assert int.from_bytes(header[18:20], "little") == EM_AARCH64
    (dist_info,) = folder.glob("msgspec-*.dist-info")
    wheel = (dist_info / "WHEEL").read_text(encoding="utf-8")
    tags = [line.removeprefix("Tag: ") for line in wheel.splitlines() if line.startswith("Tag: ")]
    assert tags
    assert all(re.fullmatch(r"cp313-cp313-manylinux.*_aarch64", tag) for tag in tags), tags
    assert (dist_info / "licenses" / "LICENSE").is_file()


def test_asset_msgspec_is_the_version_the_code_is_tested_with(synthesized: Synthesized) -> None:
    (dist_info,) = _asset_dir(synthesized).glob("msgspec-*.dist-info")
    metadata = (dist_info / "METADATA").read_text(encoding="utf-8")
    (shipped,) = re.findall(r"^Version: (\S+)$", metadata, re.MULTILINE)
    pinned = _pin(LAMBDA_SOURCE / REQUIREMENTS_FILE_NAME, "msgspec")
    assert shipped == version("msgspec") == pinned == _pin(PROJECT_ROOT / "requirements.txt", "msgspec")


def test_asset_hash_follows_the_content(synthesized: Synthesized, synthesized_variant: Synthesized) -> None:
    """The variant's asset differs from the example's in its policy only; its hash must follow."""
    assert _asset_dir(synthesized).name != _asset_dir(synthesized_variant).name


# --- installing the dependencies, without the network ---------------------------------------------

# Stands in for `python -m pip`: records its arguments, writes a package into --target (or fails).
FAKE_PIP = """
import json, pathlib, sys
args = sys.argv[1:]
log = pathlib.Path(__file__).with_name("calls.jsonl")
with log.open("a") as f:
    f.write(json.dumps(args) + "\\n")
if pathlib.Path(__file__).with_name("fail").exists():
    print("Collecting msgspec==0.23.0", file=sys.stderr)
    print("ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.", file=sys.stderr)
    sys.exit(1)
target = pathlib.Path(args[args.index("--target") + 1])
(target / "fakepkg").mkdir()
(target / "fakepkg" / "__init__.py").write_text("")
"""


@pytest.fixture
def fake_pip(tmp_path: Path) -> tuple[str, ...]:
    script = tmp_path / "pip" / "fake_pip.py"
    script.parent.mkdir()
    script.write_text(FAKE_PIP, encoding="utf-8")
    return (sys.executable, str(script))


def _calls(fake_pip: tuple[str, ...]) -> list[list[str]]:
    log = Path(fake_pip[1]).with_name("calls.jsonl")
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def _requirements(tmp_path: Path, text: str = "msgspec==0.23.0 --hash=sha256:00\n") -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(text, encoding="utf-8")
    return path


def test_dependencies_are_installed_for_the_platform_once_then_reused(
    tmp_path: Path, fake_pip: tuple[str, ...]
) -> None:
    requirements, cache = _requirements(tmp_path), tmp_path / "cache"
    first = install_dependencies(requirements, cache=cache, pip=fake_pip)
    second = install_dependencies(requirements, cache=cache, pip=fake_pip)
    assert first == second
    assert first.parent == cache
    assert (first / "fakepkg" / "__init__.py").is_file()
    assert sorted(p.name for p in cache.iterdir()) == [first.name]  # no staging left behind
    (args,) = _calls(fake_pip)
    expected = [
        "--platform manylinux2014_aarch64",
        "--implementation cp",
        "--python-version 3.13",
        "--only-binary=:all:",
        "--no-deps",
        "--require-hashes",
        "--no-compile",
        f"--requirement {requirements}",
    ]
    command = " ".join(args)
    assert args[0] == "install"
    assert all(option in command for option in expected), command


def test_changed_requirements_are_installed_again(tmp_path: Path, fake_pip: tuple[str, ...]) -> None:
    cache = tmp_path / "cache"
    first = install_dependencies(_requirements(tmp_path), cache=cache, pip=fake_pip)
    second = install_dependencies(
        _requirements(tmp_path, "msgspec==0.23.1 --hash=sha256:11\n"), cache=cache, pip=fake_pip
    )
    assert first != second
    assert len(_calls(fake_pip)) == 2


def test_failing_pip_stops_the_synth_with_its_error_and_caches_nothing(
    tmp_path: Path, fake_pip: tuple[str, ...]
) -> None:
    Path(fake_pip[1]).with_name("fail").touch()
    requirements, cache = _requirements(tmp_path), tmp_path / "cache"
    with pytest.raises(DependencyInstallError) as raised:
        install_dependencies(requirements, cache=cache, pip=fake_pip)
    message = str(raised.value)
    assert str(requirements) in message
    assert "manylinux2014_aarch64" in message
    assert "exit status 1" in message
    assert "DO NOT MATCH THE HASHES" in message
    assert list(cache.iterdir()) == []
    # Not cached as a success: the next synth tries again.
    with pytest.raises(DependencyInstallError):
        install_dependencies(requirements, cache=cache, pip=fake_pip)
    assert len(_calls(fake_pip)) == 2


def test_missing_pip_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DependencyInstallError, match="cannot run"):
        install_dependencies(
            _requirements(tmp_path), cache=tmp_path / "cache", pip=(str(tmp_path / "no-such-python"),)
        )
