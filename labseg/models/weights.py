"""Encoder weights from a local torchvision state-dict file: read safely, loaded strictly, and every
mismatch reported in one line that names the file and the keys (labseg never downloads weights)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn


def load_state_dict_file(path: str | Path, arch: str = "resnet34") -> dict[str, torch.Tensor]:
    """Read a local weights file safely (``weights_only=True``) with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Pretrained weights not found: {path}. Pass the path of a local torchvision {arch} "
            "state-dict file (e.g. resnet34-b627a593.pth); labseg never downloads weights by itself."
        )
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling/zip failure means the same to the user
        raise ValueError(f"{path} is not a readable state-dict file ({type(exc).__name__}).") from None
    if not isinstance(sd, Mapping):
        raise ValueError(f"{path} holds a {type(sd).__name__}, not a state dict of tensors.")
    return dict(sd)


def _some(keys: list[str], n: int = 3) -> str:
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def load_encoder_weights(encoder: nn.Module, weights: Mapping[str, torch.Tensor], arch: str, source: str) -> None:
    """``encoder.load_state_dict(weights, strict=True)``, with a one-line error naming the missing and
    unexpected keys (or the first shape mismatch) when the file is for another architecture."""
    own = encoder.state_dict()
    missing = [k for k in own if k not in weights]
    unexpected = [k for k in weights if k not in own]
    if missing or unexpected:
        parts = ([f"missing keys {_some(missing)}"] if missing else []) + (
            [f"unexpected keys {_some(unexpected)}"] if unexpected else [])
        raise ValueError(f"{source} does not hold torchvision {arch} weights: {'; '.join(parts)}. "
                         f"Pass a torchvision {arch} state dict.")
    for k, v in own.items():
        if tuple(weights[k].shape) != tuple(v.shape):
            raise ValueError(f"{source} does not hold torchvision {arch} weights: {k} has shape "
                             f"{tuple(weights[k].shape)}, expected {tuple(v.shape)}.")
    encoder.load_state_dict(weights, strict=True)
