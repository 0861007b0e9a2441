"""The optimiser and the learning-rate schedule of a run (stepped once per batch)."""
from __future__ import annotations

import math

import torch
from torch import nn

from .config import RunConfig


def make_optimizer(model: nn.Module, lr: float, weight_decay: float = 0.0, device: torch.device | None = None,
                   name: str = "adam"):
    """Adam (weight decay as L2 on every parameter, as the report), or AdamW (decoupled weight decay on the
    conv and linear weights only, none on norm weights and biases). The fused kernel where the device has
    one (CPU, CUDA): one pass over the parameters instead of several, about 5% of a ResNet34-UNet step."""
    fused = (device is not None and device.type in ("cpu", "cuda")) or None
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay, fused=fused)
    if name != "adamw":
        raise ValueError(f"--optimizer {name}: choose adam or adamw.")
    decay = [p for p in model.parameters() if p.ndim > 1]  # conv / linear weights
    rest = [p for p in model.parameters() if p.ndim <= 1]  # BatchNorm weights and every bias
    return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
                             lr=lr, fused=fused)


def make_scheduler(optimizer, cfg: RunConfig, steps_per_epoch: int):
    """The learning-rate schedule, stepped once per batch: ``constant`` (the report; optional linear
    warm-up), ``cosine`` (linear warm-up, then cosine decay to 0 at the last step) or ``onecycle``
    (PyTorch's OneCycleLR: up to ``lr`` over the first 30 %, then down; it cycles Adam's beta1 too). ``lr_floor``:
    the cosine decays to that fraction of ``lr`` instead of 0. With ``swa_epochs``, the schedule spans the epochs
    before the averaging phase (which sets its own constant rate and does not step the scheduler)."""
    total = max(1, (cfg.epochs - cfg.swa_epochs) * steps_per_epoch)
    warm = int(round(cfg.warmup_epochs * steps_per_epoch))
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        if cfg.schedule == "cosine":
            decay = 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))
            return cfg.lr_floor + (1 - cfg.lr_floor) * decay if cfg.lr_floor else decay
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
