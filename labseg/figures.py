"""The figures of the report: learning curves, arm comparisons, predictions beside the truth, and the
data chapter's pictures. Each function returns a matplotlib figure; :func:`save` writes it as PNG."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .labels import label as network_name
from .results import load_history

# Okabe & Ito's palette: eight colours told apart with every common colour-vision deficiency. A panel shows at most
# eight series (more are split over panels), so no two series share a colour.
# Okabe-Ito, ordered so that neighbours differ most (orange and vermilion, the closest pair, far apart)
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#000000", "#E69F00", "#F0E442")
MARKERS = "osD^v<>P"
MAX_SERIES = len(PALETTE)
# The report's printed page: text 178 mm wide (A4, 16 mm margins); a figure at most 125 mm tall (215 mm for tall
# ones); a PNG saved at SAVE_DPI shows at its pixel size (96 per inch) where it fits. Figures are drawn at the text
# width with fonts of at least 7.5 pt, so that printed they stay at 7 pt or more (tests/test_figures.py).
PAGE_WIDTH_IN, MAX_HEIGHT_IN, TALL_HEIGHT_IN, SAVE_DPI = 178 / 25.4, 125 / 25.4, 215 / 25.4, 110
WIDTH = 7.0


def plot_dice_vs_time(runs: pd.DataFrame, by: str, title: str, limit_s: float | None = None,
                      seconds: str = "train_seconds"):
    """Test dice against training seconds, one point per run, one colour per arm (more than eight arms: split over
    panels side by side, sharing the axes); ``limit_s``, a time limit a run drawn as a dotted vertical line;
    ``seconds``: the column of seconds (``train_s_typical``: 10th-percentile epoch x epochs, for runs that shared
    the cores with other jobs). Legends sit under the panels, off the data."""
    plt = _plt()
    arms = list(dict.fromkeys(runs[by]))
    groups = _chunks(arms)
    columns = 1 if len(groups) > 1 else 2
    lines = max(-(-(len(g) + (limit_s is not None)) // columns) for g in groups)
    fig = plt.figure(figsize=(WIDTH, 2.6 + 0.17 * lines + 0.1))
    grid = fig.add_gridspec(2, len(groups), height_ratios=(2.6, 0.17 * lines + 0.1))
    what = "10th-percentile epoch x epochs" if seconds == "train_s_typical" else "train + val, all epochs"
    first = None
    for c, group in enumerate(groups):
        ax = fig.add_subplot(grid[0, c], sharex=first, sharey=first)
        first = first or ax
        for arm in group:  # one colour and marker per arm across all panels: arm k of the figure, not of the panel
            k = arms.index(arm)
            part = runs[runs[by] == arm]
            ax.scatter(part[seconds], part["test_dice"], label=f"{arm} ({len(part)} seeds)", s=22,
                       color=PALETTE[k % MAX_SERIES], marker=MARKERS[(k // MAX_SERIES) % len(MARKERS)])
        if limit_s is not None:
            ax.axvline(limit_s, ls=":", color="grey", label=f"limit a run ({limit_s / 60:g} min)")
        ax.grid(alpha=0.3)
        ax.set_xlabel(f"training s per run ({what})" if len(groups) == 1 else f"training s per run\n({what})")
        if c == 0:
            ax.set_ylabel("test dice")
        _legend_row(fig.add_subplot(grid[1, c]), *ax.get_legend_handles_labels(), columns=columns)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def _plt():
    import matplotlib.pyplot as plt  # headless: matplotlib falls back to Agg by itself

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "xtick.labelsize": 7.5,
                         "ytick.labelsize": 7.5, "legend.fontsize": 7.5, "axes.prop_cycle": _cycler()})
    return plt


def _cycler():
    from cycler import cycler

    return cycler(color=list(PALETTE))


def is_tall(width: float, height: float) -> bool:
    """Whether the report gives a figure of this aspect the tall box (215 mm high, not 125 mm): one taller than the
    normal box's proportions (labseg.document.Document.figure)."""
    return height / width > MAX_HEIGHT_IN / PAGE_WIDTH_IN


def printed_points(fig, tall: bool | None = None) -> float:
    """The smallest font of ``fig`` in points as printed in the report: the figure as saved (tight box), shown at
    its pixel size or shrunk to the text width and the height limit, whichever is smaller (``tall``: the tall box;
    None: as the report chooses, by the figure's aspect)."""
    import matplotlib.text

    fig.canvas.draw()
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    width, height = box.width, box.height
    tall = is_tall(width, height) if tall is None else tall
    shown = min(PAGE_WIDTH_IN, width * SAVE_DPI / 96, (TALL_HEIGHT_IN if tall else MAX_HEIGHT_IN) * width / height)
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) * shown / width


def _chunks(items: list, size: int = MAX_SERIES) -> list[list]:
    """``items`` in runs of at most ``size``, as even as possible."""
    parts = -(-len(items) // size) or 1
    step = -(-len(items) // parts)
    return [items[i:i + step] for i in range(0, len(items), step)] or [[]]


def save(fig, study, name: str) -> Path:
    """Write ``fig`` as ``<study.figures>/<name>.png``."""
    path = study.figures / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_arm_bars(summary: pd.DataFrame, title: str, metric: str = "test_dice", ylabel: str = "test dice"):
    """One bar per arm: the mean over seeds, with error bars of one sample standard deviation over seeds."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.0))
    ax.bar(summary.index, summary[f"{metric}_mean"], yerr=summary[f"{metric}_std"], capsize=4,
           color=[PALETTE[k % MAX_SERIES] for k in range(len(summary))])
    seeds = summary["seeds"].min() if "seeds" in summary else 1
    ax.set(ylabel=f"{ylabel} (mean over seeds)", title=title,
           ylim=(max(0, summary[f"{metric}_mean"].min() - 0.1), 1))
    ax.text(0.01, 0.98, f"error bars: ± 1 sample std over {seeds} seed{'s' if seeds > 1 else ''}"
            + (" (no spread: one seed)" if seeds < 2 else ""), transform=ax.transAxes, va="top")
    fig.tight_layout()
    return fig


def plot_histories(results: str | Path, runs: list[str], labels: list[str] | None = None,
                   marks: dict[str, float] | None = None, legend_below: bool = True):
    """Loss, val dice and val pixel accuracy per epoch of some runs, a row of three panels for each group of at most
    eight runs (a colour per run; solid: training loss, dashed: validation loss), with the row's legend under it;
    each legend entry names its seed. ``marks``: a dotted vertical line on each panel at each epoch, labelled (e.g.
    where an averaging phase starts). ``legend_below`` is kept for callers; legends are always under the panels."""
    plt = _plt()
    pairs = list(zip(runs, labels or runs))
    groups = _chunks(pairs)
    lines = [-(-(len(g) + len(marks or {}) + 2) // 2) for g in groups]  # legend lines of each row (two columns)
    heights = [h for n in lines for h in (1.9, 0.17 * n + 0.1)]
    fig = plt.figure(figsize=(WIDTH, sum(heights) + 0.3))
    grid = fig.add_gridspec(2 * len(groups), 3, height_ratios=heights)
    for r, group in enumerate(groups):
        row = [fig.add_subplot(grid[2 * r, c]) for c in range(3)]
        _history_row(row, results, group, marks)
        handles, texts = row[1].get_legend_handles_labels()
        from matplotlib.lines import Line2D
        handles += [Line2D([], [], color="0.3"), Line2D([], [], color="0.3", linestyle="--")]
        texts += ["loss: training (solid)", "loss: validation (dashed)"]
        _legend_row(fig.add_subplot(grid[2 * r + 1, :]), handles, texts, columns=2)
    fig.tight_layout(h_pad=0.4)
    return fig


def _legend_row(ax, handles, texts, columns: int) -> None:
    """A legend in an axes of its own under the panels it explains: never over the data."""
    ax.axis("off")
    ax.legend(handles, texts, loc="upper center", ncol=columns, frameon=False, borderaxespad=0)


def _history_row(row, results: str | Path, group: list[tuple[str, str]], marks: dict[str, float] | None) -> None:
    for text, epoch in (marks or {}).items():
        for k, ax in enumerate(row):
            ax.axvline(epoch, color="0.4", linestyle=":", linewidth=1, label=text if k == 1 else None)
    for i, (run, label) in enumerate(group):
        h = load_history(results, run)
        cfg_file = Path(results) / "runs" / run / "config.json"
        if cfg_file.is_file():
            label = f"{label} (seed {json.loads(cfg_file.read_text())['seed']})"
        colour = PALETTE[i]
        row[0].plot(h["epoch"], h["train_loss"], color=colour)
        row[0].plot(h["epoch"], h["val_loss"], "--", color=colour)
        row[1].plot(h["epoch"], h["val_dice"], color=colour, label=label)
        row[2].plot(h["epoch"], h["val_pixel_acc"], color=colour)
    for ax, title in zip(row, ("loss (bce + dice)", "val dice", "val pixel accuracy")):
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)


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
    rows = [(arrays.images[i], arrays.masks[i], p, arrays.samples[i].name, d) for i, p, d in zip(idx, pred, dice)]
    fig = _grid_rows(plt, rows) if len(rows) <= ROW_LAYOUT_MAX else _grid_overlays(plt, rows)
    fig.legend(handles=_error_handles(), loc="lower center", ncol=2, frameon=False)
    top = 1.0
    if title:  # the title gets its own strip above the first row's panel titles, never over them
        lines = title.count("\n") + 1
        fig.set_figheight(fig.get_figheight() + 0.18 * lines + 0.1)
        top = 1 - (0.18 * lines + 0.1) / fig.get_figheight()
        fig.suptitle(title, fontsize=9, y=1 - 0.05 / fig.get_figheight(), va="top")
    fig.tight_layout(rect=(0, 0.3 / fig.get_figheight(), 1, top))
    return fig


# Up to this many images, a prediction grid gives each a row (photo, truth, prediction, errors); more are tiled as
# photos with their errors drawn over them, four to a row, so that a photo stays about 4 cm wide in print.
ROW_LAYOUT_MAX = 4


def _errors(mask: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: false positives red, false negatives blue, the rest black; ignored pixels are no errors."""
    truth = mask == 1
    err = np.zeros((*truth.shape, 3), np.uint8)
    err[pred & ~truth & (mask != 255)] = FALSE_POSITIVE
    err[~pred & truth] = FALSE_NEGATIVE
    return err


def _grid_rows(plt, rows: list) -> object:
    fig, axes = plt.subplots(len(rows), 4, figsize=(WIDTH, 1.85 * len(rows) + 0.35), squeeze=False)
    for row, (image, mask, pred, name, dice) in zip(axes, rows):
        for ax, img, t in zip(row, (image, mask == 1, pred, _errors(mask, pred)),
                              (name, "truth", f"prediction (dice {dice:.3f})", "errors")):
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
            ax.set_title(t, fontsize=8)
            ax.axis("off")
    return fig


def _grid_overlays(plt, rows: list, columns: int = 4) -> object:
    n = -(-len(rows) // columns)
    fig, axes = plt.subplots(n, columns, figsize=(WIDTH, 2.4 * n + 0.35), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (image, mask, pred, name, dice) in zip(axes.flat, rows):
        err = _errors(mask, pred)
        shown = np.where(err.any(-1, keepdims=True), (0.35 * image + 0.65 * err).astype(np.uint8), image)
        ax.imshow(shown)
        ax.set_title(f"{name}\ndice {dice:.3f}", fontsize=8)
    return fig


def plot_image_stats(stats: pd.DataFrame):
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH, 2.6))
    axes[0].scatter(stats["width"], stats["height"], s=5, alpha=0.5)
    axes[0].set(title="image size (px)", xlabel="width", ylabel="height")
    for species, part in stats.groupby("species"):
        axes[1].hist(part["pet_fraction"] + part["boundary_fraction"], bins=30, alpha=0.6, label=species)
    axes[1].set(title="foreground (pet + boundary)", xlabel="fraction of pixels")
    axes[1].legend()
    axes[2].hist(stats["boundary_fraction"], bins=30, color="gray")
    axes[2].set(title="boundary (trimap 3)", xlabel="fraction of pixels")
    fig.tight_layout()
    return fig


def plot_examples(root: str | Path, names: list[str]):
    """Image | trimap (1 pet, 2 background, 3 boundary) | binary mask (boundary as pet)."""
    from .data import image_path, load_image, read_mask_values, trimap_path, trimap_to_mask

    plt = _plt()
    fig, axes = plt.subplots(len(names), 3, figsize=(WIDTH, 2.1 * len(names)), squeeze=False)
    for row, name in zip(axes, names):
        tri = read_mask_values(trimap_path(root, name))
        row[0].imshow(load_image(image_path(root, name)))
        row[0].set_title(name)
        row[1].imshow(tri, cmap="viridis", vmin=1, vmax=3)
        row[1].set_title("trimap (1 pet, 2 bg, 3 boundary)")
        row[2].imshow(trimap_to_mask(tri), cmap="gray")
        row[2].set_title("binary mask (boundary = pet)")
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
    fig, axes = plt.subplots(1, len(panels), figsize=(WIDTH, 2.2))
    for ax, (title, a, b) in zip(axes, panels):
        ax.imshow(a.permute(1, 2, 0).numpy())
        ax.contour(b[0].numpy(), levels=[0.5], colors="red", linewidths=1.2)
        if title != "original":
            # aligned iff the mask equals the one recomputed from the transformed image's own flips
            same = any(torch.equal(a, f(im)) and torch.equal(b, f(m)) for f in _FLIPS)
            title = f"{title}:\n{'aligned' if same else 'MISALIGNED'}"
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_budget(runs: pd.DataFrame, title: str, targets: dict[str, float] | None = None):
    """Test dice against epochs, one line per model: mean over seeds, error bars of one sample std; dashed,
    the same checkpoints scored with flip TTA (where ``runs`` has ``tta_test_dice``); dotted, ``targets``."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for k, (model, part) in enumerate(runs.groupby("model", sort=False)):
        color = PALETTE[k]
        g = part.groupby("epochs")["test_dice"]
        ax.errorbar(g.mean().index, g.mean(), yerr=g.std(ddof=1).fillna(0.0), marker="o", capsize=4, color=color,
                    label=f"{model} ({g.size().min()} seed{'s' if g.size().min() > 1 else ''} per point)")
        if "tta_test_dice" in part and part["tta_test_dice"].notna().any():
            t = part.groupby("epochs")["tta_test_dice"].mean()
            ax.plot(t.index, t, ls="--", marker=".", color=color, label=f"{model}, flip TTA")
        if targets and model in targets:
            ax.axhline(targets[model], ls=":", color=color, label=f"{model} target {targets[model]:.2f}")
    ax.set(xlabel="epochs", ylabel="test dice (mean over seeds)", title=title)
    ax.text(0.01, 0.02, "error bars: ± 1 sample std over seeds", transform=ax.transAxes)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def plot_frontier(points: pd.DataFrame, targets: dict[str, float], max_minutes: float, title: str):
    """Mean test dice (error bars: ± one sample std over the seeds) against minutes a run, one panel per CPU family
    of ``points`` (recipe_candidates.frontier), one colour per network; filled: minutes timed idle, hollow:
    typical minutes (no run timed idle). Each point is named in a column right of its panel, in the order of its
    dice, joined to it by a thin line, so names never cover points or each other. Dotted: ``max_minutes`` and each
    network's target in ``targets``: an arm meets its target where it lies above its line and left of the limit."""
    plt = _plt()
    families = list(dict.fromkeys(points["family"]))
    models = list(dict.fromkeys(points["model"]))
    heights = [max(1.6, 0.2 * (points["family"] == f).sum() + 0.5) for f in families]
    fig, axes = plt.subplots(len(families), 1, figsize=(WIDTH, sum(heights) + 0.7), squeeze=False, sharex=True,
                             gridspec_kw={"height_ratios": heights})
    for ax, family in zip(axes[:, 0], families):
        part = points[points["family"] == family].sort_values("test_dice", ascending=False)
        for model in models:
            color = PALETTE[models.index(model)]
            mine = part[part["model"] == model]
            for timing, face in (("idle", color), ("typical", "white")):
                some = mine[mine["timing"] == timing]
                if len(some):
                    ax.errorbar(some["minutes"], some["test_dice"], yerr=some["std"].fillna(0.0), fmt="o", ms=4.5,
                                color=color, mfc=face, capsize=2, lw=0.8)
            if model in targets and len(mine):
                ax.axhline(targets[model], ls=":", color=color, lw=1)
        ax.axvline(max_minutes, ls=":", color="grey", lw=1)
        lows, highs = part["test_dice"] - part["std"].fillna(0), part["test_dice"] + part["std"].fillna(0)
        wanted = [targets[m] for m in part["model"].unique() if m in targets]
        bottom, top = min([*lows, *wanted]), max([*highs, *wanted])
        pad = (top - bottom) * 0.08 or 0.005
        ax.set_ylim(bottom - pad, top + pad)
        for k, (_, row) in enumerate(part.iterrows()):  # names top to bottom in the order of the points' dice
            y = 1 - (k + 0.5) / len(part)
            ax.annotate(row["arm"], (row["minutes"], row["test_dice"]), xytext=(1.03, y), textcoords="axes fraction",
                        va="center", fontsize=7.5, color=PALETTE[models.index(row["model"])],
                        arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "grey", "shrinkA": 0, "shrinkB": 3})
        ax.set_xlim(min([*points["minutes"], max_minutes]) - 1, max([*points["minutes"], max_minutes]) + 1)
        ax.tick_params(labelbottom=True)
        ax.set_title(family, fontsize=8.5, loc="left")
        ax.set_ylabel("test dice")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("minutes a run (filled: timed idle; hollow: typical, no run timed idle)")
    lines = [f"dotted: {max_minutes:g}-minute limit"] + [f"{network_name(m)} target {targets[m]:.2f}" for m in models
                                                         if m in targets]
    fig.suptitle(f"{title}\n{'; '.join(lines)}", fontsize=8.5)
    fig.tight_layout()
    return fig
