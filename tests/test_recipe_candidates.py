"""The candidates beyond the chosen UNet recipe (labseg.recipe_candidates): which arms of the study file they are,
their runs read back per results folder (CPU family), the table and the verdicts, from hand-made runs."""
import numpy as np
import pandas as pd
import pytest

from fake_runs import cpu_study, write_run
from labseg import recipe_candidates as rc
from labseg import study, study_arms
from labseg.labels import arm_label, split_arm_label

CHOSEN = {**study_arms.STRONG_RECIPE, **study_arms.RECIPE_ARMS["crop-2x + mild-affine"], "epochs": 150,
          "select": "last"}
BASE, EMA, PASTE, CUTMIX, LOVASZ, DEEP, DEEP_EMA = (f"{arm}, 150 epochs" for arm in (
    "crop-2x + mild-affine", "crop-2x + mild-affine + ema", "crop-2x + mild-affine + copy-paste",
    "crop-2x + mild-affine + cutmix",
    "crop-2x + mild-affine + bce-lovasz", "crop-2x + mild-affine + deep-supervision",
    "crop-2x + mild-affine + deep-supervision + ema"))
WIDE = "crop-2x + mild-affine + width-24, 65 epochs"  # a candidate at its own budget: about the same minutes
LOW_RES = "crop-2x + mild-affine + low-res-96, 190 epochs"
LOW_RES_DEEP = "crop-2x + mild-affine + low-res-96 + deep-supervision, 190 epochs"  # two changes, each +0.003
LOW_RES_64_DEEP = "crop-2x + mild-affine + low-res-64 + deep-supervision, 190 epochs"
LOW_RES_SHARE = "crop-2x + mild-affine + low-res-96 + deep-supervision + low-res-share-0.9, 190 epochs"
LOW_RES_DEEP_160 = "crop-2x + mild-affine + low-res-96 + deep-supervision, 160 epochs"  # the same in 15 min idle


def test_the_candidates_are_the_study_files_arms_built_on_the_chosen_arm_at_its_budget():
    arms = rc.candidates(CHOSEN, 25)
    shorter = [f"crop-2x + mild-affine, {n} epochs" for n in (100, 140)]  # the arm's other budgets: 4x and 5.6x
    assert list(arms) == [BASE, *shorter, EMA, PASTE, CUTMIX, LOVASZ, DEEP, DEEP_EMA, WIDE, LOW_RES, LOW_RES_DEEP_160,
                          LOW_RES_DEEP, LOW_RES_64_DEEP, LOW_RES_SHARE]
    assert arms[BASE] == {k: v for k, v in CHOSEN.items() if k != "select"}
    assert arms[shorter[1]] == {**arms[BASE], "epochs": 140}
    assert arms[EMA] == {**arms[BASE], "ema_decay": 0.999} and arms[PASTE] == {**arms[BASE], "copy_paste": 0.5}
    assert arms[LOVASZ] == {**arms[BASE], "loss": "bce_lovasz"} and arms[CUTMIX] == {**arms[BASE], "cutmix": 0.5}
    assert arms[DEEP] == {**arms[BASE], "deep_supervision": 0.4}
    assert arms[DEEP_EMA] == {**arms[DEEP], "ema_decay": 0.999}  # two changes: the interaction of DEEP and EMA
    assert arms[WIDE] == {**arms[BASE], "width": 24, "epochs": 65}
    assert arms[LOW_RES] == {**arms[BASE], "low_res": 96, "low_res_share": 0.6, "epochs": 190}  # 0.75 of 128 px
    assert arms[LOW_RES_DEEP] == {**arms[LOW_RES], "deep_supervision": 0.4}
    assert arms[LOW_RES_DEEP_160] == {**arms[LOW_RES_DEEP], "epochs": 160}
    assert arms[LOW_RES_64_DEEP] == {**arms[LOW_RES_DEEP], "low_res": 64}  # 0.5 of 128 px
    assert arms[LOW_RES_SHARE] == {**arms[LOW_RES_DEEP], "low_res_share": 0.9}
    # arms built on the chosen arm at another budget (wd-0.05 and floor-0.05 train 100 epochs) are not candidates
    assert not any("wd-0.05" in a or "floor" in a for a in arms)
    assert list(rc.candidates({**CHOSEN, "epochs": 100}, 25)) == [
        "crop-2x + mild-affine, 100 epochs", *(f"crop-2x + mild-affine, {n} epochs" for n in (140, 150)),
        EMA, PASTE, CUTMIX, LOVASZ, DEEP, DEEP_EMA, WIDE, LOW_RES, LOW_RES_DEEP_160, LOW_RES_DEEP,
        LOW_RES_64_DEEP, LOW_RES_SHARE]  # at their budgets
    assert rc.chosen_arm({**CHOSEN, "lr": 5e-3}) is None and rc.candidates({**CHOSEN, "lr": 5e-3}, 25) == {}


def _runs(st, arm, settings, dice, cpu, seeds=(0, 1, 2), other=0.01, seconds=600.0, model="unet"):
    for seed, d in zip(seeds, dice):
        name = write_run(st, seed, d - 0.01, last=d, last_tta=d + 0.008, cpu=cpu, train_seconds=seconds, model=model,
                         **settings)
        history = st.results / "runs" / name / "history.csv"
        pd.read_csv(history).assign(other_cpu=other).to_csv(history, index=False)


def test_runs_table_and_verdicts_per_cpu_family(tmp_path):
    arms = rc.candidates(CHOSEN, 25)
    intel = cpu_study(tmp_path)
    amd = cpu_study(tmp_path, tmp_path / "results" / "amd-epyc")
    _runs(intel, BASE, arms[BASE], [0.870, 0.872, 0.868], "Intel(R) Xeon(R) Processor (AMX)", other=0.3,
          seconds=900.0)
    _runs(amd, BASE, arms[BASE], [0.871, 0.873, 0.872], "AMD EPYC (AVX512-BF16)")
    _runs(amd, EMA, arms[EMA], [0.872, 0.873, 0.871], "AMD EPYC (AVX512-BF16)")  # +0.0000: within the spread
    _runs(amd, PASTE, arms[PASTE], [0.881, 0.884, 0.882], "AMD EPYC (AVX512-BF16)", seconds=660.0)  # beyond it
    # a fresh seed: shown, not compared
    _runs(amd, PASTE, arms[PASTE], [0.879], "AMD EPYC (AVX512-BF16)", seeds=(3,), seconds=660.0)
    runs = rc.candidate_runs([intel, amd], arms, "last")
    # the notebook's call: each network's chosen recipe, then (the UNet's) candidates; no ResNet34-UNet chosen here
    names = {"unet": f"10 budget: {BASE}, last epoch", "resnet34_unet": None}
    both = rc.chosen_runs([intel, amd], {"unet": CHOSEN, "resnet34_unet": None}, names, 25)
    pd.testing.assert_frame_equal(both, runs)
    assert len(runs) == 13 and set(runs["family"]) == {"Intel AMX", "AMD EPYC"}
    assert runs.loc[runs["arm"] == PASTE, "tta_test_dice"].round(3).tolist() == [0.889, 0.892, 0.890, 0.887]

    table = rc.candidate_table(runs)
    assert table.loc[("AMD EPYC", PASTE), "seeds"] == "0-3"
    assert table.loc[("AMD EPYC", PASTE), "test dice"] == "0.8815 ± 0.0021"
    assert table.loc[("AMD EPYC", PASTE), "min idle"] == "11.0"
    assert table.loc[("AMD EPYC", PASTE), "min typical"] == "1.7"  # 10th percentile 10 s x 10 epochs
    assert table.loc[("AMD EPYC", EMA), "idle runs"] == "3 of 3"
    assert table.loc[("AMD EPYC", EMA), "≤ 15 min idle"] == "yes"
    assert table.loc[("Intel AMX", BASE), "idle runs"] == "0 of 3"  # others used 30 % of the cores: busy
    assert table.loc[("Intel AMX", BASE), "min idle"] == "—"
    assert table.loc[("Intel AMX", BASE), "≤ 15 min idle"] == "not judged"

    lines = rc.candidate_verdicts(runs, study.seeds(intel), {"unet": 0.88}, max_seconds=620.0)
    assert lines == [
        f"Intel AMX: {BASE}: no run timed idle yet (typical 1.7 min; measured 15.0 min a run over 3 runs: 3 with "
        "other work on the cores), so its fit to the 10-minute limit is not judged.",
        f"Intel AMX: the best of these with 3 seeds, {BASE}: 0.8700; target 0.88: not reached (-0.0100).",
        f"AMD EPYC: {BASE}: 10.0 min a run timed idle (3 runs, seed 0, 1, 2; typical 1.7 min): within the 10-minute "
        "limit.",
        f"AMD EPYC: {EMA}: 0.8720 ± 0.0010 against 0.8720 ± 0.0010 for the chosen recipe on the same seeds [0, 1, 2], "
        "+0.0000, within the spread across seeds (0.0010), so no ranking is claimed.",
        f"AMD EPYC: {PASTE}: 0.8823 ± 0.0015 against 0.8720 ± 0.0010 for the chosen recipe on the same seeds "
        "[0, 1, 2], +0.0103, more than the spread across seeds (0.0015).",
        f"AMD EPYC: the best of these with 3 seeds, {PASTE}: 0.8823; target 0.88: reached."]
    assert rc.candidate_table(runs, max_seconds=620.0).loc[("AMD EPYC", PASTE), "≤ 10 min idle"] == "no"
    assert rc.candidate_verdicts(runs, study.seeds(intel), max_seconds=590.0)[1] == (
        f"AMD EPYC: {BASE}: 10.0 min a run timed idle (3 runs, seed 0, 1, 2; typical 1.7 min): over the 10-minute "
        "limit, so on AMD EPYC it does not qualify as a recipe of at most 10 minutes a run (the choice holds by "
        "typical minutes only).")
    over = rc.candidate_verdicts(runs, study.seeds(intel), max_seconds=590.0)
    assert over[-1] == ("AMD EPYC: no UNet arm here with 3 seeds is timed idle within 10 min a run yet, so this family "
                        "has no UNet recipe that keeps the rule by idle timing.")
    quick = runs.assign(train_seconds=[550.0 if a == EMA else s for a, s in zip(runs["arm"], runs["train_seconds"])])
    assert rc.candidate_verdicts(quick, study.seeds(intel), max_seconds=590.0)[-1] == (
        f"AMD EPYC: the best UNet arm here with 3 seeds timed idle within 10 min a run: {EMA}, 0.8720 (9.2 min): this "
        "family's UNet recipe by idle timing.")


def test_two_changes_are_checked_against_each_alone_and_their_sum(tmp_path):
    """An arm of two changes (deep supervision + EMA) is compared with the chosen recipe, then with its first change
    alone, and its gain with the sum of the two single gains, all on the seeds every one of them has."""
    assert rc.single_changes(DEEP_EMA, BASE) == (DEEP, EMA)
    assert rc.single_changes(EMA, BASE) is None and rc.single_changes(DEEP_EMA, EMA) is None
    assert rc.single_changes(LOW_RES_DEEP, BASE) == (LOW_RES, DEEP)  # deep supervision alone ran at 150 epochs
    assert rc.single_changes(LOW_RES_DEEP_160, BASE) == ("crop-2x + mild-affine + low-res-96, 160 epochs", DEEP)
    arms = rc.candidates(CHOSEN, 25)
    amd = cpu_study(tmp_path, tmp_path / "results" / "amd-epyc")
    cpu = "AMD EPYC (AVX512-BF16)"
    _runs(amd, BASE, arms[BASE], [0.870, 0.872, 0.874], cpu)
    _runs(amd, EMA, arms[EMA], [0.871, 0.873, 0.875], cpu)  # +0.0010
    _runs(amd, DEEP, arms[DEEP], [0.875, 0.877, 0.879], cpu)  # +0.0050
    _runs(amd, DEEP_EMA, arms[DEEP_EMA], [0.875, 0.878], cpu)  # seeds 0-1: +0.0055 on them, +0.0005 over DEEP
    runs = rc.candidate_runs([amd], arms, "last")
    lines = rc.candidate_verdicts(runs, [0, 1, 2])
    at = next(i for i, line in enumerate(lines) if line.startswith(f"AMD EPYC: {DEEP_EMA}: "))
    assert lines[at + 1] == (
        f"AMD EPYC: {DEEP_EMA} against {DEEP} alone on the same seeds [0, 1]: +0.0005, within the spread across seeds "
        "(0.0021), so no ranking is claimed. The two changes alone gave +0.0050 and +0.0010 (sum +0.0060), together "
        "+0.0055.")
    # without runs of one single change on those seeds, no such sentence
    lines = rc.candidate_verdicts(runs[runs["arm"] != EMA], [0, 1, 2])
    assert not any(" alone on the same seeds" in line for line in lines)


def test_an_arm_changing_a_candidate_is_also_compared_with_that_candidate(tmp_path):
    """The 64-px arm changes one setting of the combination (progressive resizing + deep supervision): beside the
    chosen recipe, it is compared with the combination at the same epochs on the seeds both have."""
    arms = rc.candidates(CHOSEN, 25)
    amd = cpu_study(tmp_path, tmp_path / "results" / "amd-epyc")
    cpu = "AMD EPYC (AVX512-BF16)"
    _runs(amd, BASE, arms[BASE], [0.870, 0.872, 0.874], cpu)
    _runs(amd, LOW_RES_DEEP, arms[LOW_RES_DEEP], [0.880, 0.879, 0.881], cpu)
    _runs(amd, LOW_RES_64_DEEP, arms[LOW_RES_64_DEEP], [0.869, 0.877], cpu)  # seeds 0-1: -0.0065 on them
    lines = rc.candidate_verdicts(rc.candidate_runs([amd], arms, "last"), [0, 1, 2])
    at = next(i for i, line in enumerate(lines) if line.startswith(f"AMD EPYC: {LOW_RES_64_DEEP}: "))
    assert lines[at + 1] == (f"AMD EPYC: {LOW_RES_64_DEEP} against the arm it changes, {LOW_RES_DEEP}, on the same "
                             "seeds [0, 1]: -0.0065, more than the spread across seeds (0.0057).")
    # arms of one change from the chosen recipe, and arms of two single changes, have no such sentence
    assert not any(line.startswith((f"AMD EPYC: {LOW_RES_DEEP} against the arm", f"AMD EPYC: {BASE} against"))
                   for line in lines)
    assert rc.base_sentence("AMD EPYC", pd.DataFrame(columns=["arm", "seed", "test_dice"]), LOW_RES_64_DEEP,
                            BASE) == []


def test_the_recipe_is_picked_per_cpu_family_by_idle_timing(tmp_path):
    """Where the chosen recipe's runs timed idle are over the limit on a family, that family's recipe is its best arm
    with every study seed whose runs timed idle fit (a better arm not timed idle does not count); elsewhere the
    chosen recipe stands, by idle timing or, with none, by typical minutes. The options say how to train it."""
    assert rc.recipe_flags(DEEP, BASE) == "--deep-supervision 0.4" and rc.recipe_flags(BASE, BASE) == ""
    assert rc.recipe_flags(WIDE, BASE) == "--width 24 --epochs 65"
    assert rc.recipe_flags(LOW_RES, BASE) == "--low-res 96 --low-res-share 0.6 --epochs 190"  # 0.75 of 128 px
    assert rc.recipe_flags(LOW_RES_DEEP, LOW_RES) == "--deep-supervision 0.4"
    assert rc.recipe_flags("ResNet34-UNet: 08 recipe, 75 epochs", BASE) == ""
    arms = rc.candidates(CHOSEN, 25)
    intel = cpu_study(tmp_path)
    amd = cpu_study(tmp_path, tmp_path / "results" / "amd-epyc")
    _runs(intel, BASE, arms[BASE], [0.870, 0.872, 0.868], "Intel(R) Xeon(R) Processor (AMX)", other=0.3)
    _runs(amd, BASE, arms[BASE], [0.871, 0.873, 0.872], "AMD EPYC (AVX512-BF16)", seconds=930.0)  # over, idle
    _runs(amd, EMA, arms[EMA], [0.872, 0.873, 0.871], "AMD EPYC (AVX512-BF16)", seconds=880.0)  # fits, idle
    _runs(amd, DEEP, arms[DEEP], [0.875, 0.876, 0.877], "AMD EPYC (AVX512-BF16)", seconds=850.0)  # fits: best
    _runs(amd, PASTE, arms[PASTE], [0.890, 0.891, 0.892], "AMD EPYC (AVX512-BF16)", other=0.2)  # busy: not judged
    _runs(amd, WIDE, arms[WIDE], [0.880, 0.881], "AMD EPYC (AVX512-BF16)", seconds=600.0)  # two seeds: too few
    runs = rc.candidate_runs([intel, amd], arms, "last")
    table = rc.family_recipes(runs, [0, 1, 2]).set_index("CPU family")
    assert table.loc["Intel AMX", "arm"] == BASE and table.loc["Intel AMX", "min idle"] == "—"
    assert table.loc["Intel AMX", "ground"] == "the chosen recipe, not timed idle (typical minutes)"
    assert table.loc["AMD EPYC", "arm"] == DEEP and table.loc["AMD EPYC", "test dice"] == "0.8760 ± 0.0010"
    assert table.loc["AMD EPYC", "options beyond the chosen recipe"] == "--deep-supervision 0.4"
    assert table.loc["AMD EPYC", "min idle"] == "14.2"
    within = rc.family_recipes(runs, [0, 1, 2], max_seconds=960.0).set_index("CPU family").loc["AMD EPYC"]
    assert within["arm"] == BASE and within["ground"] == "the chosen recipe, timed idle within 16 min"
    none = rc.family_recipes(runs, [0, 1, 2], max_seconds=840.0).set_index("CPU family").loc["AMD EPYC"]
    assert none["arm"] == "—" and none["ground"].endswith("no arm with 3 seeds is within it")
    named = rc.family_recipes(runs, [0, 1, 2], names=rc.short_names(runs)).set_index("CPU family")
    assert named.loc["AMD EPYC", "arm"] == "UNet chosen + deep-supervision at 150 epochs"
    assert rc.candidate_verdicts(runs, [0, 1, 2])[-1] == (
        f"AMD EPYC: the best UNet arm here with 3 seeds timed idle within 15 min a run: {DEEP}, 0.8760 (14.2 min): "
        "this family's UNet recipe by idle timing.")


def test_the_resnets_chosen_arm_at_its_other_budgets_is_its_candidate(tmp_path):
    """The ResNet34-UNet's chosen arm at the study file's other budgets of it, its averaging phase kept at the arm's
    share: where the chosen 75 epochs are over the limit timed idle and 60 fit, 60 epochs is that family's recipe,
    with the options that train it."""
    swa = "08 recipe + rotate + mild-affine + adamw-wd-0.05 + swa at 0.5x"
    recipe = {**study_arms.resnet_recipe_settings(swa, {"schedule": "onecycle"}, 75), "epochs": 75, "select": "last"}
    chosen, shorter = (f"ResNet34-UNet: {swa}, {n} epochs" for n in (75, 60))
    arms = rc.resnet_candidates(recipe, chosen, 25)
    assert list(arms) == [chosen, shorter] and arms[chosen]["swa_epochs"] == 15
    assert arms[shorter] == {**arms[chosen], "epochs": 60, "swa_epochs": 12}
    assert rc.resnet_candidates(recipe, "ResNet34-UNet: no such arm, 75 epochs", 25) == {
        "ResNet34-UNet: no such arm, 75 epochs": arms[chosen]}
    assert rc.recipe_flags(shorter, chosen) == "--epochs 60 --swa-epochs 12" and rc.recipe_flags(chosen, chosen) == ""
    amd = cpu_study(tmp_path, tmp_path / "results" / "amd-epyc")
    cpu = "AMD EPYC (AVX512-BF16)"
    _runs(amd, chosen, arms[chosen], [0.852, 0.851, 0.853], cpu, seconds=1057.0, model="resnet34_unet")  # over
    _runs(amd, shorter, arms[shorter], [0.848, 0.849, 0.847], cpu, seconds=850.0, model="resnet34_unet")  # fits
    names = {"unet": None, "resnet34_unet": f"10 ResNet34-UNet on AMD EPYC (AVX512-BF16): {swa}, 75 epochs, last epoch"}
    runs = rc.chosen_runs([amd], {"unet": None, "resnet34_unet": recipe}, names, 25)
    assert runs["arm"].tolist() == [chosen] * 3 + [shorter] * 3 and set(runs["model"]) == {"resnet34_unet"}
    row = rc.family_recipes(runs, [0, 1, 2], names=rc.short_names(runs)).iloc[0]
    assert row["arm"] == "ResNet34-UNet chosen at 60 epochs" and row["test dice"] == "0.8480 ± 0.0010"
    assert row["options beyond the chosen recipe"] == "--epochs 60 --swa-epochs 12" and row["min idle"] == "14.2"


def test_a_chosen_recipes_name_is_shortened_for_a_table_row():
    assert rc.chosen_label("unet", "10 budget: crop-2x + mild-affine, 150 epochs, last epoch") == (
        "crop-2x + mild-affine, 150 epochs")
    name = "10 ResNet34-UNet on AMD EPYC (AVX512-BF16): 08 recipe + swa at 0.5x, 75 epochs, last epoch"
    assert rc.chosen_label("resnet34_unet", name) == "ResNet34-UNet: 08 recipe + swa at 0.5x, 75 epochs"
    # the label's two parts: the arm (the network's prefix kept, commas inside it too) and its epochs
    assert split_arm_label(rc.chosen_label("resnet34_unet", name)) == ("ResNet34-UNet: 08 recipe + swa at 0.5x", 75)
    assert split_arm_label(arm_label("a, b + c", 190)) == ("a, b + c", 190) and arm_label("x", 6) == "x, 6 epochs"


def test_nothing_finished_is_said_so(tmp_path):
    st = cpu_study(tmp_path)
    runs = rc.candidate_runs([st], rc.candidates(CHOSEN, 25), "last")
    assert runs.empty and rc.candidate_table(runs).empty
    assert rc.candidate_verdicts(runs, [0, 1, 2]) == ["no run of the chosen recipe or of a candidate has finished yet"]


def test_the_file_notebook_10_writes_reads_back_with_its_arm_names(tmp_path):
    assert rc.read_runs(tmp_path) is None and rc.arm_names(None) == []
    runs = pd.DataFrame({"arm": [BASE, EMA, BASE, "ResNet34-UNet: 08 recipe + swa at 0.5x, 75 epochs"],
                         "seed": [0, 0, 1, 0]})
    runs.to_csv(tmp_path / rc.FILE, index=False)
    pd.testing.assert_frame_equal(rc.read_runs(tmp_path), runs)
    assert rc.arm_names(runs) == ["crop-2x + mild-affine", "crop-2x + mild-affine + ema", "08 recipe + swa at 0.5x"]


def test_a_tables_arms_are_named_from_each_networks_chosen_recipe(tmp_path):
    resnet = "ResNet34-UNet: 08 recipe + swa at 0.5x, 75 epochs"
    runs = pd.DataFrame({"model": ["unet", "unet", "unet", "unet", "resnet34_unet"],
                         "arm": [BASE, "crop-2x + mild-affine, 100 epochs", DEEP_EMA, "strong, 150 epochs", resnet]})
    assert rc.short_arms(runs)["arm"].tolist() == [
        "UNet chosen at 150 epochs", "UNet chosen at 100 epochs", "UNet chosen + deep-supervision + ema at 150 epochs",
        "strong, 150 epochs", "ResNet34-UNet chosen at 75 epochs"]
    assert rc.chosen_words(runs) == "the UNet's is crop-2x + mild-affine, the ResNet34-UNet's 08 recipe + swa at 0.5x"
    assert rc.short_arms(runs)["model"].equals(runs["model"])
    # the verdicts name the arms so too where asked, the interaction sentence included
    arms = rc.candidates(CHOSEN, 25)
    amd = cpu_study(tmp_path, tmp_path / "results" / "amd-epyc")
    for arm, dice in ((BASE, [0.870, 0.872, 0.874]), (EMA, [0.871, 0.873, 0.875]), (DEEP, [0.875, 0.877, 0.879]),
                      (DEEP_EMA, [0.876, 0.878, 0.880])):
        _runs(amd, arm, arms[arm], dice, "AMD EPYC (AVX512-BF16)")
    done = rc.candidate_runs([amd], arms, "last")
    lines = rc.candidate_verdicts(done, [0, 1, 2], {"unet": 0.88}, names=rc.short_names(done))
    assert lines[0].startswith("AMD EPYC: UNet chosen at 150 epochs: 10.0 min a run timed idle")
    assert lines[-2].startswith("AMD EPYC: UNet chosen + deep-supervision + ema at 150 epochs against UNet chosen + "
                                "deep-supervision at 150 epochs alone on the same seeds [0, 1, 2]: +0.0010")
    assert lines[-1] == ("AMD EPYC: the best of these with 3 seeds, UNet chosen + deep-supervision + ema at 150 "
                         "epochs: 0.8780; target 0.88: not reached (-0.0020).")


def test_seeds_are_written_as_ranges():
    assert rc.seed_ranges([0, 1, 2, 3, 4, 5]) == "0-5" and rc.seed_ranges([5, 0, 1, 3]) == "0-1, 3, 5"
    assert rc.seed_ranges([0]) == "0" and rc.seed_ranges([]) == ""


def test_the_frontier_gives_each_arm_with_every_study_seed_its_mean_and_its_idle_or_else_typical_minutes():
    rows = [("unet", "AMD EPYC", "a", seed, dice, 840.0 + 60 * seed, 700.0, 0.01)
            for seed, dice in zip((0, 1, 2, 3), (0.87, 0.88, 0.875, 0.90))]  # seed 3: a fresh seed, timed idle
    rows += [("unet", "AMD EPYC", "b", seed, 0.86, 1000.0, 720.0, 0.3) for seed in (0, 1, 2)]  # busy: typical
    rows += [("unet", "AMD EPYC", "c", 0, 0.85, 900.0, 700.0, 0.0)]  # one seed: not drawn
    rows += [("resnet34_unet", "Intel AMX", "a", seed, 0.84, 800.0, 600.0, float("nan")) for seed in (0, 1, 2)]
    runs = pd.DataFrame(rows, columns=["model", "family", "arm", "seed", "test_dice", "train_seconds",
                                       "train_s_typical", "other_cpu"])
    points = rc.frontier(runs, [0, 1, 2]).set_index(["model", "family", "arm"])
    assert list(points.index) == [("unet", "AMD EPYC", "a"), ("unet", "AMD EPYC", "b"),
                                  ("resnet34_unet", "Intel AMX", "a")]
    a = points.loc[("unet", "AMD EPYC", "a")]
    assert a["test_dice"] == pytest.approx(np.mean([0.87, 0.88, 0.875]))  # the study's seeds only
    assert a["std"] == pytest.approx(np.std([0.87, 0.88, 0.875], ddof=1))
    assert a["minutes"] == pytest.approx(np.mean([840, 900, 960, 1020]) / 60) and a["timing"] == "idle"
    b = points.loc[("unet", "AMD EPYC", "b")]
    assert b["minutes"] == pytest.approx(12.0) and b["timing"] == "typical"
    assert points.loc[("resnet34_unet", "Intel AMX", "a"), "timing"] == "typical"  # not recorded: not idle
