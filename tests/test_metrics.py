"""Dice, IoU and pixel accuracy (labseg.metrics) against a plain-Python computation; empty masks and ignored
pixels."""
import numpy as np
import pytest
import torch

from labseg.metrics import SegmentationMeter, confusion_counts, scores_from_counts


def reference_scores(pred: np.ndarray, truth: np.ndarray):
    """Plain-Python dice/IoU/accuracy of one boolean image pair (independent of labseg)."""
    p, t = pred.ravel().tolist(), truth.ravel().tolist()
    tp = sum(a and b for a, b in zip(p, t))
    fp = sum(a and not b for a, b in zip(p, t))
    fn = sum(b and not a for a, b in zip(p, t))
    acc = sum(a == b for a, b in zip(p, t)) / len(p)
    if tp + fp + fn == 0:
        return 1.0, 1.0, acc
    return 2 * tp / (2 * tp + fp + fn), tp / (tp + fp + fn), acc


def test_dice_iou_accuracy_match_an_independent_computation():
    rng = np.random.default_rng(0)
    truth = rng.random((6, 1, 12, 10)) < rng.random((6, 1, 1, 1))
    logits = rng.normal(size=truth.shape)
    pred = logits > 0
    meter = SegmentationMeter()
    meter.update(torch.tensor(logits[:3]), torch.tensor(truth[:3]).to(torch.uint8))
    meter.update(torch.tensor(logits[3:]), torch.tensor(truth[3:]).to(torch.uint8))
    s = meter.summary()
    ref = np.array([reference_scores(pred[i], truth[i]) for i in range(6)])
    assert s["dice"] == pytest.approx(ref[:, 0].mean())
    assert s["iou"] == pytest.approx(ref[:, 1].mean())
    assert s["pixel_acc"] == pytest.approx(ref[:, 2].mean())
    assert s["global_dice"] == pytest.approx(reference_scores(pred, truth)[0])


def test_empty_masks_are_defined():
    zeros = torch.zeros(1, 1, 4, 4, dtype=torch.uint8)
    both_empty = scores_from_counts(confusion_counts(torch.full((1, 1, 4, 4), -5.0), zeros).numpy())
    assert both_empty["dice"][0] == 1.0 and both_empty["iou"][0] == 1.0 and both_empty["pixel_acc"][0] == 1.0
    false_alarm = scores_from_counts(confusion_counts(torch.full((1, 1, 4, 4), 5.0), zeros).numpy())
    assert false_alarm["dice"][0] == 0.0 and false_alarm["pixel_acc"][0] == 0.0


def test_ignored_pixels_count_neither_way():
    target = torch.tensor([[[[1, 0, 255, 255]]]], dtype=torch.uint8)
    logits = torch.tensor([[[[3.0, -3.0, 3.0, -3.0]]]])
    tp, fp, fn, tn = confusion_counts(logits, target)[0].tolist()
    assert (tp, fp, fn, tn) == (1, 0, 0, 1)
