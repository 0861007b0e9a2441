"""Batch-level augmentation on the training device (``--augment-on device``).

The per-sample path (:mod:`labseg.transforms`) runs torchvision ``transforms.v2`` on each image in
the loader: fine for a CPU, too slow to feed a GPU. Here the loader only gathers uint8 rows; each
sample's random parameters are drawn on the CPU exactly as the per-sample path draws them (the same
(seed, epoch, index) generator, the same seeded torchvision ``make_params`` calls, in the same order),
and the whole batch is then transformed with tensor ops on its device:

* flips by indexing (bit-identical to the per-sample path when flips are all there is);
* flips, random resized crop and affine map composed into one coordinate map per sample and applied
  by a single ``grid_sample``: bilinear for the image, nearest for the mask, pixels from outside the
  frame filled with 0 (background), as ``fill=0`` does in the per-sample path;
* colour jitter with per-sample factors, in each sample's own random order, on the image only.

Differences from the per-sample path are in resampling only: one interpolation instead of one per
step, float instead of uint8 between steps, and bilinear (rather than v2.RandomAffine's default
nearest) for rotated images. The parameters, hence their distributions, are identical.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torchvision import tv_tensors
from torchvision.transforms import v2

from .data import sample_generator
from .transforms import augment_steps, build_train_transform, flip_steps

GRAY = (0.2989, 0.587, 0.114)  # the luma weights torchvision's rgb_to_grayscale uses


@dataclass
class BatchParams:
    """Per-sample parameters of one batch (CPU tensors, first dimension N)."""
    hflip: torch.Tensor     # bool
    vflip: torch.Tensor     # bool
    crop: torch.Tensor      # float (top, left, height, width) in pixels; the whole image where not cropped
    affine: torch.Tensor    # float (angle degrees, tx, ty, scale); (0, 0, 0, 1) where none
    color: torch.Tensor     # float (brightness, contrast, saturation, hue); (1, 1, 1, 0) where none
    order: torch.Tensor     # long (N, 4): the order colour jitter applies its four ops in
    mask_hflip: torch.Tensor  # the mask's flips: equal to the image's except in the ``independent`` arm
    mask_vflip: torch.Tensor


def _applied(step: v2.Transform) -> v2.Transform:
    """The transform a step applies: the one inside a ``RandomApply`` (``--affine-p`` below 1), else itself."""
    return step.transforms[0] if isinstance(step, v2.RandomApply) else step


class BatchAugment:
    """``augment(images, masks, indices, epoch)``: uint8 images (N, 3, S, S) and masks (N, 1, S, S) on any
    device -> float images in [0, 1] and uint8 masks, augmented as ``build_train_transform(flip, augment,
    size)`` would augment each sample (see the module docstring)."""

    def __init__(self, flip: str, augment: str, size: int, seed: int, **strength):
        self.flip, self.size, self.seed = flip, size, seed
        # The very transform objects of the per-sample path: their make_params draw the parameters.
        self.augment = augment if flip != "independent" else "flip"  # as build_train_transform: flips only
        self.flip_steps = flip_steps(flip)
        self.steps = augment_steps(self.augment, size, **strength) if self.augment != "flip" else []
        self._probe = [tv_tensors.Image(torch.empty(3, size, size, dtype=torch.uint8))]
        build_train_transform(flip, augment, size, **strength)  # same validation as the per-sample path
        kinds = {type(_applied(s)) for s in self.steps}
        self.affine = v2.RandomAffine in kinds
        self.geometric = self.affine or v2.RandomResizedCrop in kinds
        self.color = v2.ColorJitter in kinds

    # ------------------------------------------------------------------ parameters (CPU)

    def _draw(self, seed: int) -> tuple[list[bool], dict]:
        """The random draws of one seeded per-sample call (``JointTransform._seeded``), in its order.
        Uses (and leaves changed) the CPU generator: :meth:`params` saves and restores it once a batch."""
        flips, params = [], {}
        torch.default_generator.manual_seed(seed)
        for step in self.flip_steps:
            flips.append(bool(torch.rand(1) < step.p))  # v2's random-apply: skipped when rand >= p
        for step in self.steps:
            if isinstance(step, v2.RandomApply):  # v2's RandomApply: one rand, the inner step's draws if applied
                if not bool(torch.rand(1) < step.p):
                    continue
                step = _applied(step)
            params[type(step).__name__] = step.make_params(self._probe)
        return flips, params

    def params(self, indices, epoch: int) -> BatchParams:
        state = torch.default_generator.get_state()
        try:
            return self._params(indices, epoch)
        finally:
            torch.default_generator.set_state(state)  # the caller's random stream is left as it was

    def _params(self, indices, epoch: int) -> BatchParams:
        S = self.size
        flips, mask_flips, crop, affine, color, order = [], [], [], [], [], []
        for index in indices:
            g = sample_generator(self.seed, epoch, int(index))
            f, p = self._draw(int(torch.randint(0, 2**62, (1,), generator=g)))
            f += [False] * (2 - len(f))
            flips.append(f)
            if self.flip == "independent":
                # BUG (kept on purpose, labelled, as in JointTransform): the mask's flips are drawn separately.
                m, _ = self._draw(int(torch.randint(0, 2**62, (1,), generator=g)))
                mask_flips.append(m)
            else:
                mask_flips.append(f)
            c = p.get("RandomResizedCrop")
            crop.append((c["top"], c["left"], c["height"], c["width"]) if c else (0, 0, S, S))
            a = p.get("RandomAffine")
            affine.append((a["angle"], *a["translate"], a["scale"]) if a else (0.0, 0.0, 0.0, 1.0))
            j = p.get("ColorJitter")
            color.append((j["brightness_factor"], j["contrast_factor"], j["saturation_factor"], j["hue_factor"])
                         if j else (1.0, 1.0, 1.0, 0.0))
            order.append(j["fn_idx"].tolist() if j else [0, 1, 2, 3])
        flips_t, mask_t = torch.tensor(flips, dtype=torch.bool), torch.tensor(mask_flips, dtype=torch.bool)
        return BatchParams(flips_t[:, 0], flips_t[:, 1], torch.tensor(crop, dtype=torch.float32),
                           torch.tensor(affine, dtype=torch.float32), torch.tensor(color, dtype=torch.float32),
                           torch.tensor(order, dtype=torch.long), mask_t[:, 0], mask_t[:, 1])

    # ------------------------------------------------------------------ application (any device)

    def __call__(self, images: torch.Tensor, masks: torch.Tensor, indices, epoch: int):
        """Images come back as float in [0, 1], or uint8 where flips are all there is (exact: nothing
        resampled); ``labseg.device.prepare_batch`` normalises either."""
        return self.apply(images, masks, self.params(indices, epoch))

    def apply(self, images: torch.Tensor, masks: torch.Tensor, p: BatchParams):
        dev = images.device
        if self.geometric:
            x, y = self._resample(images.float().div_(255), masks, p)
        else:
            x = _flip(_flip(images, p.hflip.to(dev), -1), p.vflip.to(dev), -2)
            y = _flip(_flip(masks, p.mask_hflip.to(dev), -1), p.mask_vflip.to(dev), -2)
        if self.color:
            x = color_jitter(x if x.is_floating_point() else x.float().div_(255), p.color.to(dev), p.order)
        return x, y

    def _resample(self, x: torch.Tensor, masks: torch.Tensor, p: BatchParams):
        """One grid_sample per tensor. Each step is an affine map of pixel coordinates (centred on the image,
        as torchvision's): output pixel -> (inverse affine) q in the cropped frame -> (resized crop) -> flipped
        image -> (flips) -> source pixel, so their product is one 2x3 matrix per sample (``F.affine_grid``).
        Outside the frame (q beyond the edge) is filled with 0 in image and mask, as RandomAffine(fill=0)."""
        n, _, S, _ = x.shape
        half = S / 2
        angle, tx, ty, scale = p.affine.double().unbind(1)
        rad = torch.deg2rad(angle)
        cos, sin = torch.cos(rad) / scale, torch.sin(rad) / scale
        A = torch.stack((torch.stack((cos, sin), 1), torch.stack((-sin, cos), 1)), 1)  # torchvision's inverse, shear 0
        a = -(A @ torch.stack((tx, ty), 1).unsqueeze(-1)).squeeze(-1)
        top, left, h, w = p.crop.double().unbind(1)
        D = torch.diag_embed(torch.stack((w / S, h / S), 1))
        d = torch.stack((left + half * w / S - half, top + half * h / S - half), 1)

        def theta(hflip, vflip):
            Fl = torch.diag_embed(torch.stack((1 - 2 * hflip.double(), 1 - 2 * vflip.double()), 1))
            M = Fl @ D @ A
            t = (Fl @ (D @ a.unsqueeze(-1) + d.unsqueeze(-1))).squeeze(-1) / half
            return torch.cat((M, t.unsqueeze(-1)), 2).to(device=x.device, dtype=torch.float32)

        size = (n, 1, S, S)
        grid = F.affine_grid(theta(p.hflip, p.vflip), size, align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if not torch.equal(p.hflip, p.mask_hflip) or not torch.equal(p.vflip, p.mask_vflip):
            grid = F.affine_grid(theta(p.mask_hflip, p.mask_vflip), size, align_corners=False)
        y = F.grid_sample(masks.float(), grid, mode="nearest", padding_mode="border", align_corners=False)
        if self.affine:
            q = F.affine_grid(torch.cat((A, (a / half).unsqueeze(-1)), 2).to(device=x.device, dtype=torch.float32),
                              size, align_corners=False)
            inside = (q.abs() <= 1).all(-1).unsqueeze(1)
            x = x * inside
            y = y * inside
        return x, y.to(torch.uint8)


def _flip(t: torch.Tensor, which: torch.Tensor, dim: int) -> torch.Tensor:
    if not bool(which.any()):
        return t
    return torch.where(which.view(-1, 1, 1, 1), t.flip(dim), t)


# ----------------------------------------------------------------------------- colour, per sample

def _gray(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x.unbind(1)
    return (GRAY[0] * r + GRAY[1] * g + GRAY[2] * b).unsqueeze(1)


def _blend(a: torch.Tensor, b: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return (factor * a + (1 - factor) * b).clamp_(0, 1)


def shift_hue(x: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """Rotate each sample's hue by ``delta`` (fraction of a turn), as RGB -> HSV -> RGB would, without the
    round trip: with M = max, span = max - min and h6 = 6 x hue (R, G, B win ties in that order, as in
    torchvision), channel c = M - span clamp(min(k, 4 - k), 0, 1) where k = (n_c + h6 + 6 delta) mod 6,
    n = (5, 3, 1). A grey pixel (span 0) stays as it is."""
    r, g, b = x.unbind(1)
    maxc = torch.maximum(torch.maximum(r, g), b)  # elementwise: far faster than a reduction over 3 channels
    span = maxc - torch.minimum(torch.minimum(r, g), b)
    safe = span.clamp_min(1e-12)
    h6 = torch.where(maxc == r, (g - b) / safe, torch.where(maxc == g, 2 + (b - r) / safe, 4 + (r - g) / safe))
    n = torch.tensor([5.0, 3.0, 1.0], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    k = torch.remainder(n + (h6 + 6 * delta.view(-1, 1, 1)).unsqueeze(1), 6)
    return maxc.unsqueeze(1) - span.unsqueeze(1) * torch.minimum(k, 4 - k).clamp_(0, 1)


def adjust(x: torch.Tensor, op: int, factor: torch.Tensor) -> torch.Tensor:
    """ColorJitter's op ``op`` (0 brightness, 1 contrast, 2 saturation, 3 hue) with per-sample factors."""
    f = factor.view(-1, 1, 1, 1)
    if op == 0:
        return (x * f).clamp_(0, 1)
    if op == 1:
        return _blend(x, _gray(x).mean(dim=(1, 2, 3), keepdim=True), f)
    if op == 2:
        return _blend(x, _gray(x), f)
    return shift_hue(x, factor)


def color_jitter(x: torch.Tensor, factors: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """Each sample's four ops in its own order: at position k, the samples whose k-th op is ``op`` get it.
    ``order`` stays on the CPU (the rows are chosen there: no device synchronisation); ``factors`` is on
    ``x``'s device."""
    x = x.clone()
    for k in range(4):
        for op in range(4):
            rows = (order[:, k].cpu() == op).nonzero().flatten()
            if len(rows) == len(x):
                x = adjust(x, op, factors[:, op])
            elif len(rows):
                rows = rows.to(x.device)
                x[rows] = adjust(x[rows], op, factors[rows, op])
    return x

