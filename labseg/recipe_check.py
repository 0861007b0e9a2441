"""Notebook 10's check of the chosen recipes: each model's recipe as recipe_choice.best_recipe_row chooses it, its
runs on the seeds it was chosen on and on fresh seeds (trained only after the choice), and its runs on the other
CPU family, each against the model's quality target."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import recipe_choice, results, stats, study

MODELS = ("unet", "resnet34_unet")


def chosen(st: study.Study, other_st: study.Study | None, choice: pd.DataFrame, targets: dict
           ) -> tuple[dict[str, dict | None], dict[str, study.Study | None], list[str]]:
    """Per model: the chosen recipe's settings (None: nothing qualifies yet), the study whose runs it comes from
    (``st``, or ``other_st`` where it was measured on the other CPU family) and why, with whether it reaches its
    target (``targets``: model -> test dice; {} where none is set, e.g. away from the real subset)."""
    recipes, measured_on, why = {}, {}, []
    for model in MODELS:
        row, because = recipe_choice.best_recipe_row(st.results, model, profile_epochs=st.cfg.epochs)
        recipes[model] = None if row is None else dict(row["settings"])
        measured_on[model] = other_st if row is not None and isinstance(row["family"], str) else st
        target = recipe_choice.recipe_target(choice, model) if model in targets else None
        why.append(because + (f". {target}" if target else ""))
    return recipes, measured_on, why


def _split(recipe: dict) -> tuple[str, dict]:
    """A recipe's ``select`` (which weights are scored) and the settings its runs train with."""
    return recipe.get("select", "best"), {k: v for k, v in recipe.items() if k != "select"}


def _reached(got: float, target: float) -> str:
    """'reached', or how far ``got`` is from ``target``."""
    return "reached" if got >= target else f"not reached ({got - target:+.4f})"


def _target_sentence(target: float, scores) -> str:
    """'; target T on WHAT: reached' (or how far it is) for each (what, scores) of ``scores``."""
    return "".join(f"; target {target:.2f} on {what}: {_reached(x.mean(), target)}" for what, x in scores)


def fresh_seed_rows(train_missing: bool, st: study.Study, measured: study.Study, model: str, recipe: dict,
                    name: str | None) -> list[dict]:
    """One row per finished run of ``model``'s chosen ``recipe`` (named ``name``) in ``measured``: on the study's
    seeds ('chosen on') and on as many fresh ones after them ('fresh'), scored as the recipe says. Nothing is
    trained in another study's folder than ``st``'s."""
    select, trained = _split(recipe)
    seeds = study.seeds(st)
    rows = []
    for group, group_seeds in (("chosen on", seeds), ("fresh", [s + len(seeds) for s in seeds])):
        for s in group_seeds:
            scores = study.recipe_scores(train_missing if measured is st else False, measured, select, model=model,
                                         seed=s, **trained)
            if scores is not None:
                rows.append({"model": model, "recipe": name, "group": group, "seed": s, "select": select,
                             "test_dice": scores["test_dice"], "tta_test_dice": scores["tta_test_dice"]})
    return rows


def fresh_seed_sentence(st: study.Study, measured: study.Study, model: str, select: str, rows: list[dict],
                        target: float | None) -> str:
    """The chosen recipe on the seeds it was chosen on against the fresh seeds, and all together, with the
    target where there is one; or that no fresh run has finished yet."""
    seeds = study.seeds(st)
    fresh_seeds = [s + len(seeds) for s in seeds]
    mine = pd.DataFrame(rows)
    if mine.empty or "fresh" not in set(mine["group"]):
        return f"{model}: no run of the fresh seeds {fresh_seeds} has finished yet"
    chosen_on, fresh = (mine.loc[mine["group"] == g, "test_dice"] for g in ("chosen on", "fresh"))
    line = (f"{model} ({'last epoch' if select == 'last' else 'best epoch by val'}"
            f"{'' if measured is st else ', runs of ' + str(measured.results)}): seeds {seeds}, on which "
            f"it was chosen: {stats.mean_std(chosen_on, ' (1 seed)')}; fresh seeds {fresh_seeds[:len(fresh)]}: "
            f"{stats.mean_std(fresh, ' (1 seed)')}, {fresh.mean() - chosen_on.mean():+.4f}, "
            f"{stats.verdict(fresh, chosen_on)}; all {len(mine)}: {stats.mean_std(mine['test_dice'], ' (1 seed)')}")
    if target is not None:
        line += _target_sentence(target, (("the fresh seeds", fresh), (f"all {len(mine)}", mine["test_dice"])))
    return line + "."


def fresh_seed_check(train_missing: bool, st: study.Study, recipes: dict, measured_on: dict, choice: pd.DataFrame,
                     targets: dict) -> tuple[list[dict], list[str]]:
    """Each model's chosen recipe (:func:`chosen`) on the seeds it was chosen on and on fresh seeds: the rows of
    every run (recipe_fresh_seeds.csv) and one sentence per model."""
    rows, sentences = [], []
    for model, recipe in recipes.items():
        if recipe is None:
            sentences.append(f"{model}: no recipe chosen yet, so no fresh seeds")
            continue
        mine = fresh_seed_rows(train_missing, st, measured_on[model], model, recipe,
                               recipe_choice.chosen_recipe(choice, model))
        rows += mine
        sentences.append(fresh_seed_sentence(st, measured_on[model], model, _split(recipe)[0], mine,
                                             targets.get(model)))
    return rows, sentences


def other_family_check(other_st: study.Study | None, recipes: dict, choice: pd.DataFrame, targets: dict
                       ) -> list[str]:
    """Each model's chosen recipe as run on the other CPU family (read back only), scored as the recipe says, with
    its minutes a typical run and against its target: the lines the section prints."""
    if other_st is None:
        return ["other_cpu is None: no runs of the other CPU family to show"]
    rows = []
    for model, recipe in recipes.items():
        if recipe is None:
            continue
        select, trained = _split(recipe)
        for s in study.seeds(other_st):
            scores = study.recipe_scores(False, other_st, select, model=model, seed=s, **trained)  # read back only
            if scores is not None:
                rows.append({"model": model, "seed": s, "test_dice": scores["test_dice"],
                             "train_s_typical": results.run_typical_seconds(other_st.results, scores["run"])})
    if not rows:
        return [f"no run of a chosen recipe has finished in {other_st.results}"]
    lines = []
    for model, g in pd.DataFrame(rows).groupby("model", sort=False):
        target, got = targets.get(model), g["test_dice"].mean()
        lines.append(f"- {model}, {recipe_choice.chosen_recipe(choice, model)}, runs of {other_st.results}: seeds "
                     f"{list(g['seed'])}, {stats.mean_std(g['test_dice'], ' (1 seed)')} "
                     f"({g['train_s_typical'].mean() / 60:.1f} min a typical run)"
                     + (f"; target {target:.2f}: {_reached(got, target)}" if target is not None else "") + ".")
    return lines


def full_size_table(study_results) -> pd.DataFrame:
    """Every run of the study's results folders (:func:`results.study_folders`) whose folder keeps its test dice at
    each photo's own size (``metrics_fullsize.json``, made by ``labseg evaluate --full-size``): per run its network,
    CPU family, seed and checkpoint (last epoch or best-by-validation), test dice at 128 px and at the photo's own
    size, and the difference; empty where none does."""
    rows = []
    folders = results.study_folders(study_results).values() if Path(study_results).parent.is_dir() else []
    for folder in folders:
        for full in sorted(folder.glob("runs/*/metrics_fullsize.json")):
            run, sizes = full.parent, json.loads(full.read_text())
            cfg = json.loads((run / "config.json").read_text())
            small = {**json.loads((run / "metrics.json").read_text()),
                     **(json.loads((run / "metrics_last.json").read_text())
                        if (run / "metrics_last.json").is_file() else {})}
            for prefix, checkpoint in (("last_", "last epoch"), ("", "best-by-validation")):
                if f"{prefix}fullsize_test_dice" in sizes and f"{prefix}test_dice" in small:
                    rows.append({"model": cfg["model"], "cpu_family": results.cpu_family(results.run_cpu(run)),
                                 "seed": cfg["seed"], "checkpoint": checkpoint,
                                 "test_dice_128px": small[f"{prefix}test_dice"],
                                 "fullsize_test_dice": sizes[f"{prefix}fullsize_test_dice"]})
    table = pd.DataFrame(rows, columns=["model", "cpu_family", "seed", "checkpoint", "test_dice_128px",
                                       "fullsize_test_dice"])
    table["difference"] = table["fullsize_test_dice"] - table["test_dice_128px"]
    return table.set_index(["model", "cpu_family", "seed"])
