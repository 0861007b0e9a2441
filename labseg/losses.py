"""Segmentation losses. Every loss takes **logits** (N, 1, H, W) and a target mask (N, 1, H, W)
with values 0/1, where ``ignore_index`` (255) marks pixels that count neither way."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import (  # the names, checked before torch is imported
    DICE_REDUCTIONS,
    IGNORE_INDEX,
    LOSSES,
)


def _valid_and_target(target: torch.Tensor, ignore_index: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    target = target.float()
    if ignore_index is None:
        return torch.ones_like(target), target
    valid = (target != ignore_index).float()
    return valid, target * valid


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0,
                   ignore_index: int | None = IGNORE_INDEX, reduction: str = "image") -> torch.Tensor:
    """1 - soft dice of sigmoid(logits): computed per image and averaged over the batch (``reduction="image"``),
    or once over all pixels of the batch as one region (``"batch"``)."""
    if reduction not in DICE_REDUCTIONS:
        raise ValueError(f"--dice-reduction {reduction}: choose one of: {', '.join(DICE_REDUCTIONS)}.")
    valid, target = _valid_and_target(target, ignore_index)
    probs = torch.sigmoid(logits.float()) * valid
    dims = tuple(range(1, logits.ndim)) if reduction == "image" else tuple(range(logits.ndim))
    inter = (probs * target).sum(dims)
    denom = probs.sum(dims) + target.sum(dims)
    return (1.0 - (2.0 * inter + smooth) / (denom + smooth)).mean()


def bce_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int | None = IGNORE_INDEX) -> torch.Tensor:
    """Binary cross-entropy on logits, averaged over the valid pixels."""
    valid, target = _valid_and_target(target, ignore_index)
    loss = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none")
    return (loss * valid).sum() / valid.sum().clamp_min(1.0)


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0,
               ignore_index: int | None = IGNORE_INDEX) -> torch.Tensor:
    """Binary focal loss (Lin et al., 2017) on logits, no class weighting: BCE scaled by (1 - p_t)^gamma,
    averaged over the valid pixels. Easy pixels (most of the background) count less."""
    valid, target = _valid_and_target(target, ignore_index)
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * target + (1 - p) * (1 - target)
    loss = bce * (1 - p_t) ** gamma
    return (loss * valid).sum() / valid.sum().clamp_min(1.0)


def soft_jaccard_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0,
                      ignore_index: int | None = IGNORE_INDEX) -> torch.Tensor:
    """1 - soft IoU of sigmoid(logits) (inter / (sum p + sum t - inter)), per image, averaged over the batch."""
    valid, target = _valid_and_target(target, ignore_index)
    probs = torch.sigmoid(logits.float()) * valid
    dims = tuple(range(1, logits.ndim))
    inter = (probs * target).sum(dims)
    union = probs.sum(dims) + target.sum(dims) - inter
    return (1.0 - (inter + smooth) / (union + smooth)).mean()


def _lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovász extension of the Jaccard loss w.r.t. errors sorted in decreasing order."""
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    if len(gt_sorted) > 1:
        jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def lovasz_hinge_loss(logits: torch.Tensor, target: torch.Tensor,
                      ignore_index: int | None = IGNORE_INDEX) -> torch.Tensor:
    """Lovász hinge (Berman et al., CVPR 2018): a convex surrogate of 1 - IoU, computed per image on the
    hinge errors 1 - logit * sign, and averaged over the batch. An image with no valid pixel counts 0."""
    losses = []
    for lg, tg in zip(logits.float().flatten(1), target.flatten(1)):
        if ignore_index is not None:
            keep = tg != ignore_index
            lg, tg = lg[keep], tg[keep]
        if lg.numel() == 0:
            losses.append(lg.sum() * 0.0)
            continue
        tg = tg.float()
        errors = 1.0 - lg * (2.0 * tg - 1.0)
        errors_sorted, perm = torch.sort(errors, descending=True)
        losses.append(torch.dot(F.relu(errors_sorted), _lovasz_grad(tg[perm])))
    return torch.stack(losses).mean()


COMPONENTS = {"bce": bce_loss, "dice": soft_dice_loss, "focal": focal_loss, "jaccard": soft_jaccard_loss,
              "lovasz": lovasz_hinge_loss}


class SegmentationLoss(nn.Module):
    """A loss by name, on logits, with ignored pixels: one of ``COMPONENTS`` or the sum of two joined by
    ``_`` (``bce_dice``, ``focal_dice``, ``bce_jaccard``, ``bce_lovasz``); the names in ``LOSSES``."""

    def __init__(self, name: str = "bce_dice", ignore_index: int | None = IGNORE_INDEX, from_logits: bool = True,
                 dice_reduction: str = "image"):
        super().__init__()
        if name not in LOSSES:
            raise ValueError(f"--loss {name}: unknown loss; choose one of: {', '.join(LOSSES)}.")
        if not from_logits:
            raise ValueError("labseg losses take logits (from_logits=True); do not apply sigmoid first.")
        self.name, self.ignore_index = name, ignore_index
        if dice_reduction not in DICE_REDUCTIONS:
            raise ValueError(f"--dice-reduction {dice_reduction}: choose one of: {', '.join(DICE_REDUCTIONS)}.")
        self.dice_reduction = dice_reduction
        self.parts = [COMPONENTS[part] for part in name.split("_")]

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = logits.new_zeros((), dtype=torch.float32)
        for part in self.parts:
            extra = {"reduction": self.dice_reduction} if part is soft_dice_loss else {}
            loss = loss + part(logits, target, ignore_index=self.ignore_index, **extra)
        return loss


class SideOutputLoss(nn.Module):
    """Deep supervision's loss: ``base`` on the logits plus ``weight`` times its mean over the side outputs, each
    upsampled bilinearly to the mask's size first. Takes ``(logits, [side logits])`` (a deeply supervised network in
    training) or plain logits (the same network evaluated: ``base`` alone)."""

    def __init__(self, base: nn.Module, weight: float):
        super().__init__()
        self.base, self.weight = base, weight

    def forward(self, outputs, target: torch.Tensor) -> torch.Tensor:
        if isinstance(outputs, torch.Tensor):
            return self.base(outputs.float(), target)
        logits, sides = outputs
        side = torch.stack([self.base(F.interpolate(s.float(), size=target.shape[-2:], mode="bilinear",
                                                    align_corners=False), target) for s in sides])
        return self.base(logits.float(), target) + self.weight * side.mean()
