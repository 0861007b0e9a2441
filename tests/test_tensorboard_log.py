"""TensorBoard event files (labseg.tensorboard_log) read back against history.csv; none written when switched
off. Skipped where tensorboard is absent."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labseg.config import profile_config


@pytest.mark.slow
def test_tensorboard_scalars_equal_history_csv(toy_root, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from labseg.engine import train

    cfg = profile_config("smoke", data=str(toy_root), out_dir=str(tmp_path / "run"), epochs=3, width=4,
                         image_size=32, train_subset=12, amp="off")
    train(cfg, progress=False, log=lambda m: None)
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    acc = EventAccumulator(str(tmp_path / "run" / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    for tag, column in (("loss/train", "train_loss"), ("loss/val", "val_loss"), ("val/dice", "val_dice"),
                        ("val/iou", "val_iou"), ("val/pixel_acc", "val_pixel_acc")):
        events = acc.Scalars(tag)
        assert [e.step for e in events] == history["epoch"].tolist()
        np.testing.assert_allclose([e.value for e in events], history[column], rtol=1e-6)
    assert [e.value for e in acc.Scalars("train/lr")] == pytest.approx([cfg.lr] * 3)
    assert acc.Images("val/image_truth_prediction")  # the grid of validation predictions
    off = profile_config("smoke", data=str(toy_root), out_dir=str(tmp_path / "off"), epochs=1, width=4,
                         image_size=32, train_subset=12, amp="off", tensorboard=False)
    train(off, progress=False, log=lambda m: None)
    assert not (tmp_path / "off" / "tensorboard").exists()
