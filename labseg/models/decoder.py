"""The UNet decoder shared by the encoder UNets (ResNet34-UNet, VGG16-BN-UNet): the design of
segmentation-models-pytorch's ``Unet``, so that its networks are exact references.

It takes the encoder's features at strides 2, 4, 8, 16, 32 and consumes them from the deepest up: one
block per skip (strides 16, 8, 4, 2), then a last block up to the input's resolution.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class DecoderBlock(nn.Module):
    """Upsample to the skip's size (nearest), concatenate the skip, two 3x3 conv-BN-ReLU."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = conv_bn_relu(in_channels + skip_channels, out_channels)
        self.conv2 = conv_bn_relu(out_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None, size=None) -> torch.Tensor:
        size = skip.shape[-2:] if skip is not None else size
        x = F.interpolate(x, size=size, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


def conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNetDecoder(nn.Module):
    """One block per skip (strides 16, 8, 4, 2), then a last block up to the input's resolution."""

    def __init__(self, encoder_channels: Sequence[int], decoder_channels: Sequence[int] = (256, 128, 64, 32, 16)):
        super().__init__()
        if len(decoder_channels) != len(encoder_channels):
            raise ValueError(f"decoder_channels needs {len(encoder_channels)} entries, got {len(decoder_channels)}")
        skips = list(encoder_channels[:-1])[::-1] + [0]  # 256, 128, 64, 64, then none at full size
        ins = [encoder_channels[-1]] + list(decoder_channels[:-1])
        self.blocks = nn.ModuleList(DecoderBlock(i, s, o) for i, s, o in zip(ins, skips, decoder_channels))

    def forward(self, features: Sequence[torch.Tensor], size) -> torch.Tensor:
        skips = list(features[:-1])[::-1] + [None]
        x = features[-1]
        for block, skip in zip(self.blocks, skips):
            x = block(x, skip, size=size)
        return x
