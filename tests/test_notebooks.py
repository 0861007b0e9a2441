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
    assert names and set(names) <= set(field_names()), set(names) - set(field_names())
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
    cfg = json.loads((tmp_path / "results" / key / "runs" / "unet-independent-s0" / "config.json").read_text())
    assert cfg["epochs"] == 1 and cfg["profile"] == "smoke" and cfg["flip"] == "independent"
    assert (tmp_path / "figures" / key / "04_flip_ablation.png").is_file()
    clean = tmp_path / "clean.ipynb"
    strip_volatile(out, clean)
    text = clean.read_text()
    assert '"papermill"' not in text and '"start_time"' not in text
    counts = [c.execution_count for c in nbformat.read(clean, as_version=4).cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))  # nbval checks only cells that carry a count
