"""Statistics over seeds: per-arm mean and sample std, and verdicts that say whether a difference between arms
exceeds the spread across seeds (no ranking is claimed where it does not); the one mean ± std formatter."""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .results import load_per_image


def budget_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """08's budget table: per (model, epochs), test dice, IoU and flip-TTA dice (mean, sample std over the
    seeds), training seconds per run and the CPU of the runs."""
    table = arm_summary(runs, ["model", "epochs"], ("test_dice", "test_iou", "tta_test_dice"))
    g = runs.groupby(["model", "epochs"])
    table["train_s_per_run"] = g["train_seconds"].mean()
    table["cpu"] = g["cpu"].agg(lambda s: "; ".join(sorted(set(s))))
    return table


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
    """Per arm: test dice, flip-TTA dice where ``runs`` has ``tta_test_dice``, and IoU (mean, sample std over
    seeds), training seconds per run, training images/s (median epoch), best epoch, and the CPU of the runs
    (times compare only between runs of one CPU)."""
    tta = ("tta_test_dice",) if "tta_test_dice" in runs else ()
    table = arm_summary(runs, by, ("test_dice", *tta, "test_iou"))
    g = runs.groupby(by)
    table["train_s_per_run"] = g["train_seconds"].mean()
    table["train_images_per_s"] = g["train_images_per_s"].mean()
    table["best_epoch"] = g["best_epoch"].mean()
    table["cpu"] = g["cpu"].agg(lambda s: "; ".join(sorted(set(s))))
    return table.loc[[a for a in arms if a in table.index]]


def encoder_summary(runs: pd.DataFrame, arms: list[str]) -> pd.DataFrame:
    """:func:`arm_table` per model, with each model's parameter count after its scores."""
    table = arm_table(runs, "model", arms)
    table.insert(table.columns.get_loc("test_iou_std") + 1, "parameters", runs.groupby("model")["parameters"].first())
    return table


def per_breed_over_seeds(results: str | Path, runs: pd.DataFrame, by: str = "model") -> pd.DataFrame:
    """Test dice per breed (rows) and arm (columns), the mean over each arm's seeds."""
    cols = {}
    for arm, part in runs.groupby(by):
        per_run = [per_group_dice(load_per_image(results, r), "breed")["dice"] for r in part["run"]]
        cols[arm] = pd.concat(per_run, axis=1).mean(axis=1)
    return pd.DataFrame(cols)


def per_group_dice(per_image: pd.DataFrame, column: str) -> pd.DataFrame:
    return (per_image.groupby(column)[["dice", "iou", "pixel_acc"]].mean()
            .assign(images=per_image.groupby(column).size()))


def differs_beyond_noise(a: pd.Series, b: pd.Series) -> bool:
    """True when the two arms' means differ by more than the larger of their seed spreads."""
    spread = max(a.std(ddof=1) if len(a) > 1 else 0.0, b.std(ddof=1) if len(b) > 1 else 0.0)
    return len(a) > 1 and len(b) > 1 and abs(a.mean() - b.mean()) > spread


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


def _verdict(a: pd.Series, b: pd.Series) -> str:
    if min(len(a), len(b)) < 2:
        return "from a single seed, so no ranking is claimed"
    spread = max(a.std(ddof=1), b.std(ddof=1))
    if differs_beyond_noise(a, b):
        return f"more than the spread across seeds ({spread:.4f})"
    return f"within the spread across seeds ({spread:.4f}), so no ranking is claimed"


def format_mean_std(mean, std=None) -> str:
    """'0.8249 ± 0.0039', the one way labseg writes a mean and its spread: the mean alone where there is no std
    (one seed), a dash where there is no mean."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    if std is None or (isinstance(std, float) and math.isnan(std)):
        return f"{mean:.4f}"
    return f"{mean:.4f} ± {std:.4f}"


def mean_std(s: pd.Series, one: str = "") -> str:
    """Mean ± sample std of a series of per-seed scores (the mean alone for one seed, followed by ``one``: e.g.
    " (1 seed)" where a sentence says so)."""
    return format_mean_std(s.mean(), s.std(ddof=1)) if len(s) > 1 else f"{format_mean_std(s.mean())}{one}"
