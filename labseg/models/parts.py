"""UNet building blocks: each is one step of the UNet diagram."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DoubleConv(nn.Sequential):
    """(3x3 conv without bias -> BN -> ReLU) x 2; keeps the spatial size."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None):
        mid = mid_channels or out_channels
        super().__init__(
            nn.Conv2d(in_channels, mid, 3, padding=1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class Down(nn.Sequential):
    """2x2 max-pool, then DoubleConv: halves the size (floor for odd sizes)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))


def match_size(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Zero-pad (or crop) ``x`` so its H, W equal those of ``like``; needed for odd input sizes."""
    dh = like.shape[-2] - x.shape[-2]
    dw = like.shape[-1] - x.shape[-1]
    if dh == 0 and dw == 0:
        return x
    return F.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])


class Up(nn.Module):
    """2x2 transposed conv (halves channels, doubles size), concat with the skip, DoubleConv."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels // 2 + out_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = match_size(self.up(x), skip)
        return self.conv(torch.cat([skip, x], dim=1))


class OutConv(nn.Conv2d):
    """1x1 conv to the logits of the classes (one channel for binary segmentation)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, kernel_size=1)
