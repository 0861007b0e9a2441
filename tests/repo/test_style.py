"""The style gate: `ruff check` (configured in pyproject.toml's [tool.ruff]; what `make lint`, run first by
`make test`, and the pre-commit hook run) finds nothing in the repository, notebooks included."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def ruff_command() -> list[str] | None:
    """The ruff of this Python's environment (the dev extra installs it beside the interpreter), else None."""
    beside = Path(sys.executable).parent / "ruff"
    if beside.is_file():
        return [str(beside)]
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    return None


def test_ruff_finds_nothing():
    command = ruff_command()
    if command is None:
        pytest.skip("ruff is not installed (the dev extra has it: pip install -e '.[dev]')")
    done = subprocess.run([*command, "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
