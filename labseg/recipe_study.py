"""Notebook 10's UNet tables: the arms of the recipe study (labseg/studies/recipe.toml) trained or read back with
their flip-TTA and last-epoch scores, the recipe table, the budget table, the last-epoch-vs-best table across every
arm, and what is left to measure. The arms and the baseline come from the study file; nothing here names one."""
from __future__ import annotations

import pandas as pd

from . import results, stats, study, study_arms
from .labels import arm_label
from .study_files import run_settings

# the first arm of the recipe part, the one every other arm changes (the baseline of the study)
BASELINE = next(iter(study_arms.RECIPE_ARMS))
# the columns an arm's runs carry beyond those of results.load_runs
SCORES = ["run", "arm", "tta_test_dice", "last_test_dice", "last_tta_test_dice", "train_s_typical"]


def arm_runs(train_missing: bool, st: study.Study, arms: dict, epochs: int, model: str = "unet",
             recipe: dict = study_arms.STRONG_RECIPE, last: bool = True) -> pd.DataFrame:
    """Train (or read back) every arm of ``arms`` (changes to ``recipe``; a share of the epochs or of the image size,
    study_files.SHARES, taken of this study's runs) of study ``st`` for every seed; their
    rows of load_runs with an 'arm' column and the flip-TTA and last-epoch scores of each run (the last epoch's
    plain and with flip TTA; ``last=False``: runs of other notebooks, whose last-epoch weights were not kept: no
    last-epoch score) and its typical seconds. ``train_missing=False``: only finished runs, read back."""
    train = study.check_train_missing(train_missing)
    done = []
    for arm, changes in arms.items():
        settings = run_settings({**recipe, **changes}, epochs, st.cfg.image_size)  # shares: of this study's run
        for s in study.seeds(st):
            opts = dict(model=model, epochs=epochs, seed=s, **settings)
            run = study.run_if(train, st, need_checkpoint=False, **opts)
            if run is None:
                continue  # not finished, and train_missing is False: reported as missing
            final = study.last_epoch_run(st, train=train, **opts) if last else {}  # train=False: nothing trained
            done.append({"arm": arm, **run,
                         "tta_test_dice": study.tta_run(st, train=train, **opts).get("tta_test_dice", float("nan")),
                         "last_test_dice": final.get("last_test_dice", float("nan")),
                         "last_tta_test_dice": final.get("last_tta_test_dice", float("nan")),
                         "train_s_typical": results.run_typical_seconds(st.results, run["run"])})
    if not done:
        return pd.DataFrame(columns=["run", "arm", "model", "seed", "test_dice"])
    return results.load_runs(st.results).merge(pd.DataFrame(done)[SCORES], on="run")


def recipe_table(runs: pd.DataFrame, arms: list[str]) -> pd.DataFrame:
    """stats.arm_table with the last epoch's test dice (plain and with flip TTA) and the typical seconds per run
    (10th-percentile epoch x epochs)."""
    table = stats.arm_table(runs, "arm", arms)
    g = runs.groupby("arm")
    for column in ("last_test_dice", "last_tta_test_dice"):
        table.insert(table.columns.get_loc("test_iou_mean"), f"{column}_mean", g[column].mean())
        table.insert(table.columns.get_loc("test_iou_mean"), f"{column}_std", g[column].std())
    table.insert(table.columns.get_loc("train_s_per_run") + 1, "train_s_typical", g["train_s_typical"].mean())
    return table


def seeds_done(table: pd.DataFrame, arms) -> dict[str, int]:
    """The seeds each of ``arms`` has finished, by its row of a recipe table (0 where it has none)."""
    return {a: int(table.loc[a, "seeds"]) if a in table.index else 0 for a in arms}


def unfinished(done: dict[str, int], n_seeds: int) -> str:
    """The arms of :func:`seeds_done` with fewer than ``n_seeds`` seeds, with their counts ('' where none)."""
    return ", ".join(f"{a} ({n} of {n_seeds} seeds done)" for a, n in done.items() if n < n_seeds)


def verdicts(runs: pd.DataFrame) -> list[str]:
    """Each arm against the baseline; an arm built on a combination also against that combination."""
    out = stats.compare_to_baseline(runs, "arm", BASELINE, list(study_arms.RECIPE_ARMS))
    for combo, (first, *_) in study_arms.RECIPE_COMBINATIONS.items():
        if first in study_arms.RECIPE_COMBINATIONS:
            out += stats.compare_to_baseline(runs, "arm", first, [combo])
    return out


def last_epoch_sentence(runs: pd.DataFrame, epochs: int) -> str:
    """The baseline's runs scored by their best epoch by val dice and by their last epoch (the same runs: the
    verdict uses the spread of the per-seed differences)."""
    base = runs[runs["arm"] == BASELINE].sort_values("seed")
    return (f"{BASELINE}, best epoch by val dice: {stats.mean_std(base['test_dice'], ' (1 seed)')} "
            f"(best epochs {', '.join(map(str, base['best_epoch']))}); last epoch ({epochs}): "
            f"{stats.mean_std(base['last_test_dice'], ' (1 seed)')}; "
            f"{base['last_test_dice'].mean() - base['test_dice'].mean():+.4f}, "
            f"{stats.verdict(base['last_test_dice'], base['test_dice'], paired=True)}.")


def budget_labels(arms: dict, profile_epochs: int) -> dict[str, tuple[str, int]]:
    """The budget arms: '<arm>, <n> epochs' -> (arm, n), for each arm of ``arms`` the study file gives budgets."""
    return {arm_label(arm, round(k * profile_epochs)): (arm, round(k * profile_epochs))
            for arm, multiples in study_arms.RECIPE_BUDGETS.items() if arm in arms for k in multiples}


def budget_runs(train_missing: bool, st: study.Study, runs: pd.DataFrame, labels: dict, epochs: int) -> pd.DataFrame:
    """The runs of each budget arm of ``labels``, labelled by it: at ``epochs`` (the study's budget) the arm's
    runs of ``runs``, else trained or read back (:func:`arm_runs`)."""
    def budget_arm(label: str, arm: str, n: int) -> pd.DataFrame:
        if n == epochs:
            return runs[runs["arm"] == arm].assign(arm=label)
        return arm_runs(train_missing, st, {label: study_arms.RECIPE_ARMS[arm]}, n)

    return pd.concat([budget_arm(label, *arm_epochs) for label, arm_epochs in labels.items()])


def budget_table(runs: pd.DataFrame, labels: dict) -> pd.DataFrame:
    """:func:`recipe_table` of the budget arms that have runs, in the order of ``labels``."""
    return recipe_table(runs, [a for a in labels if a in set(runs["arm"])])


def budget_verdicts(runs: pd.DataFrame, labels: dict) -> list[str]:
    """Each arm's budgets against its shortest one (arms with one budget that has runs: nothing)."""
    present = [a for a in labels if a in set(runs["arm"])]
    out = []
    for arm in study_arms.RECIPE_BUDGETS:
        mine = [a for a in present if labels[a][0] == arm]
        out += stats.compare_to_baseline(runs, "arm", mine[0], mine[1:]) if len(mine) > 1 else []
    return out


def other_budgets(runs: pd.DataFrame, labels: dict, epochs: int) -> pd.DataFrame:
    """The budget arms' runs at budgets other than ``epochs`` (those at it are the study's own arms)."""
    return runs[[labels[a][1] != epochs for a in runs["arm"]]]


def seed_arms(runs: pd.DataFrame, wanted, seed: int) -> list[str]:
    """The arms of ``wanted`` (in its order) with a finished run of ``seed`` in ``runs``."""
    return [a for a in wanted if not runs[(runs["arm"] == a) & (runs["seed"] == seed)].empty]


def run_names(st: study.Study, arms: list[str], epochs: int) -> list[str]:
    """The run names of ``arms`` at ``epochs`` with the study's seed (its learning curves)."""
    return [study.name(st, model="unet", **study_arms.recipe_settings(a, epochs, st.cfg.image_size)) for a in arms]


def every_arm(runs: pd.DataFrame, longer: pd.DataFrame, resnet: pd.DataFrame) -> pd.DataFrame:
    """Every run of the notebook: the UNet arms, its budget arms at other budgets (``longer``) and the
    ResNet34-UNet arms, named so."""
    return pd.concat([runs, longer, resnet.assign(arm="ResNet34-UNet: " + resnet["arm"]) if len(resnet) else None])


def last_vs_best(every: pd.DataFrame) -> pd.DataFrame:
    """Per arm with last-epoch scores: seeds, the mean test dice of the best-by-val checkpoint and of the last
    epoch, their mean difference and whether it exceeds the spread of the per-seed differences."""
    rows = []
    for arm, g in every.dropna(subset=["last_test_dice"]).groupby("arm", sort=False):
        diff = g["last_test_dice"] - g["test_dice"]
        rows.append({"arm": arm, "seeds": len(g), "best-by-val": g["test_dice"].mean(),
                     "last epoch": g["last_test_dice"].mean(), "last - best": diff.mean(),
                     "beyond the spread": len(g) > 1 and abs(diff.mean()) > diff.std()})
    return pd.DataFrame(rows).set_index("arm")


def last_vs_best_sentence(table: pd.DataFrame) -> str:
    """How many arms of :func:`last_vs_best` score higher at the last epoch, and which differ beyond the spread."""
    higher = table["last - best"] > 0
    beyond = table.loc[table["beyond the spread"], "last - best"]
    return (f"the last epoch scores higher than the best-by-val checkpoint in {higher.sum()} of {len(table)} arms "
            f"(mean difference {table['last - best'].mean():+.4f}); beyond the spread of the per-seed differences: "
            f"{', '.join(f'{a} ({d:+.4f})' for a, d in beyond.items()) or 'none'}")


def singles(arm: str) -> set[str]:
    """The single factors an arm combines (a combination may build on another)."""
    combos = study_arms.RECIPE_COMBINATIONS
    return set().union(*map(singles, combos[arm])) if arm in combos else {arm}


def _combination_sentence(table: pd.DataFrame, combo: str, parts: tuple, gain: dict) -> str:
    """A combination's gain over the baseline against the sum of its parts' gains; an interaction is claimed only
    where the excess over the sum exceeds the seed spread of the arms."""
    alone = {part: gain[part] for part in parts if part in gain}
    n = int(table.loc[combo, "seeds"])
    line = (f"{combo} ({n} seed{'s' if n > 1 else ''}): {gain[combo]:+.4f} against {BASELINE}; its parts: "
            + ", ".join(f"{part} {g:+.4f}" for part, g in alone.items()))
    if len(alone) < len(parts):
        return line + f" ({', '.join(p for p in parts if p not in alone)} not measured alone)"
    excess = gain[combo] - sum(alone.values())
    spread = table.loc[[combo, *parts], "test_dice_std"].max()
    return line + (f"; the sum of their gains is {sum(alone.values()):+.4f}, the combination {excess:+.4f} from it: "
                   + ("the factors interact" if abs(excess) > spread else "no interaction is claimed")
                   + f" ({'beyond' if abs(excess) > spread else 'within'} the seed spread {spread:.4f})")


def left_sentences(table: pd.DataFrame, done: dict[str, int], n_seeds: int) -> list[str]:
    """What is left of the UNet arms: those not measured with every seed (in the order they would run), the single
    factors ahead of the baseline, whether they were run together, and each combination against its parts."""
    left = [a for a in study_arms.RECIPE_ARMS if done.get(a, 0) < n_seeds]
    out = ["UNet arms not yet measured with every seed, in the order they would run: " + (", ".join(left) or "none")]
    if BASELINE not in table.index:
        return out
    base = table.loc[BASELINE, "test_dice_mean"]
    single = [a for a in table.index if a != BASELINE and a not in study_arms.RECIPE_COMBINATIONS]
    full = table.loc[single][table.loc[single, "seeds"] >= n_seeds]
    ahead = full[full["test_dice_mean"] > base]
    gains = [f"{a} ({ahead.loc[a, 'test_dice_mean'] - base:+.4f})" for a in ahead.index]
    out.append(f"single factors ahead of {BASELINE} (the verdicts above say which exceed the seed spread): "
               + (", ".join(gains) or "none"))
    tried = {combo: parts for combo, parts in study_arms.RECIPE_COMBINATIONS.items() if combo in table.index}
    covered = [combo for combo in tried if singles(combo) == set(ahead.index)]
    if len(ahead) > 1:
        out.append(f"the single factors ahead of {BASELINE} together: "
                   + (f"run as {covered[0]} (below)" if covered else
                      f"not run yet: the next arm, {BASELINE} with " + " and ".join(ahead.index)))
    gain = {a: table.loc[a, "test_dice_mean"] - base for a in table.index}
    return out + [_combination_sentence(table, combo, parts, gain) for combo, parts in tried.items()]
