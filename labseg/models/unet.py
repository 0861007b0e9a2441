"""UNet (Ronneberger et al., 2015) as in the report: 64-128-256-512-1024, transposed-conv up."""
from __future__ import annotations

import torch
from torch import nn

from .parts import DoubleConv, Down, OutConv, Up


class UNet(nn.Module):
    """Input (N, in_channels, H, W) of any H, W; output logits (N, num_classes, H, W).

    ``width`` is the channel count of the first level (64 in the paper); each level doubles it.
    ``deep_supervision``: the decoder's three coarser stages (1/8, 1/4 and 1/2 of the input's size) each get a 1x1
    conv to logits; in training mode the network then returns ``(logits, [side logits, coarsest first])`` for the
    loss to score them too (:class:`labseg.losses.SideOutputLoss`); in eval mode it returns the logits alone.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 1, width: int = 64, deep_supervision: bool = False):
        super().__init__()
        w = width
        self.inc = DoubleConv(in_channels, w)
        self.down1 = Down(w, 2 * w)
        self.down2 = Down(2 * w, 4 * w)
        self.down3 = Down(4 * w, 8 * w)
        self.down4 = Down(8 * w, 16 * w)
        self.up1 = Up(16 * w, 8 * w)
        self.up2 = Up(8 * w, 4 * w)
        self.up3 = Up(4 * w, 2 * w)
        self.up4 = Up(2 * w, w)
        self.outc = OutConv(w, num_classes)
        self.sides = (nn.ModuleList([OutConv(c, num_classes) for c in (8 * w, 4 * w, 2 * w)])
                      if deep_supervision else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        d1 = self.up1(x5, x4)
        d2 = self.up2(d1, x3)
        d3 = self.up3(d2, x2)
        logits = self.outc(self.up4(d3, x1))
        if self.sides is None or not self.training:
            return logits
        return logits, [head(d) for head, d in zip(self.sides, (d1, d2, d3))]
