"""The library's cost measurement (labseg.cost): FLOPs against a hand count, every figure of a measurement
(never its timings)."""
from torch import nn

from labseg.cost import forward_flops, measure
from labseg.models import build_model


def test_flop_count_matches_a_hand_count():
    conv = nn.Conv2d(3, 8, kernel_size=3, padding=1, bias=False)
    # one output pixel: 3*3*3 multiply-adds per output channel; FLOPs = 2 x MACs
    assert forward_flops(conv, 16) == 2 * 3 * 3 * 3 * 8 * 16 * 16


def test_measure_reports_every_figure_for_a_tiny_model():
    r = measure("unet", 32, width=4, batch=2, iters=1, device="cpu", amp="off", channels_last=True)
    assert r["params"] == sum(p.numel() for p in build_model("unet", width=4).parameters())
    assert r["train_images_per_s"] > 0 and r["infer_images_per_s"] > 0 and r["peak_mib"] > 0
    assert abs(r["train_gflops_per_s"] - 3 * r["gflops"] * r["train_images_per_s"]) < 1e-6 * r["train_gflops_per_s"]
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return
    assert r["infer_fp32_images_per_s"] > 0 and r["infer_onnxruntime_images_per_s"] > 0
