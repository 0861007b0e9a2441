"""The study behind the notebooks: where results go, which runs make up each comparison, and the
tables and figures built from them. Notebooks call these; nothing here trains by itself except
through :func:`labseg.engine.run_experiment`.

Layout of one study (``key`` = ``<data folder name>-<profile>``)::

    <out_dir>/<key>/runs/<run>/      config.json, env.json, history.csv, metrics.json, test_per_image.csv
                                     (+ best.pt, last.pt: not committed)
    <out_dir>/<key>/*.csv|json        tables built from the runs
    <out_dir>/../figures/<key>/*.png  figures
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .config import PROFILES, TOY_DATA, RunConfig, field_names, profile_config

# The original lab report's published table: pixel accuracy (which it called "dice"), 256 px,
# full 37-breed Oxford-IIIT Pet, its buggy ResNet34 and independent flips.
ORIGINAL_REPORT = pd.DataFrame([
    {"setting": "no flip, 50 epochs", "unet": 0.9206, "resnet34_unet": 0.8687},
    {"setting": "flips, 50 epochs", "unet": 0.8112, "resnet34_unet": 0.8095},
    {"setting": "flips, 100 epochs", "unet": 0.8301, "resnet34_unet": 0.8133},
])

FLIP_ARMS = ("none", "hflip", "hvflip", "independent")
OVERRIDES_ENV = "LABSEG_NOTEBOOK_OVERRIDES"


@dataclass
class Study:
    cfg: RunConfig
    results: Path
    figures: Path

    @property
    def key(self) -> str:
        return self.results.name

    def run_dir(self, name: str) -> Path:
        return self.results / "runs" / name


def study_key(data: str | Path, profile: str) -> str:
    """The folder name of one study under results/ and figures/: ``<data folder name>-<profile>``."""
    return f"{Path(data).resolve().name}-{profile}"


def setup(**params) -> Study:
    """Build the notebook's config from its parameters cell.

    ``None`` means "the profile's value". The environment variable LABSEG_NOTEBOOK_OVERRIDES
    (JSON, e.g. ``{"profile": "smoke", "out_dir": "/tmp/r"}``) overrides parameters: CI uses it so
    that nbval runs the committed notebooks on the smoke profile without touching results/.
    """
    unknown = set(params) - set(field_names())
    if unknown:
        raise ValueError(f"Notebook parameters {sorted(unknown)} are not RunConfig fields: {field_names()}")
    params.update(json.loads(os.environ.get(OVERRIDES_ENV, "{}")))
    here = Path.cwd()
    if here.name == "notebooks" and (here.parent / "labseg").is_dir():
        os.chdir(here.parent)  # Jupyter starts in notebooks/; paths in the parameters are from the repo root
    cfg = profile_config(params.pop("profile", "toy"), **params)
    if Path(cfg.data) == Path(TOY_DATA) or Path(cfg.data).name == "toy-pets":
        from .synthetic import write_toy_pets

        write_toy_pets(cfg.data)  # the embedded default: written once, kept afterwards
    out = Path(cfg.out_dir)
    key = study_key(cfg.data, cfg.profile)
    import matplotlib

    matplotlib.rcParams["figure.dpi"] = 72  # inline display only (saved PNGs use their own dpi): small notebooks
    study = Study(cfg, out / key, out.parent / "figures" / key)
    study.results.mkdir(parents=True, exist_ok=True)
    study.figures.mkdir(parents=True, exist_ok=True)
    return study


# Settings a study varies beside model, flips and seed. A run's name lists those of them that differ from
# the profile's recipe (RunConfig defaults where the profile sets none), so the runs of the recipe keep their
# short names and equal runs of two notebooks are one run.
FACTORS = ("augment", "loss", "optimizer", "weight_decay", "schedule", "warmup_epochs", "epochs", "lr")


def run_name(model: str, flip: str, seed: int, **factors) -> str:
    """``<model>-<flip>[-<factor>-<value>...]-s<seed>``: runs are named by what distinguishes them."""
    extra = "".join(f"-{k}-{factors[k]:g}" if isinstance(factors[k], float) else f"-{k}-{factors[k]}"
                    for k in FACTORS if k in factors)
    return f"{model}-{flip}{extra}-s{seed}"


def name_of(cfg: RunConfig) -> str:
    """The run name of ``cfg`` in a study of its profile: factors named where they differ from the profile."""
    base = profile_config(cfg.profile) if cfg.profile in PROFILES else RunConfig()
    return run_name(cfg.model, cfg.flip, cfg.seed,
                    **{k: getattr(cfg, k) for k in FACTORS if getattr(cfg, k) != getattr(base, k)})


def name(study: Study, **changes) -> str:
    """The name :func:`run` gives the run of ``study`` with ``changes`` (e.g. ``model=..., seed=...``)."""
    from .models import canonical_model_name

    cfg = study.cfg.replace(**changes)
    return name_of(cfg.replace(model=canonical_model_name(cfg.model)))


def run(study: Study, need_checkpoint: bool = True, **changes) -> dict:
    """Train (or read back, or resume) one run of the study; returns its metrics with its name.
    ``need_checkpoint=False``: a finished run is read back even where its checkpoints are not kept."""
    from .engine import run_experiment
    from .models import canonical_model_name

    cfg = study.cfg.replace(repeats=1, **changes)
    cfg = cfg.replace(model=canonical_model_name(cfg.model))
    name = name_of(cfg)
    metrics = run_experiment(cfg.replace(out_dir=str(study.run_dir(name))), progress=False, log=lambda msg: None,
                             need_checkpoint=need_checkpoint)
    return {**metrics, "run": name}


def seeds(study: Study) -> list[int]:
    return [study.cfg.seed + i for i in range(study.cfg.repeats)]


METRIC_COLUMNS = {"test_dice": "dice", "test_iou": "IoU", "test_pixel_acc": "pixel acc",
                  "test_global_dice": "global dice", "test_noboundary_dice": "dice (boundary ignored)",
                  "best_epoch": "best epoch", "train_seconds": "train s", "parameters": "parameters"}


def metrics_table(metrics: list[dict]) -> pd.DataFrame:
    """Test metrics of some runs, one row each, with readable column names."""
    frame = pd.DataFrame(metrics).set_index("run")
    return frame[[c for c in METRIC_COLUMNS if c in frame]].rename(columns=METRIC_COLUMNS)


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
    from collections import Counter

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


QUESTIONS = (("06_augmentation", "augmentation_study.csv", 1, "Augmentation beyond flips"),
             ("06_augmentation", "tta_study.csv", None, "Test-time flips"),
             ("07_losses", "loss_study.csv", 1, "Losses"),
             ("08_budget", "schedule_study.csv", 1, "Optimiser and learning-rate schedule"),
             ("08_budget", "budget_study.csv", 2, "Training budget (25 / 50 / 100 epochs on the cpu profile)"),
             ("09_encoders", "encoder_study.csv", 1, "Encoders: UNet, ResNet34-UNet, VGG16-BN-UNet"))


def question_tables(results: str | Path) -> list[tuple[str, str, pd.DataFrame | None]]:
    """(title, notebook, table or None where that notebook has not run for this study) per open question."""
    out = []
    for notebook, file, index_cols, title in QUESTIONS:
        path = Path(results) / file
        table = None
        if path.is_file():
            table = pd.read_csv(path, index_col=list(range(index_cols)) if index_cols else None)
            if file == "tta_study.csv":
                table = table.groupby("augment")[["test_dice", "tta_test_dice", "test_iou", "tta_test_iou"]].mean()
        out.append((title, notebook, table))
    return out


def load_history(results: str | Path, run_name: str) -> pd.DataFrame:
    return pd.read_csv(Path(results) / "runs" / run_name / "history.csv")


def load_per_image(results: str | Path, run_name: str) -> pd.DataFrame:
    return pd.read_csv(Path(results) / "runs" / run_name / "test_per_image.csv")


def arm_summary(runs: pd.DataFrame, by: str, metrics=("test_dice", "test_iou", "test_pixel_acc")) -> pd.DataFrame:
    """Mean, spread (sample std; 0 for one seed) and count per arm."""
    g = runs.groupby(by)
    out = pd.DataFrame({"seeds": g.size()})
    for m in metrics:
        out[f"{m}_mean"] = g[m].mean()
        out[f"{m}_std"] = g[m].std(ddof=1).fillna(0.0)
    return out


def compare_arms(runs: pd.DataFrame, by: str, arms: list[str], metric: str = "test_dice") -> list[str]:
    """One sentence per pair of arms: the difference of their means and whether it exceeds the seed spread."""
    groups = runs.groupby(by)[metric]
    present = [a for a in arms if a in groups.groups]
    out = []
    for i, a in enumerate(present):
        for b in present[i + 1:]:
            x, y = groups.get_group(a), groups.get_group(b)
            ahead = a if x.mean() > y.mean() else b
            out.append(f"{a} {x.mean():.4f} vs {b} {y.mean():.4f} ({len(x)} and {len(y)} seeds): {ahead} is ahead by "
                       f"{abs(x.mean() - y.mean()):.4f}, {_verdict(x, y)}.")
    return out


def compare_to_baseline(runs: pd.DataFrame, by: str, baseline, arms, metric: str = "test_dice") -> list[str]:
    """One sentence per arm against the baseline arm, with the seed-spread verdict."""
    groups = runs.groupby(by)[metric]
    if baseline not in groups.groups:
        return [f"no finished run of the baseline ({by} = {baseline})"]
    base = groups.get_group(baseline)
    out = []
    for arm in arms:
        if arm == baseline or arm not in groups.groups:
            continue
        x = groups.get_group(arm)
        out.append(f"{by} = {arm}: {x.mean():.4f} against {base.mean():.4f} for {baseline} ({len(x)} and {len(base)} "
                   f"seeds), {x.mean() - base.mean():+.4f}, {_verdict(x, base)}.")
    return out


def arm_table(runs: pd.DataFrame, by: str, arms) -> pd.DataFrame:
    """Per arm: test dice and IoU (mean, sample std over seeds), training seconds per run, training images/s
    (median epoch), best epoch, and the CPU of the runs (times compare only between runs of one CPU)."""
    table = arm_summary(runs, by, ("test_dice", "test_iou"))
    g = runs.groupby(by)
    table["train_s_per_run"] = g["train_seconds"].mean()
    table["train_images_per_s"] = g["train_images_per_s"].mean()
    table["best_epoch"] = g["best_epoch"].mean()
    table["cpu"] = g["cpu"].agg(lambda s: "; ".join(sorted(set(s))))
    return table.loc[[a for a in arms if a in table.index]]


def tta_run(study: Study, **changes) -> dict:
    """Test scores of one run's best checkpoint with flip test-time augmentation (``labseg evaluate --tta``),
    beside its plain ones. Cached in the run folder as ``metrics_tta.json``; computing it needs the
    checkpoint, so a run without one (a fresh clone) is trained again first."""
    from .checkpoint import load_checkpoint, model_from_checkpoint
    from .device import resolve_device
    from .engine import evaluate, load_datasets

    run_dir = study.run_dir(name(study, **changes))
    cached = run_dir / "metrics_tta.json"
    if cached.is_file():
        return json.loads(cached.read_text())
    plain = run(study, **changes)
    model, cfg = model_from_checkpoint(load_checkpoint(run_dir / "best.pt"), run_dir / "best.pt")
    device = resolve_device(study.cfg.device)
    cfg = cfg.replace(device=study.cfg.device)
    test = load_datasets(cfg, ("test",))["test"]
    summary, _ = evaluate(model.to(device), test, cfg, device, tta=True)
    out = {"run": plain["run"], "test_dice": plain["test_dice"], "test_iou": plain["test_iou"],
           "tta_test_dice": summary["dice"], "tta_test_iou": summary["iou"]}
    cached.write_text(json.dumps(out, indent=2) + "\n")
    return out


def encoder_summary(runs: pd.DataFrame, arms: list[str]) -> pd.DataFrame:
    """Per model: test dice and IoU (mean, sample std over seeds), parameters, training seconds per run,
    training images/s (median epoch), best epoch, and the CPU the runs were made on."""
    table = arm_summary(runs, "model", ("test_dice", "test_iou"))
    g = runs.groupby("model")
    table["parameters"] = g["parameters"].first()
    table["train_s_per_run"] = g["train_seconds"].mean()
    table["train_images_per_s"] = g["train_images_per_s"].mean()
    table["best_epoch"] = g["best_epoch"].mean()
    table["cpu"] = g["cpu"].agg(lambda s: "; ".join(sorted(set(s))))
    return table.loc[[a for a in arms if a in table.index]]


def per_breed_over_seeds(results: str | Path, runs: pd.DataFrame, by: str = "model") -> pd.DataFrame:
    """Test dice per breed (rows) and arm (columns), the mean over each arm's seeds."""
    cols = {}
    for arm, part in runs.groupby(by):
        per_run = [per_group_dice(load_per_image(results, r), "breed")["dice"] for r in part["run"]]
        cols[arm] = pd.concat(per_run, axis=1).mean(axis=1)
    return pd.DataFrame(cols)


def plot_dice_vs_time(runs: pd.DataFrame, by: str, title: str):
    """Test dice against training seconds, one point per run, one colour per arm."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for arm, part in runs.groupby(by, sort=False):
        ax.scatter(part["train_seconds"], part["test_dice"], label=f"{arm} ({len(part)} seeds)", s=30)
    ax.set(xlabel="training seconds per run (train + val, all epochs)", ylabel="test dice", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def per_group_dice(per_image: pd.DataFrame, column: str) -> pd.DataFrame:
    return per_image.groupby(column)[["dice", "iou", "pixel_acc"]].mean().assign(images=per_image.groupby(column).size())


def differs_beyond_noise(a: pd.Series, b: pd.Series) -> bool:
    """True when the two arms' means differ by more than the larger of their seed spreads."""
    spread = max(a.std(ddof=1) if len(a) > 1 else 0.0, b.std(ddof=1) if len(b) > 1 else 0.0)
    return len(a) > 1 and len(b) > 1 and abs(a.mean() - b.mean()) > spread


# ----------------------------------------------------------------------------- figures

def _plt():
    import matplotlib.pyplot as plt  # headless: matplotlib falls back to Agg by itself

    return plt


def save(fig, study: Study, name: str) -> Path:
    path = study.figures / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_arm_bars(summary: pd.DataFrame, title: str, metric: str = "test_dice", ylabel: str = "test dice"):
    """One bar per arm: the mean over seeds, with error bars of one sample standard deviation over seeds."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    colours = ["#999", "#4a8", "#48c", "#c54", "#a6c", "#ca4", "#4cc", "#888"]
    ax.bar(summary.index, summary[f"{metric}_mean"], yerr=summary[f"{metric}_std"], capsize=4,
           color=colours[: len(summary)])
    seeds = summary["seeds"].min() if "seeds" in summary else 1
    ax.set(ylabel=f"{ylabel} (mean over seeds)", title=title,
           ylim=(max(0, summary[f"{metric}_mean"].min() - 0.1), 1))
    ax.text(0.01, 0.98, f"error bars: ± 1 sample std over {seeds} seed{'s' if seeds > 1 else ''}"
            + (" (no spread: one seed)" if seeds < 2 else ""), transform=ax.transAxes, va="top", fontsize=8)
    fig.tight_layout()
    return fig


def plot_histories(results: str | Path, runs: list[str], labels: list[str] | None = None):
    """Loss, val dice and val pixel accuracy per epoch of some runs; each legend entry names its seed."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for run, label in zip(runs, labels or runs):
        h = load_history(results, run)
        cfg_file = Path(results) / "runs" / run / "config.json"
        if cfg_file.is_file():
            label = f"{label} (seed {json.loads(cfg_file.read_text())['seed']})"
        axes[0].plot(h["epoch"], h["train_loss"], label=f"{label} train")
        axes[0].plot(h["epoch"], h["val_loss"], "--", label=f"{label} val")
        axes[1].plot(h["epoch"], h["val_dice"], label=label)
        axes[2].plot(h["epoch"], h["val_pixel_acc"], label=label)
    for ax, title in zip(axes, ("loss (bce + dice)", "val dice", "val pixel accuracy")):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def prediction_grid(run_dir: str | Path, names: list[str], title: str = ""):
    """Rows of (image, truth, prediction, errors) for test images, from a run's best checkpoint.

    Errors: false positives red, false negatives blue; boundary-ignored pixels are not errors."""
    import torch

    from .data import load_split_arrays
    from .checkpoint import load_checkpoint, model_from_checkpoint
    from .device import prepare_batch
    from .metrics import confusion_counts, predict_mask, scores_from_counts

    plt = _plt()
    ckpt = load_checkpoint(Path(run_dir) / "best.pt")
    model, cfg = model_from_checkpoint(ckpt)
    arrays = load_split_arrays(cfg.data, "test", cfg.image_size, cfg.boundary, cfg.cache_dir)
    index = {s.name: i for i, s in enumerate(arrays.samples)}
    idx = [index[n] for n in names if n in index]
    x, _ = prepare_batch(torch.from_numpy(arrays.images[idx]).permute(0, 3, 1, 2), torch.zeros(1),
                         torch.device("cpu"), False)
    model.eval()
    with torch.no_grad():
        logits = model(x)
    pred = predict_mask(logits)[:, 0].numpy()
    # the dice in each title is the test metric's own (labseg.metrics), ignored pixels left out
    dice = scores_from_counts(confusion_counts(logits, torch.from_numpy(arrays.masks[idx])[:, None]).numpy())["dice"]
    fig, axes = plt.subplots(len(idx), 4, figsize=(8, 2.1 * len(idx) + 0.4), squeeze=False)
    for row, (i, p, d) in enumerate(zip(idx, pred, dice)):
        truth = arrays.masks[i] == 1
        err = np.zeros((*truth.shape, 3), np.uint8)
        err[p & ~truth & (arrays.masks[i] != 255)] = (230, 40, 40)
        err[~p & truth] = (40, 80, 230)
        for ax, img, t in zip(axes[row], (arrays.images[i], truth, p, err),
                              (arrays.samples[i].name, "truth", f"prediction (dice {d:.3f})", "errors")):
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
            ax.set_title(t, fontsize=8)
            ax.axis("off")
    from matplotlib.patches import Patch

    fig.legend(handles=[Patch(color=(230 / 255, 40 / 255, 40 / 255), label="false positive: predicted pet, is background"),
                        Patch(color=(40 / 255, 80 / 255, 230 / 255), label="false negative: pet the model missed")],
               loc="lower center", ncol=2, fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.35 / fig.get_figheight(), 1, 1))
    return fig


# ----------------------------------------------------------------------------- the data chapter

def split_counts(root: str | Path) -> pd.DataFrame:
    """Images per split and breed (with species), as listed in the split files."""
    from .data import read_split

    rows = [{"split": split, "breed": s.breed, "species": s.species}
            for split in ("train", "val", "test") for s in read_split(root, split)]
    table = pd.crosstab([pd.Series([r["species"] for r in rows], name="species"),
                         pd.Series([r["breed"] for r in rows], name="breed")],
                        pd.Series([r["split"] for r in rows], name="split"), margins=True, margins_name="total")
    return table[[c for c in ("train", "val", "test", "total") if c in table]]


def image_stats(root: str | Path) -> pd.DataFrame:
    """Per listed image: split, breed, species, width, height, pet and boundary fraction of its trimap."""
    from PIL import Image

    from .data import image_path, read_mask_values, read_split, trimap_path

    rows = []
    for split in ("trainval", "test"):
        for s in read_split(root, split):
            with Image.open(image_path(root, s.name)) as img:
                w, h = img.size
            tri = read_mask_values(trimap_path(root, s.name))
            rows.append({"name": s.name, "split": split, "breed": s.breed, "species": s.species, "width": w,
                         "height": h, "pet_fraction": float((tri == 1).mean()),
                         "boundary_fraction": float((tri == 3).mean())})
    return pd.DataFrame(rows)


def plot_image_stats(stats: pd.DataFrame):
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    axes[0].scatter(stats["width"], stats["height"], s=6, alpha=0.5)
    axes[0].set(title="image size (px)", xlabel="width", ylabel="height")
    for species, part in stats.groupby("species"):
        axes[1].hist(part["pet_fraction"] + part["boundary_fraction"], bins=30, alpha=0.6, label=species)
    axes[1].set(title="foreground fraction (pet + boundary)", xlabel="fraction of pixels")
    axes[1].legend()
    axes[2].hist(stats["boundary_fraction"], bins=30, color="gray")
    axes[2].set(title="boundary (trimap 3) fraction", xlabel="fraction of pixels")
    fig.tight_layout()
    return fig


def plot_examples(root: str | Path, names: list[str]):
    """Image | trimap (1 pet, 2 background, 3 boundary) | binary mask (boundary as pet)."""
    from .data import image_path, load_image, read_mask_values, trimap_path, trimap_to_mask

    plt = _plt()
    fig, axes = plt.subplots(len(names), 3, figsize=(9, 2.6 * len(names)), squeeze=False)
    for row, name in zip(axes, names):
        tri = read_mask_values(trimap_path(root, name))
        row[0].imshow(load_image(image_path(root, name)))
        row[0].set_title(name, fontsize=9)
        row[1].imshow(tri, cmap="viridis", vmin=1, vmax=3)
        row[1].set_title("trimap (1 pet, 2 bg, 3 boundary)", fontsize=9)
        row[2].imshow(trimap_to_mask(tri), cmap="gray")
        row[2].set_title("binary mask (boundary = pet)", fontsize=9)
        for ax in row:
            ax.axis("off")
    fig.tight_layout()
    return fig


_FLIPS = (lambda t: t, lambda t: t.flip(-1), lambda t: t.flip(-2), lambda t: t.flip(-1).flip(-2))


def plot_flip_demo(root: str | Path, name: str, size: int = 128, seed: int = 3):
    """The same (image, mask) pair through joint and independent flips; mask outline drawn on the image."""
    import torch

    from .data import load_pair
    from .transforms import build_train_transform

    plt = _plt()
    image, mask = load_pair(Path(root), name, size, "foreground")
    im, m = torch.from_numpy(image).permute(2, 0, 1), torch.from_numpy(mask)[None]
    panels = [("original", im, m)]
    g = torch.Generator().manual_seed(seed)
    for mode in ("hvflip", "independent"):
        for _ in range(2):
            a, b = build_train_transform(mode)(im, m, g)
            panels.append((f"{'joint' if mode == 'hvflip' else 'independent (report)'}", a, b))
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.2))
    for ax, (title, a, b) in zip(axes, panels):
        ax.imshow(a.permute(1, 2, 0).numpy())
        ax.contour(b[0].numpy(), levels=[0.5], colors="red", linewidths=1.2)
        if title != "original":
            # aligned iff the mask equals the one recomputed from the transformed image's own flips
            same = any(torch.equal(a, f(im)) and torch.equal(b, f(m)) for f in _FLIPS)
            title = f"{title}: {'aligned' if same else 'MISALIGNED'}"
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- the report

def verdict(a: pd.Series, b: pd.Series, paired: bool = False) -> str:
    """Words for the difference of two arms' means against the seed spread. ``paired``: the same runs
    scored two ways (e.g. with and without test-time flips): the spread of the per-run differences."""
    if not paired:
        return _verdict(a, b)
    diff = pd.Series(a.to_numpy() - b.to_numpy())
    if len(diff) < 2:
        return "from a single seed, so no ranking is claimed"
    spread = diff.std(ddof=1)
    if abs(diff.mean()) > spread:
        return f"more than the spread of the per-seed differences ({spread:.4f})"
    return f"within the spread of the per-seed differences ({spread:.4f}), so no ranking is claimed"


def profile_recipe(study: Study) -> dict:
    """The profile's own augmentation and loss (whatever the notebook's parameters set), so that a
    comparison of schedules changes the schedule alone."""
    base = profile_config(study.cfg.profile) if study.cfg.profile in PROFILES else RunConfig()
    return {"augment": base.augment, "loss": base.loss}


def plot_budget(runs: pd.DataFrame, title: str):
    """Test dice against epochs, one line per model: mean over seeds, error bars of one sample std."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for model, part in runs.groupby("model", sort=False):
        g = part.groupby("epochs")["test_dice"]
        ax.errorbar(g.mean().index, g.mean(), yerr=g.std(ddof=1).fillna(0.0), marker="o", capsize=4,
                    label=f"{model} ({g.size().min()} seed{'s' if g.size().min() > 1 else ''} per point)")
    ax.set(xlabel="epochs", ylabel="test dice (mean over seeds)", title=title)
    ax.text(0.01, 0.02, "error bars: ± 1 sample std over seeds", transform=ax.transAxes, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _verdict(a: pd.Series, b: pd.Series) -> str:
    if min(len(a), len(b)) < 2:
        return "from a single seed, so no ranking is claimed"
    spread = max(a.std(ddof=1), b.std(ddof=1))
    if differs_beyond_noise(a, b):
        return f"more than the spread across seeds ({spread:.4f})"
    return f"within the spread across seeds ({spread:.4f}), so no ranking is claimed"


def all_background_accuracy(per_image: pd.DataFrame) -> float:
    """Mean per-image pixel accuracy of predicting 'background' everywhere (from the confusion counts)."""
    total = per_image[["tp", "fp", "fn", "tn"]].sum(axis=1)
    return float(((per_image["fp"] + per_image["tn"]) / total).mean())


def discussion(runs: pd.DataFrame, results: str | Path | None = None) -> list[str]:
    """Sentences whose every number comes from ``runs`` (the finished runs of this study) and, for
    the metric's cause, the per-image counts under ``results``."""
    out = []
    if results is not None and len(runs):
        first = runs.sort_values("run").iloc[0]
        acc0 = all_background_accuracy(load_per_image(results, first["run"]))
        best = runs.loc[runs["test_dice"].idxmax()]
        out.append(f"The metric: predicting background everywhere already scores {acc0:.4f} mean pixel accuracy "
                   f"(and 0 dice) on this test set. The best run here ({best['run']}) has pixel accuracy "
                   f"{best['test_pixel_acc']:.4f} and dice {best['test_dice']:.4f}. The original report's "
                   "\"dice\" column is pixel accuracy, a score that background pixels dominate"
                   + (", and it reads higher than dice here." if best["test_pixel_acc"] > best["test_dice"] else "."))
    main = runs[runs["flip"] == "hflip"].groupby("model")["test_dice"]
    models = set(main.groups)
    if {"unet", "resnet34_unet"} <= models:
        a, b = main.get_group("unet"), main.get_group("resnet34_unet")
        better = "ResNet34-UNet" if b.mean() > a.mean() else "UNet"
        out.append(f"With joint horizontal flips, the UNet reaches a mean test dice of {a.mean():.4f} and the corrected "
                   f"ResNet34-UNet {b.mean():.4f}: the {better} is ahead by {abs(b.mean() - a.mean()):.4f}, "
                   f"{_verdict(a, b)}.")
    if {"resnet34_unet", "resnet34_unet_seed"} <= models:
        a, b = main.get_group("resnet34_unet"), main.get_group("resnet34_unet_seed")
        out.append(f"The original report's ResNet34-UNet (every block strided, random projection shortcuts) scores "
                   f"{b.mean():.4f} against {a.mean():.4f} for the corrected network under the same budget: its bugs "
                   f"cost {a.mean() - b.mean():+.4f} dice, {_verdict(a, b)}.")
    flips = runs[runs["model"] == "unet"].groupby("flip")["test_dice"]
    for arm, what in (("independent", "Independent (misaligned) flips"), ("none", "No flips"),
                      ("hvflip", "Joint horizontal + vertical flips")):
        if {"hflip", arm} <= set(flips.groups):
            j, i = flips.get_group("hflip"), flips.get_group(arm)
            out.append(f"{what} give {i.mean():.4f} test dice against {j.mean():.4f} for joint horizontal flips "
                       f"({len(i)} and {len(j)} seeds): a difference of {i.mean() - j.mean():+.4f}, {_verdict(i, j)}.")
    acc = runs.groupby(["model", "flip"])["test_pixel_acc"].mean()
    rep = ORIGINAL_REPORT.set_index("setting")
    if ("unet", "hflip") in acc and ("resnet34_unet_seed", "hflip") in acc and ("resnet34_unet", "hflip") in acc:
        out.append(f"The original report's table has its ResNet34-UNet {rep.loc['no flip, 50 epochs', 'unet'] - rep.loc['no flip, 50 epochs', 'resnet34_unet']:.4f} "
                   f"pixel accuracy behind its UNet (no flips). Here, in pixel accuracy, the report's network is "
                   f"{acc['unet', 'hflip'] - acc['resnet34_unet_seed', 'hflip']:.4f} behind the UNet and the corrected one "
                   f"{acc['unet', 'hflip'] - acc['resnet34_unet', 'hflip']:.4f}: the part of the gap that the bugs explain "
                   "is the difference between those two.")
    if ("unet", "none") in acc and ("unet", "independent") in acc:
        out.append(f"The report's flips cost its UNet {rep.loc['no flip, 50 epochs', 'unet'] - rep.loc['flips, 50 epochs', 'unet']:.4f} "
                   f"pixel accuracy; here independent flips cost {acc['unet', 'none'] - acc['unet', 'independent']:.4f} "
                   f"against no flips, and joint horizontal flips {acc['unet', 'none'] - acc['unet', 'hflip']:+.4f} "
                   "(negative: a gain).")
    if "test_noboundary_dice" in runs:
        gap = (runs["test_noboundary_dice"] - runs["test_dice"]).mean()
        out.append(f"Ignoring the trimap's boundary band instead of counting it as pet changes test dice by "
                   f"{gap:+.4f} on average over the {len(runs)} runs.")
    return out
