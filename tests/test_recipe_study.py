"""Notebook 10's UNet tables (labseg.recipe_study), from runs written by hand (nothing is trained) and checked
against numbers computed here; and the committed recipe tables, made again from the committed runs."""
import numpy as np
import pandas as pd
import pytest

from fake_runs import REPO, committed_study, cpu_study, write_run
from labseg import recipe_study, stats, study, study_arms

ARMS = ["strong", "fp32", "crop-2x", "mild-affine", "crop-2x + mild-affine", "crop-2x + mild-affine + wd-0.05"]
SECONDS = {s: (10.0 + s,) * 9 + (40.0,) for s in range(3)}  # history: the 10th-percentile epoch is 10 + seed s


@pytest.fixture(autouse=True)
def _read_back_only(monkeypatch):
    monkeypatch.setenv(study.RETRAIN_ENV, "none")  # nothing is trained, whatever train_missing says


def dice_of(arm: str, seed: int, epochs: int = 100) -> float:
    return 0.80 + 0.01 * ARMS.index(arm) + 0.002 * seed + (0.0 if epochs == 100 else 0.0005 * (epochs - 100))


def write_arm(S, arm: str, epochs: int = 100, seeds=(0, 1, 2)) -> None:
    for s in seeds:
        d = dice_of(arm, s, epochs)
        write_run(S, s, d, seconds=SECONDS[s], tta=d + 0.004, last=d + 0.001 * (s + 1), last_tta=d + 0.006,
                  best_epoch=90 + s, model="unet", epochs=epochs,
                  **{**study_arms.STRONG_RECIPE, **study_arms.RECIPE_ARMS[arm]})


@pytest.fixture
def unet(tmp_path):
    """A study whose arms of ARMS have 3 seeds at 100 epochs, fp32 only 2; their runs and table."""
    S = cpu_study(tmp_path)
    for arm in ARMS:
        write_arm(S, arm, seeds=(0, 1) if arm == "fp32" else (0, 1, 2))
    arms = {a: study_arms.RECIPE_ARMS[a] for a in ARMS}
    runs = recipe_study.arm_runs(False, S, arms, 100)
    return S, arms, runs, recipe_study.recipe_table(runs, ARMS)


def test_the_baseline_is_the_study_files_first_arm():
    assert recipe_study.BASELINE == "strong" == next(iter(study_arms.RECIPE_ARMS))


def test_arm_runs_read_back_each_finished_seed_with_its_scores(unet):
    S, arms, runs, _ = unet
    assert len(runs) == 3 * len(ARMS) - 1 and (runs["epochs"] == 100).all()
    for _, row in runs.iterrows():
        d = dice_of(row["arm"], row["seed"])
        assert row["test_dice"] == pytest.approx(d) and row["tta_test_dice"] == pytest.approx(d + 0.004)
        assert row["last_test_dice"] == pytest.approx(d + 0.001 * (row["seed"] + 1))
        assert row["last_tta_test_dice"] == pytest.approx(d + 0.006)
        assert row["train_s_typical"] == pytest.approx(np.quantile(SECONDS[row["seed"]], 0.1) * 10)
        assert all(row[k] == v for k, v in {**study_arms.STRONG_RECIPE, **arms[row["arm"]]}.items())
    plain = recipe_study.arm_runs(False, S, {"strong": {}}, 100, last=False)  # another notebook's: no last epoch
    assert plain["last_test_dice"].isna().all() and plain["tta_test_dice"].notna().all()
    assert recipe_study.arm_runs(True, S, {"x": {"lr": 0.5}}, 100).empty  # RETRAIN=none: nothing is trained
    with pytest.raises(ValueError, match="train_missing = 'no': True"):
        recipe_study.arm_runs("no", S, arms, 100)


@pytest.mark.parametrize("size", [48, 128])
def test_an_arms_share_of_the_image_size_is_taken_of_the_studys_own(tmp_path, size):
    """The progressive-resizing arm gives its early size as 0.75 of the image size: 96 px in a 128-px study, 36 px
    in a 48-px one (the smoke profile's), each a valid run read back under that size's name."""
    S = cpu_study(tmp_path, image_size=size)
    arm = "crop-2x + mild-affine + low-res-96"
    assert study_arms.RECIPE_ARMS[arm]["low_res_scale"] == 0.75 and "low_res" not in study_arms.RECIPE_ARMS[arm]
    settings = study_arms.recipe_settings(arm, 100, size)
    assert settings["low_res"] == {48: 36, 128: 96}[size] and "low_res_scale" not in settings
    S.cfg.replace(**settings).validate()
    for s in (0, 1, 2):
        write_run(S, s, 0.85, seconds=SECONDS[s], tta=0.86, last=0.851, last_tta=0.861, best_epoch=90, model="unet",
                  **settings)
    runs = recipe_study.arm_runs(False, S, {arm: study_arms.RECIPE_ARMS[arm]}, 100)
    assert len(runs) == 3 and (runs["low_res"] == settings["low_res"]).all()
    assert recipe_study.run_names(S, [arm], 100) == list(runs.loc[runs["seed"] == 0, "run"])


def test_the_recipe_table_against_numpy(unet):
    _, _, runs, table = unet
    assert list(table.index) == ARMS and table.loc["fp32", "seeds"] == 2
    cols = list(table.columns)
    assert cols[cols.index("test_iou_mean") - 4:cols.index("test_iou_mean")] == [
        "last_test_dice_mean", "last_test_dice_std", "last_tta_test_dice_mean", "last_tta_test_dice_std"]
    assert cols[cols.index("train_s_per_run") + 1] == "train_s_typical"
    last = np.array([dice_of("mild-affine", s) + 0.001 * (s + 1) for s in range(3)])
    assert table.loc["mild-affine", "last_test_dice_mean"] == pytest.approx(last.mean())
    assert table.loc["mild-affine", "last_test_dice_std"] == pytest.approx(last.std(ddof=1))
    assert table.loc["strong", "train_s_typical"] == pytest.approx(np.mean([(10 + s) * 10 for s in range(3)]))
    done = recipe_study.seeds_done(table, [*ARMS, "wd-0"])
    assert done == {**{a: 3 for a in ARMS}, "fp32": 2, "wd-0": 0}
    assert recipe_study.unfinished(done, 3) == "fp32 (2 of 3 seeds done), wd-0 (0 of 3 seeds done)"
    assert recipe_study.unfinished({"a": 3}, 3) == ""


def test_each_arm_against_the_baseline_and_a_combination_on_a_combination_against_it(unet):
    _, _, runs, _ = unet
    sentences = recipe_study.verdicts(runs)
    assert sentences[:len(ARMS) - 1] == stats.compare_to_baseline(runs, "arm", "strong", ARMS)
    assert all(" for strong (" in s for s in sentences[:len(ARMS) - 1])
    # the only combination here built on another combination is compared with that one too
    assert sentences[len(ARMS) - 1:] == stats.compare_to_baseline(runs, "arm", "crop-2x + mild-affine",
                                                                  ["crop-2x + mild-affine + wd-0.05"])


def test_the_baselines_last_epoch_against_its_best_epoch(unet):
    _, _, runs, _ = unet
    best = np.array([dice_of("strong", s) for s in range(3)])
    last = best + np.array([0.001, 0.002, 0.003])
    diff = last - best
    assert recipe_study.last_epoch_sentence(runs, 100) == (
        f"strong, best epoch by val dice: {best.mean():.4f} ± {best.std(ddof=1):.4f} (best epochs 90, 91, 92); "
        f"last epoch (100): {last.mean():.4f} ± {last.std(ddof=1):.4f}; {diff.mean():+.4f}, more than the spread "
        f"of the per-seed differences ({diff.std(ddof=1):.4f}).")
    one = runs[(runs["arm"] == "strong") & (runs["seed"] == 0)]
    assert f"{best[0]:.4f} (1 seed) (best epochs 90)" in recipe_study.last_epoch_sentence(one, 100)


def test_the_budget_arms_reuse_the_study_budget_and_compare_with_the_shortest(unet):
    S, _, runs, _ = unet
    every = recipe_study.budget_labels(study_arms.RECIPE_ARMS, 25)
    assert every == {f"{arm}, {round(k * 25)} epochs": (arm, round(k * 25))
                     for arm, ks in study_arms.RECIPE_BUDGETS.items() for k in ks}
    assert every["crop-2x + mild-affine, 140 epochs"] == ("crop-2x + mild-affine", 140)  # 5.6x: whole epochs
    labels = recipe_study.budget_labels({a: study_arms.RECIPE_ARMS[a] for a in ARMS}, 25)
    pair = "crop-2x + mild-affine"
    assert labels == {"strong, 50 epochs": ("strong", 50), "strong, 100 epochs": ("strong", 100),
                      "strong, 150 epochs": ("strong", 150), f"{pair}, 100 epochs": (pair, 100),
                      f"{pair}, 140 epochs": (pair, 140), f"{pair}, 150 epochs": (pair, 150)}
    write_arm(S, "strong", epochs=50)
    write_arm(S, pair, epochs=150, seeds=(0, 1))  # strong at 150: not made
    budget = recipe_study.budget_runs(False, S, runs, labels, 100)
    table = recipe_study.budget_table(budget, labels)
    assert list(table.index) == ["strong, 50 epochs", "strong, 100 epochs", "crop-2x + mild-affine, 100 epochs",
                                 "crop-2x + mild-affine, 150 epochs"]
    assert list(table["seeds"]) == [3, 3, 3, 2]
    at100 = runs[runs["arm"] == "strong"]["test_dice"]
    assert table.loc["strong, 100 epochs", "test_dice_mean"] == pytest.approx(at100.mean())  # the study's own runs
    assert table.loc["strong, 50 epochs", "test_dice_mean"] == pytest.approx(at100.mean() - 0.025)
    sentences = recipe_study.budget_verdicts(budget, labels)
    assert [s.split(":")[0] for s in sentences] == ["arm = strong, 100 epochs", f"arm = {pair}, 150 epochs"]
    assert "against" in sentences[0] and "for strong, 50 epochs (3 and 3 seeds), +0.0250" in sentences[0]
    longer = recipe_study.other_budgets(budget, labels, 100)
    assert sorted(set(longer["arm"])) == ["crop-2x + mild-affine, 150 epochs", "strong, 50 epochs"]
    assert recipe_study.seed_arms(runs, ["crop-2x", "wd-0", "strong"], 2) == ["crop-2x", "strong"]
    assert recipe_study.run_names(S, ["strong"], 100) == [study.name(S, model="unet", epochs=100,
                                                                     **study_arms.STRONG_RECIPE)]


def test_the_last_epoch_against_the_best_epoch_across_every_arm(unet):
    _, _, runs, _ = unet
    resnet = runs[runs["arm"] == "strong"].assign(last_test_dice=runs["test_dice"] - 0.01)
    every = recipe_study.every_arm(runs, runs.iloc[:0], resnet)
    assert "ResNet34-UNet: strong" in set(every["arm"])
    table = recipe_study.last_vs_best(every)
    assert list(table.index) == list(dict.fromkeys(every["arm"]))
    d = np.array([0.001, 0.002, 0.003])  # last - best per seed: beyond its spread (0.001)
    assert table.loc["mild-affine", "last - best"] == pytest.approx(d.mean())
    assert table.loc["mild-affine", "beyond the spread"] and table.loc["fp32", "beyond the spread"]
    assert table.loc["ResNet34-UNet: strong", "last - best"] == pytest.approx(-0.01)
    assert table.loc["ResNet34-UNet: strong", "beyond the spread"]  # the same difference on each seed: no spread
    one = every[(every["arm"] == "wd-0.05") | ((every["arm"] == "strong") & (every["seed"] == 0))]
    assert not recipe_study.last_vs_best(one).loc["strong", "beyond the spread"]  # one seed claims nothing
    sentence = recipe_study.last_vs_best_sentence(table)
    assert sentence.startswith(f"the last epoch scores higher than the best-by-val checkpoint in {len(ARMS)} of "
                               f"{len(ARMS) + 1} arms (mean difference {table['last - best'].mean():+.4f})")
    assert "mild-affine (+0.0020)" in sentence and sentence.endswith("ResNet34-UNet: strong (-0.0100)")


def test_what_is_left_names_unfinished_arms_leading_factors_and_interactions():
    table = pd.DataFrame({"seeds": [3, 3, 3, 3, 3, 2], "test_dice_mean": [0.85, 0.852, 0.855, 0.84, 0.87, 0.86],
                          "test_dice_std": [0.003, 0.004, 0.002, 0.005, 0.002, 0.001]},
                         index=["strong", "crop-2x", "mild-affine", "wd-0", "crop-2x + mild-affine",
                                "crop-2x + mild-affine + floor-0.05"])
    done = {a: int(n) for a, n in table["seeds"].items()}
    lines = recipe_study.left_sentences(table, done, 3)
    left = [a for a in study_arms.RECIPE_ARMS if done.get(a, 0) < 3]
    assert lines[0] == "UNet arms not yet measured with every seed, in the order they would run: " + ", ".join(left)
    assert lines[1] == ("single factors ahead of strong (the verdicts above say which exceed the seed spread): "
                        "crop-2x (+0.0020), mild-affine (+0.0050)")
    assert lines[2] == "the single factors ahead of strong together: run as crop-2x + mild-affine (below)"
    # the pair's excess over the sum of its parts' gains, 0.020 - 0.007, against the largest spread of the three arms
    assert lines[3] == ("crop-2x + mild-affine (3 seeds): +0.0200 against strong; its parts: crop-2x +0.0020, "
                        "mild-affine +0.0050; the sum of their gains is +0.0070, the combination +0.0130 from it: the "
                        "factors interact (beyond the seed spread 0.0040)")
    assert lines[4] == ("crop-2x + mild-affine + floor-0.05 (2 seeds): +0.0100 against strong; its parts: "
                        "crop-2x + mild-affine +0.0200 (floor-0.05 not measured alone)")
    assert recipe_study.singles("crop-2x + mild-affine + wd-0.05") == {"crop-2x", "mild-affine", "wd-0.05"}
    assert recipe_study.left_sentences(table.drop(index="strong"), done, 3) == lines[:1]


def test_the_committed_recipe_tables_are_made_again_from_the_committed_runs(tmp_path):
    """The UNet tables notebook 10 published (recipe_study.csv, recipe_budget.csv), from the committed runs."""
    S = committed_study(tmp_path)
    folder = REPO / "results" / "oxford-pet-subset-cpu"
    runs = recipe_study.arm_runs(False, S, study_arms.RECIPE_ARMS, 100)
    table = recipe_study.recipe_table(runs, list(study_arms.RECIPE_ARMS))
    pd.testing.assert_frame_equal(table, pd.read_csv(folder / "recipe_study.csv", index_col=0), check_names=False,
                                  check_dtype=False)
    labels = recipe_study.budget_labels(study_arms.RECIPE_ARMS, 25)
    budget = recipe_study.budget_runs(False, S, runs, labels, 100)
    pd.testing.assert_frame_equal(recipe_study.budget_table(budget, labels),
                                  pd.read_csv(folder / "recipe_budget.csv", index_col=0), check_names=False,
                                  check_dtype=False)
