"""An exponential moving average (EMA) of a network's weights, updated after every optimiser step:

    average <- d_t * average + (1 - d_t) * weights,    d_t = min(decay, (1 + t) / (10 + t))

where t counts the updates so far. The warm-up of d_t (as in TensorFlow's ExponentialMovingAverage and timm's
ModelEmaV2/V3) keeps the first, random weights from weighing on the average for long. BatchNorm running statistics
(floating-point buffers) are averaged the same way; integer buffers (BatchNorm's batch counter) are copied. The
average is the network a run evaluates, saves and scores; the network that trains is part of the resume state only.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class ExponentialAverage:
    """The exponential moving average of a network's parameters and buffers, as a network of the same architecture."""

    def __init__(self, model: nn.Module, decay: float, updates: int = 0, state: dict | None = None):
        if not 0 < decay < 1:
            raise ValueError(f"an EMA decay must be in (0, 1), not {decay!r}")
        self.model = copy.deepcopy(model)
        self.decay = decay
        self.updates = updates
        if state is not None:
            self.model.load_state_dict(state)
        for p in self.model.parameters():
            p.requires_grad_(False)

    def rate(self) -> float:
        """The decay of the next update (the warm-up: small while few updates have been made)."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current weights and buffers by one step."""
        d = self.rate()
        self.updates += 1
        mine, theirs = self.model.state_dict(), model.state_dict()
        for name, value in mine.items():
            source = theirs[name].detach()
            if value.is_floating_point():
                value.lerp_(source.to(value.dtype), 1.0 - d)  # d * value + (1 - d) * source
            else:
                value.copy_(source)
