"""Choosing a recipe: from every whole recipe the studies trained (across budgets and factors), the best mean test
dice among those with 3 seeds or more within the time limit a run, per network and CPU family; the fresh-seed check
of the choice and whether the target is reached."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .config import RunConfig
from .labels import split_arm_label
from .stats import arm_summary, format_mean_std
from .study_arms import (
    RECIPE_MAX_SECONDS,
    RECIPE_TARGETS,
    SCHEDULE_ARMS,
    recipe_settings,
    resnet_recipe_settings,
)


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
    score = format_mean_std(ok.loc[best, "test_dice_mean"], ok.loc[best, "test_dice_std"])
    return best, (f"{best}: {score}, the best mean test dice of the arms with {min_seeds}+ seeds that train within "
                  f"{max_seconds / 60:.0f} min per run"
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


# how a recipe's minutes a run were made: see results.typical_seconds; "measured mean": its runs' own train seconds
TYPICAL, MEASURED = "typical", "measured mean"


def _seconds(row) -> tuple[float, str]:
    """A table row's seconds a run and how they were made: typical where the table has them, else the measured mean."""
    typical = row.get("train_s_typical")
    if typical is not None and typical == typical:
        return float(typical), TYPICAL
    return float(row["train_s_per_run"]), MEASURED


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
        rows.append({"model": model, "source": source, "family": family, "settings": settings,
                     "seeds": int(row["seeds"]),
                     "test_dice_mean": row["test_dice_mean"], "test_dice_std": row["test_dice_std"],
                     "tta_test_dice_mean": row.get("tta_test_dice_mean", nan),
                     "tta_test_dice_std": row.get("tta_test_dice_std", nan),
                     **dict(zip(("seconds", "timing"), _seconds(row)))})
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
            add("unet", f"10 recipe: {arm}", recipe_settings(arm, 4 * profile_epochs), row)
    if (t := read("recipe_budget.csv", 0)) is not None:
        for arm, row in t.iterrows():  # "<RECIPE_ARMS key>, <n> epochs"
            name, epochs = split_arm_label(arm)
            add("unet", f"10 budget: {arm}", recipe_settings(name, epochs), row)
    # 10's ResNet34-UNet arms, run on this study's CPU family and (its "other CPU family" section) on the other
    for file, other in (("recipe_resnet34_unet.csv", False), (OTHER_FAMILY_TABLE, True)):
        t = read(file, 0)
        for arm, row in t.iterrows() if t is not None else ():  # "<RESNET_RECIPE_ARMS key>, <n> epochs"
            name, n = split_arm_label(arm)
            family = str(row.get("cpu", "the other CPU family")) if other else None
            add("resnet34_unet", f"10 ResNet34-UNet{f' on {family}' if other else ''}: {arm}",
                {**resnet_recipe_settings(name, base, n), "epochs": n}, row, family)
    return pd.DataFrame(rows, columns=["model", "source", "family", "settings", "seeds", "test_dice_mean",
                                       "test_dice_std", "tta_test_dice_mean", "tta_test_dice_std", "seconds", "timing"])


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
    why = (f"{model}: {best['source']}, test dice {format_mean_std(best['test_dice_mean'], best['test_dice_std'])} "
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
    return top, (f"{model}: {top['source']}, test dice {format_mean_std(top['test_dice_mean'], top['test_dice_std'])} "
                 f"({top['seconds'] / 60:.1f} min a run), ahead on {family} of the recipe this study's runs choose "
                 f"({best['source']}: {format_mean_std(ref['test_dice_mean'], ref['test_dice_std'])} on {family}, "
                 f"{format_mean_std(best['test_dice_mean'], best['test_dice_std'])} here) by {gap:+.4f}, beyond the "
                 f"seed spread {spread:.4f}; not yet measured with {min_seeds} seeds on this study's CPU family")


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
                                                  "tta_test_dice_std", "minutes", "timing", "fits", "chosen",
                                                  "family"]]


def _without_family(recipe: str) -> str:
    """A recipe's name without the CPU family its source names ("10 ResNet34-UNet on AMD EPYC (...): arm, 60 epochs"
    and "10 ResNet34-UNet: arm, 60 epochs" name the same recipe)."""
    source, _, rest = recipe.partition(": ")
    return f"{source.split(' on ')[0]}: {rest}" if rest else recipe


def family_gap(choice: pd.DataFrame, min_seeds: int = 3) -> tuple[float, str] | None:
    """The largest difference between the means of one recipe measured with ``min_seeds`` seeds on two CPU families
    (rows of :func:`recipe_choice_table` that name a family against those that do not), and that recipe; None where
    no recipe ran on both."""
    if choice.empty:
        return None
    rows = choice[choice["seeds"] >= min_seeds].reset_index()
    rows["same"] = [_without_family(r) for r in rows["recipe"]]
    here, there = rows[rows["family"].isna()], rows[rows["family"].notna()]
    pairs = here.merge(there, on=["model", "same"], suffixes=("", "_other"))
    if pairs.empty:
        return None
    gaps = (pairs["test_dice_mean"] - pairs["test_dice_mean_other"]).abs()
    top = pairs.loc[gaps.idxmax()]
    return float(gaps.max()), str(top["same"])
