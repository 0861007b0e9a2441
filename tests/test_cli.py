"""The `labseg` command end to end: train with the original report's flags, evaluate, predict images of any size
and format without overwriting."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from labseg.predict import predict


@pytest.mark.slow
def test_cli_accepts_the_reports_flags_and_predicts_any_image_size(toy_root, tmp_path):
    out = tmp_path / "cli_run"
    log = tmp_path / "log.csv"
    cmd = [sys.executable, "-m", "labseg", "train", "--profile", "smoke", "--data", str(toy_root), "--use_model",
           "UNet", "--epoch", "1", "--save_as", str(out), "--log_path", str(log), "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(pd.read_csv(log)) == 1
    proc = subprocess.run([sys.executable, "-m", "labseg", "evaluate", "--model", str(out / "best.pt"),
                           "--split", "val"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "dice" in proc.stdout and "[val, 3 images" in proc.stdout
    odd = tmp_path / "odd.png"
    Image.new("RGB", (123, 77), (90, 120, 60)).save(odd)
    gif = tmp_path / "anim.gif"
    Image.new("P", (65, 33), 5).save(gif)
    written = predict(out, [odd, gif], tmp_path / "pred", log=lambda m: None)
    mask = Image.open(tmp_path / "pred" / "odd_mask.png")
    assert mask.size == (123, 77) and mask.mode == "1"  # 1-bit: read back as 0/255 with .convert("L")
    assert set(np.unique(np.asarray(mask.convert("L"))).tolist()) <= {0, 255}
    assert Image.open(tmp_path / "pred" / "anim_overlay.jpg").size == (65, 33)
    assert len(written) == 4
    before = (tmp_path / "pred" / "odd_mask.png").read_bytes()
    with pytest.raises(FileExistsError, match="odd_mask.png|anim_mask.png"):
        predict(out, [odd, gif], tmp_path / "pred", log=lambda m: None)
    assert (tmp_path / "pred" / "odd_mask.png").read_bytes() == before
    assert len(predict(out, [odd], tmp_path / "pred", overwrite=True, log=lambda m: None)) == 2
    Image.new("RGB", (20, 20)).save(tmp_path / "odd.jpg")
    with pytest.raises(ValueError, match="odd_mask.png"):
        predict(out, [odd, tmp_path / "odd.jpg"], tmp_path / "pred2", log=lambda m: None)
    assert not (tmp_path / "pred2").exists()
    again = subprocess.run(cmd, capture_output=True, text=True)  # same --log_path, and the run exists
    assert again.returncode == 2 and "--log_path" in again.stderr and len(pd.read_csv(log)) == 1
    bad = subprocess.run([sys.executable, "-m", "labseg", "evaluate", str(tmp_path / "nope.pt")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Checkpoint not found" in bad.stderr and "Traceback" not in bad.stderr
