"""The losses against independent computations: soft dice, BCE and their sum; focal, soft Jaccard and Lovász
hinge (values, gradients, empty masks and ignored pixels); dice over the whole batch."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

from labseg.config import LOSSES
from labseg.losses import SegmentationLoss, bce_loss, focal_loss, lovasz_hinge_loss, soft_dice_loss, soft_jaccard_loss


def _batch(seed=0, n=3, h=5, w=4, ignore=True):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 1, h, w, generator=g, dtype=torch.float64) * 2
    target = (torch.rand(n, 1, h, w, generator=g) < 0.4).to(torch.uint8)
    target[0] = 0  # an image without foreground
    if ignore:
        target[1, 0, 0, :] = 255  # an ignored row
    return logits, target


def test_focal_equals_torchvision_sigmoid_focal_loss_on_valid_pixels():
    logits, target = _batch()
    valid = target != 255
    ref = sigmoid_focal_loss(logits[valid], target[valid].double(), alpha=-1, gamma=2, reduction="mean")
    assert focal_loss(logits, target).item() == pytest.approx(ref.item(), rel=1e-6)
    a = logits.clone().requires_grad_()
    b = logits.clone().requires_grad_()
    focal_loss(a, target).backward()
    sigmoid_focal_loss(b[valid], target[valid].double(), alpha=-1, gamma=2, reduction="mean").backward()
    torch.testing.assert_close(a.grad.double(), b.grad, rtol=1e-5, atol=1e-7)
    assert a.grad[~valid].abs().max() == 0  # ignored pixels get no gradient


def _jaccard_reference(logits, target, smooth=1.0):
    """Plain loops over images and pixels."""
    out = []
    for lg, tg in zip(logits.flatten(1), target.flatten(1)):
        inter = union_p = union_t = 0.0
        for x, t in zip(lg.tolist(), tg.tolist()):
            if t == 255:
                continue
            p = 1 / (1 + np.exp(-x))
            inter += p * t
            union_p += p
            union_t += t
        out.append(1 - (inter + smooth) / (union_p + union_t - inter + smooth))
    return float(np.mean(out))


def test_soft_jaccard_matches_a_plain_loop_and_its_gradient_matches_finite_differences():
    logits, target = _batch(1)
    assert soft_jaccard_loss(logits, target).item() == pytest.approx(_jaccard_reference(logits, target), rel=1e-6)
    x = logits.clone().requires_grad_()
    soft_jaccard_loss(x, target).backward()
    eps = 1e-6
    for idx in [(0, 0, 1, 1), (1, 0, 2, 3), (2, 0, 4, 0), (1, 0, 0, 2)]:
        up, down = logits.clone(), logits.clone()
        up[idx] += eps
        down[idx] -= eps
        fd = (_jaccard_reference(up, target) - _jaccard_reference(down, target)) / (2 * eps)
        assert x.grad[idx].item() == pytest.approx(fd, abs=1e-6)


def _lovasz_reference(logits, target):
    """The Lovász extension by its definition: sort hinge errors, and weight each by the increase of the
    Jaccard loss Delta(S) = 1 - |gt minus S| / |gt union S| when its pixel joins the set S of errors."""
    out = []
    for lg, tg in zip(logits.flatten(1).tolist(), target.flatten(1).tolist()):
        pairs = [(x, t) for x, t in zip(lg, tg) if t != 255]
        if not pairs:
            out.append(0.0)
            continue
        errors = [1 - x * (2 * t - 1) for x, t in pairs]
        order = sorted(range(len(pairs)), key=lambda i: -errors[i])
        gt = {i for i, (_, t) in enumerate(pairs) if t == 1}

        def delta(s):
            union = gt | s
            return 0.0 if not union else 1 - len(gt - s) / len(union)

        total, chosen, prev = 0.0, set(), 0.0
        for i in order:
            chosen.add(i)
            cur = delta(chosen)
            total += max(errors[i], 0.0) * (cur - prev)
            prev = cur
        out.append(total)
    return float(np.mean(out))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lovasz_hinge_equals_its_definition(seed):
    logits, target = _batch(seed, h=4, w=4)
    assert lovasz_hinge_loss(logits, target).item() == pytest.approx(_lovasz_reference(logits, target), rel=1e-6)
    x = logits.clone().requires_grad_()
    lovasz_hinge_loss(x, target).backward()
    eps = 1e-7  # piecewise linear: finite differences are exact away from ties
    for idx in itertools.islice(itertools.product(range(3), [0], range(4), range(4)), 0, 48, 7):
        up, down = logits.clone(), logits.clone()
        up[idx] += eps
        down[idx] -= eps
        fd = (_lovasz_reference(up, target) - _lovasz_reference(down, target)) / (2 * eps)
        assert x.grad[idx].item() == pytest.approx(fd, abs=1e-5)


def test_empty_masks_and_all_ignored_images_are_defined():
    logits = torch.tensor([[[[-3.0, -2.0], [-4.0, -1.0]]]], dtype=torch.float64)
    empty = torch.zeros(1, 1, 2, 2, dtype=torch.uint8)
    for name in LOSSES:
        value = SegmentationLoss(name)(logits, empty)
        assert torch.isfinite(value) and value >= 0, name
    ignored = torch.full((1, 1, 2, 2), 255, dtype=torch.uint8)
    x = logits.clone().requires_grad_()
    for name in LOSSES:
        value = SegmentationLoss(name)(x, ignored)
        assert torch.isfinite(value), name
    # a confident, correct prediction of an empty mask costs almost nothing in the pixel losses
    assert focal_loss(torch.full((1, 1, 2, 2), -12.0), empty) < 1e-8
    assert lovasz_hinge_loss(torch.full((1, 1, 2, 2), -12.0), empty) == 0


def test_combinations_are_sums_and_unknown_names_are_refused():
    logits, target = _batch(3)
    combo = SegmentationLoss("focal_dice")(logits, target)
    parts = SegmentationLoss("focal")(logits, target) + SegmentationLoss("dice")(logits, target)
    assert combo.item() == pytest.approx(parts.item())
    with pytest.raises(ValueError, match="--loss hinge: unknown loss"):
        SegmentationLoss("hinge")


def test_soft_dice_loss_takes_logits():
    target = torch.tensor([[[[1, 1, 0, 0]]]], dtype=torch.uint8)
    logits = torch.tensor([[[[0.0, 2.0, -1.0, 0.5]]]])
    p = torch.sigmoid(logits)
    expected = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
    assert soft_dice_loss(logits, target).item() == pytest.approx(expected.item())
    assert soft_dice_loss(torch.tensor([[[[20.0, 20.0, -20.0, -20.0]]]]), target).item() < 1e-6


def test_bce_matches_torch_and_ignores_marked_pixels():
    logits = torch.randn(2, 1, 5, 5)
    target = (torch.rand(2, 1, 5, 5) > 0.5).to(torch.uint8)
    assert bce_loss(logits, target).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(logits, target.float()).item(), rel=1e-6)
    marked = target.clone()
    marked[:, :, 0] = 255
    expected = F.binary_cross_entropy_with_logits(logits[:, :, 1:], target[:, :, 1:].float())
    assert bce_loss(logits, marked).item() == pytest.approx(expected.item(), rel=1e-6)


def test_combined_loss_is_the_sum():
    logits, target = torch.randn(2, 1, 6, 6), (torch.rand(2, 1, 6, 6) > 0.5).to(torch.uint8)
    total = SegmentationLoss("bce_dice")(logits, target)
    assert total.item() == pytest.approx((bce_loss(logits, target) + soft_dice_loss(logits, target)).item())
    with pytest.raises(ValueError, match="logits"):
        SegmentationLoss("dice", from_logits=False)


def test_batch_dice_is_one_region_over_the_whole_batch():
    torch.manual_seed(0)
    logits = torch.randn(3, 1, 8, 8)
    target = (torch.rand(3, 1, 8, 8) > 0.6).to(torch.uint8)
    target[0, 0, :2] = 255  # ignored pixels count neither way
    target[2] = 0  # an image without pet: the per-image mean and the batch region differ most here
    p = 1 / (1 + np.exp(-logits.numpy().astype(np.float64)))
    t = target.numpy().astype(np.float64)
    valid = t != 255
    p, t = p * valid, np.where(valid, t, 0)
    batch = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
    per_image = np.mean([1 - (2 * (p[i] * t[i]).sum() + 1) / (p[i].sum() + t[i].sum() + 1) for i in range(3)])
    assert soft_dice_loss(logits, target, reduction="batch").item() == pytest.approx(batch, rel=1e-6)
    assert soft_dice_loss(logits, target).item() == pytest.approx(per_image, rel=1e-6)
    assert abs(batch - per_image) > 0.02
    combined = SegmentationLoss("bce_dice", dice_reduction="batch")(logits, target)
    assert combined.item() == pytest.approx((bce_loss(logits, target)).item() + batch, rel=1e-6)
    with pytest.raises(ValueError, match="--dice-reduction pixel"):
        SegmentationLoss("bce_dice", dice_reduction="pixel")
