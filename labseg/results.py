"""Reading a study's results: the finished runs and their settings, tables per arm, and the sentences
that compare arms against the spread across seeds. Every number a notebook prints comes from here."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .config import RunConfig
from .study_files import load_studies

# The original lab report's published table: pixel accuracy (which it called "dice"), 256 px,
# full 37-breed Oxford-IIIT Pet, its buggy ResNet34 and independent flips.
ORIGINAL_REPORT = pd.DataFrame([
    {"setting": "no flip, 50 epochs", "unet": 0.9206, "resnet34_unet": 0.8687},
    {"setting": "flips, 50 epochs", "unet": 0.8112, "resnet34_unet": 0.8095},
    {"setting": "flips, 100 epochs", "unet": 0.8301, "resnet34_unet": 0.8133},
])


# Settings a study varies beside model, flips and seed. A run's name lists those of them that differ from
# the profile's recipe (RunConfig defaults where the profile sets none), so the runs of the recipe keep their
# short names and equal runs of two notebooks are one run.
FACTORS = ("augment", "augment_on", "loss", "optimizer", "weight_decay", "schedule", "warmup_epochs", "epochs", "lr",
           "amp", "lr_floor", "swa_epochs", "swa_lr", "dice_reduction", "crop_scale", "affine_p", "affine_shift",
           "color_strength", "augment_source", "decode", "select", "drop_path", "ema_decay")


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


def commit_dates(commits: set[str]) -> dict[str, tuple[int, str]]:
    """commit -> (commit time, date) for the labseg commits git knows (runs of a clone's history; others left out)."""
    import subprocess

    repo = Path(__file__).resolve().parents[1]
    out = {}
    for commit in sorted(c for c in commits if c and c != "unknown"):
        try:
            done = subprocess.run(["git", "-C", str(repo), "show", "-s", "--format=%ct %cs", commit],
                                  capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0 and done.stdout.strip():
            stamp, day = done.stdout.split()[:2]
            out[commit] = (int(stamp), day)
    return out


def environment_table(studies: dict[str, str | Path]) -> pd.DataFrame:
    """Where each study's finished runs were made: one row per (study, CPU, torch, threads, bf16), with the number of
    runs and of labseg commits, and the oldest and newest commit (by their date in git) that made them."""
    rows = []
    for label, results in studies.items():
        for efile in sorted(Path(results).glob("runs/*/env.json")):
            if (efile.parent / "metrics.json").is_file():
                env = json.loads(efile.read_text())
                rows.append({"study": label, "CPU": env.get("cpu") or "not recorded (before CPUs were recorded)",
                             "torch": env.get("torch"), "threads": env.get("cpu_threads"),
                             "bf16": "yes" if env.get("bf16") else "no", "commit": env.get("git_commit") or "unknown"})
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    dates = commit_dates(set(frame["commit"]))
    out = []
    for key, part in frame.groupby(["study", "CPU", "torch", "threads", "bf16"], sort=False):
        known = sorted((dates[c], c) for c in set(part["commit"]) if c in dates)
        out.append({**dict(zip(["study", "CPU", "torch", "threads", "bf16"], key)), "runs": len(part),
                    "commits": part["commit"].nunique(),
                    "oldest": f"{known[0][1]} ({known[0][0][1]})" if known else "—",
                    "newest": f"{known[-1][1]} ({known[-1][0][1]})" if known else "—"})
    return pd.DataFrame(out).set_index(["study", "CPU"])


# The arms of the studies live in the study files (labseg/studies/*.toml, one record per arm with its why); the
# names below are read from them, for the notebooks and the tables here.
STUDIES = load_studies()
SCHEDULE_ARMS = {name: dict(arm.sets) for name, arm in STUDIES["budget"].parts["schedule"].items()}
RECIPE_TARGETS = dict(STUDIES["recipe"].targets)
RECIPE_MAX_SECONDS = STUDIES["recipe"].max_minutes * 60
_UNET_ARMS = STUDIES["recipe"].parts["recipe"]
STRONG_RECIPE = dict(_UNET_ARMS["strong"].sets)
RECIPE_ARMS = {name: STUDIES.changes(arm) for name, arm in _UNET_ARMS.items()}
RECIPE_COMBINATIONS = {name: (arm.base, *arm.adds) for name, arm in _UNET_ARMS.items() if arm.adds}
RECIPE_BUDGETS = {name: arm.budgets for name, arm in _UNET_ARMS.items() if arm.own_budgets}
_RESNET_ARMS = STUDIES["recipe"].parts["resnet_recipe"]
RESNET_RECIPE_ARMS = {name: (STUDIES.root(arm).name, STUDIES.changes(arm)) for name, arm in _RESNET_ARMS.items()}
RESNET_RECIPE_BUDGETS = {name: arm.budgets for name, arm in _RESNET_ARMS.items() if arm.own_budgets}
SWA_SHARE = next(changes["swa_share"] for _, changes in RESNET_RECIPE_ARMS.values() if "swa_share" in changes)


def resnet_recipe_settings(arm: str, base: dict, epochs: int | None = None) -> dict:
    """The settings of one of :data:`RESNET_RECIPE_ARMS` (``base``: :func:`factor_recipe`'s recipe) trained for
    ``epochs`` (needed by an averaging arm only, whose phase is its ``swa_share`` of them)."""
    start, changes = RESNET_RECIPE_ARMS[arm]
    settings = {**(STRONG_RECIPE if start == "strong" else base), **changes}
    share = settings.pop("swa_share", None)
    if share is not None:
        if epochs is None:
            raise ValueError(f"{arm}: its averaging phase is a share of the epochs; pass epochs")
        settings["swa_epochs"] = round(share * epochs)
    return settings


def best_arm_within(table: pd.DataFrame, max_seconds: float = RECIPE_MAX_SECONDS, min_seeds: int = 3
                    ) -> tuple[str | None, str]:
    """The arm of an arm table (:func:`arm_table`'s columns) with the best mean test dice among those with at least
    ``min_seeds`` seeds whose runs took at most ``max_seconds`` on average, and why (None where none qualifies)."""
    seconds = table["train_s_typical"] if "train_s_typical" in table else table["train_s_per_run"]
    ok = table[(table["seeds"] >= min_seeds) & (seconds <= max_seconds)]
    if ok.empty:
        return None, f"no arm of {min_seeds}+ seeds trains within {max_seconds / 60:.0f} min per run"
    best = str(ok["test_dice_mean"].idxmax())
    left = sorted(set(table.index) - set(ok.index))
    return best, (f"{best}: {ok.loc[best, 'test_dice_mean']:.4f} ± {ok.loc[best, 'test_dice_std']:.4f}, the best mean "
                  f"test dice of the arms with {min_seeds}+ seeds that train within {max_seconds / 60:.0f} min per run"
                  + (f" (not eligible: {', '.join(left)})" if left else ""))


# The studies a recipe is read from: (table, what it varies, the baseline arm, the settings an arm sets).
RECIPE_STUDIES = (("augmentation_study.csv", "augmentation", "flip", lambda arm: {"augment": arm}),
                  ("loss_study.csv", "loss", "bce_dice", lambda arm: {"loss": arm}),
                  ("schedule_study.csv", "optimiser and schedule", "constant", lambda arm: dict(SCHEDULE_ARMS[arm])))


def factor_recipe(results: str | Path) -> tuple[dict, list[str]]:
    """The settings the one-factor studies 06-08 of ``results`` support at the profile's budget, and why, one
    sentence per study (08 trains its budget runs with them).

    Per study, the arm with the best mean test dice (among arms of 2 seeds or more) replaces the baseline
    only where it is ahead by more than the larger of the two seed spreads (the notebooks' verdict);
    otherwise the baseline stays. A study not run yet keeps its baseline and says so."""
    recipe, why = {}, []
    for file, factor, baseline, settings in RECIPE_STUDIES:
        path = Path(results) / file
        if not path.is_file():
            why.append(f"{factor}: {baseline} (kept: {file} not made yet)")
            recipe.update(settings(baseline))
            continue
        table = pd.read_csv(path, index_col=0)
        ranked = table[(table["seeds"] > 1) | (table.index == baseline)]  # one seed ranks nothing
        best = str(ranked["test_dice_mean"].idxmax())
        b, x = table.loc[baseline], table.loc[best]
        spread = max(b["test_dice_std"], x["test_dice_std"])
        gain = x["test_dice_mean"] - b["test_dice_mean"]
        if best != baseline and gain > spread and b["seeds"] > 1:
            recipe.update(settings(best))
            why.append(f"{factor}: {best} ({x['test_dice_mean']:.4f} against {b['test_dice_mean']:.4f} for {baseline}, "
                       f"{gain:+.4f}, beyond the seed spread {spread:.4f})")
        else:
            recipe.update(settings(baseline))
            ahead = (f"best arm {best} is {gain:+.4f} ahead, within the seed spread {spread:.4f}" if best != baseline
                     else "no arm beats it")
            why.append(f"{factor}: {baseline} (kept: {ahead})")
    return recipe, why


def typical_seconds(history: pd.DataFrame) -> float:
    """A run's training seconds as on a quiet machine: the 10th-percentile epoch's seconds times the epochs
    (another job sharing the cores slows many epochs, sometimes most of them; the fastest tenth are the recipe's
    own pace). A run with an averaging phase (``--swa-epochs``: each of its epochs also measures the average's
    BatchNorm statistics) is timed phase by phase."""
    if "swa_averaged" in history:
        phases = [history.loc[history["swa_averaged"] == 0], history.loc[history["swa_averaged"] > 0]]
        return float(sum(p["seconds"].quantile(0.1) * len(p) for p in phases if len(p)))
    return float(history["seconds"].quantile(0.1) * len(history))


def _seconds(row) -> float:
    typical = row.get("train_s_typical")
    return float(typical) if typical is not None and typical == typical else float(row["train_s_per_run"])


def recipe_candidates(results: str | Path, profile_epochs: int) -> pd.DataFrame:
    """Every whole recipe the studies of ``results`` trained, one row per (model, recipe): where it comes from,
    its settings (RunConfig fields beyond the profile's), seeds, test dice mean and std, seconds per run (typical
    where the table has them). Sources: 08's budget runs and augmentation at 2x the epochs (06-08's recipe), 10's
    arms at 4x and its budget runs (the strong recipe), 10's ResNet34-UNet runs (recipe_resnet34_unet.csv). Where a
    table scores the runs' last epoch too (10's), the same runs with ``select="last"`` are a recipe of their own
    (source "..., last epoch"): best-by-val or last epoch, as the study decides."""
    results = Path(results)
    base, _ = factor_recipe(results)
    rows = []

    def add(model, source, settings, row, family=None):
        if any(r["model"] == model and r["settings"] == settings and r["family"] == family for r in rows):
            return  # the same runs in two tables (08's flips at 2x are its 50-epoch budget runs)
        nan = float("nan")
        rows.append({"model": model, "source": source, "family": family, "settings": settings, "seeds": int(row["seeds"]),
                     "test_dice_mean": row["test_dice_mean"], "test_dice_std": row["test_dice_std"],
                     "tta_test_dice_mean": row.get("tta_test_dice_mean", nan),
                     "tta_test_dice_std": row.get("tta_test_dice_std", nan), "seconds": _seconds(row)})
        last = row.get("last_test_dice_mean", nan)
        if last == last:  # 10's tables score each run's last epoch too: the same runs with --select last
            rows.append({**rows[-1], "source": f"{source}, last epoch", "settings": {**settings, "select": "last"},
                         "test_dice_mean": last, "test_dice_std": row["last_test_dice_std"],
                         "tta_test_dice_mean": row.get("last_tta_test_dice_mean", nan),
                         "tta_test_dice_std": row.get("last_tta_test_dice_std", nan)})

    def read(name, index_col):
        path = results / name
        return pd.read_csv(path, index_col=index_col) if path.is_file() else None

    if (t := read("budget_study.csv", [0, 1])) is not None:
        for (model, epochs), row in t.iterrows():
            add(model, f"08 budget: {epochs} epochs", {**base, "epochs": int(epochs)}, row)
    if (t := read("augment_at_budget.csv", 0)) is not None:
        for arm, row in t.iterrows():
            add("unet", f"08 augmentation at 2x: {arm}", {**base, "augment": arm, "epochs": 2 * profile_epochs}, row)
    if (t := read("recipe_study.csv", 0)) is not None:
        for arm, row in t.iterrows():
            add("unet", f"10 recipe: {arm}", {**STRONG_RECIPE, **RECIPE_ARMS[arm], "epochs": 4 * profile_epochs}, row)
    if (t := read("recipe_budget.csv", 0)) is not None:
        for arm, row in t.iterrows():  # "<RECIPE_ARMS key>, <n> epochs"
            name, epochs = str(arm).rsplit(", ", 1)
            add("unet", f"10 budget: {arm}", {**STRONG_RECIPE, **RECIPE_ARMS[name], "epochs": int(epochs.split()[0])}, row)
    # 10's ResNet34-UNet arms, run on this study's CPU family and (its "other CPU family" section) on the other
    for file, other in (("recipe_resnet34_unet.csv", False), (OTHER_FAMILY_TABLE, True)):
        t = read(file, 0)
        for arm, row in t.iterrows() if t is not None else ():  # "<RESNET_RECIPE_ARMS key>, <n> epochs"
            name, epochs = str(arm).rsplit(", ", 1)
            n = int(epochs.split()[0])
            family = str(row.get("cpu", "the other CPU family")) if other else None
            add("resnet34_unet", f"10 ResNet34-UNet{f' on {family}' if other else ''}: {arm}",
                {**resnet_recipe_settings(name, base, n), "epochs": n}, row, family)
    return pd.DataFrame(rows, columns=["model", "source", "family", "settings", "seeds", "test_dice_mean",
                                       "test_dice_std", "tta_test_dice_mean", "tta_test_dice_std", "seconds"])


# 10's ResNet34-UNet arms as run on the other CPU family of this machine kind (its "other_cpu" section)
OTHER_FAMILY_TABLE = "recipe_resnet34_unet_other_cpu.csv"


def best_recipe(results: str | Path, model: str, profile_epochs: int = 25, max_seconds: float = RECIPE_MAX_SECONDS,
                min_seeds: int = 3) -> tuple[dict | None, str]:
    """The recipe for ``model`` (:func:`best_recipe_row`): its settings and why (None where none qualifies)."""
    row, why = best_recipe_row(results, model, profile_epochs, max_seconds, min_seeds)
    return (None if row is None else dict(row["settings"])), why


def best_recipe_row(results: str | Path, model: str, profile_epochs: int = 25, max_seconds: float = RECIPE_MAX_SECONDS,
                    min_seeds: int = 3) -> tuple[pd.Series | None, str]:
    """The recipe for ``model``: of every whole recipe the studies trained (:func:`recipe_candidates`, across
    budgets and factors, not one factor at a time), the best mean test dice among those with ``min_seeds``
    seeds that train within ``max_seconds`` a run; its row of the candidates and why (None where none qualifies).

    Runs of the other CPU family (:data:`OTHER_FAMILY_TABLE`) are compared only with runs of their own family: the
    recipe this study chooses is replaced by one measured there only where, there, both have ``min_seeds`` seeds and
    the other is ahead by more than the seed spread, and this study has not measured it with ``min_seeds`` seeds
    (where it has, this study's own runs decided)."""
    table = recipe_candidates(results, profile_epochs)
    mine = table[table["model"] == model]
    ok = mine[(mine["seeds"] >= min_seeds) & (mine["seconds"] <= max_seconds)]
    here, there = ok[ok["family"].isna()], ok[ok["family"].notna()]
    if here.empty:
        return None, f"{model}: no recipe of {min_seeds}+ seeds trains within {max_seconds / 60:.0f} min a run"
    best = here.loc[here["test_dice_mean"].idxmax()]
    runner = here.drop(index=best.name).sort_values("test_dice_mean").tail(1)
    left = int(mine["family"].isna().sum()) - len(here)  # this family's recipes: too slow, or too few seeds
    why = (f"{model}: {best['source']}, test dice {best['test_dice_mean']:.4f} ± {best['test_dice_std']:.4f} "
           f"({best['seconds'] / 60:.1f} min a run), the best of {len(here)} recipes with {min_seeds}+ seeds within "
           f"{max_seconds / 60:.0f} min a run ({left} other{'' if left == 1 else 's'} too slow or with fewer seeds"
           + (f"; {len(mine) - len(here) - left} run on the other CPU family" if len(mine) - len(here) - left else "")
           + ")")
    if len(runner):
        r = runner.iloc[0]
        gap = best["test_dice_mean"] - r["test_dice_mean"]
        spread = max(best["test_dice_std"], r["test_dice_std"])
        why += (f"; next: {r['source']}, {r['test_dice_mean']:.4f} ({gap:+.4f}, "
                + ("beyond" if gap > spread else "within") + f" the seed spread {spread:.4f})")
    same = there[there["settings"].apply(lambda st: st == best["settings"])]
    if there.empty or same.empty:
        return best, why
    ref, top = same.iloc[0], there.loc[there["test_dice_mean"].idxmax()]
    gap, spread = top["test_dice_mean"] - ref["test_dice_mean"], max(top["test_dice_std"], ref["test_dice_std"])
    measured_here = here["settings"].apply(lambda st: st == top["settings"]).any()
    if top.name == ref.name or gap <= spread or measured_here:
        return best, why
    family = top["family"]
    return top, (f"{model}: {top['source']}, test dice {top['test_dice_mean']:.4f} ± {top['test_dice_std']:.4f} "
                 f"({top['seconds'] / 60:.1f} min a run), ahead on {family} of the recipe this study's runs choose "
                 f"({best['source']}: {ref['test_dice_mean']:.4f} ± {ref['test_dice_std']:.4f} on {family}, "
                 f"{best['test_dice_mean']:.4f} ± {best['test_dice_std']:.4f} here) by {gap:+.4f}, beyond the seed "
                 f"spread {spread:.4f}; not yet measured with {min_seeds} seeds on this study's CPU family")


def budget_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """08's budget table: per (model, epochs), test dice, IoU and flip-TTA dice (mean, sample std over the
    seeds), training seconds per run and the CPU of the runs."""
    table = arm_summary(runs, ["model", "epochs"], ("test_dice", "test_iou", "tta_test_dice"))
    g = runs.groupby(["model", "epochs"])
    table["train_s_per_run"] = g["train_seconds"].mean()
    table["cpu"] = g["cpu"].agg(lambda s: "; ".join(sorted(set(s))))
    return table


def recipe_epochs(results: str | Path, max_seconds: float = RECIPE_MAX_SECONDS) -> tuple[int | None, str]:
    """The budget of the recipe, from 08's budget table: of the budgets where every model's runs took at most
    ``max_seconds`` on average, the one with the best test dice averaged over the models (None before 08 ran)."""
    path = Path(results) / "budget_study.csv"
    if not path.is_file():
        return None, "budget_study.csv not made yet"
    table = pd.read_csv(path, index_col=[0, 1])
    by_epochs = table.groupby(level="epochs")
    fits = by_epochs["train_s_per_run"].max() <= max_seconds
    complete = by_epochs.size() == table.index.get_level_values("model").nunique()
    dice = by_epochs["test_dice_mean"].mean()[fits & complete]
    if dice.empty:
        return None, f"no budget in which every model trains within {max_seconds / 60:.0f} min per run"
    best = int(dice.idxmax())
    slow = sorted(set(table.index.get_level_values("epochs")) - set(dice.index))
    return best, (f"{best} epochs: the best test dice averaged over the models ({dice[best]:.4f}) among the budgets "
                  f"that train every model within {max_seconds / 60:.0f} min per run"
                  + (f" (not {', '.join(map(str, slow))}: longer, or not run for every model)" if slow else ""))


def recipe_summary(results: str | Path, cfg: RunConfig) -> tuple[RunConfig, list[str], pd.DataFrame | None]:
    """The recipe the studies 06-08 of ``results`` support (``cfg`` with :func:`factor_recipe`'s settings and
    :func:`recipe_epochs`' budget), why, and its rows of the budget table (None before 08 ran)."""
    recipe, why = factor_recipe(results)
    epochs, epochs_why = recipe_epochs(results)
    best = cfg.replace(**recipe, **({"epochs": epochs} if epochs else {}))
    why = [*why, f"budget: {epochs_why}"]
    path = Path(results) / "budget_study.csv"
    if epochs is None or not path.is_file():
        return best, why, None
    table = pd.read_csv(path, index_col=[0, 1])
    rows = table.xs(epochs, level="epochs")
    if "tta_test_dice_mean" in rows:
        keep = ["seeds", "test_dice_mean", "test_dice_std", "tta_test_dice_mean", "tta_test_dice_std", "test_iou_mean",
                "train_s_per_run"]
        rows = rows[[k for k in keep if k in rows]]
    rows = rows.assign(target=[RECIPE_TARGETS.get(m) if cfg.profile == "cpu" else None for m in rows.index])
    return best, why, rows


QUESTIONS = (("06_augmentation", "augmentation_study.csv", 1, "Augmentation beyond flips"),
             ("06_augmentation", "tta_study.csv", None, "Test-time flips"),
             ("07_losses", "loss_study.csv", 1, "Losses"),
             ("08_budget", "schedule_study.csv", 1, "Optimiser and learning-rate schedule"),
             ("08_budget", "budget_study.csv", 2, "Training budget (25 / 50 / 100 epochs on the cpu profile)"),
             ("08_budget", "augment_at_budget.csv", 1, "Augmentation at the recipe's budget (UNet, 2x the epochs)"),
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
    return per_image.groupby(column)[["dice", "iou", "pixel_acc"]].mean().assign(images=per_image.groupby(column).size())


def differs_beyond_noise(a: pd.Series, b: pd.Series) -> bool:
    """True when the two arms' means differ by more than the larger of their seed spreads."""
    spread = max(a.std(ddof=1) if len(a) > 1 else 0.0, b.std(ddof=1) if len(b) > 1 else 0.0)
    return len(a) > 1 and len(b) > 1 and abs(a.mean() - b.mean()) > spread


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


def all_background_accuracy(per_image: pd.DataFrame) -> float:
    """Mean per-image pixel accuracy of predicting 'background' everywhere (from the confusion counts)."""
    total = per_image[["tp", "fp", "fn", "tn"]].sum(axis=1)
    return float(((per_image["fp"] + per_image["tn"]) / total).mean())


def discussion(runs: pd.DataFrame, results: str | Path | None = None, cfg: RunConfig | None = None) -> list[str]:
    """Sentences whose every number comes from ``runs`` (the finished runs of this study) and, for
    the metric's cause, the per-image counts under ``results``; with ``cfg``, what the recipe studies found and the
    study's limits too."""
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
    if runs.empty:
        return out
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
                   f"{'lose' if a.mean() > b.mean() else 'gain'} {abs(a.mean() - b.mean()):.4f} dice, {_verdict(a, b)}.")
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
    return out + (recipe_sentences(runs, results, cfg) + limit_sentences(results, cfg) if results and cfg else [])


def recipe_sentences(runs: pd.DataFrame, results: str | Path, cfg: RunConfig) -> list[str]:
    """What the recipe studies (Sections 3.4-3.5) changed: each network's chosen recipe against the report's."""
    choice = recipe_choice_table(results, cfg.epochs)
    main = runs[runs["flip"] == "hflip"].groupby("model")["test_dice"]
    out = []
    for model, lead in (("unet", "UNet"), ("resnet34_unet", "ResNet34-UNet")):
        r = chosen_row(choice, model)
        if r is None or model not in main.groups:
            continue
        family = r["family"] if isinstance(r.get("family"), str) else own_cpu(results)
        out.append(f"The recipe studies lift the {lead} from {main.get_group(model).mean():.4f} (the report's recipe, "
                   f"best checkpoint by validation) to {r['test_dice_mean']:.4f} ± {r['test_dice_std']:.4f} ({r.name}, "
                   f"on {family}): augmentation, the schedule and a longer budget, each chosen one change at a time "
                   "against the seed spread; Section 3.5 lists the arms and what each changed.")
    return out


def limit_sentences(results: str | Path, cfg: RunConfig) -> list[str]:
    """What the study cannot say: its data, image size, hardware and the arithmetic behind its last digits."""
    counts = Path(results) / "data_counts.csv"
    if not counts.is_file():
        return []
    c = pd.read_csv(counts)
    c = c[c["species"] != "total"]
    cpus = sorted({json.loads(f.read_text()).get("cpu") or "not recorded"
                   for f in Path(results).glob("runs/*/env.json")})
    return [f"Limits. The test set is {int(c['test'].sum())} photos of {c['breed'].nunique()} breeds, and the "
            f"checkpoint choice rests on {int(c['val'].sum())} validation images, so differences below the seed "
            f"spread are not findings. Images are {cfg.image_size} px, every network is trained from scratch on CPU "
            "cores (no pretrained weights, no GPU), and results carry over to the full 37-breed dataset, larger images "
            "or pretrained encoders only as hypotheses. bf16 autocast sums products in another order on each CPU "
            f"family ({'; '.join(cpus)} made this study's runs), so a rerun lands on other last digits there: compare "
            "arms within one family."]


ARCHITECTURES = {"unet": "from scratch: 4 down / 4 up stages of two 3x3 conv + BN + ReLU, bilinear up-sampling, width "
                         "{width} channels at the top (the original report's network at width 64)",
                 "resnet34_unet": "torchvision's ResNet34 as encoder (stride 2 in the first block of stages 2-4 only, "
                                  "trained 1x1 projection shortcuts) and a UNet decoder (256-128-64-32-16 channels)",
                 "resnet34_unet_seed": "the original report's ResNet34-UNet, kept as an ablation arm: stride 2 in every "
                                       "block of stages 2-4 and an untrained projection built inside forward()",
                 "vgg16_bn_unet": "torchvision's VGG16-BN as encoder with the same UNet decoder"}


def architecture_table(width: int) -> pd.DataFrame:
    """The networks of the study: trainable parameters (counted on the built model) and what each is."""
    from .models import build_model

    rows = []
    for name, text in ARCHITECTURES.items():
        model = build_model(name, **({"width": width} if name == "unet" else {}))
        rows.append({"model": name, "parameters": sum(p.numel() for p in model.parameters()),
                     "description": text.format(width=width)})
    return pd.DataFrame(rows).set_index("model")


def _ms(s: pd.Series) -> str:
    """Mean ± sample std over seeds as the report's tables show it (the mean alone for one seed)."""
    return f"{s.mean():.4f} ± {s.std(ddof=1):.4f}" if len(s) > 1 else f"{s.mean():.4f}"


def abstract_sentences(runs: pd.DataFrame, results: str | Path, cfg: RunConfig) -> list[str]:
    """The abstract's sentences; every number is one of the report's tables' (mean ± sample std over seeds, as
    :func:`arm_summary` computes them)."""
    out = []
    counts = Path(results) / "data_counts.csv"
    if counts.is_file():
        c = pd.read_csv(counts)
        c = c[c["species"] != "total"]
        out.append(f"Pet-versus-background segmentation on {int(c['total'].sum())} photos of "
                   f"{c['breed'].nunique()} breeds ({int(c['train'].sum())} train, {int(c['val'].sum())} val, "
                   f"{int(c['test'].sum())} test), at {cfg.image_size} px for {cfg.epochs} epochs, "
                   f"{cfg.repeats} seed{'s' if cfg.repeats > 1 else ''} per arm.")
    if runs.empty:
        out.append("No run of this study has finished yet: run notebooks 02-04 (`make report`) and render again.")
        return out
    main = runs[runs["flip"] == "hflip"].groupby("model")["test_dice"]
    parts = [f"the {what} {_ms(main.get_group(m))}" for m, what in (
        ("unet", "from-scratch UNet"), ("resnet34_unet", "corrected ResNet34-UNet"),
        ("resnet34_unet_seed", "original report's ResNet34-UNet")) if m in main.groups]
    if parts:
        out.append("Mean test dice ± std over seeds, with joint horizontal flips: " + "; ".join(parts) + ".")
        out += _comparison_sentences(main, (("unet", "The from-scratch UNet"), ("resnet34_unet", "the corrected "
                                     "ResNet34-UNet"), ("resnet34_unet_seed", "the original report's ResNet34-UNet")))
    flips = runs[runs["model"] == "unet"].groupby("flip")["test_dice"]
    parts = [f"{what} {_ms(flips.get_group(a))}" for a, what in (
        ("none", "no flips"), ("hflip", "joint flips"), ("independent", "the original report's independent flips"))
        if a in flips.groups]
    if len(parts) > 1:
        out.append("UNet flip ablation: " + "; ".join(parts) + ".")
        if {"hflip", "independent"} <= set(flips.groups):
            cost = flips.get_group("hflip").mean() - flips.get_group("independent").mean()
            out.append(f"Flipping image and mask independently, the original report's costliest bug, loses {cost:.3f} "
                       f"dice against joint flips ({verdict(flips.get_group('independent'), flips.get_group('hflip'))}).")
    choice = recipe_choice_table(results, cfg.epochs)
    fresh = fresh_seed_summary(results)
    for model, lead in (("unet", "the UNet"), ("resnet34_unet", "the ResNet34-UNet")):
        r = chosen_row(choice, model)  # None: no recipe study yet, or nothing chosen for this model
        if r is not None:
            target = RECIPE_TARGETS[model]  # set for the real subset with the cpu profile
            family = r["family"] if isinstance(r.get("family"), str) else own_cpu(results)
            reached = "reached" if r["test_dice_mean"] >= target else "not reached"
            out.append(f"The best recipe of the studies within 15 minutes a run for {lead} ({r.name}"
                       f"{'; the `cpu-best` profile' if cfg.profile == 'cpu' else ''}) reaches {r['test_dice_mean']:.4f} ± "
                       f"{r['test_dice_std']:.4f} test dice on {family}" + (f" (target {target:.2f}: {reached})."
                                                                           if cfg.profile == "cpu" else "."))
            other = _best_other_family(choice, model, family, own_cpu(results))
            if other is not None and cfg.profile == "cpu":
                out[-1] += (f" On {other['family']}, the best measured is {other['test_dice_mean']:.4f} ± "
                            f"{other['test_dice_std']:.4f} ({other.name}; target "
                            f"{'reached' if other['test_dice_mean'] >= target else 'not reached'} there).")
            # 10's check of the choice on unseen seeds, where it was made for this choice
            if (fresh is not None and (model, "fresh") in fresh.index
                    and fresh.loc[(model, "fresh")].get("recipe", r.name) == r.name):
                f, n = fresh.loc[(model, "fresh")], int(fresh.loc[(model, "fresh"), "seeds"])
                out[-1] += (f" On {n} fresh seed{'s' if n > 1 else ''}, trained after the choice, "
                            f"it scores {f['test_dice_mean']:.4f}" + (f" ± {f['test_dice_std']:.4f}" if n > 1 else "")
                            + (f" (target {'reached' if f['test_dice_mean'] >= target else 'not reached'})."
                               if cfg.profile == "cpu" else "."))
    return out


def _comparison_sentences(groups, named) -> list[str]:
    """'A beats B by 0.022 (verdict)' for each neighbouring pair of ``named`` models present in ``groups``."""
    present = [(m, what) for m, what in named if m in groups.groups]
    out = []
    for (a, what_a), (b, what_b) in zip(present, present[1:]):
        diff = groups.get_group(a).mean() - groups.get_group(b).mean()
        word = "beats" if diff > 0 else "trails"
        out.append(f"{what_a[0].upper() + what_a[1:]} {word} {what_b} by {abs(diff):.3f} dice "
                   f"({verdict(groups.get_group(b), groups.get_group(a))}).")
    return out


def own_cpu(results: str | Path) -> str:
    """The CPU most of a study's runs were made on (their env.json), or 'this study's CPU' where none says."""
    import collections

    cpus = collections.Counter(json.loads(f.read_text()).get("cpu") for f in Path(results).glob("runs/*/env.json"))
    cpus.pop(None, None)
    return cpus.most_common(1)[0][0] if cpus else "this study's CPU"


def _best_other_family(choice: pd.DataFrame, model: str, family: str, own: str) -> pd.Series | None:
    """The best recipe of ``model`` with 3 seeds or more made on another CPU family than ``family`` (``own``: the
    family of the rows that name none, the study's own), or None."""
    if choice.empty or model not in choice.index.get_level_values(0):
        return None
    rows = choice.loc[model]
    rows = rows.assign(family=[f if isinstance(f, str) else own for f in rows["family"]])
    rows = rows[(rows["seeds"] >= 3) & (rows["family"] != family)]
    return None if rows.empty else rows.sort_values("test_dice_mean", ascending=False).iloc[0]


FRESH_GROUPS = ("chosen on", "fresh", "all")


def fresh_seed_summary(results: str | Path) -> pd.DataFrame | None:
    """10's chosen recipes scored on the seeds they were chosen on, on fresh seeds (trained after the choice), and
    on all of them where a model has both (``recipe_fresh_seeds.csv``: one row per run, its model, group, seed,
    test_dice and tta_test_dice): per (model, group), the seeds and the mean and sample std of both; None before 10
    wrote it."""
    path = Path(results) / "recipe_fresh_seeds.csv"
    if not path.is_file():
        return None
    runs = pd.read_csv(path)
    both = runs.groupby("model")["group"].transform("nunique") > 1  # "all" only where it differs from one group
    table = arm_summary(pd.concat([runs, runs[both].assign(group="all")]), ["model", "group"],
                        ("test_dice", "tta_test_dice"))
    if "recipe" in runs:  # the recipe each model's runs are of (one per model: 10 writes the table per choice)
        names = runs.groupby("model")["recipe"].agg(lambda r: "; ".join(dict.fromkeys(r)))
        table.insert(0, "recipe", [names[m] for m in table.index.get_level_values("model")])
    order = {g: i for i, g in enumerate(FRESH_GROUPS)}
    models = list(dict.fromkeys(runs["model"]))
    return table.sort_index(key=lambda ix: ix.map(order) if ix.name == "group" else ix.map(models.index))


def chosen_row(choice: pd.DataFrame, model: str) -> pd.Series | None:
    """The row of the recipe :func:`recipe_choice_table` marks as chosen for ``model``, named by the recipe (None
    where none is)."""
    if choice.empty or model not in choice.index.get_level_values("model"):
        return None
    mine = choice.xs(model, level="model")
    mine = mine[mine["chosen"] == "chosen"]
    return mine.iloc[0] if len(mine) else None


def chosen_recipe(choice: pd.DataFrame, model: str) -> str | None:
    """The name of the recipe :func:`recipe_choice_table` marks as chosen for ``model`` (None where none is)."""
    row = chosen_row(choice, model)
    return None if row is None else str(row.name)


def recipe_target(choice: pd.DataFrame, model: str) -> str | None:
    """Whether the recipe :func:`recipe_choice_table` marks as chosen for ``model`` reaches its quality target
    (:data:`RECIPE_TARGETS`, set for the real subset), one sentence; None where nothing is chosen or no target."""
    target, row = RECIPE_TARGETS.get(model), chosen_row(choice, model)
    if target is None or row is None:
        return None
    got, family = float(row["test_dice_mean"]), row.get("family")
    where = f" on {family}, where it was measured" if isinstance(family, str) else ""
    return (f"Target {target:.2f}: " + ("reached" if got >= target else f"not reached ({got - target:+.4f})")
            + f" by the chosen recipe's 3-seed mean of plain test dice{where}.")


def recipe_choice_table(results: str | Path, profile_epochs: int, max_seconds: float = RECIPE_MAX_SECONDS,
                        models=("unet", "resnet34_unet")) -> pd.DataFrame:
    """Every whole recipe of :func:`recipe_candidates` for ``models``, best first per model, with minutes a run,
    whether it fits the time limit, and the one :func:`best_recipe` chooses."""
    table = recipe_candidates(results, profile_epochs)
    table = table[table["model"].isin(models)].copy()
    if table.empty:
        return table
    chosen = {m: best_recipe_row(results, m, profile_epochs, max_seconds)[0] for m in models}
    table["minutes"] = table["seconds"] / 60
    table["fits"] = ["yes" if s <= max_seconds else "no" for s in table["seconds"]]
    table["chosen"] = ["chosen" if chosen.get(m) is not None and chosen[m]["source"] == src else ""
                       for m, src in zip(table["model"], table["source"])]
    table["recipe"] = table["source"]
    order = {m: i for i, m in enumerate(models)}
    table = table.sort_values(["model", "test_dice_mean"], key=lambda c: c.map(order) if c.name == "model" else -c)
    return table.set_index(["model", "recipe"])[["seeds", "test_dice_mean", "test_dice_std", "tta_test_dice_mean",
                                                  "tta_test_dice_std", "minutes", "fits", "chosen", "family"]]
