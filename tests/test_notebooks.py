"""The notebooks' contract: papermill parameters are RunConfig fields, and a notebook runs on its own."""
import ast
import json
from pathlib import Path

import nbformat
import pytest

from labseg.config import field_names
from labseg.pipeline import NOTEBOOKS, strip_volatile

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def parameters_cell(nb):
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell tagged 'parameters'"
    return cells[0]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_parameters_are_config_fields_and_literals(name):
    nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    tree = ast.parse(parameters_cell(nb).source)
    names = []
    for node in tree.body:
        assert isinstance(node, ast.Assign), "the parameters cell holds assignments only"
        ast.literal_eval(node.value)  # literals only: nothing is computed there
        names += [t.id for t in node.targets]
    from labseg.study import SELECTION_PARAMETERS

    assert names and set(names) <= set(field_names()) | set(SELECTION_PARAMETERS), set(names) - set(field_names())
    code = "".join(c.source for c in nb.cells if c.cell_type == "code")
    for p in set(names) & set(SELECTION_PARAMETERS):  # a selection parameter is checked where it is used
        assert f"{SELECTION_PARAMETERS[p]}({p}" in code, p
    assert "study.setup(" in "".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.slow
def test_flip_ablation_runs_alone_with_papermill(tmp_path, monkeypatch, toy_root):
    import papermill as pm

    monkeypatch.delenv("LABSEG_NOTEBOOK_OVERRIDES", raising=False)
    out = tmp_path / "04.ipynb"
    pm.execute_notebook(NB_DIR / "04_flip_ablation.ipynb", out, progress_bar=False, kernel_name="python3",
                        parameters={"profile": "smoke", "data": str(toy_root), "out_dir": str(tmp_path / "results"),
                                    "epochs": 1})
    key = f"{toy_root.name}-smoke"
    table = (tmp_path / "results" / key / "flip_ablation.csv").read_text()
    assert all(arm in table for arm in ("none", "hflip", "hvflip", "independent"))
    cfg = json.loads((tmp_path / "results" / key / "runs" / "unet-independent-epochs-1-s0" / "config.json").read_text())
    assert cfg["epochs"] == 1 and cfg["profile"] == "smoke" and cfg["flip"] == "independent"
    assert (tmp_path / "figures" / key / "04_flip_ablation.png").is_file()
    clean = tmp_path / "clean.ipynb"
    strip_volatile(out, clean)
    text = clean.read_text()
    assert '"papermill"' not in text and '"start_time"' not in text
    counts = [c.execution_count for c in nbformat.read(clean, as_version=4).cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))  # nbval checks only cells that carry a count


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebooks_carry_no_injected_parameters(name):
    """A published notebook keeps its outputs but not the parameters of the run that made them: Run All
    and a plain ``papermill NB out.ipynb`` use the defaults of its parameters cell; a note names the run.
    (A notebook not published yet has no outputs, and then no note.)"""
    nb = nbformat.read(NB_DIR / f"{name}.ipynb", as_version=4)
    tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
    assert "injected-parameters" not in tags
    notes = [c for c in nb.cells if "published-from" in c.metadata.get("tags", [])]
    has_outputs = any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert len(notes) == (1 if has_outputs else 0)
    # the command that regenerates the outputs: make report, or papermill where the notebook was published with
    # parameters the pipeline does not pass (10_recipe part-way: train_missing False)
    assert not notes or "make report" in notes[0].source or f"papermill notebooks/{name}.ipynb" in notes[0].source
    defaults = {n.targets[0].id: ast.literal_eval(n.value) for n in ast.parse(parameters_cell(nb).source).body}
    assert defaults["profile"] == "toy" and defaults["data"] == "data/toy-pets"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_committed_notebook_reruns_on_toy_data_without_touching_results(tmp_path):
    """From a clone with no ../shared beside it, `papermill notebooks/01_data.ipynb out.ipynb` (no -p) runs
    on the toy pets and leaves every committed file under results/ and figures/ as it was."""
    import os
    import shutil
    import subprocess
    import sys

    repo = NB_DIR.parent
    clone = tmp_path / "clone"  # tmp_path/shared does not exist: the real subset is out of reach
    for sub in ("labseg", "notebooks", "results", "figures"):
        shutil.copytree(repo / sub, clone / sub, ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    before = {sub: _tree(clone / sub) for sub in ("results", "figures")}
    env = {k: v for k, v in os.environ.items() if k != "LABSEG_NOTEBOOK_OVERRIDES"}
    env["PYTHONPATH"] = str(clone)
    proc = subprocess.run([sys.executable, "-m", "papermill", "notebooks/01_data.ipynb", str(tmp_path / "out.ipynb"),
                           "--kernel", "python3", "--cwd", str(clone)], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ran = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in ran.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "data: data/toy-pets" in printed and "oxford-pet-subset" not in printed
    assert (clone / "data" / "toy-pets" / "annotations" / "trainval.txt").is_file()
    for sub in ("results", "figures"):
        after = _tree(clone / sub)
        changed = [k for k, v in before[sub].items() if after.get(k) != v]
        assert not changed, f"{sub}/ changed: {changed}"
        new = [k for k in after if k not in before[sub]]
        assert not [k for k in new if "oxford-pet-subset" in k], new
