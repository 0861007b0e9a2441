"""Notebook 10's check of the chosen recipes (labseg.recipe_check): on fresh seeds and on the other CPU family,
from runs written by hand (nothing is trained) and checked against numbers computed here; and the committed
fresh-seed table, made again from the committed runs."""
import json

import numpy as np
import pandas as pd
import pytest

from fake_runs import REPO, committed_study, cpu_study, write_run
from labseg import recipe_check, recipe_choice, results, study, study_arms

TRAINED = {"augment": "all", "optimizer": "adamw", "weight_decay": 0.01, "schedule": "cosine", "warmup_epochs": 2.0,
           "epochs": 50}
SECONDS = (10.0,) * 9 + (40.0,)


@pytest.fixture(autouse=True)
def _read_back_only(monkeypatch):
    monkeypatch.setenv(study.RETRAIN_ENV, "none")


def dice_of(seed: int) -> float:
    return 0.86 + 0.003 * seed


def write_seeds(S, seeds, model="unet") -> None:
    for s in seeds:
        write_run(S, s, dice_of(s), seconds=SECONDS, tta=dice_of(s) + 0.01, last=dice_of(s) + 0.002,
                  last_tta=dice_of(s) + 0.012, model=model, **TRAINED)


def choice_of(**names) -> pd.DataFrame:
    """A recipe choice table (recipe_choice.recipe_choice_table's index and 'chosen' column) naming one recipe a
    model."""
    index = pd.MultiIndex.from_tuples([(m, n) for m, n in names.items()], names=["model", "recipe"])
    return pd.DataFrame({"chosen": ["chosen"] * len(names)}, index=index)


def test_fresh_seed_rows_score_each_run_as_the_recipe_says(tmp_path):
    S = cpu_study(tmp_path)
    write_seeds(S, [0, 1, 2, 3, 4])  # fresh seed 5 not finished
    rows = recipe_check.fresh_seed_rows(False, S, S, "unet", {**TRAINED, "select": "last"}, "10 budget: x")
    assert [(r["group"], r["seed"]) for r in rows] == [("chosen on", 0), ("chosen on", 1), ("chosen on", 2),
                                                       ("fresh", 3), ("fresh", 4)]
    assert all(r["model"] == "unet" and r["recipe"] == "10 budget: x" and r["select"] == "last" for r in rows)
    assert [r["test_dice"] for r in rows] == pytest.approx([dice_of(s) + 0.002 for s in range(5)])  # last epoch
    assert [r["tta_test_dice"] for r in rows] == pytest.approx([dice_of(s) + 0.012 for s in range(5)])
    best = recipe_check.fresh_seed_rows(False, S, S, "unet", TRAINED, None)
    assert [r["test_dice"] for r in best] == pytest.approx([dice_of(s) for s in range(5)])  # best-by-val
    assert [r["tta_test_dice"] for r in best] == pytest.approx([dice_of(s) + 0.01 for s in range(5)])


def test_a_recipe_measured_on_the_other_family_is_never_trained_there(tmp_path, monkeypatch):
    S = cpu_study(tmp_path)
    (tmp_path / "other").mkdir()
    S2 = study.other_study(str(tmp_path / "other"), S)
    write_seeds(S2, [0, 1, 2])
    monkeypatch.setenv(study.RETRAIN_ENV, "missing")  # train_missing=True would train this study's missing runs...
    rows = recipe_check.fresh_seed_rows(True, S, S2, "unet", TRAINED, None)  # ...but not the other family's
    assert [r["seed"] for r in rows] == [0, 1, 2] and not (S2.results / "runs" / ".work").exists()
    assert len(list((S2.results / "runs").iterdir())) == 3


def test_the_fresh_seed_sentence_against_numpy_and_the_target(tmp_path):
    S = cpu_study(tmp_path)
    write_seeds(S, [0, 1, 2, 3, 4])
    rows = recipe_check.fresh_seed_rows(False, S, S, "unet", {**TRAINED, "select": "last"}, "r")
    chosen_on, fresh = np.array([dice_of(s) + 0.002 for s in (0, 1, 2)]), np.array([dice_of(s) + 0.002 for s in (3, 4)])
    every = np.concatenate([chosen_on, fresh])
    sentence = recipe_check.fresh_seed_sentence(S, S, "unet", "last", rows, 0.87)
    assert sentence == (
        f"unet (last epoch): seeds [0, 1, 2], on which it was chosen: {chosen_on.mean():.4f} ± "
        f"{chosen_on.std(ddof=1):.4f}; fresh seeds [3, 4]: {fresh.mean():.4f} ± {fresh.std(ddof=1):.4f}, "
        f"{fresh.mean() - chosen_on.mean():+.4f}, more than the spread across seeds ({chosen_on.std(ddof=1):.4f}); "
        f"all 5: {every.mean():.4f} ± {every.std(ddof=1):.4f}; target 0.87 on the fresh seeds: reached; "
        f"target 0.87 on all 5: not reached ({every.mean() - 0.87:+.4f}).")
    assert recipe_check.fresh_seed_sentence(S, S, "unet", "best", rows, None).startswith("unet (best epoch by val): ")
    assert recipe_check.fresh_seed_sentence(S, S, "unet", "last", rows[:3], None) == (
        "unet: no run of the fresh seeds [3, 4, 5] has finished yet")
    (tmp_path / "o").mkdir()
    S2 = study.other_study(str(tmp_path / "o"), S)
    elsewhere = recipe_check.fresh_seed_sentence(S, S2, "unet", "last", rows, None)
    assert f"(last epoch, runs of {S2.results}): " in elsewhere


def test_the_fresh_seed_check_of_every_model(tmp_path):
    S = cpu_study(tmp_path)
    write_seeds(S, [0, 1, 2, 3])
    choice = choice_of(unet="10 budget: chosen")
    rows, sentences = recipe_check.fresh_seed_check(False, S, {"unet": TRAINED, "resnet34_unet": None},
                                                    {"unet": S, "resnet34_unet": S}, choice, {"unet": 0.85})
    assert len(rows) == 4 and {r["recipe"] for r in rows} == {"10 budget: chosen"}
    assert sentences[0].startswith("unet (best epoch by val): ") and sentences[0].endswith(
        "target 0.85 on the fresh seeds: reached; target 0.85 on all 4: reached.")
    assert sentences[1] == "resnet34_unet: no recipe chosen yet, so no fresh seeds"


def test_the_chosen_recipes_on_the_other_family(tmp_path):
    S = cpu_study(tmp_path)
    (tmp_path / "o").mkdir()
    S2 = study.other_study(str(tmp_path / "o"), S)
    choice = choice_of(unet="10 budget: chosen")
    recipes = {"unet": {**TRAINED, "select": "last"}, "resnet34_unet": None}
    assert recipe_check.other_family_check(None, recipes, choice, {}) == [
        "other_cpu is None: no runs of the other CPU family to show"]
    assert recipe_check.other_family_check(S2, recipes, choice, {}) == [
        f"no run of a chosen recipe has finished in {S2.results}"]
    write_seeds(S2, [0, 1])
    last = np.array([dice_of(0), dice_of(1)]) + 0.002
    typical = np.quantile(SECONDS, 0.1) * len(SECONDS)
    assert recipe_check.other_family_check(S2, recipes, choice, {"unet": 0.87}) == [
        f"- unet, 10 budget: chosen, runs of {S2.results}: seeds [0, 1], {last.mean():.4f} ± {last.std(ddof=1):.4f} "
        f"({typical / 60:.1f} min a typical run); target 0.87: not reached ({last.mean() - 0.87:+.4f})."]
    assert recipe_check.other_family_check(S2, recipes, choice, {})[0].endswith("min a typical run).")


def test_the_committed_choice_and_fresh_seed_table_are_made_again(tmp_path):
    """Each model's recipe as recipe_choice chooses it from the committed tables, where it was measured, and the
    rows of recipe_fresh_seeds.csv from the committed runs; the other family's line from its runs' own files."""
    S, S2 = committed_study(tmp_path), committed_study(tmp_path, "amd-epyc")
    choice = recipe_choice.recipe_choice_table(S.results, 25)
    recipes, measured_on, why = recipe_check.chosen(S, S2, choice, study_arms.RECIPE_TARGETS)
    for model in recipe_check.MODELS:
        row, because = recipe_choice.best_recipe_row(S.results, model, profile_epochs=25)
        assert recipes[model] == dict(row["settings"]) and why[recipe_check.MODELS.index(model)].startswith(because)
        assert measured_on[model] is (S2 if isinstance(row["family"], str) else S)
        assert ". Target " in why[recipe_check.MODELS.index(model)]
    assert all(". Target" not in w for w in recipe_check.chosen(S, S2, choice, {})[2])
    rows, _ = recipe_check.fresh_seed_check(False, S, recipes, measured_on, choice, study_arms.RECIPE_TARGETS)
    pd.testing.assert_frame_equal(pd.DataFrame(rows),
                                  pd.read_csv(REPO / "results" / "oxford-pet-subset-cpu" / "recipe_fresh_seeds.csv"))
    unet = {k: v for k, v in recipes["unet"].items() if k != "select"}
    runs = [S2.run_dir(study.name(S2, model="unet", seed=s, **unet)) for s in range(3)]
    last = np.array([json.loads((r / "metrics_last.json").read_text())["last_test_dice"] for r in runs])
    minutes = np.mean([results.typical_seconds(pd.read_csv(r / "history.csv")) for r in runs]) / 60
    line = recipe_check.other_family_check(S2, recipes, choice, study_arms.RECIPE_TARGETS)[0]
    assert recipes["unet"]["select"] == "last" and line == (
        f"- unet, {recipe_choice.chosen_recipe(choice, 'unet')}, runs of {S2.results}: seeds [0, 1, 2], "
        f"{last.mean():.4f} ± {last.std(ddof=1):.4f} ({minutes:.1f} min a typical run); target 0.87: reached.")


def test_full_size_table_pairs_each_scored_checkpoint_with_its_128_px_dice_across_the_study_folders(tmp_path):
    here = cpu_study(tmp_path)
    there = cpu_study(tmp_path, tmp_path / "results" / "amd-epyc")
    a = write_run(here, 0, 0.85, last=0.86, cpu="Intel(R) Xeon(R) Processor (AMX)", **TRAINED)
    b = write_run(there, 3, 0.84, last=0.845, cpu="AMD EPYC (AVX512-BF16)", **TRAINED)
    write_run(here, 1, 0.80, **TRAINED)  # no full-size figures: not in the table
    (here.run_dir(a) / "metrics_fullsize.json").write_text(json.dumps(
        {"fullsize_test_dice": 0.8512, "last_fullsize_test_dice": 0.8590}))
    (there.run_dir(b) / "metrics_fullsize.json").write_text(json.dumps({"last_fullsize_test_dice": 0.8461}))
    table = recipe_check.full_size_table(here.results).reset_index()
    got = {(r.cpu_family, r.seed, r.checkpoint): (r.test_dice_128px, r.fullsize_test_dice, r.difference)
           for r in table.itertuples()}
    assert got.keys() == {("Intel AMX", 0, "last epoch"), ("Intel AMX", 0, "best-by-validation"),
                          ("AMD EPYC", 3, "last epoch")}
    assert got[("Intel AMX", 0, "last epoch")] == pytest.approx((0.86, 0.8590, -0.0010))
    assert got[("Intel AMX", 0, "best-by-validation")] == pytest.approx((0.85, 0.8512, 0.0012))
    assert got[("AMD EPYC", 3, "last epoch")] == pytest.approx((0.845, 0.8461, 0.0011))
    assert recipe_check.full_size_table(cpu_study(tmp_path / "none").results).empty
