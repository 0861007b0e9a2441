import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from labseg.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from labseg.config import profile_config
from labseg.data import load_split_arrays
from labseg.device import prepare_batch, resolve_device
from labseg.engine import train
from labseg.losses import SegmentationLoss
from labseg.metrics import SegmentationMeter
from labseg.models import build_model
from labseg.predict import predict


def smoke(toy_root, out, **kw):
    base = dict(data=str(toy_root), out_dir=str(out), image_size=40, epochs=3, width=4, batch_size=6,
                train_subset=14, amp="off")
    base.update(kw)
    return profile_config("smoke", **base)


@pytest.mark.slow
def test_small_unet_overfits_a_few_images(toy_root):
    arrays = load_split_arrays(toy_root, "train", 48)
    x, y = prepare_batch(torch.from_numpy(arrays.images[:4]).permute(0, 3, 1, 2),
                         torch.from_numpy(arrays.masks[:4]).unsqueeze(1), torch.device("cpu"), True)
    torch.manual_seed(0)
    model = build_model("unet", width=8)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = SegmentationLoss("bce_dice")
    for _ in range(150):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    meter = SegmentationMeter()
    model.eval()
    with torch.no_grad():
        meter.update(model(x), y)
    assert meter.summary()["dice"] > 0.95


def interrupted_and_resumed(toy_root, tmp_path, cols, **settings):
    """(uninterrupted metrics, resumed metrics, both histories): one run straight through, one stopped
    (KeyboardInterrupt) after epoch 2 and resumed from last.pt; the histories' ``cols`` must agree."""
    full = train(smoke(toy_root, tmp_path / "full", **settings), progress=False, log=lambda m: None)

    def stop_after_two(msg):
        if msg.startswith("epoch   2/"):
            raise KeyboardInterrupt

    cfg = smoke(toy_root, tmp_path / "cut", **settings)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, progress=False, log=stop_after_two)
    cut = load_checkpoint(tmp_path / "cut" / "last.pt")
    assert cut["epoch"] == 2 and {"optimizer", "scheduler", "rng"} <= set(cut)  # mid-run: all a resume needs
    resumed = train(cfg, resume=True, progress=False, log=lambda m: None)
    a = pd.read_csv(tmp_path / "full" / "history.csv")
    b = pd.read_csv(tmp_path / "cut" / "history.csv")
    np.testing.assert_allclose(a[cols].to_numpy(), b[cols].to_numpy(), rtol=1e-6)
    assert resumed["test_dice"] == pytest.approx(full["test_dice"], rel=1e-6)
    finished = load_checkpoint(tmp_path / "cut" / "last.pt")  # the end: the weights only
    assert finished["epoch"] == cfg.epochs and not {"optimizer", "scheduler", "rng"} & set(finished)
    # cut off after the last epoch, before the test scores: resuming scores it, with the same result
    (tmp_path / "cut" / "metrics.json").unlink()
    assert train(cfg, resume=True, progress=False, log=lambda m: None) == resumed
    return cfg, a


@pytest.mark.slow
def test_resume_gives_the_same_result_as_an_uninterrupted_run(toy_root, tmp_path):
    interrupted_and_resumed(toy_root, tmp_path, ["train_loss", "val_loss", "val_dice", "val_iou"], flip="hvflip")


@pytest.mark.slow
@pytest.mark.parametrize("recipe", [dict(schedule="cosine", warmup_epochs=1.0, optimizer="adamw", weight_decay=1e-2,
                                         augment="all", loss="focal_dice"),
                                    dict(schedule="onecycle", augment="scale", loss="bce_lovasz")])
def test_resume_continues_the_schedule_exactly(toy_root, tmp_path, recipe):
    """A schedule stepped per batch, AdamW and the augmentation presets: an interrupted and resumed run
    equals an uninterrupted one, learning rate included."""
    cfg, history = interrupted_and_resumed(toy_root, tmp_path, ["train_loss", "val_loss", "val_dice", "lr"], epochs=4,
                                           **recipe)
    lrs = history["lr"].to_numpy()
    if recipe["schedule"] == "cosine":  # warm-up over epoch 1, then decays to almost 0 at the last step
        assert lrs[-1] < 0.1 * cfg.lr and lrs[0] == pytest.approx(cfg.lr) and lrs[1] > lrs[2] > lrs[3]
    else:  # one cycle: up, then down to almost nothing
        assert lrs.max() > lrs[-1] and lrs[-1] < cfg.lr * 1e-3


def test_adamw_leaves_norms_and_biases_undecayed():
    from labseg.optim import make_optimizer

    model = build_model("unet", width=4)
    opt = make_optimizer(model, 1e-3, 0.05, name="adamw")
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 0.05 and plain["weight_decay"] == 0.0
    assert all(p.ndim == 4 for p in decayed["params"]) and all(p.ndim == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(list(model.parameters()))


@pytest.mark.slow
def test_training_writes_its_results_and_never_overwrites_a_run(toy_root, tmp_path):
    cfg = smoke(toy_root, tmp_path / "run", epochs=1, model="resnet34_unet_seed")
    metrics = train(cfg, progress=False, log=lambda m: None)
    out = tmp_path / "run"
    for f in ("config.json", "env.json", "history.csv", "best.pt", "last.pt", "metrics.json", "test_per_image.csv"):
        assert (out / f).is_file(), f
    assert json.loads((out / "config.json").read_text())["model"] == "resnet34_unet_seed"
    assert metrics["test_images"] == 30 and 0 <= metrics["test_dice"] <= 1
    table = pd.read_csv(out / "test_per_image.csv")
    assert {"name", "breed", "species", "dice", "noboundary_dice"} <= set(table.columns)
    # a finished run's last.pt holds the weights without Adam's moments: about best.pt's size, not three times it
    assert (out / "last.pt").stat().st_size < 1.1 * (out / "best.pt").stat().st_size
    before = (out / "last.pt").read_bytes()
    with pytest.raises(FileExistsError, match="--resume"):
        train(cfg, progress=False, log=lambda m: None)
    assert (out / "last.pt").read_bytes() == before


def test_bad_checkpoints_get_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="garbage.pt is not a PyTorch file"):
        load_checkpoint(garbage)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.pt is empty"):
        load_checkpoint(tmp_path / "empty.pt")
    save_checkpoint(tmp_path / "full.pt", model={"w": torch.zeros(1000)}, config={})
    data = (tmp_path / "full.pt").read_bytes()
    (tmp_path / "half.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="half.pt is truncated"):
        load_checkpoint(tmp_path / "half.pt")
    whole = tmp_path / "whole.pt"
    torch.save(build_model("unet", width=2), whole)  # the original report's pickled whole model
    with pytest.raises(CheckpointError, match="whole.pt.*state_dict"):
        load_checkpoint(whole)
    bare = tmp_path / "bare.pt"
    torch.save(build_model("unet", width=2).state_dict(), bare)
    with pytest.raises(CheckpointError, match="not a labseg checkpoint"):
        load_checkpoint(bare)
    save_checkpoint(tmp_path / "ok.pt", model={}, config={})
    assert load_checkpoint(tmp_path / "ok.pt")["format"].startswith("labseg")


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


def test_device_auto_falls_back_to_cpu_here():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        expected = "mps"
    assert resolve_device("auto").type == expected


@pytest.mark.slow
def test_experiments_are_read_back_resumed_or_refused(toy_root, tmp_path):
    from labseg.experiments import run_experiment

    cfg = smoke(toy_root, tmp_path / "exp", epochs=1)
    first = run_experiment(cfg, log=lambda m: None)
    stamp = (tmp_path / "exp" / "last.pt").stat().st_mtime_ns
    again = run_experiment(cfg.replace(device="cpu", num_workers=1), log=lambda m: None)  # where, not what
    assert again == first and (tmp_path / "exp" / "last.pt").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="epochs"):
        run_experiment(cfg.replace(epochs=2), log=lambda m: None)
    for f in ("best.pt", "last.pt"):  # a fresh clone: results committed, checkpoints not
        (tmp_path / "exp" / f).unlink()
    committed = {f: (tmp_path / "exp" / f).read_bytes() for f in ("metrics.json", "history.csv", "config.json")}
    (tmp_path / "exp" / "metrics_tta.json").write_text("{}")  # a cache beside the run: not the run's to remove

    def cut_off(message):  # the retrain is cut off once its first epoch is saved
        if message.startswith("epoch"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, log=cut_off)
    assert {f: (tmp_path / "exp" / f).read_bytes() for f in committed} == committed  # the results, as they were
    assert not (tmp_path / "exp" / "best.pt").exists() and (tmp_path / "exp" / ".retrain" / "last.pt").is_file()
    rerun = run_experiment(cfg, log=lambda m: None)  # resumes the retrain aside, then moves it in
    assert ((tmp_path / "exp" / "best.pt").is_file()
            and rerun["test_dice"] == pytest.approx(first["test_dice"], abs=1e-6))
    assert not (tmp_path / "exp" / ".retrain").exists() and (tmp_path / "exp" / "metrics_tta.json").read_text() == "{}"
    assert (rerun["run"] == "exp"
            and json.loads((tmp_path / "exp" / "config.json").read_text())["out_dir"] == cfg.out_dir)
    assert run_experiment(cfg, log=lambda m: None) == rerun  # read back
