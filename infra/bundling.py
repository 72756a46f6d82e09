"""Packaging of the function's code without Docker.

The asset holds the `guardrail` package (its report templates included), the validated policy as
`policy.json`, and the third-party packages of lambdas/requirements.txt (msgspec; Jinja2 and
MarkupSafe for the sweep's report): boto3 comes with the Lambda runtime and Powertools from its
public layer, but these are in neither. msgspec and MarkupSafe are compiled extensions, so pip
installs the wheels built for the function's platform (`LAMBDA_PLATFORM`), whatever the machine
that synthesizes, and checks each against the hash pinned in lambdas/requirements.txt.

The install is cached under build/lambda-dependencies/, keyed by the requirements file and the
platform, because every synth (and the tests synth several apps) bundles the asset again.

The asset's hash is the hash of its content (`AssetHashType.OUTPUT`), so it changes with the
package, the policy and the installed dependencies, and with nothing else.

Lambda's code directory is read-only, so Python cannot cache bytecode there and would compile the
package at every cold start. When the synthesizing Python is the runtime's version, the asset
ships bytecode: unchecked-hash .pyc files (valid without comparing timestamps), compiled with a
fixed hash seed and source paths under /var/task, so the same sources give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from guardrail.core.policy import Policy, policy_data

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SOURCE = PROJECT_ROOT / "lambdas"
PACKAGE_NAME = "guardrail"
POLICY_FILE_NAME = "policy.json"
REQUIREMENTS_FILE_NAME = "requirements.txt"
DEPENDENCY_CACHE = PROJECT_ROOT / "build" / "lambda-dependencies"
PIP: tuple[str, ...] = (sys.executable, "-m", "pip")
_IGNORED = ("__pycache__", "*.pyc", "*.pyo", ".mypy_cache", ".pytest_cache")
_STDERR_TAIL_LINES = 20


@dataclass(frozen=True)
class LambdaPlatform:
    """Where the function runs, and so what pip installs its dependencies for."""

    runtime: lambda_.Runtime
    architecture: lambda_.Architecture

    @property
    def python_version(self) -> str:
        """The CPython version of the runtime: 3.13 for python3.13."""
        return self.runtime.name.removeprefix("python")

    @property
    def compiles_here(self) -> bool:
        """Whether this Python can write bytecode the runtime reads (same CPython minor version)."""
        return sys.implementation.name == "cpython" and self.python_version == "{}.{}".format(
            *sys.version_info[:2]
        )

    @property
    def pip_platform(self) -> str:
        """The wheel platform tag: Lambda's Amazon Linux is manylinux2014-compatible."""
        machine = {"arm64": "aarch64", "x86_64": "x86_64"}[self.architecture.name]
        return f"manylinux2014_{machine}"

    def pip_options(self) -> list[str]:
        return [
            "--platform",
            self.pip_platform,
            "--implementation",
            "cp",
            "--python-version",
            self.python_version,
            "--only-binary=:all:",
        ]


# The function's runtime and architecture (infra/constructs/detect_function.py deploys it with
# these), which are also what its dependencies are installed for: change them here, together.
LAMBDA_PLATFORM = LambdaPlatform(lambda_.Runtime.PYTHON_3_13, lambda_.Architecture.ARM_64)


class DependencyInstallError(RuntimeError):
    """pip could not install the function's dependencies: the asset must not ship without them."""


class BytecodeError(RuntimeError):
    """The asset's sources could not be compiled: a syntax error must not reach the function."""


# Where Lambda puts the function's code: the source paths the bytecode records (tracebacks show them).
LAMBDA_TASK_ROOT = "/var/task"


def compile_bytecode(asset: Path) -> None:
    """Compile every module in `asset` in place, reproducibly (see the module's docstring)."""
    command = [
        sys.executable,
        "-m",
        "compileall",
        "-q",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(asset),
        "-p",
        LAMBDA_TASK_ROOT,
        str(asset),
    ]
    # Sets and frozensets among constants are marshalled in hash order: fix the seed.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)  # noqa: S603
    if result.returncode != 0:
        raise BytecodeError(f"compiling {asset} failed:\n{(result.stdout + result.stderr).strip()}")


def install_dependencies(
    requirements: Path,
    platform: LambdaPlatform = LAMBDA_PLATFORM,
    *,
    cache: Path = DEPENDENCY_CACHE,
    pip: Sequence[str] = PIP,
) -> Path:
    """The directory holding `requirements` installed for `platform`, installing it if not cached.

    The cache entry appears in one rename once pip has succeeded, so an interrupted or failed
    install is never reused. `pip` is the command that runs pip (a seam for tests).
    """
    fingerprint = hashlib.sha256(requirements.read_bytes())
    fingerprint.update(" ".join(platform.pip_options()).encode())
    key = fingerprint.hexdigest()
    installed = cache / key
    if installed.is_dir():
        return installed
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=cache))
    try:
        packages = staging / "packages"  # made with the umask's permissions, unlike `staging`
        packages.mkdir()
        _pip_install(requirements, platform, packages, pip)
        try:
            packages.rename(installed)
        except OSError:
            if not installed.is_dir():  # not a concurrent synth that finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return installed


def _pip_install(requirements: Path, platform: LambdaPlatform, target: Path, pip: Sequence[str]) -> None:
    command = [
        *pip,
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--target",
        str(target),
        *platform.pip_options(),
        "--no-deps",
        "--require-hashes",
        "--no-compile",
        "--requirement",
        str(requirements),
    ]
    what = (
        f"pip could not install {requirements} for {platform.pip_platform} CPython {platform.python_version}"
    )
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as error:
        raise DependencyInstallError(f"{what}: cannot run {pip[0]}: {error}") from error
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-_STDERR_TAIL_LINES:])
        raise DependencyInstallError(f"{what} (exit status {result.returncode}):\n{tail}")


@jsii.implements(ILocalBundling)
class GuardrailBundling:
    """Builds the asset in this process: the package, the policy and the installed dependencies."""

    def __init__(
        self, policy: Policy, source: Path = LAMBDA_SOURCE, platform: LambdaPlatform = LAMBDA_PLATFORM
    ) -> None:
        self._policy = policy
        self._package = source / PACKAGE_NAME
        self._requirements = source / REQUIREMENTS_FILE_NAME
        self._platform = platform

    def try_bundle(self, output_dir: str, *, image: DockerImage, **options: Any) -> bool:
        """Build the asset in `output_dir`; returning True tells CDK that Docker is not needed."""
        target = Path(output_dir)
        ignore = shutil.ignore_patterns(*_IGNORED)
        dependencies = install_dependencies(self._requirements, self._platform)
        shutil.copytree(dependencies, target, ignore=ignore, dirs_exist_ok=True)
        shutil.copytree(self._package, target / PACKAGE_NAME, ignore=ignore, dirs_exist_ok=True)
        document = json.dumps(policy_data(self._policy), indent=2) + "\n"
        (target / POLICY_FILE_NAME).write_text(document, encoding="utf-8")
        if self._platform.compiles_here:
            compile_bytecode(target)
        return True


def function_code(
    policy: Policy, platform: LambdaPlatform = LAMBDA_PLATFORM, source: Path = LAMBDA_SOURCE
) -> lambda_.Code:
    """The function's code asset, hashed by its content: the package, the policy, the dependencies."""
    return lambda_.Code.from_asset(
        str(source),
        exclude=list(_IGNORED),
        # The default (SOURCE) would hash lambdas/ and the bundling options only, missing the policy
        # and the platform the dependencies are installed for.
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or raises, but CDK requires an image.
            image=DockerImage.from_registry("none"),
            local=GuardrailBundling(policy, source, platform),
        ),
    )
