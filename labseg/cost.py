"""What a network costs on this machine: parameters, forward GFLOPs per image (torch.utils.flop_counter),
training and inference images/s, achieved GFLOP/s and peak memory, each model measured in a fresh process so that
its peak memory is its own; and a large matmul's peak, the ceiling those GFLOP/s are read against. Notebook 09's
encoder table and the benchmark (:mod:`labseg.tools.bench`) both measure through :func:`measure`."""
from __future__ import annotations

import multiprocessing as mp
import resource
import time
from pathlib import Path

import torch

from .device import autocast, prepare_batch, resolve_device, use_bf16
from .engine import train_step
from .losses import SegmentationLoss
from .optim import make_optimizer

# The reference for each labseg encoder UNet: segmentation-models-pytorch's Unet with the same encoder
# (the same architecture and parameter count), as its users run it.
SMP_REFERENCES = {"smp_unet_resnet34": ("resnet34", "resnet34_unet"),
                  "smp_unet_vgg16_bn": ("vgg16_bn", "vgg16_bn_unet")}


def build(name: str, width: int):
    if name in SMP_REFERENCES:
        import segmentation_models_pytorch as smp

        return smp.Unet(encoder_name=SMP_REFERENCES[name][0], encoder_weights=None, in_channels=3, classes=1)
    from .models import build_model

    return build_model(name, **({"width": width} if name == "unet" else {}))


def forward_flops(model, size: int) -> float:
    """FLOPs (2 x multiply-adds) of one forward pass on one image."""
    import logging

    # A CPU-only install has no triton (tools/setup_cpu.py), and torch's flop counter warns so on import.
    logging.getLogger("torch.utils.flop_counter").setLevel(logging.ERROR)
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, size, size))
    return float(counter.get_total_flops())


def _measure(name: str, size: int, width: int, batch: int, iters: int, device_name: str, amp: str,
             channels_last: bool, min_seconds: float, onnx: bool, queue) -> None:
    torch.manual_seed(0)
    device = resolve_device(device_name)
    bf16 = use_bf16(amp, device)
    model = build(name, width)
    params = sum(p.numel() for p in model.parameters())
    flops = forward_flops(model, size)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    x, y = prepare_batch(torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8),
                         (torch.rand(batch, 1, size, size) > 0.5).to(torch.uint8), device, channels_last)
    # labseg's models train with labseg's optimizer (fused Adam); the reference as its users run it
    opt = (torch.optim.Adam(model.parameters(), lr=1e-4) if name.startswith("smp")
           else make_optimizer(model, 1e-4, device=device))
    loss_fn = SegmentationLoss("bce_dice")

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def train():
        train_step(model, opt, loss_fn, x, y, device, bf16)

    def infer_step():
        with torch.no_grad(), autocast(device, bf16):
            model(x)

    def timed(step) -> float:
        step()  # warm-up (allocations, kernel selection)
        sync()
        t0, done = time.perf_counter(), 0
        while done < iters or time.perf_counter() - t0 < min_seconds:
            step()
            sync()
            done += 1
        return batch * done / (time.perf_counter() - t0)

    results = {}
    model.train()
    results["train_images_per_s"] = timed(train)
    model.eval()
    results["infer_images_per_s"] = timed(infer_step)
    if onnx and not name.startswith("smp") and device.type == "cpu":
        results.update(_onnx_vs_fp32(model, size, batch, timed))
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else peak_rss_bytes()
    # training does ~3x the forward work (forward + backward for activations and weights)
    results.update(params=params, gflops=flops / 1e9, peak_mib=peak / 2**20, bf16=bf16,
                   train_gflops_per_s=3 * flops / 1e9 * results["train_images_per_s"],
                   infer_gflops_per_s=flops / 1e9 * results["infer_images_per_s"])
    queue.put(results)


def _onnx_vs_fp32(model, size: int, batch: int, timed) -> dict:
    """Inference img/s of the same network in fp32: PyTorch (NCHW, no autocast) and onnxruntime (its CPU
    provider, as many threads as torch), on the same raw-pixel batch. Empty where onnxruntime is absent
    or the model cannot be exported."""
    import tempfile
    import warnings

    try:
        import onnxruntime as ort
    except ImportError:
        return {}
    from .onnx_export import INPUT_NAME, OPSET, OUTPUT_NAME, Normalised

    net = Normalised(model.to(memory_format=torch.contiguous_format)).eval()
    pixels = torch.randint(0, 256, (batch, 3, size, size)).float()
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = f"{tmp}/m.onnx"
        try:
            torch.onnx.export(net, (pixels[:1],), path, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              dynamic_axes={INPUT_NAME: {0: "n"}, OUTPUT_NAME: {0: "n"}}, opset_version=OPSET,
                              dynamo=False)
        except Exception:  # noqa: BLE001 - e.g. the report's network, which has no fixed function
            return {}
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        feed = {INPUT_NAME: pixels.numpy()}
        return {"infer_fp32_images_per_s": timed(lambda: net(pixels)),
                "infer_onnxruntime_images_per_s": timed(lambda: session.run(None, feed))}


def peak_rss_bytes() -> int:
    """This process's own peak resident memory. Linux: VmHWM, which starts afresh with the new process image;
    getrusage's ru_maxrss would carry over the peak of the process that spawned this one (a 2 GB Jupyter
    kernel made every model look 2 GB)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(name: str, size: int, **kw) -> dict:
    """Run :func:`_measure` in a fresh process (its own peak memory)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_measure, args=(name, size, kw["width"], kw["batch"], kw["iters"], kw["device"],
                                              kw["amp"], kw["channels_last"], kw.get("min_seconds", 0.0),
                                              kw.get("onnx", True), queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def matmul_peak(device: torch.device, dtype: torch.dtype, n: int = 2048, iters: int = 10, trials: int = 5) -> float:
    """GFLOP/s of an n^3 matmul: the best of ``trials`` timings of ``iters`` products (a peak is a maximum;
    single timings of this kind varied 2x within one session on a 2-core cloud machine)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    best = 0.0
    for _ in range(trials):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(iters):
            a @ b
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = max(best, 2 * n**3 * iters / (time.perf_counter() - t0) / 1e9)
    return best


# ----------------------------------------------------------------------------- end-to-end epoch
