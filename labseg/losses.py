"""Segmentation losses. Every loss takes **logits** (N, 1, H, W) and a target mask (N, 1, H, W)
with values 0/1, where ``ignore_index`` (255) marks pixels that count neither way."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import LOSSES  # noqa: F401 - the names, checked before torch is imported

IGNORE_INDEX = 255


def _valid_and_target(target: torch.Tensor, ignore_index: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    target = target.float()
    if ignore_index is None:
        return torch.ones_like(target), target
    valid = (target != ignore_index).float()
    return valid, target * valid


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0,
                   ignore_index: int | None = IGNORE_INDEX) -> torch.Tensor:
    """1 - soft dice of sigmoid(logits), computed per image and averaged over the batch."""
    valid, target = _valid_and_target(target, ignore_index)
    probs = torch.sigmoid(logits.float()) * valid
    dims = tuple(range(1, logits.ndim))
    inter = (probs * target).sum(dims)
    denom = probs.sum(dims) + target.sum(dims)
    return (1.0 - (2.0 * inter + smooth) / (denom + smooth)).mean()


def bce_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int | None = IGNORE_INDEX) -> torch.Tensor:
    """Binary cross-entropy on logits, averaged over the valid pixels."""
    valid, target = _valid_and_target(target, ignore_index)
    loss = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none")
    return (loss * valid).sum() / valid.sum().clamp_min(1.0)


class SegmentationLoss(nn.Module):
    """``"dice"``, ``"bce"`` or ``"bce_dice"`` (their sum) on logits, with ignored pixels."""

    def __init__(self, name: str = "bce_dice", ignore_index: int | None = IGNORE_INDEX, from_logits: bool = True):
        super().__init__()
        if name not in LOSSES:
            raise ValueError(f"Unknown loss {name!r}; choose one of: {', '.join(LOSSES)}.")
        if not from_logits:
            raise ValueError("labseg losses take logits (from_logits=True); do not apply sigmoid first.")
        self.name, self.ignore_index = name, ignore_index

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = logits.new_zeros((), dtype=torch.float32)
        if "bce" in self.name:
            loss = loss + bce_loss(logits, target, self.ignore_index)
        if "dice" in self.name:
            loss = loss + soft_dice_loss(logits, target, ignore_index=self.ignore_index)
        return loss
