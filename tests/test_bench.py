"""The benchmark's arithmetic (labseg.tools.bench; never its timings)."""
from torch import nn

from labseg.models import build_model


def test_the_naive_pipelines_unet_is_labsegs_network_with_the_library_upsampling_op():
    import torch

    from labseg.tools.bench import report_unet

    torch.manual_seed(0)
    ours = build_model("unet", width=4).eval()
    torch.manual_seed(0)
    report = report_unet(4).eval()
    assert [type(b.up) for b in (report.up1, report.up2, report.up3, report.up4)] == [nn.ConvTranspose2d] * 4
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(report(x), ours(x))


def test_the_benchmark_prints_every_headline_ratio(toy_root, tmp_path, capsys):
    import json

    from labseg.tools.bench import main

    out = tmp_path / "bench.json"
    assert main(["--sizes", "32", "--models", "unet", "--width", "4", "--iters", "1", "--min-seconds", "0",
                 "--data", str(toy_root), "--e2e-images", "16", "--e2e-size", "32", "--e2e-width", "4",
                 "--e2e-repeats", "1", "--quality-seeds", "0", "--loader-augment", "flip", "all",
                 "--loader-seconds", "0",
                 "--predict-images", "4", "--predict-big", "0",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    ratios = dict(line[len("ratio "):].split(": ") for line in printed.splitlines() if line.startswith("ratio "))
    expected = {"epoch_speedup_vs_naive", "epoch_speedup_bound_at_matmul_peak", "data_wait_fraction",
                "loader_batch_vs_per_sample_flip_32", "loader_batch_vs_per_sample_all_32", "predict_images_vs_naive_32",
                "predict_masks_only_vs_naive_32", "predict_png_overlay_vs_naive_32",
                "predict_images_vs_naive_1_thread_32"}
    try:
        import onnxruntime  # noqa: F401

        expected.add("onnxruntime_vs_torch_fp32_infer_unet_32")
    except ImportError:
        pass
    assert set(ratios) == expected
    saved = json.loads(out.read_text())
    assert [(r["size"], r["augment"]) for r in saved["loader"]] == [(32, "flip"), (32, "all")]
    for row in saved["loader"]:
        assert row["loader_images_per_s"] > 0 and row["device_images_per_s"] > 0
        assert abs(float(ratios[f"loader_batch_vs_per_sample_{row['augment']}_32"])
                   - row["device_images_per_s"] / row["loader_images_per_s"]) <= 0.0005 + 1e-9
    pr = saved["predict"]
    assert pr["images"] == 4 and pr["folder_naive_images_per_s"] > 0 and pr["folder_labseg_bytes"] > 0
    assert abs(float(ratios["predict_images_vs_naive_32"])
               - pr["folder_labseg_images_per_s"] / pr["folder_naive_images_per_s"]) <= 0.0005 + 1e-9
    e2e = saved["end_to_end"]
    assert e2e["trained_images"] == 16 and len(e2e["naive_all_s"]) == len(e2e["labseg_all_s"]) == 1
    assert abs(float(ratios["epoch_speedup_vs_naive"]) - e2e["naive_s"] / e2e["labseg_s"]) <= 0.0005 + 1e-9
