"""Regenerate the whole report: papermill executes the study's notebooks (05, the report, last), then labseg.report
renders 05 as report/<data>-<profile>/report.html and report.pdf.

    python -m labseg.pipeline --profile toy --data data/toy-pets        (the default: notebooks 01-05)
    python -m labseg.pipeline --profile cpu --data ../shared/data/oxford-pet-subset --publish   (01-10)

Executed notebooks go to <out>/<key>/notebooks/; ``--publish`` also copies them over notebooks/
(what the repository shows). Every table and figure is drawn from what results/ holds: nothing is trained unless
``--retrain missing`` (train the runs that are not there, resume interrupted ones) or ``--retrain all`` (train
every run again) says so; without it a run that is missing stops the notebook that needs it with one line naming
the command that makes it.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .config import PROFILES, TOY_DATA
from .paths import CHECKOUT

# 05_report reads what the others wrote, so it runs last.
NOTEBOOKS = ("01_data", "02_unet", "03_resnet_unet", "04_flip_ablation", "06_augmentation", "07_losses", "08_budget",
             "09_encoders", "10_recipe", "05_report")
# The coursework study (the comparison and the flip ablation); 06-10 are the real-data studies of the recipe.
CORE = ("01_data", "02_unet", "03_resnet_unet", "04_flip_ablation", "05_report")
# Which notebooks a profile's report runs by default: the toy study is the coursework study alone (06-10 on the toy
# pets would train about 100 runs of their own; `--notebooks all` runs them).
DEFAULT_NOTEBOOKS = {"toy": CORE}
REPO = CHECKOUT
# papermill's kernels: quiet (ipykernel warns about its TCP transport on every start; torch's flop counter about a
# missing triton, which a CPU-only install does not have), so the terminal shows the pipeline's own lines only.
KERNEL_ARGS = ["--IPKernelApp.log_level=ERROR"]


def notebooks_for(profile: str, which: str | None = None) -> tuple[str, ...]:
    """The notebooks a report runs: ``which`` ("all", "core" or a comma-separated list of names such as
    "02_unet,05_report"), else the profile's default. 05_report always runs, and last."""
    if which is None:
        chosen = DEFAULT_NOTEBOOKS.get(profile, NOTEBOOKS)
    elif which in ("all", "core"):
        chosen = NOTEBOOKS if which == "all" else CORE
    else:
        names = [n.strip() for n in which.split(",") if n.strip()]
        unknown = [n for n in names if n not in NOTEBOOKS]
        if unknown:
            raise ValueError(f"--notebooks: unknown notebook {unknown[0]!r}; choose from all, core or "
                             f"{', '.join(NOTEBOOKS)}")
        chosen = names
    return tuple(n for n in NOTEBOOKS if n in chosen and n != "05_report") + ("05_report",)


# Runs of the same studies made on the other CPU family (bf16 sums differ between them): notebook 10 reads them back
# beside the study's own (its other_cpu parameter).
OTHER_CPU = "amd-epyc"


def study_params(notebook: str, key: str, out_dir: str, retrain: str) -> dict:
    """Parameters a notebook takes beyond profile, data and out_dir: notebook 10 trains its unfinished arms only
    when asked (train_missing) and reads the other CPU family's runs where the results hold them (other_cpu)."""
    if notebook != "10_recipe":
        return {}
    other = Path(out_dir) / OTHER_CPU
    return {"train_missing": retrain != "none", **({"other_cpu": str(other)} if (other / key).is_dir() else {})}


def run_pipeline(profile: str = "toy", data: str = TOY_DATA, out_dir: str = "results", publish: bool = False,
                 notebooks_dir: Path = REPO / "notebooks", extra: dict | None = None, document: bool = True,
                 retrain: str = "none", notebooks: tuple[str, ...] | None = None) -> Path:
    from .study import RETRAIN_ENV, RETRAIN_MODES, RETRAIN_SINCE_ENV, study_key

    if retrain not in RETRAIN_MODES:
        raise ValueError(f"--retrain {retrain}: choose one of {', '.join(RETRAIN_MODES)}")
    key = study_key(data, profile)
    executed = Path(out_dir) / key / "notebooks"
    executed.mkdir(parents=True, exist_ok=True)
    params = {"profile": profile, "data": str(data), "out_dir": str(out_dir), **(extra or {})}
    saved = {k: os.environ.get(k) for k in (RETRAIN_ENV, RETRAIN_SINCE_ENV)}
    os.environ[RETRAIN_ENV] = retrain  # the kernels papermill starts inherit it (labseg.study.retrain_mode)
    os.environ[RETRAIN_SINCE_ENV] = str(time.time())
    try:
        _execute(notebooks or notebooks_for(profile), notebooks_dir, executed, params, key, out_dir, retrain, publish)
    finally:  # the caller's environment as it was (a test, or a notebook that runs the pipeline)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    print(f"results: {Path(out_dir) / key}\nfigures: {Path(out_dir).parent / 'figures' / key}", flush=True)
    if document:
        from .report import build

        build(executed / "05_report.ipynb", Path(out_dir).parent / "report" / key)
    return Path(out_dir) / key


def _execute(notebooks, notebooks_dir: Path, executed: Path, params: dict, key: str, out_dir: str, retrain: str,
             publish: bool) -> None:
    import papermill as pm

    for nb in notebooks:
        t0 = time.perf_counter()
        target = executed / f"{nb}.ipynb"
        pm.execute_notebook(notebooks_dir / f"{nb}.ipynb", target, cwd=str(REPO), progress_bar=False,
                            parameters={**params, **study_params(nb, key, out_dir, retrain)},
                            kernel_name="python3", extra_arguments=KERNEL_ARGS)
        print(f"{nb}: {time.perf_counter() - t0:.0f}s -> {target}", flush=True)
        if publish:
            strip_volatile(target, notebooks_dir / f"{nb}.ipynb")


PUBLISHED_TAG = "published-from"


def publish_command(params: dict, notebook: str | None = None) -> str:
    """The command that regenerates a published notebook's outputs, from the parameters it ran with: `make report`,
    or, where it ran with parameters the pipeline does not pass (a study published part-way), papermill."""
    from .study import study_key

    implied = study_params(notebook or "", study_key(params.get("data", TOY_DATA), params.get("profile", "toy")),
                           params.get("out_dir", "results"), "none")  # what `make report` passes this notebook
    extra = {k: v for k, v in params.items() if k not in ("profile", "data", "out_dir") and implied.get(k, k) != v}
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
    return (f"*The outputs shown below come from `{publish_command(params, notebook)}` "
            f"({shown}; settings and machine are "
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
    p.add_argument("--retrain", default="none", help="none (default: read every run back; a missing run stops the "
                   "notebook that needs it), missing (train what is not there) or all (train every run again)")
    p.add_argument("--notebooks", default=None, help="all, core (01-05) or a comma-separated list of notebook names "
                   "(default: core for the toy profile, all for the others); 05_report always runs, last")
    args = p.parse_args(argv)
    from papermill.exceptions import PapermillExecutionError

    from .report import ReportError

    try:
        notebooks = notebooks_for(args.profile, args.notebooks)
        if not Path(args.data).is_dir() and Path(args.data).name != Path(TOY_DATA).name:  # toy pets: written
            raise ValueError(f"--data {args.data}: no such folder; get the real subset with `labseg download --subset "
                             "pets-3 DIR` (README) or leave DATA out for the toy pets")
        run_pipeline(args.profile, args.data, args.out, args.publish, document=not args.no_document,
                     retrain=args.retrain, notebooks=notebooks)
    except (ReportError, ValueError) as exc:
        print(f"labseg report: {exc}", file=sys.stderr)
        return 2
    except PapermillExecutionError as exc:
        print(f"labseg report: a notebook stopped: {exc.ename}: {exc.evalue}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
