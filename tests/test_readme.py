"""The README's figures are re-made by the commands it names: a stale number fails here."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_demo_dice() -> float:
    found = re.findall(r"test dice (0\.\d{4}) on the 150 toy test images", README.read_text())
    assert len(found) == 1, "the README states the demo's test dice once"
    return float(found[0])


@pytest.mark.slow
def test_readme_demo_figure_is_what_make_demo_prints(tmp_path):
    """`make demo` = `labseg synth data/toy-pets` + `labseg train --data data/toy-pets --profile toy --model unet`.
    Training is deterministic, so the test dice it prints must be the README's, to the 4 decimals shown."""
    from labseg.device import cpu_has_fast_bf16

    if torch.cuda.is_available() or not cpu_has_fast_bf16():
        pytest.skip("the README's demo figure was made with bf16 autocast on a CPU with native bf16")
    expected = readme_demo_dice()
    run = [sys.executable, "-m", "labseg"]
    subprocess.run([*run, "synth", str(tmp_path / "toy-pets")], check=True, capture_output=True)
    proc = subprocess.run([*run, "train", "--data", str(tmp_path / "toy-pets"), "--profile", "toy", "--model", "unet",
                           "--out", str(tmp_path / "demo-unet"), "--no-progress"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert round(printed["test_dice"], 4) == expected, (
        f"make demo prints test dice {printed['test_dice']:.4f}, the README says {expected}: re-run `make demo` "
        "and update the README")


def assert_row_is(numbers: list[str], seconds: str, row, label) -> None:
    """A README row's dice ± std, TTA dice ± std, IoU ± std and seconds per run are the csv row's, to the
    decimals shown."""
    expected = [row[k] for k in ("test_dice_mean", "test_dice_std", "tta_test_dice_mean", "tta_test_dice_std",
                                 "test_iou_mean", "test_iou_std")]
    assert [float(x) for x in numbers] == [round(x, 4) for x in expected], label
    assert int(seconds) == round(row["train_s_per_run"]), label


def test_readme_recipe_table_is_the_committed_budget_study():
    """Each one-cycle row of the README's recipe table is a row of budget_study.csv (what 08_budget writes),
    to the decimals shown: a re-made study with other numbers fails here until the README follows."""
    import pandas as pd

    table = pd.read_csv(README.parent / "results" / "oxford-pet-subset-cpu" / "budget_study.csv")
    models = {"UNet (width 16)": "unet", "ResNet34-UNet": "resnet34_unet"}
    rows = re.findall(r"^\| ([^|]+) \| one-cycle, (\d+) epochs[^|]*\| (\d+) \| (0\.\d{4}) ± (0\.\d{4}) \| "
                      r"(0\.\d{4}) ± (0\.\d{4}) \| (0\.\d{4}) ± (0\.\d{4}) \| (\d+) \|$", README.read_text(), re.M)
    assert len(rows) == len(table) == 6, rows
    for model, epochs, seeds, *numbers, seconds in rows:
        row = table[(table["model"] == models[model]) & (table["epochs"] == int(epochs))].iloc[0]
        assert int(seeds) == row["seeds"]
        assert_row_is(numbers, seconds, row, (model, epochs))


def test_readme_augmentation_at_budget_table_is_the_committed_study():
    """The README's table of augmentation at the recipe's budget is augment_at_budget.csv (08's last part)."""
    import pandas as pd

    table = pd.read_csv(README.parent / "results" / "oxford-pet-subset-cpu" / "augment_at_budget.csv", index_col=0)
    arms = {"flips only (`cpu-best`)": "flip", "rotate": "rotate", "scale": "scale"}
    section = README.read_text().split("| UNet, one-cycle, 50 epochs |")[1].split("\n\n")[0]
    rows = re.findall(r"^\| ([^|]+) \| (0\.\d{4}) ± (0\.\d{4}) \| (0\.\d{4}) ± (0\.\d{4}) \| (0\.\d{4}) ± (0\.\d{4}) \| "
                      r"(\d+) \|", section, re.M)
    assert [arms[r[0]] for r in rows] == list(table.index)
    for arm, *numbers, seconds in rows:
        row = table.loc[arms[arm]]
        assert_row_is(numbers, seconds, row, arm)
