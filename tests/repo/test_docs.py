"""docs/cli.md holds every subcommand's --help as labseg prints it: a changed option fails here until the page
follows (LABSEG_UPDATE_DOCS=1 pytest tests/repo/test_docs.py rewrites the blocks)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI_DOC = REPO / "docs" / "cli.md"
BLOCK = re.compile(r"(## `labseg ([a-z -]+)`\n.*?```text\n)(.*?)(```)", re.S)


def help_text(command: str) -> str:
    env = {**os.environ, "COLUMNS": "110"}
    out = subprocess.run([sys.executable, "-m", "labseg", *command.split(), "--help"], capture_output=True, text=True,
                         env=env, check=True).stdout
    return out.replace("usage: __main__.py", "usage: labseg").replace("usage: python -m labseg", "usage: labseg")


def test_cli_reference_is_every_subcommands_current_help():
    text = CLI_DOC.read_text()
    blocks = BLOCK.findall(text)
    commands = [c for _, c, _, _ in blocks if " " not in c]  # `labseg study run` etc.: a subcommand's actions
    top = subprocess.run([sys.executable, "-m", "labseg", "--help"], capture_output=True, text=True).stdout
    listed = re.findall(r"^    ([a-z][a-z-]+)", top.split("COMMAND\n", 1)[1].split("options:")[0], re.M)
    assert sorted(commands) == sorted(listed)
    fresh = BLOCK.sub(lambda m: m.group(1) + help_text(m.group(2)) + m.group(4), text)
    if os.environ.get("LABSEG_UPDATE_DOCS") == "1":
        CLI_DOC.write_text(fresh)
    assert fresh == text, "docs/cli.md is stale: LABSEG_UPDATE_DOCS=1 pytest tests/repo/test_docs.py rewrites it"
