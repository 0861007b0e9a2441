"""Scores at each photo's own size (labseg.fullsize, `labseg evaluate --full-size`): a hand-made case whose dice is
known exactly, and real test photos scored again here with numpy from the trimap PNG and the mask PNG that
`labseg predict` writes (no labseg metric code)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from labseg.fullsize import full_size_metrics, full_size_scores
from labseg.inference import TorchPredictor
from labseg.predict import predict


class HalfPlane:
    """A stand-in network at 8 px: logit +10 in the left 4 columns, -50 in the right 4. Resized bilinearly
    (align_corners=False), the outline moves left of the middle: at width 16 columns 0-6 are pet (column 7 samples
    x = 3.25: 0.75 * 10 - 0.25 * 50 < 0), at width 20 columns 0-8 (column 9 samples 3.3). A nearest resize would
    give 8 and 10 columns."""

    image_size = 8

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        assert images.shape == (1, 3, 8, 8) and images.dtype == torch.uint8
        logits = torch.full((1, 1, 8, 8), -50.0)
        logits[..., :4] = 10.0
        return logits


def write_set(root, trimaps: dict[str, np.ndarray]):
    """A data folder in the official layout: one noise JPEG per trimap, at its size; all in test.txt."""
    (root / "images").mkdir(parents=True)
    (root / "annotations" / "trimaps").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, trimap in trimaps.items():
        Image.fromarray(rng.integers(0, 255, (*trimap.shape, 3), dtype=np.uint8)).save(root / "images" / f"{name}.jpg")
        Image.fromarray(trimap.astype(np.uint8)).save(root / "annotations" / "trimaps" / f"{name}.png")
    (root / "annotations" / "test.txt").write_text("".join(f"{n} 1 1 1\n" for n in trimaps))
    (root / "annotations" / "trainval.txt").write_text("")
    return root


def test_a_hand_made_case_gives_the_dice_known_exactly(tmp_path):
    a = np.full((12, 16), 2)  # 16x12: pet columns 0-5, border 6-9, background 10-15; predicted: columns 0-6
    a[:, :6], a[:, 6:10] = 1, 3
    b = np.full((10, 20), 2)  # 20x10: pet columns 0-9; predicted: columns 0-8
    b[:, :10] = 1
    root = write_set(tmp_path / "set", {"a": a, "b": b})
    # per row of a: border as pet 7 tp, 3 fn; as background 6 tp, 1 fp; ignored 6 tp. b: 9 tp, 1 fn
    expected = {"foreground": (14 / 17, 18 / 19), "background": (12 / 13, 18 / 19), "ignore": (1.0, 18 / 19)}
    for boundary, (dice_a, dice_b) in expected.items():
        summary, table = full_size_scores(HalfPlane(), root, "test", boundary)
        assert table["name"].tolist() == ["a", "b"]
        assert table[["width", "height"]].values.tolist() == [[16, 12], [20, 10]]
        assert table["dice"].tolist() == pytest.approx([dice_a, dice_b], abs=1e-12), boundary
        assert summary["dice"] == pytest.approx((dice_a + dice_b) / 2, abs=1e-12)
    summary, _ = full_size_scores(HalfPlane(), root, "test", "foreground")  # pixels summed over both images
    assert summary["global_dice"] == pytest.approx(2 * 174 / (2 * 174 + 46), abs=1e-12)  # 7*12 + 9*10 tp


def independent_dice(mask_png, trimap_png, boundary: str) -> float:
    """Dice of a 0/255 mask PNG against an official trimap PNG, in numpy alone (1 pet, 2 background, 3 border)."""
    pred = np.array(Image.open(mask_png).convert("L")) == 255
    trimap = np.array(Image.open(trimap_png))
    truth = (trimap == 1) | ((trimap == 3) if boundary == "foreground" else False)
    valid = trimap != 3 if boundary == "ignore" else np.ones_like(truth)
    pred, truth = pred & valid, truth & valid
    return 2 * (pred & truth).sum() / (pred.sum() + truth.sum())


def real_photos(real_root, folder, count_first: int = 4, count_largest: int = 2):
    """A data folder of links to the first test photos and the largest ones (JPEG draft decoding applies)."""
    names = [line.split()[0] for line in (real_root / "annotations" / "test.txt").read_text().splitlines()]
    by_area = sorted(names, key=lambda n: np.prod(Image.open(real_root / "images" / f"{n}.jpg").size))
    picks = list(dict.fromkeys(names[:count_first] + by_area[-count_largest:]))
    for sub in ("images", "annotations/trimaps"):
        (folder / sub).mkdir(parents=True)
    for n in picks:
        (folder / "images" / f"{n}.jpg").symlink_to(real_root / "images" / f"{n}.jpg")
        (folder / "annotations" / "trimaps" / f"{n}.png").symlink_to(real_root / "annotations" / "trimaps" / f"{n}.png")
    (folder / "annotations" / "test.txt").write_text("".join(f"{n} 1 1 1\n" for n in picks))
    return folder, picks


@pytest.mark.slow
def test_real_photos_score_as_numpy_scores_the_masks_labseg_predict_writes(real_root, tmp_path):
    from labseg.checkpoint import model_from_checkpoint
    from labseg.shipped import load_shipped

    root, picks = real_photos(real_root, tmp_path / "set")
    assert max(np.prod(Image.open(root / "images" / f"{n}.jpg").size) for n in picks) > 1_000_000
    predict(None, [root / "images"], tmp_path / "masks", log=lambda m: None, overlays=False)
    model, cfg = model_from_checkpoint(load_shipped())
    predictor = TorchPredictor(model, cfg, torch.device("cpu"))
    for boundary in ("foreground", "ignore"):
        want = [independent_dice(tmp_path / "masks" / f"{n}_mask.png", root / "annotations" / "trimaps" / f"{n}.png",
                                 boundary) for n in picks]
        summary, table = full_size_scores(predictor, root, "test", boundary)
        assert table["name"].tolist() == picks
        np.testing.assert_allclose(table["dice"], want, rtol=0, atol=1e-12, err_msg=boundary)
        assert summary["dice"] == pytest.approx(np.mean(want), abs=1e-12)
        assert 0.5 < summary["dice"] < 1  # a trained network, not an empty or full mask


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory, toy_root):
    from labseg.config import profile_config
    from labseg.engine import train

    out = tmp_path_factory.mktemp("fullsize") / "run"
    cfg = profile_config("smoke", data=str(toy_root), out_dir=str(out), epochs=2, width=4, image_size=40,
                         train_subset=8)
    train(cfg, progress=False, log=lambda m: None)
    return out


@pytest.mark.slow
def test_evaluate_full_size_prints_and_keeps_the_independent_figure(toy_run, toy_root, tmp_path, capsys):
    from labseg.cli import main

    assert main(["evaluate", str(toy_run / "last.pt"), "--full-size", "--per-image", str(tmp_path / "pi.csv")]) == 0
    out = capsys.readouterr().out
    cached = json.loads((toy_run / "metrics_fullsize.json").read_text())
    names = [line.split()[0] for line in (toy_root / "annotations" / "test.txt").read_text().splitlines()]
    predict(toy_run / "last.pt", [toy_root / "images" / f"{n}.jpg" for n in names], tmp_path / "masks",
            log=lambda m: None, overlays=False)
    want = [independent_dice(tmp_path / "masks" / f"{n}_mask.png", toy_root / "annotations" / "trimaps" / f"{n}.png",
                             "foreground") for n in names]
    assert cached["last_fullsize_test_dice"] == pytest.approx(np.mean(want), abs=1e-12)
    assert cached["last_epoch"] == 2 and cached["images"] == len(names) and cached["boundary"] == "foreground"
    assert f"dice         {np.mean(want):.4f}" in out.split("own size")[1]
    import pandas as pd

    np.testing.assert_allclose(pd.read_csv(tmp_path / "pi.csv")["fullsize_dice"], want, rtol=0, atol=1e-12)
    # best.pt computed on request and added beside; then, checkpoints gone, both are read back
    both = full_size_metrics(toy_run, "best.pt")
    assert both["last_fullsize_test_dice"] == cached["last_fullsize_test_dice"] and "fullsize_test_dice" in both
    for ckpt in ("best.pt", "last.pt"):
        (toy_run / ckpt).rename(tmp_path / ckpt)
    try:
        assert full_size_metrics(toy_run, "last.pt") == both == full_size_metrics(toy_run, "best.pt")
        assert "last_fullsize_tta_test_dice" not in full_size_metrics(toy_run, "last.pt", tta=True)
    finally:
        for ckpt in ("best.pt", "last.pt"):
            (tmp_path / ckpt).rename(toy_run / ckpt)
