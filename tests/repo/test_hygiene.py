"""What the repository carries: no machine's absolute paths, no warnings or stderr in published notebooks, and
notebooks whose interactive runs write outside the tracked tree while `make report` regenerates the committed one."""
from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from labseg.pipeline import INTERACTIVE_OUT, NOTEBOOKS

REPO = Path(__file__).resolve().parents[2]
# Roots under which an absolute path names somebody's machine (home folders, work trees, temp files).
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:work|root|home|Users|tmp|var|opt|mnt|srv|private|media|scratch)/")


def tracked_text() -> dict[str, str]:
    """Tracked text files; for notebooks, the sources and text outputs only (images are base64 noise)."""
    names = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    out = {}
    for name in names:
        path = REPO / name
        if not path.is_file() or path.suffix in (".png", ".pdf", ".npz", ".pt", ".onnx", ".jpg"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if path.suffix == ".ipynb":
            nb = json.loads(text)
            parts = []
            for cell in nb["cells"]:
                parts.append("".join(cell["source"]))
                for o in cell.get("outputs", []):
                    parts.append("".join(o.get("text", "")))
                    parts += ["".join(v) for k, v in o.get("data", {}).items() if k.startswith("text/")]
            text = "\n".join(parts)
        out[name] = text
    return out


def test_no_tracked_file_names_a_machine_path():
    found = [(name, text[m.start():m.start() + 60]) for name, text in tracked_text().items()
             for m in MACHINE_PATH.finditer(text)]
    assert not found, found[:10]


def test_the_path_check_finds_machine_paths():
    root = "/"  # the examples are put together here, so that this file itself names no machine path
    assert MACHINE_PATH.search(f"UserWarning at {root}work/main/.venv/lib/x.py:21")
    assert MACHINE_PATH.search(f'"data": "{root}home/ana/pets"') and MACHINE_PATH.search(f"--json {root}tmp/b.json")
    assert not MACHINE_PATH.search("#!/usr/bin/env bash; ../shared/data/oxford-pet-subset; runs/tmp/x; a/home/b")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_published_notebooks_carry_no_error_or_stderr_output(name):
    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o.text[:200] for o in outputs if o.output_type == "stream" and o.name == "stderr"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_an_interactive_run_writes_under_an_untracked_folder(name):
    """Run All (or papermill without -p) uses the parameters cell's out_dir: git ignores it, so reading the
    notebooks leaves the committed results/ and figures/ as they are."""
    nb = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    defaults = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(cell.source).body}
    assert defaults["out_dir"] == INTERACTIVE_OUT
    from labseg.study import study_key

    key = study_key(defaults["data"], defaults["profile"])
    for path in (f"{INTERACTIVE_OUT}/{key}/runs/x/metrics.json", f"{Path(INTERACTIVE_OUT).parent}/figures/{key}/a.png"):
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0, path


def test_make_report_writes_the_committed_report(monkeypatch, tmp_path):
    """`make report` (python -m labseg.pipeline) passes out_dir=results to every notebook: the toy study lands in
    the committed results/toy-pets-toy and figures/toy-pets-toy, not in the interactive folder."""
    import papermill

    from labseg import pipeline
    from labseg.study import study_key

    calls = []
    monkeypatch.chdir(tmp_path)  # the pipeline makes <out>/<key>/notebooks/ for the executed copies
    monkeypatch.setattr(papermill, "execute_notebook", lambda src, dst, parameters, **kw: calls.append(parameters))
    pipeline.main(["--profile", "toy"])
    assert len(calls) == len(pipeline.CORE) and all(c["out_dir"] == "results" for c in calls)
    key = study_key(calls[0]["data"], calls[0]["profile"])
    assert key == "toy-pets-toy" and (REPO / "results" / key).is_dir() and (REPO / "figures" / key).is_dir()
