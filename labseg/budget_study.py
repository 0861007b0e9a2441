"""Notebook 08's runs and tables: the optimiser and schedule arms at the profile's budget (labseg/studies/budget.toml),
the recipe 06-08 support trained at longer budgets (each model, plain and with flip TTA), and augmentation asked
again at a longer budget. The arms come from the study file; nothing here names one."""
from __future__ import annotations

import pandas as pd

from . import recipe_choice, results, stats, study, study_arms


def schedule_runs(st: study.Study, model: str = "unet") -> pd.DataFrame:
    """Train (or read back) every schedule arm for every seed, on the profile's own augmentation and loss (the
    schedule alone varies); their rows of load_runs with an 'arm' column."""
    base = study.profile_recipe(st)
    done = [{"arm": arm, **study.run(st, model=model, seed=s, need_checkpoint=False, **{**base, **opts})}
            for arm, opts in study_arms.SCHEDULE_ARMS.items() for s in study.seeds(st)]
    return results.load_runs(st.results).merge(pd.DataFrame(done)[["run", "arm"]], on="run")


def schedule_run_names(st: study.Study, model: str = "unet") -> list[str]:
    """The run names of the schedule arms with the study's seed, in the study file's order (their learning curves)."""
    base = study.profile_recipe(st)
    return [study.name(st, model=model, **{**base, **opts}) for opts in study_arms.SCHEDULE_ARMS.values()]


def against(runs: pd.DataFrame, by: str, baselines: dict) -> list[str]:
    """stats.compare_to_baseline for each baseline -> the arms compared with it, in that order."""
    return [sentence for baseline, arms in baselines.items()
            for sentence in stats.compare_to_baseline(runs, by, baseline, arms)]


def budget_recipe(st: study.Study, **given) -> tuple[dict, list[str]]:
    """The settings the one-factor studies 06-08 support (recipe_choice.factor_recipe) and why, with the settings
    ``given`` (the notebook's parameters: None where not set) on top: the parameters cell has the last word."""
    recipe, why = recipe_choice.factor_recipe(st.results)
    recipe.update({k: v for k, v in given.items() if v is not None})
    return recipe, why


def budget_runs(st: study.Study, recipe: dict, models: list[str], budgets: list[int]) -> pd.DataFrame:
    """Train (or read back) ``recipe`` for each model, budget (epochs) and seed, and score each run's best checkpoint
    with flip TTA; their rows of load_runs with ``tta_test_dice``."""
    done = [{**study.run(st, model=m, epochs=e, seed=s, need_checkpoint=False, **recipe),
             **study.tta_run(st, model=m, epochs=e, seed=s, **recipe)}
            for m in models for e in budgets for s in study.seeds(st)]
    return results.load_runs(st.results).merge(pd.DataFrame(done)[["run", "tta_test_dice"]], on="run")


def budget_verdicts(runs: pd.DataFrame, models: list[str], baseline: int, budgets: list[int]) -> list[str]:
    """Per model, each budget against ``baseline`` epochs: '<model>: <sentence>'."""
    return [f"{m}: {sentence}" for m in models
            for sentence in stats.compare_to_baseline(runs[runs["model"] == m], "epochs", baseline, budgets)]


def by_budget(runs: pd.DataFrame) -> pd.DataFrame:
    """The budget runs ordered by model and epochs, with an 'arm' column '<model>, <n> epochs'."""
    arms = runs.sort_values(["model", "epochs"])
    return arms.assign(arm=arms["model"] + ", " + arms["epochs"].astype(str) + " epochs")


def augment_runs(st: study.Study, recipe: dict, arms: list[str], epochs: int, model: str = "unet") -> pd.DataFrame:
    """Train (or read back) ``recipe`` with each augmentation of ``arms`` at ``epochs`` for every seed, scored
    plainly and with flip TTA; their rows of load_runs with 'arm' and ``tta_test_dice``."""
    done = []
    for a in arms:
        for s in study.seeds(st):
            opts = dict(model=model, epochs=epochs, seed=s, **{**recipe, "augment": a})
            done.append({"arm": a, **study.run(st, need_checkpoint=False, **opts), **study.tta_run(st, **opts)})
    return results.load_runs(st.results).merge(pd.DataFrame(done)[["run", "arm", "tta_test_dice"]], on="run")
