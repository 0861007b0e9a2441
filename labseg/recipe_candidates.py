"""Notebook 10's next step beyond the chosen UNet recipe: the recipe study's arms built on the chosen arm at its own
budget (each one change to it: a moving average of the weights, copy-paste, ...), read back in every results folder
of the study (one per CPU family) and each compared with the chosen recipe's runs of the same folder, scored as the
recipe is (its ``select``), flip TTA apart, with the minutes a run and how they were timed (idle: other processes
used at most machine_load.IDLE_SHARE of the cores while it trained). The candidates come from the study file."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from . import machine_load, results, stats, study, study_arms
from .labels import arm_label, label, split_arm_label
from .study_files import budget_epochs, share_fields


def chosen_arm(recipe: dict) -> str | None:
    """The recipe study's UNet arm whose settings are the chosen ``recipe``'s (less its epochs and ``select``);
    None where the recipe is no arm of it."""
    wanted = {k: v for k, v in recipe.items() if k != "select"}
    return next((a for a in study_arms.RECIPE_ARMS if study_arms.recipe_settings(a, recipe["epochs"]) == wanted), None)


def built_on(name: str) -> list[str]:
    """The recipe study arms ``name`` is built on, nearest first (its base, that arm's base, ...)."""
    bases = []
    while (name := study_arms.RECIPE_BASES.get(name)) is not None:
        bases.append(name)
    return bases


def _changes_over(arm: str, base: str) -> dict:
    """The settings of recipe study arm ``arm`` that differ from those of arm ``base``."""
    return {k: v for k, v in study_arms.RECIPE_ARMS[arm].items() if study_arms.RECIPE_ARMS[base].get(k) != v}


def arm_epochs(budgets: dict, arm: str, profile_epochs: int) -> list[int]:
    """The epochs ``arm`` trains at in its study file (``budgets``: arm -> its budgets, multiples of the profile's
    epochs, ``profile_epochs``), fewest first; [] where it has no budgets of its own."""
    return sorted({round(b * profile_epochs) for b in budgets.get(arm, ())})


def single_changes(label: str, chosen_label: str) -> tuple[str, str] | None:
    """For a candidate of two changes ('<arm>, <n> epochs', its arm built on an arm built on the chosen one,
    ``chosen_label``), the labels of its two single changes at the same epochs: the arm it is built on, and the arm
    built on the chosen one with the other change (where the study file has one), at the same epochs where the study
    file trains that arm at them, else at its own first budget (each change as the study measured it alone: deep
    supervision at 150 epochs beside progressive resizing's 190); None otherwise."""
    arm, epochs = split_arm_label(label)
    chosen = split_arm_label(chosen_label)[0]
    bases = built_on(arm)
    if bases[1:2] != [chosen]:
        return None
    mid = bases[0]
    added = _changes_over(arm, mid)
    other = next((name for name, base in study_arms.RECIPE_BASES.items() if base == chosen
                  and study_arms.RECIPE_ARMS[name] == {**study_arms.RECIPE_ARMS[chosen], **added}), None)
    if other is None:
        return None
    own = arm_epochs(study_arms.RECIPE_BUDGETS, other, budget_epochs(study_arms.STUDIES["recipe"].profile, 1))
    return arm_label(mid, epochs), arm_label(other, epochs if epochs in own or not own else own[0])


def candidates(recipe: dict, profile_epochs: int) -> dict[str, dict]:
    """'<arm>, <n> epochs' -> the settings its runs train with, each a change to the chosen ``recipe``: the chosen
    recipe first, then the chosen arm at each of its other budgets in the study file (shortest first), then every arm
    of the study file built on the chosen arm that has its own budgets, at each of them: one change, or two where
    the arm is built on another such arm (to check how they interact). An arm that trains fewer epochs in about the
    chosen recipe's minutes, such as a wider network, is compared as it is. {} where the recipe is no arm of the
    study."""
    arm = chosen_arm(recipe)
    if arm is None:
        return {}
    epochs = recipe["epochs"]
    trained = {k: v for k, v in recipe.items() if k != "select"}
    out = {arm_label(arm, epochs): trained}
    for n in arm_epochs(study_arms.RECIPE_BUDGETS, arm, profile_epochs):
        if n != epochs:
            out[arm_label(arm, n)] = {**trained, "epochs": n}
    for name in study_arms.RECIPE_BASES:
        if arm not in built_on(name):
            continue
        for n in arm_epochs(study_arms.RECIPE_BUDGETS, name, profile_epochs):
            out[arm_label(name, n)] = study_arms.recipe_settings(name, n)
    return out


def resnet_candidates(recipe: dict, label: str, profile_epochs: int) -> dict[str, dict]:
    """The ResNet34-UNet's chosen ``recipe`` (``label``: 'ResNet34-UNet: <arm>, <n> epochs', :func:`chosen_label`)
    first, then its arm at each of the arm's other budgets in the study file (shortest first), an averaging phase
    kept at the arm's share of the epochs: the same recipe in fewer or more minutes."""
    trained = {k: v for k, v in recipe.items() if k != "select"}
    out = {label: trained}
    arm = split_arm_label(label)[0].removeprefix("ResNet34-UNet: ")
    if arm not in study_arms.RESNET_RECIPE_ARMS:
        return out
    changes = study_arms.RESNET_RECIPE_ARMS[arm][1]
    for n in arm_epochs(study_arms.RESNET_RECIPE_BUDGETS, arm, profile_epochs):
        if n == recipe["epochs"]:
            continue
        out[arm_label(f"ResNet34-UNet: {arm}", n)] = {**trained, "epochs": n,
                                                    **share_fields(changes, n, study_arms.RECIPE_IMAGE_SIZE)}
    return out


def chosen_label(model: str, name: str) -> str:
    """A chosen recipe's name as recipe_choice names it ("10 ResNet34-UNet on AMD EPYC (...): <arm>, 75 epochs, last
    epoch"), shortened for a table row: the network (the ResNet34-UNet's), the arm and its epochs."""
    arm = name.split(": ", 1)[-1].removesuffix(", last epoch")
    return arm if model == "unet" else f"ResNet34-UNet: {arm}"


def candidate_runs(studies: list[study.Study], arms: dict[str, dict], select: str, model: str = "unet"
                   ) -> pd.DataFrame:
    """One row per finished run of ``model`` for each of ``arms`` in each of ``studies`` (read back only: nothing is
    trained), on the study's seeds and the fresh seeds after them that have a run: its network, folder, CPU family,
    arm, seed, plain and flip-TTA test dice as ``select`` scores them, measured and typical training seconds, and the
    share of the cores other processes used while it trained (NaN: not recorded)."""
    rows = []
    for st in studies:
        for arm, settings in arms.items():
            for seed in range(max(study.seeds(st)) + 4):
                scores = study.recipe_scores(False, st, select, model=model, seed=seed, **settings)
                if scores is None:
                    continue
                folder = st.run_dir(scores["run"])
                history = results.load_history(st.results, scores["run"])
                metrics = json.loads((folder / "metrics.json").read_text())
                rows.append({"model": model, "folder": str(st.results),
                             "family": results.cpu_family(results.run_cpu(folder)), "arm": arm, "seed": seed,
                             "run": scores["run"], "test_dice": scores["test_dice"],
                             "tta_test_dice": scores["tta_test_dice"],
                             "train_seconds": float(metrics.get("train_seconds", float("nan"))),
                             "train_s_typical": results.run_typical_seconds(st.results, scores["run"]),
                             "other_cpu": machine_load.run_share(history)})
    return pd.DataFrame(rows, columns=["model", "folder", "family", "arm", "seed", "run", "test_dice", "tta_test_dice",
                                       "train_seconds", "train_s_typical", "other_cpu"])


def chosen_runs(studies: list[study.Study], recipes: dict, names: dict, profile_epochs: int) -> pd.DataFrame:
    """:func:`candidate_runs` per network of ``recipes`` (network -> its chosen recipe's settings, None where none
    is chosen; ``names``: network -> the recipe's name): the chosen recipe's runs, then, for the UNet, those of the
    arms built on it (:func:`candidates`), for the ResNet34-UNet those of its arm at other budgets
    (:func:`resnet_candidates`)."""
    parts = []
    for model, recipe in recipes.items():
        if recipe is None:
            continue
        trained = {k: v for k, v in recipe.items() if k != "select"}
        arms = (candidates(recipe, profile_epochs) if model == "unet" else
                resnet_candidates(recipe, chosen_label(model, names[model]), profile_epochs)) or {
            chosen_label(model, names[model]): trained}
        parts.append(candidate_runs(studies, arms, recipe.get("select", "best"), model))
    return pd.concat(parts, ignore_index=True) if parts else candidate_runs([], {}, "best")


def seed_ranges(seeds) -> str:
    """Seeds as runs of consecutive numbers: [0, 1, 2, 5] -> '0-2, 5'."""
    out, seeds = [], sorted(int(x) for x in seeds)
    for seed in seeds:
        if out and seed == out[-1][1] + 1:
            out[-1][1] = seed
        else:
            out.append([seed, seed])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)


def _idle(g: pd.DataFrame) -> pd.DataFrame:
    """The runs of ``g`` timed idle (machine_load.timing_kind)."""
    return g[[machine_load.timing_kind(x) == "idle" for x in g["other_cpu"]]]


def candidate_table(runs: pd.DataFrame, max_seconds: float = study_arms.RECIPE_MAX_SECONDS) -> pd.DataFrame:
    """Per CPU family and arm (in the order of ``runs``): seeds, plain and flip-TTA test dice (mean, sample std),
    minutes a run (text, one decimal) as measured (mean over the runs, busy or not), typical (the fastest tenth of the
    epochs times the epochs) and measured on the runs timed idle, how many were, and whether the arm fits
    ``max_seconds`` a run by that idle time (no idle run: not judged)."""
    rows = []
    for (family, arm), g in runs.groupby(["family", "arm"], sort=False):
        idle = _idle(g)["train_seconds"]
        fits = ("not judged" if idle.empty else "yes" if idle.mean() <= max_seconds else "no")
        rows.append({"CPU family": family, "arm": arm, "seeds": seed_ranges(g["seed"]),
                     "test dice": stats.mean_std(g["test_dice"]),
                     "flip TTA": stats.mean_std(g["tta_test_dice"]),
                     "min measured": f"{g['train_seconds'].mean() / 60:.1f}",
                     "min typical": f"{g['train_s_typical'].mean() / 60:.1f}",
                     "min idle": f"{idle.mean() / 60:.1f}" if len(idle) else "—",
                     "idle runs": f"{len(idle)} of {len(g)}",
                     f"≤ {max_seconds / 60:.0f} min idle": fits})
    return pd.DataFrame(rows).set_index(["CPU family", "arm"]) if rows else pd.DataFrame()


def short_names(runs: pd.DataFrame) -> dict[str, str]:
    """Each arm of ``runs`` -> its name relative to its network's chosen recipe (the first arm of the network in
    ``runs``), for a table row or a sentence: 'UNet chosen at 150 epochs', 'UNet chosen + ema at 150 epochs',
    'ResNet34-UNet chosen at 75 epochs'; an arm not built on the chosen one keeps its name."""
    def short(model: str, arm: str, base_arm: str) -> str:
        (name, epochs), base = split_arm_label(arm), split_arm_label(base_arm)[0]
        if name != base and not name.startswith(f"{base} + "):
            return arm
        return f"{label(model)} chosen{name.removeprefix(base)} at {epochs} epochs"

    bases = runs.groupby("model", sort=False)["arm"].first()
    return {a: short(m, a, bases[m]) for m, a in zip(runs["model"], runs["arm"])}


def short_arms(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with each arm named as :func:`short_names` names it."""
    return runs.assign(arm=runs["arm"].map(short_names(runs)))


def chosen_words(runs: pd.DataFrame) -> str:
    """Which arm 'chosen' stands for in :func:`short_arms`' names, per network: "the UNet's is crop-2x +
    mild-affine, the ResNet34-UNet's 08 recipe + swa at 0.5x"."""
    bases = runs.groupby("model", sort=False)["arm"].first()
    words = [f"the {label(m)}'s " + ("is " if i == 0 else "") + split_arm_label(arm)[0].removeprefix("ResNet34-UNet: ")
             for i, (m, arm) in enumerate(bases.items())]
    return ", ".join(words)


def timing_sentence(family: str, arm: str, g: pd.DataFrame, max_seconds: float) -> str:
    """How long a run of ``arm`` (``g``: its runs on ``family``) takes: measured on the runs timed idle, against
    ``max_seconds``, or that none was and what the typical and measured minutes are."""
    idle = _idle(g)
    limit = f"{max_seconds / 60:.0f}-minute limit"
    typical = f"typical {g['train_s_typical'].mean() / 60:.1f} min"
    if idle.empty:
        kinds = [machine_load.timing_kind(x) for x in g["other_cpu"]]
        why = "; ".join(f"{kinds.count(k)} {what}" for k, what in (
            ("busy", "with other work on the cores"), ("not recorded", "made before labseg recorded other work"))
            if kinds.count(k))
        return (f"{family}: {arm}: no run timed idle yet ({typical}; measured {g['train_seconds'].mean() / 60:.1f} "
                f"min a run over {len(g)} runs: {why}), so its fit to the {limit} is not judged.")
    minutes = idle["train_seconds"].mean() / 60
    seeds = ", ".join(map(str, idle["seed"]))
    over = minutes * 60 > max_seconds
    return (f"{family}: {arm}: {minutes:.1f} min a run timed idle ({len(idle)} run{'s' * (len(idle) > 1)}, seed "
            f"{seeds}; {typical}): {'over' if over else 'within'} the {limit}"
            + (f", so on {family} it does not qualify as a recipe of at most {max_seconds / 60:.0f} minutes a run "
               "(the choice holds by typical minutes only)" if over else "") + ".")


def _compared(g: pd.DataFrame, base_arm: str):
    """Each arm of ``g`` but ``base_arm``, in order, with its test dice and those of ``base_arm`` on the same seeds."""
    base = g[g["arm"] == base_arm]
    for arm in [a for a in g["arm"].unique() if a != base_arm]:
        mine = g[g["arm"] == arm]
        yield arm, mine, base[base["seed"].isin(mine["seed"])]["test_dice"]


def _full_means(g: pd.DataFrame, n_seeds: int) -> tuple[pd.DataFrame, str | None]:
    """The arms of ``g`` with ``n_seeds`` seeds or more (arm -> mean test dice, count) and the best of them."""
    means = g.groupby("arm", sort=False)["test_dice"].agg(["mean", "count"])
    full = means[means["count"] >= n_seeds]
    return full, (full["mean"].idxmax() if len(full) else None)


def family_summary(g: pd.DataFrame, base_arm: str, study_seeds: list[int],
                   max_seconds: float = study_arms.RECIPE_MAX_SECONDS) -> dict:
    """What one network's runs on one CPU family (``g``) say, as numbers: the chosen recipe's (``base_arm``) minutes
    a run timed idle (NaN: none was) and runs timed idle; per candidate, its seeds among ``study_seeds``, its gain
    over the chosen recipe on those seeds and whether that exceeds the seed spread; the best arm with every seed of
    ``study_seeds`` and its mean; the family's recipe by idle timing against ``max_seconds`` (:func:`family_recipe`:
    arm, ground) with its mean on ``study_seeds`` and its minutes a run timed idle."""
    idle_runs, idle_minutes = len(_idle(g[g["arm"] == base_arm])), _idle_seconds(g, base_arm) / 60
    recipe, ground = family_recipe(g, base_arm, study_seeds, max_seconds)
    recipe_minutes = _idle_seconds(g, recipe) / 60 if recipe else float("nan")
    g = g[g["seed"].isin(study_seeds)]
    moves = [{"arm": arm, "seeds": len(mine), "gain": mine["test_dice"].mean() - same.mean(),
              "beyond": stats.differs_beyond_noise(mine["test_dice"], same)}
             for arm, mine, same in _compared(g, base_arm) if len(same)]
    full, best = _full_means(g, len(study_seeds))
    return {"idle_minutes": idle_minutes, "idle_runs": idle_runs,
            "moves": moves, "best": best, "best_mean": full.loc[best, "mean"] if best is not None else float("nan"),
            "recipe": recipe, "ground": ground, "recipe_minutes": recipe_minutes,
            "recipe_mean": g[g["arm"] == recipe]["test_dice"].mean() if recipe else float("nan")}


def candidate_verdicts(runs: pd.DataFrame, study_seeds: list[int], targets: dict | None = None,
                       max_seconds: float = study_arms.RECIPE_MAX_SECONDS, names: dict[str, str] | None = None
                       ) -> list[str]:
    """Per network and CPU family (arms named by ``names`` where given, e.g. :func:`short_names`): the chosen
    recipe's (its first arm in ``runs``) minutes a run timed idle against
    ``max_seconds``; each candidate against it on the seeds both have among ``study_seeds`` (one change at a time,
    the same seeds), with the seed-spread verdict; and the best mean of ``len(study_seeds)`` seeds against
    ``targets`` (network -> test dice) where given."""
    if runs.empty:
        return ["no run of the chosen recipe or of a candidate has finished yet"]
    out, nm = [], (lambda arm: (names or {}).get(arm, arm))
    for model, by_model in runs.groupby("model", sort=False):
        base_arm = by_model["arm"].iloc[0]
        for family, every in by_model.groupby("family", sort=False):
            out.append(timing_sentence(family, nm(base_arm), every[every["arm"] == base_arm], max_seconds))
            g = every[every["seed"].isin(study_seeds)]
            if g[g["arm"] == base_arm].empty:
                out.append(f"{family}: no run of the chosen recipe ({nm(base_arm)}) on seeds {study_seeds}")
                continue
            for arm, mine, same in _compared(g, base_arm):
                gain = mine["test_dice"].mean() - same.mean()
                out.append(f"{family}: {nm(arm)}: {stats.mean_std(mine['test_dice'], ' (1 seed)')} against "
                           f"{stats.mean_std(same, ' (1 seed)')} for the chosen recipe on the same seeds "
                           f"{sorted(mine['seed'])}, {gain:+.4f}, {stats.verdict(mine['test_dice'], same)}.")
                out += interaction_sentence(family, g, arm, base_arm, nm)
                out += base_sentence(family, g, arm, base_arm, nm)
            target = (targets or {}).get(model)
            full, best = _full_means(g, len(study_seeds))
            if target is not None and best is not None:
                got = full.loc[best, "mean"]
                verdict = "reached" if got >= target else f"not reached ({got - target:+.4f})"
                out.append(f"{family}: the best of these with {len(study_seeds)} seeds, {nm(best)}: {got:.4f}; "
                           f"target {target:.2f}: {verdict}.")
            if _idle_seconds(every, base_arm) > max_seconds:  # the chosen recipe does not fit here: what does
                out.append(fitting_sentence(family, every, base_arm, max_seconds, study_seeds, model, nm))
    return out


def interaction_sentence(family: str, g: pd.DataFrame, arm: str, base_arm: str, nm=str) -> list[str]:
    """For ``arm`` of two changes (:func:`single_changes`) whose single changes both have runs in ``g`` on its seeds:
    the arm against the first change alone, with the seed-spread verdict, and its gain over ``base_arm`` against the
    sum of the two changes' gains (all on the same seeds): whether they add up. [] otherwise."""
    parts = single_changes(arm, base_arm)
    if parts is None:
        return []
    mine = g[g["arm"] == arm].set_index("seed")["test_dice"]
    by = {a: g[g["arm"] == a].set_index("seed")["test_dice"] for a in (*parts, base_arm)}
    seeds = sorted(set(mine.index).intersection(*(s.index for s in by.values())))
    if not seeds:
        return []
    mine, (one, two, base) = mine[seeds], (by[a][seeds] for a in (*parts, base_arm))
    gains = [x.mean() - base.mean() for x in (one, two, mine)]
    return [f"{family}: {nm(arm)} against {nm(parts[0])} alone on the same seeds {seeds}: "
            f"{mine.mean() - one.mean():+.4f}, "
            f"{stats.verdict(mine, one)}. The two changes alone gave {gains[0]:+.4f} and {gains[1]:+.4f} (sum "
            f"{gains[0] + gains[1]:+.4f}), together {gains[2]:+.4f}."]


def base_sentence(family: str, g: pd.DataFrame, arm: str, base_arm: str, nm=str) -> list[str]:
    """For ``arm`` that changes one setting of a candidate (its base in the study file is built on the chosen arm,
    ``base_arm``'s, and it is no arm of two single changes, :func:`single_changes`): the arm against that base at
    the same epochs on the seeds both have in ``g``, with the seed-spread verdict: one change from its own stated
    baseline. [] otherwise (no such base, or no runs of it on those seeds)."""
    name, epochs = split_arm_label(arm)
    bases = built_on(name)
    if len(bases) < 2 or bases[0] == split_arm_label(base_arm)[0] or single_changes(arm, base_arm) is not None:
        return []
    base = arm_label(bases[0], epochs)
    mine = g[g["arm"] == arm].set_index("seed")["test_dice"]
    theirs = g[g["arm"] == base].set_index("seed")["test_dice"]
    seeds = sorted(set(mine.index) & set(theirs.index))
    if not seeds:
        return []
    mine, theirs = mine[seeds], theirs[seeds]
    return [f"{family}: {nm(arm)} against the arm it changes, {nm(base)}, on the same seeds {seeds}: "
            f"{mine.mean() - theirs.mean():+.4f}, {stats.verdict(mine, theirs)}."]


def _idle_seconds(g: pd.DataFrame, arm: str) -> float:
    """The mean training seconds of ``arm``'s runs timed idle in ``g`` (NaN: none was)."""
    idle = _idle(g[g["arm"] == arm])["train_seconds"]
    return float(idle.mean()) if len(idle) else float("nan")


def frontier(runs: pd.DataFrame, study_seeds: list[int]) -> pd.DataFrame:
    """Per network, CPU family and arm of ``runs`` (:func:`chosen_runs`) with a run on each of ``study_seeds``: the
    mean and sample std of its test dice on those seeds, and its minutes a run: measured on its runs timed idle (any
    seeds), or, where none was, typical (``timing``: "idle" or "typical"). What the next targets are measured
    against: how high each arm scores and in how many minutes."""
    rows = []
    for (model, family, arm), g in runs.groupby(["model", "family", "arm"], sort=False):
        on = g[g["seed"].isin(study_seeds)]
        if set(on["seed"]) != set(study_seeds):
            continue
        idle = _idle(g)["train_seconds"]
        rows.append({"model": model, "family": family, "arm": arm, "test_dice": on["test_dice"].mean(),
                     "std": on["test_dice"].std(ddof=1), "minutes": (idle.mean() if len(idle) else
                                                                     g["train_s_typical"].mean()) / 60,
                     "timing": "idle" if len(idle) else "typical"})
    return pd.DataFrame(rows, columns=["model", "family", "arm", "test_dice", "std", "minutes", "timing"])


def family_recipe(every: pd.DataFrame, base_arm: str, study_seeds: list[int], max_seconds: float
                  ) -> tuple[str | None, str]:
    """One network's recipe on one CPU family (``every``: its runs there, fresh seeds included; ``base_arm``: its
    chosen recipe) by idle timing (over every run), and on what ground: "within" (the chosen recipe's runs timed idle
    fit ``max_seconds``), "not judged" (none of them was timed idle: the choice by typical minutes stands),
    "replaced" (they are over: the best arm by mean over ``study_seeds``, with all of them, whose runs timed idle
    fit), or "none" (over, and no such arm: None)."""
    idle = _idle_seconds(every, base_arm)
    if not idle > max_seconds:  # NaN (none timed idle) or within
        return base_arm, "not judged" if idle != idle else "within"
    full, _ = _full_means(every[every["seed"].isin(study_seeds)], len(study_seeds))
    fits = [a for a in full.index if _idle_seconds(every, a) <= max_seconds]
    if not fits:
        return None, "none"
    return max(fits, key=lambda a: full.loc[a, "mean"]), "replaced"


def recipe_flags(arm: str, base_arm: str) -> str:
    """The options that turn ``base_arm`` (a network's chosen recipe, '--profile cpu-best') into ``arm``, both
    '<recipe study arm>, <n> epochs': '--deep-supervision 0.4', '--width 24 --epochs 65', '--low-res 96 --low-res-share
    0.6 --epochs 190' (a share of the image size as the size it gives at the recipe's 128 px); for the ResNet34-UNet's
    arm at other epochs ('ResNet34-UNet: <arm>, <n> epochs') its epochs and averaging phase, '--epochs 60
    --swa-epochs 12' ('' where they are the same, or where the two are no such pair)."""
    (name, epochs), (base, base_epochs) = split_arm_label(arm), split_arm_label(base_arm)
    resnet = name.removeprefix("ResNet34-UNet: ")
    if name.startswith("ResNet34-UNet: ") and name == base and resnet in study_arms.RESNET_RECIPE_ARMS:
        mine, theirs = ({"epochs": n, **study_arms.resnet_recipe_settings(resnet, {}, n)}
                        for n in (epochs, base_epochs))
    elif name in study_arms.RECIPE_ARMS and base in study_arms.RECIPE_ARMS:
        mine, theirs = study_arms.recipe_settings(name, epochs), study_arms.recipe_settings(base, base_epochs)
    else:
        return ""
    changes = {k: v for k, v in mine.items() if theirs.get(k) != v}
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in changes.items())


def family_recipes(runs: pd.DataFrame, study_seeds: list[int],
                   max_seconds: float = study_arms.RECIPE_MAX_SECONDS, names: dict[str, str] | None = None
                   ) -> pd.DataFrame:
    """Per network and CPU family of ``runs`` (:func:`chosen_runs`), its recipe there by idle timing
    (:func:`family_recipe`): the arm (named by ``names`` where given, e.g. :func:`short_names`), the options beyond
    the chosen recipe's that train it, its test dice on ``study_seeds``, its minutes a run timed idle, and the
    ground. Where the families disagree, this is the pick per family."""
    rows = []
    for model, by_model in runs.groupby("model", sort=False):
        base_arm = by_model["arm"].iloc[0]
        for family, every in by_model.groupby("family", sort=False):
            g = every[every["seed"].isin(study_seeds)]
            arm, ground = family_recipe(every, base_arm, study_seeds, max_seconds)
            mine = g[g["arm"] == arm]["test_dice"] if arm else pd.Series(dtype=float)
            idle = _idle_seconds(every, arm) if arm else float("nan")
            limit = f"{max_seconds / 60:.0f} min"
            rows.append({"network": label(model), "CPU family": family, "arm": (names or {}).get(arm, arm) or "—",
                         "options beyond the chosen recipe": (recipe_flags(arm, base_arm) or "none") if arm else "—",
                         "test dice": stats.mean_std(mine) if len(mine) else "—",
                         "min idle": f"{idle / 60:.1f}" if idle == idle else "—",
                         "ground": {"within": f"the chosen recipe, timed idle within {limit}",
                                    "not judged": "the chosen recipe, not timed idle (typical minutes)",
                                    "replaced": f"the chosen recipe is over {limit} timed idle here: the best arm "
                                                f"with {len(study_seeds)} seeds within it",
                                    "none": f"the chosen recipe is over {limit} timed idle here, and no arm with "
                                            f"{len(study_seeds)} seeds is within it"}[ground]})
    return pd.DataFrame(rows, columns=["network", "CPU family", "arm", "options beyond the chosen recipe",
                                       "test dice", "min idle", "ground"])


def fitting_sentence(family: str, every: pd.DataFrame, base_arm: str, max_seconds: float, study_seeds: list[int],
                     model: str = "unet", nm=str) -> str:
    """Where the chosen recipe of ``model`` (``base_arm``) is over ``max_seconds`` timed idle on ``family``
    (``every``: its runs there): the best arm of that network there with every seed of ``study_seeds`` whose runs
    timed idle fit (:func:`family_recipe`), or that none does yet. The sentence names the network: the verdicts of
    both networks stand in one list."""
    arm, _ = family_recipe(every, base_arm, study_seeds, max_seconds)
    limit, net, n_seeds = f"{max_seconds / 60:.0f} min a run", label(model), len(study_seeds)
    if arm is None:
        return (f"{family}: no {net} arm here with {n_seeds} seeds is timed idle within {limit} yet, so this family "
                f"has no {net} recipe that keeps the rule by idle timing.")
    mean = every[(every["arm"] == arm) & every["seed"].isin(study_seeds)]["test_dice"].mean()
    return (f"{family}: the best {net} arm here with {n_seeds} seeds timed idle within {limit}: {nm(arm)}, "
            f"{mean:.4f} ({_idle_seconds(every, arm) / 60:.1f} min): this family's {net} recipe by idle timing.")


FILE = "recipe_candidates.csv"  # notebook 10 writes :func:`chosen_runs` here; the report reads it back


def read_runs(results) -> pd.DataFrame | None:
    """The runs notebook 10 wrote (:data:`FILE`), or None before it did."""
    path = Path(results) / FILE
    return pd.read_csv(path) if path.is_file() else None


def arm_names(runs: pd.DataFrame | None) -> list[str]:
    """The study arms the rows of ``runs`` are runs of (their labels without the network and the epochs): what a
    glossary of them names."""
    if runs is None:
        return []
    return list(dict.fromkeys(re.sub(r", \d+ epochs$", "", a.removeprefix("ResNet34-UNet: ")) for a in runs["arm"]))
