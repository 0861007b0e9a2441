"""Notebook 08's runs and tables (labseg.budget_study), from runs written by hand (nothing is trained) and checked
against numbers computed here; and the committed budget tables, made again from the committed runs."""
import numpy as np
import pandas as pd
import pytest

from fake_runs import REPO, committed_study, cpu_study, write_run
from labseg import budget_study, recipe_choice, stats, study, study_arms


@pytest.fixture(autouse=True)
def _read_back_only(monkeypatch):
    monkeypatch.setenv(study.RETRAIN_ENV, "none")  # a run that is not there is an error, never trained


def test_schedule_runs_are_the_profile_recipe_with_each_schedule_arm(tmp_path):
    S = cpu_study(tmp_path)
    base = study.profile_recipe(S)
    dice = {arm: [0.80 + 0.02 * i + 0.005 * s for s in range(3)] for i, arm in enumerate(study_arms.SCHEDULE_ARMS)}
    for arm, opts in study_arms.SCHEDULE_ARMS.items():
        for s in study.seeds(S):
            write_run(S, s, dice[arm][s], model="unet", **base, **opts)
    write_run(S, 0, 0.5, model="unet", augment="rotate")  # another notebook's run: not an arm here
    runs = budget_study.schedule_runs(S)
    assert len(runs) == 3 * len(study_arms.SCHEDULE_ARMS)
    for _, row in runs.iterrows():  # each run's settings are those of its arm, on the profile's augmentation and loss
        assert all(row[k] == v for k, v in {**base, **study_arms.SCHEDULE_ARMS[row["arm"]]}.items())
        assert row["test_dice"] == pytest.approx(dice[row["arm"]][row["seed"]])
    table = stats.arm_table(runs, "arm", list(study_arms.SCHEDULE_ARMS))
    first = next(iter(study_arms.SCHEDULE_ARMS))
    assert table.loc[first, "test_dice_mean"] == pytest.approx(np.mean(dice[first]))
    names = budget_study.schedule_run_names(S)
    seed0 = runs[runs["seed"] == 0].set_index("arm")["run"]  # the study's seed, in the study file's order
    assert names == [seed0[arm] for arm in study_arms.SCHEDULE_ARMS]


def test_each_arm_is_compared_with_the_baseline_it_is_given(tmp_path):
    runs = pd.DataFrame({"arm": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
                         "test_dice": [0.80, 0.81, 0.82, 0.85, 0.86, 0.87, 0.851, 0.862, 0.87]})
    sentences = budget_study.against(runs, "arm", {"a": ["b"], "b": ["c"]})
    assert sentences == [
        "arm = b: 0.8600 against 0.8100 for a (3 and 3 seeds), +0.0500, more than the spread across seeds (0.0100).",
        stats.compare_to_baseline(runs, "arm", "b", ["c"])[0]]
    assert "+0.0010" in sentences[1] and "so no ranking is claimed" in sentences[1]


def test_the_budget_recipe_is_the_studies_choice_under_the_parameters(tmp_path):
    S = cpu_study(tmp_path)
    chosen, why = recipe_choice.factor_recipe(S.results)  # no study has run here: every baseline is kept
    recipe, why_here = budget_study.budget_recipe(S, schedule="cosine", loss=None, weight_decay=0.05)
    assert recipe == {**chosen, "schedule": "cosine", "weight_decay": 0.05} and why_here == why
    assert len(why) == 3 and all("not made yet" in w for w in why)


def test_budget_runs_carry_flip_tta_and_the_verdicts_compare_each_budget_with_the_profiles(tmp_path):
    S = cpu_study(tmp_path)
    recipe = {"augment": "flip", "loss": "bce_dice"}
    models, budgets = ["unet", "resnet34_unet"], [25, 50]
    expected = {}
    for i, m in enumerate(models):
        for e in budgets:
            for s in study.seeds(S):
                dice = 0.80 + 0.01 * i + (0.03 if e == 50 else 0.0) + 0.002 * s
                name = write_run(S, s, dice, tta=dice + 0.005, model=m, epochs=e, **recipe)
                expected[name] = dice
    runs = budget_study.budget_runs(S, recipe, models, budgets)
    assert sorted(runs["run"]) == sorted(expected)
    assert np.allclose(runs["tta_test_dice"], runs["run"].map(expected) + 0.005)
    lines = budget_study.budget_verdicts(runs, models, 25, budgets)
    assert [line.split(":")[0] for line in lines] == models  # one budget against the profile's, per model
    unet50 = np.array([0.83, 0.832, 0.834])
    assert lines[0] == (f"unet: epochs = 50: {unet50.mean():.4f} against {unet50.mean() - 0.03:.4f} for 25 (3 and 3 "
                        f"seeds), +0.0300, more than the spread across seeds ({unet50.std(ddof=1):.4f}).")
    labelled = budget_study.by_budget(runs)
    assert list(dict.fromkeys(labelled["arm"])) == ["resnet34_unet, 25 epochs", "resnet34_unet, 50 epochs",
                                                    "unet, 25 epochs", "unet, 50 epochs"]
    with pytest.raises(study.MissingRunError):  # a budget not made is named, not trained
        budget_study.budget_runs(S, recipe, models, [100])


def test_augment_runs_change_the_augmentation_alone(tmp_path):
    S = cpu_study(tmp_path)
    recipe = {"augment": "flip", "loss": "bce_dice", "schedule": "onecycle"}
    for a, d in (("flip", 0.84), ("rotate", 0.85)):
        for s in study.seeds(S):
            write_run(S, s, d + 0.001 * s, tta=d + 0.01, model="unet", epochs=50, **{**recipe, "augment": a})
    runs = budget_study.augment_runs(S, recipe, ["flip", "rotate"], 50)
    assert set(runs["augment"]) == {"flip", "rotate"} and (runs["arm"] == runs["augment"]).all()
    assert (runs["schedule"] == "onecycle").all() and (runs["epochs"] == 50).all()
    table = stats.arm_table(runs, "arm", ["flip", "rotate"])
    assert table.loc["rotate", "tta_test_dice_mean"] == pytest.approx(0.86)
    assert table.loc["flip", "test_dice_mean"] == pytest.approx(0.841)


def test_the_committed_budget_tables_are_made_again_from_the_committed_runs(tmp_path):
    """The tables notebook 08 published (results/oxford-pet-subset-cpu/*.csv), from its runs, read back."""
    S = committed_study(tmp_path)
    folder = REPO / "results" / "oxford-pet-subset-cpu"
    sched = stats.arm_table(budget_study.schedule_runs(S), "arm", list(study_arms.SCHEDULE_ARMS))
    pd.testing.assert_frame_equal(sched, pd.read_csv(folder / "schedule_study.csv", index_col=0), check_names=False,
                                  check_dtype=False)
    recipe, _ = budget_study.budget_recipe(S)
    budget = stats.budget_summary(budget_study.budget_runs(S, recipe, ["unet", "resnet34_unet"], [25, 50, 100]))
    pd.testing.assert_frame_equal(budget, pd.read_csv(folder / "budget_study.csv", index_col=[0, 1]),
                                  check_dtype=False)
    arms = study.arm_names("budget", "augment_at_budget")
    aug = stats.arm_table(budget_study.augment_runs(S, recipe, arms, 50), "arm", arms)
    pd.testing.assert_frame_equal(aug, pd.read_csv(folder / "augment_at_budget.csv", index_col=0), check_names=False,
                                  check_dtype=False)
