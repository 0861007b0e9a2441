"""VGG16-BN encoder with torchvision's parameter names, and the UNet decoder on top of it.

The encoder is torchvision's ``vgg16_bn().features`` (13 conv-BN-ReLU layers in 5 blocks, a 2x2
max-pool after each block), kept as one ``features`` Sequential so that torchvision's state dict
(classifier keys dropped) loads with ``strict=True``. ``forward`` returns each block's output, the
features before each max-pool: strides 1, 2, 4, 8, 16, with 64, 128, 256, 512, 512 channels.

The UNet is segmentation-models-pytorch's ``Unet("vgg16_bn")`` design (same parameter count, 23,756,689),
with the decoder that the ResNet34-UNet uses: the last max-pool gives a stride-32 map, a *center* block
(two 3x3 conv-BN-ReLU at 512 channels, which smp adds for VGG encoders because nothing follows VGG's
last pool) starts the decoder there, skips come from strides 16, 8, 4, 2, and a last block brings it
to the input's size. The stride-1 map of the first block feeds the second block but is not a skip,
as in smp.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from .decoder import UNetDecoder, conv_bn_relu
from .weights import load_encoder_weights, load_state_dict_file

# torchvision's configuration "D" (VGG16): channels per conv, "M" for a 2x2 max-pool
VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")


class VGG16BNEncoder(nn.Module):
    """``features`` exactly as torchvision's ``vgg16_bn``; ``forward`` returns the five pre-pool maps."""

    out_channels = (64, 128, 256, 512, 512)

    def __init__(self, in_channels: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for v in VGG16_CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, v, kernel_size=3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
                channels = v
        self.features = nn.Sequential(*layers)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        for layer in self.features[:-1]:  # the last pool's output is not a map: the UNet pools once itself
            if isinstance(layer, nn.MaxPool2d):
                maps.append(x)  # the block's output, before its pool
            x = layer(x)
        maps.append(x)
        return maps

    def load_torchvision_state_dict(self, state_dict: Mapping[str, torch.Tensor], source: str = "state dict") -> None:
        """Load a torchvision ``vgg16_bn`` state dict (its ``classifier.*`` keys are dropped)."""
        load_encoder_weights(self, {k: v for k, v in state_dict.items() if not k.startswith("classifier.")},
                             "vgg16_bn", source)


class VGG16BNUNet(nn.Module):
    """UNet with a VGG16-BN encoder. Input (N, 3, H, W), any H, W; output logits (N, num_classes, H, W).

    ``pretrained``: a local torchvision vgg16_bn state-dict file; nothing is ever downloaded.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 1,
                 decoder_channels: Sequence[int] = (256, 128, 64, 32, 16), pretrained: str | Path | None = None):
        super().__init__()
        self.encoder = VGG16BNEncoder(in_channels)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        deepest = self.encoder.out_channels[-1]
        self.center = nn.Sequential(conv_bn_relu(deepest, deepest), conv_bn_relu(deepest, deepest))
        self.decoder = UNetDecoder((*self.encoder.out_channels[1:], self.encoder.out_channels[-1]), decoder_channels)
        self.head = nn.Conv2d(decoder_channels[-1], num_classes, kernel_size=3, padding=1)
        if pretrained:
            self.encoder.load_torchvision_state_dict(load_state_dict_file(pretrained, "vgg16_bn"), str(pretrained))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.encoder(x)
        features = [*maps[1:], self.center(self.pool(maps[-1]))]  # strides 2, 4, 8, 16, 32
        return self.head(self.decoder(features, size=x.shape[-2:]))
