import json

import numpy as np
import pandas as pd
import pytest
import torch

from labseg.checkpoint import load_checkpoint
from labseg.config import profile_config
from labseg.data import load_split_arrays
from labseg.device import prepare_batch
from labseg.engine import train
from labseg.losses import SegmentationLoss
from labseg.metrics import SegmentationMeter
from labseg.models import build_model


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
                                    dict(schedule="onecycle", augment="scale", loss="bce_lovasz"),
                                    dict(schedule="onecycle", augment="scale", low_res=32, low_res_share=0.5)])
def test_resume_continues_the_schedule_exactly(toy_root, tmp_path, recipe):
    """A schedule stepped per batch, AdamW, the augmentation presets and progressive resizing (cut where the
    early size ends): an interrupted and resumed run equals an uninterrupted one, learning rate included."""
    cfg, history = interrupted_and_resumed(toy_root, tmp_path, ["train_loss", "val_loss", "val_dice", "lr"], epochs=4,
                                           **recipe)
    lrs = history["lr"].to_numpy()
    if recipe["schedule"] == "cosine":  # warm-up over epoch 1, then decays to almost 0 at the last step
        assert lrs[-1] < 0.1 * cfg.lr and lrs[0] == pytest.approx(cfg.lr) and lrs[1] > lrs[2] > lrs[3]
    else:  # one cycle: up, then down to almost nothing
        assert lrs.max() > lrs[-1] and lrs[-1] < cfg.lr * 1e-3


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


@pytest.mark.slow
def test_select_last_scores_the_last_epoch(toy_root, tmp_path):
    from labseg.batches import load_datasets
    from labseg.checkpoint import load_checkpoint, model_from_checkpoint
    from labseg.engine import evaluate, train

    cfg = profile_config("smoke", data=str(toy_root), out_dir=str(tmp_path / "run"), image_size=40, epochs=3, width=4,
                         batch_size=6, train_subset=14, amp="off", select="last")
    metrics = train(cfg, progress=False, log=lambda m: None)
    history = np.loadtxt(tmp_path / "run" / "history.csv", delimiter=",", skiprows=1, usecols=3)
    assert metrics["selected"] == "last" and metrics["selected_epoch"] == 3
    assert metrics["best_epoch"] == int(np.argmax(history)) + 1
    model, _ = model_from_checkpoint(load_checkpoint(tmp_path / "run" / "last.pt"), "last.pt")
    summary, _ = evaluate(model, load_datasets(cfg, ("test",))["test"], cfg)
    assert metrics["test_dice"] == pytest.approx(summary["dice"], rel=1e-9)
