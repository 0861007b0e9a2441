"""Notebook 10's ResNet34-UNet tables (labseg.resnet_recipe_study), from runs written by hand (nothing is trained)
and checked against numbers computed here; and the committed tables of both CPU families, made again."""
import json

import numpy as np
import pandas as pd
import pytest

from fake_runs import REPO, committed_study, cpu_study, write_run
from labseg import recipe_choice, resnet_recipe_study, study, study_arms
from labseg.resnet_recipe_study import ResnetArms

RECIPE = "08 recipe + rotate + mild-affine"
FIRST, ROTATE = "08 recipe, 50 epochs", "08 recipe + rotate, 50 epochs"
R50, R60, R70 = (f"{RECIPE}, {n} epochs" for n in (50, 60, 70))
LR, SWA, SWA3 = (f"{RECIPE} + {x}" for x in ("lr-2e-3, 60 epochs", "swa, 75 epochs", "swa at 0.3x, 75 epochs"))
WD_SWA = f"{RECIPE} + adamw-wd-0.05 + swa, 75 epochs"


@pytest.fixture(autouse=True)
def _read_back_only(monkeypatch):
    monkeypatch.setenv(study.RETRAIN_ENV, "none")


def dice_of(label: str, seed: int) -> float:
    return 0.82 + 0.003 * [FIRST, ROTATE, R50, R60, R70, LR, SWA, SWA3, WD_SWA].index(label) + 0.002 * seed


def write_arm(S, R: ResnetArms, label: str, seeds=(0, 1, 2), last_step: float = 0.001) -> None:
    for s in seeds:
        d = dice_of(label, s)
        write_run(S, s, d, tta=d + 0.005, last=d + last_step * (s + 1), last_tta=d + 0.007, model="resnet34_unet",
                  epochs=R.labels[label][1], **R.settings(label))


def test_the_arms_are_the_study_files_at_their_budgets_on_06_08s_recipe(tmp_path):
    S = cpu_study(tmp_path)
    R = ResnetArms.of(S)
    assert R.base == recipe_choice.factor_recipe(S.results)[0] and R.profile_epochs == 25
    assert R.labels == {f"{arm}, {round(k * 25)} epochs": (arm, round(k * 25)) for arm in study_arms.RESNET_RECIPE_ARMS
                        for k in study_arms.RESNET_RECIPE_BUDGETS.get(arm, (2,))}
    assert list(R.labels)[0] == FIRST and R.first == "08 recipe" and R.label(RECIPE, 2.4) == R60
    assert R.settings(SWA) == study_arms.resnet_recipe_settings(f"{RECIPE} + swa", R.base, 75)
    assert dict(R.changes(R60)) == {"augment": "rotate", "affine_p": 0.5, "affine_shift": 0.05}
    assert R.run_name(S, SWA, 1) == study.name(S, model="resnet34_unet", epochs=75, seed=1, **R.settings(SWA))


@pytest.mark.parametrize("label, baseline", [
    (ROTATE, FIRST), (R50, FIRST),  # at 2x: the recipe of 06-08
    (R60, R50), (R70, R60),  # the same arm at its next shorter budget
    (LR, R60),  # one change on the recipe at the same budget
    (SWA, R60),  # an averaging arm: the arm whose schedule it shares (its epochs less the averaging phase)
    (SWA3, SWA), (WD_SWA, SWA),  # the arm at the same budget it differs from the least
])
def test_what_each_arm_is_compared_with(tmp_path, label, baseline):
    assert ResnetArms.of(cpu_study(tmp_path)).baseline(label) == baseline


@pytest.fixture
def resnet(tmp_path):
    S = cpu_study(tmp_path)
    R = ResnetArms.of(S)
    for label in (FIRST, ROTATE, R50, R60, R70):
        write_arm(S, R, label)
    write_arm(S, R, LR, seeds=(0,))
    return S, R, R.runs(False, S)


def test_the_runs_table_and_verdicts_of_this_family(resnet):
    S, R, runs = resnet
    assert sorted(set(runs["arm"])) == sorted([FIRST, ROTATE, R50, R60, R70, LR]) and len(runs) == 16
    assert (runs["model"] == "resnet34_unet").all()
    assert runs.loc[runs["arm"] == FIRST, "last_test_dice"].isna().all()  # 08's runs: their last epoch was not kept
    assert runs.loc[runs["arm"] == R60, "last_test_dice"].notna().all()
    table = R.table(runs)
    assert list(table.index) == [FIRST, ROTATE, R50, R60, R70, LR] and R.table(runs.iloc[:0]) is None
    assert table.loc[R70, "test_dice_mean"] == pytest.approx(np.mean([dice_of(R70, s) for s in range(3)]))
    lines = R.verdicts(runs)
    assert [line.split(":")[0] for line in lines] == (
        [f"arm = {a}" for a in (ROTATE, R50)] + [p for a in (R60, R70, LR) for p in ("best-by-val", "last epoch")])
    assert f"for {FIRST} (3 and 3 seeds)" in lines[0] and f"{R60}: " in lines[2] and f"for {R50} (3 and 3" in lines[2]
    assert lines[6].startswith(f"best-by-val: arm = {LR}: {dice_of(LR, 0):.4f} against") and "single seed" in lines[6]
    assert R.curve_labels(runs, 0) == [FIRST, R50, R60, R70]  # 06-08's recipe and the arm with several budgets
    assert R.curve_labels(runs[runs["seed"] > 0], 0) == []
    left = R.left_sentence(table, 3).removeprefix("ResNet34-UNet arms not yet measured with every seed: ")
    assert left == ", ".join(f"{a} ({1 if a == LR else 0} of 3)" for a in R.labels if a not in table.index or a == LR)
    assert R.left_sentence(None, 3).count("(0 of 3)") == len(R.labels)


def test_the_other_familys_table_verdicts_and_seed_by_seed_differences(resnet, tmp_path):
    S, R, runs = resnet
    here = R.table(runs)
    (tmp_path / "other").mkdir()
    S2 = study.other_study(str(tmp_path / "other"), S)
    for label in (R60, SWA, SWA3):
        write_arm(S2, R, label, last_step=0.002 if label == SWA3 else 0.001)
    other = R.runs(False, S2)
    table = R.other_table(other, here)
    assert list(table.index) == [R60, SWA, SWA3]
    cols = list(table.columns)
    for column in ("test_dice", "last_test_dice"):  # this family's mean beside the other family's mean and std
        assert cols[cols.index(f"{column}_mean") + 2] == f"{column}_this_family"
    assert table.loc[R60, "test_dice_this_family"] == here.loc[R60, "test_dice_mean"]
    assert np.isnan(table.loc[SWA, "last_test_dice_this_family"])
    assert R.other_table(None, here) is None and R.other_table(other.iloc[:0], here) is None
    assert R.other_table(other, None)["test_dice_this_family"].isna().all()
    lines = R.other_verdicts(other, R60)
    assert [line.split(" = ")[0] for line in lines] == ["- last epoch: arm"] * 2 + ["- best-by-val: arm"] * 2 + [
        "- one change, last epoch: arm"]
    by_seed = [dice_of(SWA3, s) + 0.002 * (s + 1) - dice_of(SWA, s) - 0.001 * (s + 1) for s in range(3)]
    assert lines[-1].startswith(f"- one change, last epoch: arm = {SWA3}: ")
    assert f" for {SWA} (3 and 3 seeds)" in lines[-1]
    assert lines[-1].endswith("Seed by seed: " + ", ".join(f"{d:+.4f}" for d in by_seed) + ".")
    head = R.other_lines(S, S2, other, R60)
    assert head[0].startswith("this study: device: cpu (bf16 autocast: True)")
    assert head[1].startswith(f"other_cpu ({S2.results}): device: ") and head[2:] == lines
    assert R.other_lines(S, None, None, R60) == ["other_cpu is None: no runs of the other CPU family to show"]
    assert R.other_lines(S, S2, other.iloc[:0], R60)[2:] == [
        f"no ResNet34-UNet run of this section has finished in {S2.results}"]
    holder, shown, start = R.averaging([S, S2], 0)  # this study has no averaging run: the other one holds them
    assert holder is S2 and shown == [R60, SWA, SWA3] and start == 75 - 15
    assert R.averaging([S, None], 0) == (None, [], None)
    assert resnet_recipe_study.short_labels(shown, RECIPE) == ["recipe, 60 epochs", "+ swa, 75 epochs",
                                                               "+ swa at 0.3x, 75 epochs"]


def test_the_committed_resnet_tables_of_both_families_are_made_again(tmp_path):
    """recipe_resnet34_unet.csv and recipe_resnet34_unet_other_cpu.csv from the committed runs; the seed-by-seed
    differences of the other family's one-change lines from the runs' own last-epoch files."""
    S, S2 = committed_study(tmp_path), committed_study(tmp_path, "amd-epyc")
    folder = REPO / "results" / "oxford-pet-subset-cpu"
    R = ResnetArms.of(S)
    here = R.table(R.runs(False, S))
    pd.testing.assert_frame_equal(here, pd.read_csv(folder / "recipe_resnet34_unet.csv", index_col=0),
                                  check_names=False, check_dtype=False)
    other = R.runs(False, S2)
    pd.testing.assert_frame_equal(R.other_table(other, here),
                                  pd.read_csv(folder / "recipe_resnet34_unet_other_cpu.csv", index_col=0),
                                  check_names=False, check_dtype=False)
    line = next(x for x in R.other_verdicts(other, R60) if x.startswith(f"- one change, last epoch: arm = {SWA3}"))

    def last(label, seed):
        run = S2.run_dir(R.run_name(S2, label, seed))
        return json.loads((run / "metrics_last.json").read_text())["last_test_dice"] if run.is_dir() else None

    diffs = [last(SWA3, s) - last(SWA, s) for s in range(3) if last(SWA3, s) is not None]
    assert diffs and line.endswith("Seed by seed: " + ", ".join(f"{d:+.4f}" for d in diffs) + ".")
    holder, shown, start = R.averaging([S, S2], 0)
    assert holder.results == S2.results and shown[0] == R60 and start == 60
