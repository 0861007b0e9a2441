"""UNet (Ronneberger et al., 2015) as in the report: 64-128-256-512-1024, transposed-conv up."""
from __future__ import annotations

import torch
from torch import nn

from .parts import DoubleConv, Down, OutConv, Up


class UNet(nn.Module):
    """Input (N, in_channels, H, W) of any H, W; output logits (N, num_classes, H, W).

    ``width`` is the channel count of the first level (64 in the paper); each level doubles it.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 1, width: int = 64):
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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        return self.outc(x)
