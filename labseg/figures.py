"""The figures of the report: learning curves, arm comparisons, predictions beside the truth, and the
data chapter's pictures. Each function returns a matplotlib figure; :func:`save` writes it as PNG."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .results import load_history

def plot_dice_vs_time(runs: pd.DataFrame, by: str, title: str, limit_s: float | None = None,
                      seconds: str = "train_seconds"):
    """Test dice against training seconds, one point per run, one colour per arm; ``limit_s``, a time limit a run
    drawn as a dotted vertical line; ``seconds``: the column of seconds (``train_s_typical``: 10th-percentile epoch x
    epochs, for runs that shared the cores with other jobs)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for arm, part in runs.groupby(by, sort=False):
        ax.scatter(part[seconds], part["test_dice"], label=f"{arm} ({len(part)} seeds)", s=30)
    if limit_s is not None:
        ax.axvline(limit_s, ls=":", color="grey", label=f"limit a run ({limit_s / 60:g} min)")
    what = "10th-percentile epoch x epochs" if seconds == "train_s_typical" else "train + val, all epochs"
    ax.set(xlabel=f"training seconds per run ({what})", ylabel="test dice", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _plt():
    import matplotlib.pyplot as plt  # headless: matplotlib falls back to Agg by itself

    return plt


def save(fig, study, name: str) -> Path:
    """Write ``fig`` as ``<study.figures>/<name>.png``."""
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


def plot_histories(results: str | Path, runs: list[str], labels: list[str] | None = None,
                   marks: dict[str, float] | None = None, legend_below: bool = False):
    """Loss, val dice and val pixel accuracy per epoch of some runs; each legend entry names its seed. ``marks``: a
    dotted vertical line on each panel at each epoch, labelled (e.g. where an averaging phase starts).
    ``legend_below``: one legend under the panels, a colour per run (solid: training loss, dashed: validation loss),
    for comparisons of more runs than the panels' own legends hold."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for text, epoch in (marks or {}).items():
        for k, ax in enumerate(axes):
            ax.axvline(epoch, color="0.4", linestyle=":", linewidth=1, label=text if k == 1 else None)
    for i, (run, label) in enumerate(zip(runs, labels or runs)):
        h = load_history(results, run)
        cfg_file = Path(results) / "runs" / run / "config.json"
        if cfg_file.is_file():
            label = f"{label} (seed {json.loads(cfg_file.read_text())['seed']})"
        colour = f"C{i % 10}" if legend_below else None
        axes[0].plot(h["epoch"], h["train_loss"], color=colour, label=f"{label} train")
        axes[0].plot(h["epoch"], h["val_loss"], "--", color=colour, label=f"{label} val")
        axes[1].plot(h["epoch"], h["val_dice"], color=colour, label=label)
        axes[2].plot(h["epoch"], h["val_pixel_acc"], color=colour, label=label)
    for ax, title in zip(axes, ("loss (bce + dice)", "val dice", "val pixel accuracy")):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    if not legend_below:
        axes[0].legend(fontsize=7)
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        return fig
    handles, texts = axes[1].get_legend_handles_labels()
    from matplotlib.lines import Line2D
    handles += [Line2D([], [], color="0.3"), Line2D([], [], color="0.3", linestyle="--")]
    texts += ["loss: training (solid)", "loss: validation (dashed)"]
    rows = -(-len(texts) // 2)
    fig.set_size_inches(13, 3.4 + 0.2 * rows)
    fig.legend(handles, texts, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.2 * rows / (3.4 + 0.2 * rows) + 0.02, 1, 1))
    return fig


FALSE_POSITIVE, FALSE_NEGATIVE = (230, 40, 40), (40, 80, 230)  # the error panels' colours


def _error_handles():
    from matplotlib.patches import Patch

    return [Patch(color=tuple(c / 255 for c in FALSE_POSITIVE), label="false positive: predicted pet, is background"),
            Patch(color=tuple(c / 255 for c in FALSE_NEGATIVE), label="false negative: pet the model missed")]


def add_error_legend(png: str | Path) -> Path:
    """Append the error colours' legend under a prediction grid drawn before :func:`prediction_grid` had one (the
    grid's pixels are kept as they are): for committed figures whose checkpoints were made on another machine."""
    from PIL import Image

    plt = _plt()
    png = Path(png)
    with Image.open(png) as im:
        grid = np.asarray(im.convert("RGB"))
    h, w = grid.shape[:2]
    dpi = 110
    ncol = 2 if w >= 600 else 1  # the two entries side by side need about 560 px
    strip = 34 if ncol == 2 else 52
    fig = plt.figure(figsize=(w / dpi, strip / dpi), dpi=dpi)
    fig.legend(handles=_error_handles(), loc="center", ncol=ncol, fontsize=8, frameon=False)
    fig.canvas.draw()
    legend = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    plt.close(fig)
    out = np.full((h + legend.shape[0], w, 3), 255, np.uint8)
    out[:h] = grid
    out[h:, : min(w, legend.shape[1])] = legend[:, :w]
    Image.fromarray(out).save(png)
    return png


def retitle_grid(png: str | Path, title: str, first_titles: list[str], dpi: int = 110) -> Path:
    """Redraw the top of a committed prediction grid whose title was drawn over its first row's panel titles (before
    :func:`prediction_grid` gave the title a strip of its own): the panel titles ``first_titles`` are written again
    above their panels and the title in a new strip above them; every panel's pixels are kept as they are."""
    from PIL import Image

    plt = _plt()
    png = Path(png)
    with Image.open(png) as im:
        grid = np.asarray(im.convert("RGB"))
    h, w = grid.shape[:2]
    dark = (grid < 20).all(axis=2)  # the mask panels (truth, prediction, errors) are mostly black

    def spans(mask):  # [start, end) of the runs of True, runs less than 10 px apart merged
        edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0])).reshape(-1, 2).tolist()
        merged = edges[:1]
        for a, b in edges[1:]:
            merged[-1:] = [[merged[-1][0], b]] if a - merged[-1][1] < 10 else [merged[-1], [a, b]]
        return merged

    rows, columns = spans(dark.mean(axis=1) > 0.2), spans(dark.mean(axis=0) > 0.2)
    if not rows or len(columns) < 2:
        raise ValueError(f"{png}: no row of black mask panels found; is this a prediction grid?")
    top = rows[0][0]  # the first row's panels start here; above them: its panel titles (and the old title)
    (x0, x1), end = columns[0], columns[-1][1]  # the truth panel (column 2) and the errors panel's right edge
    pitch = (end - x1) / 2
    centres = [x0 + (x1 - x0) / 2 + (k - 1) * pitch for k in range(len(first_titles))]
    strip = 30
    fig = plt.figure(figsize=(w / dpi, (strip + top) / dpi), dpi=dpi)
    fig.text(0.5, 1 - 8 / (strip + top), title, ha="center", va="top", fontsize=10)
    for x, text in zip(centres, first_titles):
        fig.text(x / w, 5 / (strip + top), text, ha="center", va="bottom", fontsize=8)
    fig.canvas.draw()
    head = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    plt.close(fig)
    out = np.vstack([head[: strip + top, :w], grid[top:]])
    Image.fromarray(out).save(png)
    return png


def prediction_grid(run_dir: str | Path, names: list[str], title: str = "", data: str | Path | None = None):
    """Rows of (image, truth, prediction, errors) for test images, from the predicted masks the run saved when it
    finished (``test_masks.png``: no checkpoint needed). ``data``: where the photos are (default: the run's own
    ``config.json`` path).

    Errors: false positives red, false negatives blue; boundary-ignored pixels are not errors."""
    import torch

    from .config import RunConfig
    from .data import load_split_arrays
    from .metrics import mask_counts, scores_from_counts
    from .saved_masks import FILE, load_masks

    plt = _plt()
    cfg = RunConfig.from_dict(json.loads((Path(run_dir) / "config.json").read_text()))
    saved = load_masks(Path(run_dir) / FILE)
    arrays = load_split_arrays(data or cfg.data, "test", cfg.image_size, cfg.boundary, cfg.cache_dir)
    index = {s.name: i for i, s in enumerate(arrays.samples)}
    idx = [index[n] for n in names if n in index and n in saved]
    pred = np.stack([saved[arrays.samples[i].name] for i in idx])
    # the dice in each title is the test metric's own (labseg.metrics), ignored pixels left out
    truth_all = torch.from_numpy(arrays.masks[idx])[:, None]
    dice = scores_from_counts(mask_counts(torch.from_numpy(pred)[:, None], truth_all).numpy())["dice"]
    fig, axes = plt.subplots(len(idx), 4, figsize=(8, 2.3 * len(idx) + 0.4), squeeze=False)  # room for titles
    for row, (i, p, d) in enumerate(zip(idx, pred, dice)):
        truth = arrays.masks[i] == 1
        err = np.zeros((*truth.shape, 3), np.uint8)
        err[p & ~truth & (arrays.masks[i] != 255)] = FALSE_POSITIVE
        err[~p & truth] = FALSE_NEGATIVE
        for ax, img, t in zip(axes[row], (arrays.images[i], truth, p, err),
                              (arrays.samples[i].name, "truth", f"prediction (dice {d:.3f})", "errors")):
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
            ax.set_title(t, fontsize=8)
            ax.axis("off")
    fig.legend(handles=_error_handles(), loc="lower center", ncol=2, fontsize=8, frameon=False)
    top = 1.0
    if title:  # the title gets its own strip above the first row's panel titles, never over them
        fig.set_figheight(fig.get_figheight() + 0.3)
        top = 1 - 0.3 / fig.get_figheight()
        fig.suptitle(title, fontsize=10, y=1 - 0.08 / fig.get_figheight(), va="top")
    fig.tight_layout(rect=(0, 0.35 / fig.get_figheight(), 1, top))
    return fig


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


def plot_budget(runs: pd.DataFrame, title: str, targets: dict[str, float] | None = None):
    """Test dice against epochs, one line per model: mean over seeds, error bars of one sample std; dashed,
    the same checkpoints scored with flip TTA (where ``runs`` has ``tta_test_dice``); dotted, ``targets``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for k, (model, part) in enumerate(runs.groupby("model", sort=False)):
        color = f"C{k}"
        g = part.groupby("epochs")["test_dice"]
        ax.errorbar(g.mean().index, g.mean(), yerr=g.std(ddof=1).fillna(0.0), marker="o", capsize=4, color=color,
                    label=f"{model} ({g.size().min()} seed{'s' if g.size().min() > 1 else ''} per point)")
        if "tta_test_dice" in part and part["tta_test_dice"].notna().any():
            t = part.groupby("epochs")["tta_test_dice"].mean()
            ax.plot(t.index, t, ls="--", marker=".", color=color, label=f"{model}, flip TTA")
        if targets and model in targets:
            ax.axhline(targets[model], ls=":", color=color, label=f"{model} target {targets[model]:.2f}")
    ax.set(xlabel="epochs", ylabel="test dice (mean over seeds)", title=title)
    ax.text(0.01, 0.02, "error bars: ± 1 sample std over seeds", transform=ax.transAxes, fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
