"""ResNet34 encoder with torchvision-compatible parameter names, and a UNet decoder on top of it.

The model is ``head(decoder(encoder(x)))``: the encoder returns one feature map per stride
(2, 4, 8, 16, 32), the decoder consumes that list from the deepest map up, one block per skip.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from .decoder import UNetDecoder
from .weights import load_encoder_weights, load_state_dict_file  # noqa: F401

RESNET34_LAYERS = (3, 4, 6, 3)


class BasicBlock(nn.Module):
    """Two 3x3 convs with an identity (or 1x1 projection) shortcut, as torchvision's BasicBlock."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 drop_path: float = 0.0):
        super().__init__()
        self.drop_path = drop_path  # stochastic depth: in training, the residual branch is dropped per sample
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.drop_path and self.training:  # kept samples are scaled by 1/keep: the expectation is unchanged
            keep = 1.0 - self.drop_path
            out = out * out.new_empty((out.shape[0], 1, 1, 1)).bernoulli_(keep).div_(keep)
        out += identity  # in place: BN's backward does not need its output
        return self.relu(out)


class ResNet34Encoder(nn.Module):
    """ResNet34 without its classifier; ``forward`` returns the features at strides 2, 4, 8, 16, 32.

    Attribute names (``conv1``, ``bn1``, ``layer1..4``, ``downsample.0/1``) equal torchvision's, so
    its ImageNet state dict loads with ``strict=True`` (see :meth:`load_torchvision_state_dict`).

    ``drop_path`` (stochastic depth, Huang et al. 2016): in training, block ``i`` of the 16 skips its residual
    branch for a sample with probability ``drop_path * i / 15`` (the first block never, the last with
    ``drop_path``); evaluation uses every block. It adds no parameters.
    """

    out_channels = (64, 64, 128, 256, 512)

    def __init__(self, in_channels: int = 3, drop_path: float = 0.0):
        super().__init__()
        self.inplanes = 64
        rates = iter(torch.linspace(0, drop_path, sum(RESNET34_LAYERS)).tolist())  # one per block, in order
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, RESNET34_LAYERS[0], rates)
        self.layer2 = self._make_layer(128, RESNET34_LAYERS[1], rates, stride=2)
        self.layer3 = self._make_layer(256, RESNET34_LAYERS[2], rates, stride=2)
        self.layer4 = self._make_layer(512, RESNET34_LAYERS[3], rates, stride=2)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(self, planes: int, blocks: int, rates: Iterator[float], stride: int = 1) -> nn.Sequential:
        """Stride and projection shortcut on the first block only; the others keep the size."""
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample, next(rates))]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes, drop_path=next(rates)) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        f1 = self.relu(self.bn1(self.conv1(x)))
        f2 = self.layer1(self.maxpool(f1))
        f3 = self.layer2(f2)
        f4 = self.layer3(f3)
        f5 = self.layer4(f4)
        return [f1, f2, f3, f4, f5]

    def load_torchvision_state_dict(self, state_dict: Mapping[str, torch.Tensor], source: str = "state dict") -> None:
        """Load a torchvision ``resnet34`` state dict (its ``fc.*`` classifier keys are dropped)."""
        load_encoder_weights(self, {k: v for k, v in state_dict.items() if not k.startswith("fc.")}, "resnet34", source)


class ResNet34UNet(nn.Module):
    """UNet with a ResNet34 encoder. Input (N, 3, H, W), any H, W; output logits (N, num_classes, H, W).

    ``pretrained`` is the path of a local torchvision resnet34 state-dict file (``.pth``); nothing
    is ever downloaded. ``drop_path``: the encoder's stochastic depth (see :class:`ResNet34Encoder`).
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 1,
        decoder_channels: Sequence[int] = (256, 128, 64, 32, 16),
        pretrained: str | Path | None = None,
        drop_path: float = 0.0,
    ):
        super().__init__()
        self.encoder = ResNet34Encoder(in_channels, drop_path)
        self.decoder = UNetDecoder(self.encoder.out_channels, decoder_channels)
        self.head = nn.Conv2d(decoder_channels[-1], num_classes, kernel_size=3, padding=1)
        if pretrained:
            self.encoder.load_torchvision_state_dict(load_state_dict_file(pretrained, "resnet34"), str(pretrained))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.decoder(self.encoder(x), size=x.shape[-2:]))
