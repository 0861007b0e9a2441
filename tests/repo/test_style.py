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


MAX_FUNCTION_LINES = 60


def long_functions(root: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """'file:line name (N lines)' for each function or method under ``root`` longer than ``limit`` lines."""
    import ast

    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_the_length_check_finds_a_long_function(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("def short():\n    return 1\n\n\ndef long():\n" + "    x = 1\n" * 70)
    assert long_functions(tmp_path / "pkg") == ["pkg/m.py:5 long (71 lines)"]


def test_no_function_of_the_package_is_over_60_lines():
    assert long_functions(REPO / "labseg") == []
