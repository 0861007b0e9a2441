"""ONNX export checked with onnxruntime for every registry model, and prediction through it. Skipped where the
optional packages are absent."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from labseg.checkpoint import save_checkpoint
from labseg.config import MODEL_NAMES, profile_config
from labseg.models import build_model

ATOL = RTOL = 1e-4  # fp32 on both sides: the stated tolerance (observed differences are ~1e-7)


def _checkpoint(path, name: str, image_size: int = 64):
    """A checkpoint with non-trivial BatchNorm statistics (a few train-mode passes)."""
    torch.manual_seed(0)
    options = {"width": 8} if name == "unet" else {}
    model = build_model(name, **options)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.randn(2, 3, 64, 64) * 2 + 0.5)
    cfg = profile_config("smoke", model=name, width=8, image_size=image_size, amp="off")
    save_checkpoint(path, model=model.state_dict(), config=cfg.to_dict())
    return model.eval()


@pytest.mark.parametrize("name", [m for m in MODEL_NAMES if m != "resnet34_unet_seed"])
def test_onnx_export_matches_pytorch_at_two_sizes(name, tmp_path):
    pytest.importorskip("onnxruntime")
    from labseg.onnx_export import Normalised, OnnxPredictor, export_onnx

    model = _checkpoint(tmp_path / "m.pt", name)
    export_onnx(tmp_path / "m.pt", tmp_path / "m.onnx")
    runner = OnnxPredictor(tmp_path / "m.onnx")
    assert runner.image_size == 64 and runner.model_name == name
    net = Normalised(model).eval()
    gen = torch.Generator().manual_seed(1)
    for shape in [(2, 3, 64, 64), (1, 3, 97, 75)]:  # dynamic batch, height and width; an odd size
        pixels = torch.randint(0, 256, shape, generator=gen).float()
        with torch.no_grad():
            expected = net(pixels).numpy()
        got = runner.logits(pixels.numpy())
        assert got.shape == expected.shape == (shape[0], 1, *shape[2:])
        np.testing.assert_allclose(got, expected, atol=ATOL, rtol=RTOL)
        assert ((got > 0) == (expected > 0)).mean() >= 0.999


def test_the_reports_network_is_refused_with_the_reason(tmp_path):
    pytest.importorskip("onnxruntime")
    from labseg.onnx_export import export_onnx

    _checkpoint(tmp_path / "seed.pt", "resnet34_unet_seed")
    with pytest.raises(ValueError, match="resnet34_unet_seed cannot be exported: .*random"):
        export_onnx(tmp_path / "seed.pt", tmp_path / "seed.onnx")
    assert not (tmp_path / "seed.onnx").exists()


def test_predict_through_onnx_gives_the_checkpoints_masks(tmp_path):
    pytest.importorskip("onnxruntime")
    from labseg.predict import predict

    _checkpoint(tmp_path / "m.pt", "unet")
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i, size in enumerate([(123, 77), (64, 64), (300, 200)]):
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(photos / f"p{i}.png")
    proc = subprocess.run([sys.executable, "-m", "labseg", "export", str(tmp_path / "m.pt"), str(tmp_path / "m.onnx")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    predict(tmp_path / "m.pt", [photos], tmp_path / "torch", log=lambda m: None)
    predict(tmp_path / "m.onnx", [photos], tmp_path / "onnx", log=lambda m: None)
    for i in range(3):
        a = np.asarray(Image.open(tmp_path / "torch" / f"p{i}_mask.png"))
        b = np.asarray(Image.open(tmp_path / "onnx" / f"p{i}_mask.png"))
        assert a.shape == b.shape and (a == b).mean() >= 0.999


def test_an_onnx_file_that_is_not_a_labseg_export_gets_one_line(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "other.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    Image.new("RGB", (40, 40)).save(tmp_path / "a.png")
    for name, says in (("other.onnx", "is not a labseg export"), ("junk.onnx", "is not a readable ONNX model")):
        proc = subprocess.run([sys.executable, "-m", "labseg", "predict", str(tmp_path / name), str(tmp_path / "a.png"),
                               "--out", str(tmp_path / "out")], capture_output=True, text=True)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and name in proc.stderr and says in proc.stderr
    assert not (tmp_path / "out").exists()
