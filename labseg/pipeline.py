"""Regenerate the whole report: papermill executes notebooks 01-10 (05, the report, last), then labseg.report
renders 05 as report/<data>-<profile>/report.html and report.pdf.

    python -m labseg.pipeline --profile toy --data data/toy-pets        (the default)
    python -m labseg.pipeline --profile cpu --data ../shared/data/oxford-pet-subset --publish

Executed notebooks go to <out>/<key>/notebooks/; ``--publish`` also copies them over notebooks/
(what the repository shows). Runs that already finished are read back, interrupted ones resume.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .config import PROFILES, TOY_DATA

# 05_report reads what the others wrote, so it runs last.
NOTEBOOKS = ("01_data", "02_unet", "03_resnet_unet", "04_flip_ablation", "06_augmentation", "07_losses", "08_budget",
             "09_encoders", "10_recipe", "05_report")
REPO = Path(__file__).resolve().parents[1]


def run_pipeline(profile: str = "toy", data: str = TOY_DATA, out_dir: str = "results", publish: bool = False,
                 notebooks_dir: Path = REPO / "notebooks", extra: dict | None = None, document: bool = True) -> Path:
    import papermill as pm

    from .study import study_key

    key = study_key(data, profile)
    executed = Path(out_dir) / key / "notebooks"
    executed.mkdir(parents=True, exist_ok=True)
    params = {"profile": profile, "data": str(data), "out_dir": str(out_dir), **(extra or {})}
    for nb in NOTEBOOKS:
        t0 = time.perf_counter()
        target = executed / f"{nb}.ipynb"
        pm.execute_notebook(notebooks_dir / f"{nb}.ipynb", target, parameters=params, cwd=str(REPO),
                            progress_bar=False, kernel_name="python3")
        print(f"{nb}: {time.perf_counter() - t0:.0f}s -> {target}", flush=True)
        if publish:
            strip_volatile(target, notebooks_dir / f"{nb}.ipynb")
    print(f"results: {Path(out_dir) / key}\nfigures: {Path(out_dir).parent / 'figures' / key}", flush=True)
    if document:
        from .report import build

        build(executed / "05_report.ipynb", Path(out_dir).parent / "report" / key)
    return Path(out_dir) / key


PUBLISHED_TAG = "published-from"


def publish_command(params: dict, notebook: str | None = None) -> str:
    """The command that regenerates a published notebook's outputs, from the parameters it ran with: `make report`,
    or, where it ran with parameters the pipeline does not pass (a study published part-way), papermill."""
    extra = {k: v for k, v in params.items() if k not in ("profile", "data", "out_dir")}
    if extra and notebook:
        shown = " ".join(f"-p {k} {v}" for k, v in params.items())
        return f"papermill notebooks/{notebook}.ipynb out.ipynb {shown}"
    parts = ["make report"]
    if params.get("profile", "toy") != "toy":
        parts.append(f"PROFILE={params['profile']}")
    if params.get("data", TOY_DATA) != TOY_DATA:
        parts.append(f"DATA={params['data']}")
    return " ".join(parts)


def _injected_parameters(nb) -> dict:
    """The values papermill injected into an executed notebook (its 'injected-parameters' cell)."""
    import ast

    values = {}
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                    values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


# Where a notebook run on its parameters cell's defaults (Jupyter's Run All, papermill without -p) writes: an
# untracked folder, so that reading the notebooks never changes a committed file. `make report` passes
# out_dir=results and regenerates the committed report.
INTERACTIVE_OUT = "runs/notebooks/results"


def published_note(params: dict, notebook: str | None = None) -> str:
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "out_dir") or "the defaults"
    return (f"*The outputs shown below come from `{publish_command(params, notebook)}` ({shown}; settings and machine are "
            "printed by the cells). Run as it is (Jupyter's Run All, or `papermill` without `-p`), this notebook uses "
            "the defaults of the parameters cell above: the toy pets and the toy profile, with its runs and figures "
            f"under `{INTERACTIVE_OUT.rsplit('/', 1)[0]}/` (not tracked by git), so the committed results stay as they "
            "are.*")


def drop_volatile_outputs(nb) -> None:
    """Remove what a published notebook must not carry: stderr streams (warnings and progress bars, which name
    the machine's paths) and the repository's absolute path anywhere in the remaining text outputs."""
    root = str(REPO) + "/"
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [o for o in cell.get("outputs", []) if not (o.get("output_type") == "stream"
                                                                   and o.get("name") == "stderr")]
        for out in cell.outputs:
            if out.get("output_type") == "stream":
                out["text"] = out["text"].replace(root, "")
            for key, value in out.get("data", {}).items():
                if key.startswith("text/") and isinstance(value, str):
                    out["data"][key] = value.replace(root, "")


def strip_volatile(src: Path, dst: Path) -> None:
    """Copy an executed notebook for publishing: outputs kept, re-runs on its own defaults.

    papermill's 'injected-parameters' cell is removed, so that Jupyter's Run All or a plain
    ``papermill NB out.ipynb`` runs on the defaults of the notebook's ``parameters`` cell (the toy
    data), never on the data of the run that produced the outputs; a markdown cell after the
    parameters cell names that run's command instead. Timings and papermill's per-cell
    bookkeeping are dropped (small re-run diffs)."""
    import nbformat

    nb = nbformat.read(src, as_version=4)
    params = _injected_parameters(nb)
    nb.metadata.pop("papermill", None)
    cells = [c for c in nb.cells if not {"injected-parameters", PUBLISHED_TAG} & set(c.metadata.get("tags", []))]
    at = next((i + 1 for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])), 0)
    note = nbformat.v4.new_markdown_cell(published_note(params, Path(dst).stem))
    note.metadata["tags"] = [PUBLISHED_TAG]
    cells.insert(at, note)
    nb.cells = cells
    drop_volatile_outputs(nb)
    count = 0
    for cell in nb.cells:
        for key in ("papermill", "execution", "ExecuteTime"):
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            # Sequential counts (not None): nbval only checks cells that were run, and refuses
            # "unrun" cells that carry outputs.
            count += 1
            cell.execution_count = count
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = count
    nbformat.write(nb, dst)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labseg.pipeline", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="toy", choices=list(PROFILES))
    p.add_argument("--data", default=TOY_DATA)
    p.add_argument("--out", default="results", help="results root (figures go to its sibling figures/)")
    p.add_argument("--publish", action="store_true", help="copy the executed notebooks over notebooks/")
    p.add_argument("--no-document", action="store_true", help="skip report.html / report.pdf")
    args = p.parse_args(argv)
    from .report import ReportError

    try:
        run_pipeline(args.profile, args.data, args.out, args.publish, document=not args.no_document)
    except ReportError as exc:
        print(f"labseg report: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
