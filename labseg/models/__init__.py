"""Model registry: ``build_model(name, **options)``."""
from __future__ import annotations

from torch import nn

from ..config import MODEL_NAMES, canonical_model_name
from .resnet_unet import ResNet34Encoder, ResNet34UNet
from .seed_resnet_unet import SeedResNet34UNet
from .unet import UNet
from .vgg_unet import VGG16BNEncoder, VGG16BNUNet

MODELS: dict[str, type[nn.Module]] = {
    "unet": UNet,
    "resnet34_unet": ResNet34UNet,
    "resnet34_unet_seed": SeedResNet34UNet,
    "vgg16_bn_unet": VGG16BNUNet,
}
assert tuple(MODELS) == MODEL_NAMES, "labseg.config.MODEL_NAMES lists the registry"


def build_model(name: str, **options) -> nn.Module:
    """Build a model by name; ``options`` go to its constructor (e.g. ``width=16`` for the UNet)."""
    cls = MODELS[canonical_model_name(name)]
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValueError(f"Bad options for model {name!r}: {exc}") from exc


__all__ = ["MODELS", "UNet", "ResNet34UNet", "ResNet34Encoder", "SeedResNet34UNet", "VGG16BNEncoder", "VGG16BNUNet",
           "build_model", "canonical_model_name"]
