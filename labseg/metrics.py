"""Binary segmentation metrics from per-image confusion counts.

A pixel is predicted pet when ``sigmoid(logits) > 0.5``, computed in float32 (:func:`predict_mask`;
``labseg predict`` and the figures use the same function). Pixels whose target is ``ignore_index`` are
left out. Every metric is defined on empty masks: when prediction and truth are both empty, dice
and IoU are 1.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .config import IGNORE_INDEX


def predict_mask(logits: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """The binary prediction: ``sigmoid(logits) > threshold`` in float32 (bool, same shape)."""
    return torch.sigmoid(logits.float()) > threshold


def confusion_counts(logits: torch.Tensor, target: torch.Tensor, ignore_index: int | None = IGNORE_INDEX,
                     threshold: float = 0.5) -> torch.Tensor:
    """Per-image (tp, fp, fn, tn) as an (N, 4) int64 tensor. ``logits``, ``target``: (N, 1, H, W)."""
    return mask_counts(predict_mask(logits, threshold), target, ignore_index)


def mask_counts(pred: torch.Tensor, target: torch.Tensor, ignore_index: int | None = IGNORE_INDEX) -> torch.Tensor:
    """Per-image (tp, fp, fn, tn) of a bool prediction against a 0/1 target (``ignore_index``: left out), (N, 4)
    int64. ``pred``, ``target``: (N, 1, H, W) or (N, H, W), any H, W (the 128-px and the full-size scores)."""
    valid = torch.ones_like(pred) if ignore_index is None else target != ignore_index
    truth = (target == 1) & valid
    pred = pred & valid
    dims = tuple(range(1, pred.ndim))
    tp = (pred & truth).sum(dims)
    fp = (pred & ~truth).sum(dims)
    fn = (~pred & truth).sum(dims)
    tn = valid.sum(dims) - tp - fp - fn
    return torch.stack([tp, fp, fn, tn], dim=1).long()


def scores_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Dice, IoU and pixel accuracy for each row of (tp, fp, fn, tn) counts."""
    counts = np.asarray(counts, dtype=np.float64).reshape(-1, 4)
    tp, fp, fn, tn = counts.T
    both_empty = (tp + fp + fn) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        dice = np.where(both_empty, 1.0, 2 * tp / (2 * tp + fp + fn))
        iou = np.where(both_empty, 1.0, tp / (tp + fp + fn))
        total = tp + fp + fn + tn
        acc = np.where(total == 0, 1.0, (tp + tn) / np.where(total == 0, 1, total))
    return {"dice": dice, "iou": iou, "pixel_acc": acc}


class SegmentationMeter:
    """Accumulates per-image counts over batches; summarises them both ways.

    ``summary()`` gives the mean of per-image dice/IoU/accuracy (the course's dice metric) and the
    dataset-wide ones (``global_*``: counts summed over all images first).
    """

    def __init__(self, ignore_index: int | None = IGNORE_INDEX):
        self.ignore_index = ignore_index
        self.counts: list[np.ndarray] = []
        self.names: list[str] = []

    def update(self, logits: torch.Tensor, target: torch.Tensor, names: list[str] | None = None) -> None:
        self.add_counts(confusion_counts(logits.detach(), target, self.ignore_index).cpu().numpy(), names)

    def add_counts(self, counts: np.ndarray, names: list[str] | None = None) -> None:
        """Per-image (tp, fp, fn, tn) rows counted elsewhere (:func:`mask_counts`: masks of any size)."""
        counts = np.asarray(counts, dtype=np.int64).reshape(-1, 4)
        self.counts.append(counts)
        self.names.extend(names if names is not None else [""] * len(counts))

    def all_counts(self) -> np.ndarray:
        return np.concatenate(self.counts) if self.counts else np.zeros((0, 4), dtype=np.int64)

    def summary(self) -> dict[str, float]:
        counts = self.all_counts()
        if len(counts) == 0:
            return {}
        per_image = scores_from_counts(counts)
        total = scores_from_counts(counts.sum(0))
        out = {k: float(v.mean()) for k, v in per_image.items()}
        out.update({f"global_{k}": float(v[0]) for k, v in total.items()})
        out["images"] = int(len(counts))
        return out

    def per_image(self) -> pd.DataFrame:
        counts = self.all_counts()
        frame = pd.DataFrame(counts, columns=["tp", "fp", "fn", "tn"])
        for k, v in scores_from_counts(counts).items():
            frame[k] = v
        frame.insert(0, "name", self.names)
        return frame
