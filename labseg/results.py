"""Reading a study's finished runs: one row per run (its settings, test metrics, training speed and CPU), its
history and per-image scores, and where the runs were made (machines, commits and their dates)."""
from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from .config import RunConfig, field_names, low_res_epochs
from .labels import LABELS

# Settings a study varies beside model, flips and seed. A run's name lists those of them that differ from
# the profile's recipe (RunConfig defaults where the profile sets none), so the runs of the recipe keep their
# short names and equal runs of two notebooks are one run.
FACTORS = ("augment", "augment_on", "loss", "optimizer", "weight_decay", "schedule", "warmup_epochs", "epochs", "lr",
           "amp", "lr_floor", "swa_epochs", "swa_lr", "dice_reduction", "crop_scale", "affine_p", "affine_shift",
           "color_strength", "augment_source", "decode", "select", "drop_path", "ema_decay", "copy_paste",
           "deep_supervision", "width", "cutmix", "low_res", "low_res_share")


METRIC_COLUMNS = ("test_dice", "test_iou", "test_pixel_acc", "test_global_dice", "test_noboundary_dice", "best_epoch",
                  "train_seconds", "parameters")


def metrics_table(metrics: list[dict]) -> pd.DataFrame:
    """Test metrics of some runs, one row each, with readable column names."""
    frame = pd.DataFrame(metrics).set_index("run")
    return frame[[c for c in METRIC_COLUMNS if c in frame]].rename(columns=LABELS)


def load_runs(results: str | Path) -> pd.DataFrame:
    """One row per finished run under ``results/runs``: its config and test metrics."""
    rows = []
    for mfile in sorted(Path(results).glob("runs/*/metrics.json")):
        cfg = json.loads((mfile.parent / "config.json").read_text())
        env_file = mfile.parent / "env.json"
        env = json.loads(env_file.read_text()) if env_file.is_file() else {}
        history = mfile.parent / "history.csv"
        speed = float(pd.read_csv(history)["train_images_per_s"].median()) if history.is_file() else float("nan")
        defaults = RunConfig().to_dict()
        rows.append({"run": mfile.parent.name, **{k: cfg.get(k, defaults[k]) for k in (
                         "model", "flip", "seed", "image_size", "width", "batch_size", *FACTORS)},
                     **json.loads(mfile.read_text()), "train_images_per_s": speed,
                     "cpu": env.get("cpu") or "not recorded", "device": env.get("device")})
    return pd.DataFrame(rows)


def recipe_runs(runs: pd.DataFrame, cfg: RunConfig) -> pd.DataFrame:
    """The runs made with ``cfg``'s recipe: every study factor (augmentation, loss, optimiser, schedule,
    budget) as in ``cfg``; model, flips and seed may differ. The report's comparisons use these."""
    if runs.empty:
        return runs
    keep = np.ones(len(runs), dtype=bool)
    for k in FACTORS:
        keep &= (runs[k] == getattr(cfg, k)).to_numpy()
    return runs[keep]


def environment_summary(results: str | Path) -> str:
    """Where the finished runs under ``results/runs`` were made: each distinct device / torch / threads / bf16
    setting and each code version (git commit), with how many runs used it."""
    machines, commits = Counter(), Counter()
    for efile in sorted(Path(results).glob("runs/*/env.json")):
        if not (efile.parent / "metrics.json").is_file():
            continue
        env = json.loads(efile.read_text())
        cpu = f"{env['cpu']}, " if env.get("cpu") else ""
        machines[f"{env.get('device')} (bf16 autocast: {env.get('bf16')}), torch {env.get('torch')}, "
                 f"{cpu}{env.get('cpu_threads')} CPU threads"] += 1
        commits[env.get("git_commit") or "unknown"] += 1
    if not machines:
        return "no finished runs"

    def counted(c: Counter) -> str:
        return "; ".join(f"{k} ({n} run{'s' if n > 1 else ''})" for k, n in c.most_common())

    return f"device: {counted(machines)}\ncode: labseg commit {counted(commits)}"


def commit_dates(commits: set[str], where: str | Path) -> dict[str, tuple[int, str]]:
    """commit -> (commit time, date) for the labseg commits known to the git repository that holds ``where`` (the
    results folder whose runs they made: a clone's history; others left out). Never labseg's own checkout, which
    may be another repository than the results'."""
    where = Path(where)
    while not where.is_dir() and where != where.parent:
        where = where.parent
    out = {}
    for commit in sorted(c for c in commits if c and c != "unknown"):
        try:
            done = subprocess.run(["git", "-C", str(where), "show", "-s", "--format=%ct %cs", commit],
                                  capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0 and done.stdout.strip():
            stamp, day = done.stdout.split()[:2]
            out[commit] = (int(stamp), day)
    return out


def environment_table(studies: dict[str, str | Path]) -> pd.DataFrame:
    """Where each results folder's finished runs were made: one row per (folder, CPU, torch, threads, bf16), with the
    number of runs and of labseg commits, and the oldest and newest commit (by their date in git) that made them."""
    keys = ["results folder", "CPU", "torch", "threads", "bf16"]
    rows = []
    for label, results in studies.items():
        for efile in sorted(Path(results).glob("runs/*/env.json")):
            if (efile.parent / "metrics.json").is_file():
                env = json.loads(efile.read_text())
                threads = env.get("cpu_threads")
                cpu = env.get("cpu") or "not recorded (runs before CPUs were recorded)"
                rows.append({"results folder": label, "CPU": cpu, "torch": env.get("torch"),
                             "threads": "—" if threads is None else str(threads),
                             "bf16": "yes" if env.get("bf16") else "no", "commit": env.get("git_commit") or "unknown"})
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    dates = commit_dates(set(frame["commit"]), next(iter(studies.values())))
    out = []
    for key, part in frame.groupby(keys, sort=False):
        known = sorted((dates[c], c) for c in set(part["commit"]) if c in dates)
        out.append({**dict(zip(keys, key)), "runs": len(part), "commits": part["commit"].nunique(),
                    "oldest": f"{known[0][1]} ({known[0][0][1]})" if known else "—",
                    "newest": f"{known[-1][1]} ({known[-1][0][1]})" if known else "—"})
    return pd.DataFrame(out).set_index(["results folder", "CPU"])


def typical_seconds(history: pd.DataFrame, low_res_epochs: int = 0) -> float:
    """A run's training seconds as on a quiet machine: the 10th-percentile epoch's seconds times the epochs
    (another job sharing the cores slows many epochs, sometimes most of them; the fastest tenth are the recipe's
    own pace), phase by phase where epochs differ in kind: the first ``low_res_epochs`` (progressive resizing,
    ``--low-res``: smaller, faster epochs) apart from the rest, and an averaging phase (``--swa-epochs``: each of
    its epochs also measures the average's BatchNorm statistics) apart from the epochs before it."""
    early = pd.Series(np.arange(len(history)) < low_res_epochs, index=history.index)  # rows in epoch order
    averaged = history["swa_averaged"] > 0 if "swa_averaged" in history else pd.Series(False, index=history.index)
    phases = [history[early], history[~early & ~averaged], history[~early & averaged]]
    return float(sum(p["seconds"].quantile(0.1) * len(p) for p in phases if len(p)))


def run_typical_seconds(results: str | Path, run_name: str) -> float:
    """:func:`typical_seconds` of a finished run, its phases read from the run's ``config.json``."""
    config = json.loads((Path(results) / "runs" / run_name / "config.json").read_text())
    cfg = RunConfig(**{k: v for k, v in config.items() if k in field_names()})  # a run's record, not validated
    return typical_seconds(load_history(results, run_name), low_res_epochs(cfg))


def load_history(results: str | Path, run_name: str) -> pd.DataFrame:
    return pd.read_csv(Path(results) / "runs" / run_name / "history.csv")


def load_per_image(results: str | Path, run_name: str) -> pd.DataFrame:
    return pd.read_csv(Path(results) / "runs" / run_name / "test_per_image.csv")


def own_cpu(results: str | Path) -> str:
    """The CPU most of a study's runs were made on (their env.json), or 'this study's CPU' where none says."""
    cpus = Counter(json.loads(f.read_text()).get("cpu") for f in Path(results).glob("runs/*/env.json"))
    cpus.pop(None, None)
    return cpus.most_common(1)[0][0] if cpus else "this study's CPU"


def cpu_family(cpu: str | None) -> str:
    """A CPU as the report names its family: "Intel AMX", "AMD EPYC" (with AVX512-BF16), "AMD EPYC without bf16"
    (an EPYC whose bf16 is emulated: its runs train in fp32, other figures and about 3x the time), or "CPU not
    recorded" (runs made before labseg recorded the CPU); any other name as it is."""
    if not cpu or cpu in ("not recorded", "this study's CPU"):
        return "CPU not recorded"
    if "AMX" in cpu or cpu.startswith("Intel"):
        return "Intel AMX"
    if "AMD" in cpu or "EPYC" in cpu:
        return "AMD EPYC" if "BF16" in cpu else "AMD EPYC without bf16"
    return cpu


def runs_family(runs: pd.DataFrame) -> str:
    """The CPU families of some runs, in words ("Intel AMX", "CPU not recorded", or both joined)."""
    names = sorted({cpu_family(c) for c in runs["cpu"]}) if "cpu" in runs else ["CPU not recorded"]
    return " and ".join(names) if names else "CPU not recorded"


def run_cpu(run_folder: str | Path) -> str | None:
    """The CPU a run's ``env.json`` records (None where the run has none, or predates the record)."""
    env = Path(run_folder) / "env.json"
    return json.loads(env.read_text()).get("cpu") if env.is_file() else None


def run_count_words(folders: dict[str, Path]) -> str:
    """'148 finished runs in `results/<key>/runs/`, 31 in `results/amd-epyc/<key>/runs/`': the finished runs of each
    results folder of a study (:func:`study_folders`), in its order."""
    counts = [(len(list(Path(f).glob("runs/*/metrics.json"))), Path(f)) for f in folders.values()]
    root = counts[0][1].parent
    parts = [f"{n} {'finished runs ' if i == 0 else ''}in `{root.name}/{f.relative_to(root).as_posix()}/runs/`"
             for i, (n, f) in enumerate(counts) if n or i == 0]
    return ", ".join(parts)


def masks_folder(results: str | Path, run_name: str) -> Path | None:
    """The folder of ``run_name`` that keeps its saved test masks (what a prediction figure draws): the run's own
    under ``results``, or the same run made again in another results folder beside it (``<root>/<machine>/<key>/
    runs/``: a run made before runs saved their masks, trained again elsewhere); None where none keeps them."""
    from .saved_masks import FILE

    results = Path(results)
    candidates = [results / "runs" / run_name] + sorted(results.parent.glob(f"*/{results.name}/runs/{run_name}"))
    return next((folder for folder in candidates if (folder / FILE).is_file()), None)


def study_folders(results: str | Path) -> dict[str, Path]:
    """Every results folder that holds the study of ``results`` (a ``<root>/<key>`` folder): ``results`` first,
    named by its key, then the same key under the root's other folders (runs made elsewhere:
    ``results/amd-epyc/<key>``), named ``<folder>/<key>``."""
    results = Path(results)
    key, out = results.name, {results.name: results}
    for parent in sorted(p for p in results.parent.iterdir() if p.is_dir()):
        if (parent / key).is_dir() and parent / key != results:
            out[f"{parent.name}/{key}"] = parent / key
    return out
