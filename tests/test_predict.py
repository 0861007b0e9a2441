"""`labseg predict` on folders: the streamed path (decode ahead, one forward per image, PNGs written by threads)
gives the masks and overlays of the plain per-image reference, on real photos and odd inputs; without a checkpoint it
uses the shipped UNet and says so."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from labseg.checkpoint import load_checkpoint, model_from_checkpoint
from labseg.data import load_image, load_resized_image
from labseg.inference import TorchPredictor
from labseg.predict import predict


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, toy_root):
    from labseg.config import profile_config
    from labseg.engine import train

    out = tmp_path_factory.mktemp("predict") / "run"
    cfg = profile_config("smoke", data=str(toy_root), out_dir=str(out), epochs=1, width=4, image_size=40,
                         train_subset=8)
    train(cfg, progress=False, log=lambda m: None)
    return out / "best.pt"


def reference(ckpt, path):
    """The per-image path as it was before the streamed one: decode twice, forward, resize, threshold, tint."""
    model, cfg = model_from_checkpoint(load_checkpoint(ckpt), ckpt)
    predictor = TorchPredictor(model, cfg, torch.device("cpu"))
    small, image = load_resized_image(path, cfg.image_size), load_image(path)
    logits = predictor(torch.from_numpy(small).permute(2, 0, 1)[None])
    logits = F.interpolate(logits, size=(image.height, image.width), mode="bilinear", align_corners=False)
    mask = (torch.sigmoid(logits) > 0.5)[0, 0].numpy()
    arr = np.asarray(image, dtype=np.float32).copy()
    arr[mask] = arr[mask] * 0.55 + np.array((255, 40, 40), np.float32) * 0.45
    return mask, arr.astype(np.uint8)


def odd_inputs(folder):
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (1, 1, 3), dtype=np.uint8)).save(folder / "one.png")
    Image.fromarray(rng.integers(0, 255, (301, 7, 3), dtype=np.uint8)).save(folder / "tall.jpg", quality=90)
    Image.fromarray(rng.integers(0, 255, (33, 65), dtype=np.uint8)).convert("P").save(folder / "anim.gif")
    rgba = np.dstack([rng.integers(0, 255, (50, 80, 3), dtype=np.uint8), np.full((50, 80), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "alpha.png")
    yy, xx = np.mgrid[:1500, :2000]
    big = np.stack([(xx // 7) % 255, (yy // 5) % 255, ((xx + yy) // 11) % 255], -1).astype(np.uint8)
    Image.fromarray(big).save(folder / "big.jpg", quality=92)
    return sorted(folder.iterdir())


def check_same(ckpt, files, out):
    for f in files:
        mask, tinted = reference(ckpt, f)
        got = np.array(Image.open(out / f"{f.stem}_mask.png").convert("L"))
        assert Image.open(out / f"{f.stem}_mask.png").mode == "1"
        assert np.array_equal(got == 255, mask), f
        assert np.array_equal(np.array(Image.open(out / f"{f.stem}_overlay.png")), tinted), f


@pytest.mark.slow
def test_streamed_predict_equals_the_per_image_reference_on_odd_inputs(checkpoint, tmp_path):
    files = odd_inputs(tmp_path / "in")
    written = predict(checkpoint, [tmp_path / "in"], tmp_path / "out", log=lambda m: None, progress=True,
                      overlay_format="png", overlay_side=0)
    assert len(written) == 2 * len(files)
    check_same(checkpoint, files, tmp_path / "out")
    masks_only = predict(checkpoint, [tmp_path / "in"], tmp_path / "masks", log=lambda m: None, overlays=False)
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == sorted(p.name for p in masks_only)
    assert all(p.name.endswith("_mask.png") for p in masks_only) and len(masks_only) == len(files)
    for f in files:
        assert ((tmp_path / "masks" / f"{f.stem}_mask.png").read_bytes()
                == (tmp_path / "out" / f"{f.stem}_mask.png").read_bytes())
    jpgs = predict(checkpoint, [tmp_path / "in"], tmp_path / "jpg", log=lambda m: None, overlay_side=0)
    assert sorted(p.name for p in jpgs if p.suffix == ".jpg") == sorted(f"{f.stem}_overlay.jpg" for f in files)
    big = next(f for f in files if f.stem == "big")  # a smooth 3-MP image (the others are noise: JPEG's worst case)
    _, tinted = reference(checkpoint, big)
    assert np.abs(np.asarray(Image.open(tmp_path / "jpg" / "big_overlay.jpg"), dtype=float) - tinted).mean() < 4
    # the defaults: the same exact masks; the overlay a JPEG at most 1000 px here, the 2000 x 1500 image's tint
    capped = predict(checkpoint, [tmp_path / "in"], tmp_path / "capped", log=lambda m: None, overlay_side=1000)
    assert sorted(p.name for p in capped) == sorted(p.name for p in jpgs)
    for f in files:
        mask_png = f"{f.stem}_mask.png"
        assert (tmp_path / "capped" / mask_png).read_bytes() == (tmp_path / "out" / mask_png).read_bytes()
    shown = np.asarray(Image.open(tmp_path / "capped" / "big_overlay.jpg"), dtype=float)
    assert shown.shape == (750, 1000, 3)
    halved = np.asarray(Image.fromarray(tinted).resize((1000, 750), Image.BILINEAR), dtype=float)
    assert np.abs(shown - halved).mean() < 6
    assert Image.open(tmp_path / "capped" / "tall_overlay.jpg").size == (7, 301)  # under the cap: its own size


@pytest.mark.slow
def test_streamed_predict_equals_the_reference_on_real_test_photos(checkpoint, real_root, tmp_path):
    names = (real_root / "annotations" / "test.txt").read_text().split("\n")[:40]
    files = [real_root / "images" / f"{line.split()[0]}.jpg" for line in names if line.strip()]
    predict(checkpoint, files, tmp_path / "out", log=lambda m: None, overlay_format="png")  # all under 2048 px
    check_same(checkpoint, files, tmp_path / "out")


@pytest.mark.slow
def test_a_broken_file_in_a_folder_does_not_stop_the_others(checkpoint, tmp_path):
    from labseg.errors import PredictionFailures

    files = odd_inputs(tmp_path / "in")
    (tmp_path / "in" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(PredictionFailures, match="1 of 6 image"):
        predict(checkpoint, [tmp_path / "in"], tmp_path / "out", log=lambda m: None, overlay_format="png")
    check_same(checkpoint, files, tmp_path / "out")
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temp files left


@pytest.mark.slow
def test_predict_without_a_checkpoint_uses_the_shipped_model_and_says_so(tmp_path):
    Image.new("RGB", (90, 60), (120, 80, 40)).save(tmp_path / "cat.jpg")
    proc = subprocess.run([sys.executable, "-m", "labseg", "predict", str(tmp_path / "cat.jpg"), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("no checkpoint given: using the shipped UNet (width 16)")
    assert Image.open(tmp_path / "out" / "cat_mask.png").size == (90, 60)
