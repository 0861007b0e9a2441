"""Stochastic weight averaging (SWA, Izmailov et al. 2018): the last ``--swa-epochs`` epochs of a run train at a
constant rate (``--swa-lr`` x ``--lr``) and the weights at the end of each of them are averaged with equal weight.
The average's BatchNorm statistics are then measured again on the training batches of the epoch, since the running
statistics of the trained network belong to other weights. The average is the network a run evaluates, saves and
scores in those epochs; the network that keeps training is part of the resume state only.
"""
from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn

from .device import autocast


class WeightAverage:
    """The running equal-weight mean of a network's parameters, as a network of the same architecture."""

    def __init__(self, model: nn.Module, averaged: int = 0, state: dict | None = None):
        self.model = copy.deepcopy(model)
        self.averaged = averaged
        if state is not None:
            self.model.load_state_dict(state)
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Add ``model``'s current parameters to the mean (the first call copies them)."""
        self.averaged += 1
        for mine, theirs in zip(self.model.parameters(), model.parameters(), strict=True):
            mine.lerp_(theirs.detach(), 1.0 / self.averaged)  # mean_n = mean_{n-1} + (x_n - mean_{n-1}) / n

    @torch.no_grad()
    def measure_batchnorm(self, batches: Iterable[torch.Tensor], device: torch.device, bf16: bool) -> int:
        """Replace the average's BatchNorm running statistics by their mean over ``batches`` (normalised inputs,
        as in training: train mode, the same autocast). Returns the number of images seen."""
        norms = [m for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative mean over the batches, not an exponential one
        was_training = self.model.training
        self.model.train()
        seen = 0
        try:
            for x in batches:
                with autocast(device, bf16):
                    self.model(x)
                seen += len(x)
        finally:
            for m, momentum in zip(norms, momenta):
                m.momentum = momentum
            self.model.train(was_training)
        return seen
