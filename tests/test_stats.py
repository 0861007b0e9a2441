"""The studies' statistics (labseg.stats) from hand-made run tables: means, sample spreads, the arm tables."""
import pandas as pd
import pytest

from labseg import stats


def runs_table(rows):
    return pd.DataFrame(rows, columns=["run", "model", "flip", "seed", "test_dice", "test_pixel_acc"])


def test_arm_summary_gives_mean_and_sample_spread():
    runs = runs_table([("a", "unet", "none", 0, 0.80, 0.9), ("b", "unet", "none", 1, 0.84, 0.9),
                       ("c", "unet", "hflip", 0, 0.70, 0.8)])
    t = stats.arm_summary(runs, "flip", ("test_dice",))
    assert t.loc["none", "test_dice_mean"] == pytest.approx(0.82)
    assert t.loc["none", "test_dice_std"] == pytest.approx(0.0282842712)  # sample std of 0.80, 0.84
    assert t.loc["hflip", "test_dice_std"] == 0.0 and t.loc["hflip", "seeds"] == 1


def test_arm_table_carries_flip_tta_dice_only_where_the_runs_have_it():
    runs = pd.DataFrame({"arm": ["a", "a", "b"], "test_dice": [0.80, 0.84, 0.70], "tta_test_dice": [0.81, 0.87, 0.72],
                         "test_iou": [0.7, 0.7, 0.6], "train_seconds": [10.0, 12.0, 9.0],
                         "train_images_per_s": [50.0, 40.0, 45.0], "best_epoch": [5, 6, 4], "cpu": ["x", "x", "x"]})
    t = stats.arm_table(runs, "arm", ["b", "a"])
    assert list(t.index) == ["b", "a"]
    assert list(t.columns[:7]) == ["seeds", "test_dice_mean", "test_dice_std", "tta_test_dice_mean",
                                   "tta_test_dice_std", "test_iou_mean", "test_iou_std"]
    assert t.loc["a", "tta_test_dice_mean"] == pytest.approx(0.84)
    assert t.loc["a", "tta_test_dice_std"] == pytest.approx(0.0424264069)  # sample std of 0.81, 0.87
    assert t.loc["a", "train_s_per_run"] == pytest.approx(11.0)
    plain = stats.arm_table(runs.drop(columns="tta_test_dice"), "arm", ["a", "b"])
    assert not any(c.startswith("tta") for c in plain.columns)
