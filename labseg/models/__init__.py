"""Model registry: ``build_model(name, **options)``."""
from __future__ import annotations

from torch import nn

from .resnet_unet import ResNet34Encoder, ResNet34UNet
from .seed_resnet_unet import SeedResNet34UNet
from .unet import UNet

MODELS: dict[str, type[nn.Module]] = {
    "unet": UNet,
    "resnet34_unet": ResNet34UNet,
    "resnet34_unet_seed": SeedResNet34UNet,
}

# Spellings used by the original report's --use_model flag, and other natural ones.
_ALIASES = {"resnet34unet": "resnet34_unet", "resnet34": "resnet34_unet", "resnet34unetseed": "resnet34_unet_seed"}


def canonical_model_name(name: str) -> str:
    """``"UNet"``, ``"ResNet34_UNet"``, ``"resnet34-unet"`` ... -> the registry's name."""
    key = name.strip().lower().replace("-", "_")
    if key in MODELS:
        return key
    key = _ALIASES.get(key.replace("_", ""), key)
    if key not in MODELS:
        raise ValueError(f"Unknown model {name!r}; choose one of: {', '.join(MODELS)}.")
    return key


def build_model(name: str, **options) -> nn.Module:
    """Build a model by name; ``options`` go to its constructor (e.g. ``width=16`` for the UNet)."""
    cls = MODELS[canonical_model_name(name)]
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValueError(f"Bad options for model {name!r}: {exc}") from exc


__all__ = ["MODELS", "UNet", "ResNet34UNet", "ResNet34Encoder", "SeedResNet34UNet", "build_model", "canonical_model_name"]
