"""Does torch.compile pay for training on this machine? Eager against compiled training steps (forward, loss,
backward, fused Adam; bf16 autocast where the CPU has it, channels_last), batch 8:

    python benchmarks/compile_check.py            # UNet width 16 at 128 px, ResNet34-UNet (and smp's) at 256 px

Prints the warm-up (the first two steps: compilation included) and the steady training img/s of each. Nothing
here is used by training: labseg offers no compile option because on the CPUs measured it did not pay
(README, Performance).
"""
from __future__ import annotations

import sys
import time

import torch

from labseg.cost import build
from labseg.device import cpu_name, prepare_batch, resolve_device, use_bf16
from labseg.engine import train_step
from labseg.losses import SegmentationLoss
from labseg.optim import make_optimizer


def measure(name: str, width: int, size: int, compiled: bool, device, seconds: float = 8.0) -> float:
    torch.manual_seed(0)
    model = build(name, width).to(device).to(memory_format=torch.channels_last)
    x, y = prepare_batch(torch.randint(0, 256, (8, 3, size, size), dtype=torch.uint8),
                         (torch.rand(8, 1, size, size) > 0.5).to(torch.uint8), device, True)
    opt = (torch.optim.Adam(model.parameters(), lr=1e-4) if name.startswith("smp")
           else make_optimizer(model, 1e-4, device=device))
    step_model = torch.compile(model) if compiled else model
    loss, bf16 = SegmentationLoss("bce_dice"), use_bf16("auto", device)
    t0 = time.perf_counter()
    for _ in range(2):
        train_step(step_model, opt, loss, x, y, device, bf16)
    warm = time.perf_counter() - t0
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        train_step(step_model, opt, loss, x, y, device, bf16)
        steps += 1
    rate = 8 * steps / (time.perf_counter() - t0)
    print(f"{name:18s} width {width:2d} {size}px compiled={compiled!s:5s}: warm-up {warm:6.1f}s, "
          f"train {rate:7.2f} img/s", flush=True)
    return rate


def main() -> int:
    device = resolve_device("auto")
    print(f"machine: {cpu_name()}, {torch.get_num_threads()} threads, device {device}, torch {torch.__version__}")
    eager = measure("unet", 16, 128, False, device)
    print(f"ratio compiled_vs_eager_unet16_128: {measure('unet', 16, 128, True, device) / eager:.3f}")
    eager = measure("resnet34_unet", 64, 256, False, device)
    smp = measure("smp_unet_resnet34", 64, 256, False, device)
    compiled = measure("resnet34_unet", 64, 256, True, device)
    print(f"ratio eager_vs_smp_resnet34_256: {eager / smp:.3f}")
    print(f"ratio compiled_vs_eager_resnet34_256: {compiled / eager:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
