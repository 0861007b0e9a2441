"""One dataclass for a run, and the named profiles that fill it consistently."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

TOY_DATA = "data/toy-pets"
REAL_SUBSET = "../shared/data/oxford-pet-subset"


@dataclass
class RunConfig:
    """Everything that shapes a run. Notebook parameters and CLI flags use these exact names."""

    data: str = TOY_DATA  # dataset root in the official Oxford-IIIT Pet layout
    model: str = "unet"  # unet | resnet34_unet | resnet34_unet_seed
    width: int = 64  # UNet base channels (64 in the paper); smaller for CPU runs
    pretrained: str | None = None  # local torchvision resnet34 state-dict file (resnet34_unet only)
    image_size: int = 256  # images are resized to image_size x image_size
    epochs: int = 50
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.0
    loss: str = "bce_dice"  # dice | bce | bce_dice, all on logits
    flip: str = "hflip"  # none | hflip | hvflip | independent (the original report's bug)
    boundary: str = "foreground"  # trimap border pixels: foreground | background | ignore
    seed: int = 0
    train_subset: int | None = None  # use only this many training images (None: all)
    device: str = "auto"  # auto (cuda, then mps, then cpu) | cpu | cuda | mps
    amp: str = "auto"  # auto (bf16 where the device has fast bf16) | bf16 | off
    channels_last: bool = True
    num_workers: int = 0  # DataLoader workers; 0 loads in the main process (fast with the cache)
    out_dir: str = "runs/default"
    cache_dir: str | None = None  # decoded-data cache (default ~/.cache/labseg or $LABSEG_CACHE_DIR)
    strict: bool = False  # fail on the first bad sample instead of skipping it
    profile: str = "custom"
    repeats: int = 1  # notebooks: seeds seed, seed+1, ... for each arm of a comparison

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def model_options(self) -> dict[str, Any]:
        if self.model == "unet":
            return {"width": self.width}
        if self.model == "resnet34_unet" and self.pretrained:
            return {"pretrained": self.pretrained}
        return {}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        unknown = set(values) - set(field_names())
        if unknown:
            raise ValueError(f"Unknown config field(s): {', '.join(sorted(unknown))}. Known: {', '.join(field_names())}.")
        return cls(**values)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


def field_names() -> list[str]:
    return [f.name for f in fields(RunConfig)]


# Each profile is a consistent budget. Data is chosen separately (--data / DATA=).
PROFILES: dict[str, dict[str, Any]] = {
    # seconds: CI and notebook tests
    "smoke": dict(image_size=48, epochs=2, batch_size=8, width=8, train_subset=32, lr=3e-3),
    # the default on the embedded toy pets: a few minutes for the whole pipeline on a laptop CPU
    "toy": dict(image_size=64, epochs=20, batch_size=8, width=16, lr=2e-3),
    # the real 3-breed subset on 2 CPU cores, reduced size and width
    # (about 65 minutes for the whole report on 2 cores: 12 UNet and 6 ResNet34-UNet runs)
    "cpu": dict(image_size=128, epochs=25, batch_size=8, width=16, lr=1e-3, repeats=3),
    # the original report's budget: full dataset, 256 px, 50 epochs, full-width UNet (GPU)
    "full": dict(image_size=256, epochs=50, batch_size=8, width=64, lr=1e-4),
}


def profile_config(profile: str = "toy", **overrides) -> RunConfig:
    """A RunConfig from a named profile, with explicit overrides (None values are ignored)."""
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}.")
    values = {**PROFILES[profile], "profile": profile}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return RunConfig.from_dict(values)
