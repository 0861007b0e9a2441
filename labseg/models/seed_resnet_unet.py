"""The original lab report's ResNet34-UNet, reproduced *with its bugs*, for the ablation only.

Do not use this network for anything but measuring what its bugs cost. The two bugs:

1. ``stride`` is passed to **every** block of stages 2-4, not only to the first. Each of those
   13 blocks halves the feature map, so at 256 px the map is 8x8 after stage 2 and 1x1 from the
   second block of stage 3 on: the deep skips carry no spatial information.
2. Whenever a block's input and output shapes differ, the projection shortcut (1x1 conv + BN)
   is built **inside** ``forward()``, on every call. Its weights are freshly random each time,
   are never seen by the optimiser, and make predictions differ from call to call.

The report printed the encoder; its decoder is rebuilt here as a plain UNet decoder
(transposed conv x2, resized to the skip, concat, double conv), the reading that needs no
further assumption. Everything else (widths, block counts) is ResNet34's.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .parts import DoubleConv


class SeedBasicBlock(nn.Module):
    """BasicBlock whose projection shortcut is re-created, untrained, inside every forward call."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x
        if self.stride != 1 or self.in_channels != self.out_channels:
            # BUG (kept on purpose): a fresh, untrained projection on every call.
            projection = nn.Sequential(
                nn.Conv2d(self.in_channels, self.out_channels, 1, stride=self.stride, bias=False),
                nn.BatchNorm2d(self.out_channels),
            ).to(device=x.device, dtype=x.dtype)
            # Follow the block's train/eval mode so that single-image inference runs (a fresh BN in
            # training mode cannot normalise one 1x1 value); in eval it uses its initial statistics.
            identity = projection.train(self.training)(x)
        return F.relu(out + identity)


def _seed_stage(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Sequential:
    # BUG (kept on purpose): every block gets the stage's stride, not only the first.
    layers = [SeedBasicBlock(in_channels, out_channels, stride)]
    layers += [SeedBasicBlock(out_channels, out_channels, stride) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class SeedUp(nn.Module):
    def __init__(self, in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels // 2 + skip_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(self.up(x), size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat([skip, x], dim=1))


class SeedResNet34UNet(nn.Module):
    """The report's network. Input (N, 3, H, W); output logits (N, num_classes, H, W)."""

    def __init__(self, in_channels: int = 3, num_classes: int = 1):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        )
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = _seed_stage(64, 64, 3, stride=1)
        self.layer2 = _seed_stage(64, 128, 4, stride=2)
        self.layer3 = _seed_stage(128, 256, 6, stride=2)
        self.layer4 = _seed_stage(256, 512, 3, stride=2)
        self.up1 = SeedUp(512, 256, 256)
        self.up2 = SeedUp(256, 128, 128)
        self.up3 = SeedUp(128, 64, 64)
        self.up4 = SeedUp(64, 64, 64)
        self.out = nn.Conv2d(64, num_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.stem(x)
        e1 = self.layer1(self.pool(s1))
        e2 = self.layer2(e1)
        e3 = self.layer3(e2)
        e4 = self.layer4(e3)
        d = self.up1(e4, e3)
        d = self.up2(d, e2)
        d = self.up3(d, e1)
        d = self.up4(d, s1)
        d = F.interpolate(d, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return self.out(d)
