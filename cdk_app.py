"""The CDK app command (`cdk.json`): app.py, run by the Python that has the project's libraries.

`npx cdk synth` starts the app with whatever `python3` comes first on PATH, usually the system's,
which lacks the CDK libraries. So this file needs only the standard library, and runs app.py:

1. in this interpreter, when it is a virtual environment's (one activated, or whose python3 was
   run, as `make` does) and has the libraries;
2. else with the project's `.venv` (made by `make setup`), when it exists;
3. else in this interpreter, when it has the libraries (installed some other way);
4. else not at all: one line says what to run.
"""

from __future__ import annotations

import importlib.util
import os
import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
APP = ROOT / "app.py"


def project_python() -> Path | None:
    """The project's virtual environment's interpreter (POSIX or Windows layout), if it exists."""
    for candidate in (ROOT / ".venv" / "bin" / "python", ROOT / ".venv" / "Scripts" / "python.exe"):
        if candidate.is_file():
            return candidate
    return None


def main() -> int:
    # Deprecation notices from the construct library are not the app's to act on (make sets it too).
    os.environ.setdefault("JSII_DEPRECATED", "quiet")
    project = project_python()
    has_libraries = importlib.util.find_spec("aws_cdk") is not None
    if has_libraries and (sys.prefix != sys.base_prefix or project is None):
        sys.path.insert(0, str(ROOT))
        sys.argv[0] = str(APP)
        runpy.run_path(str(APP), run_name="__main__")  # app.py exits with its own status
        return 0
    if project is not None:
        return subprocess.call([str(project), str(APP), *sys.argv[1:]])  # noqa: S603 -- the project's own
    print(
        f"error: {sys.executable} lacks the CDK libraries and {ROOT / '.venv'} does not exist: "
        "run `make setup` first (or pip install -r requirements.txt into this Python)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
