"""Joint image/mask augmentation.

Geometric transforms must move image and mask together. ``JointTransform`` wraps any
torchvision ``transforms.v2`` pipeline: the image goes in as a ``tv_tensors.Image`` and the mask
as a ``tv_tensors.Mask``, in one call, so v2 draws one set of random parameters for both (and
resamples masks with nearest). ``independent=True`` reproduces the original report's bug on
purpose, for the flip ablation: image and mask each get their own random draw.
"""
from __future__ import annotations

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from .config import FLIP_MODES


class JointTransform:
    """Call as ``transform(image, mask, generator)`` with uint8 tensors (C, H, W) and (1, H, W)."""

    def __init__(self, transform: v2.Transform, independent: bool = False):
        self.transform, self.independent = transform, independent

    def _seeded(self, seed: int, *inputs):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.transform(*inputs)

    def __call__(self, image: torch.Tensor, mask: torch.Tensor, generator: torch.Generator | None = None):
        seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        if self.independent:
            # BUG (kept on purpose, labelled): separate draws misalign image and mask.
            seed_mask = int(torch.randint(0, 2**62, (1,), generator=generator))
            out_image = self._seeded(seed, tv_tensors.Image(image))
            out_mask = self._seeded(seed_mask, tv_tensors.Mask(mask))
        else:
            out_image, out_mask = self._seeded(seed, tv_tensors.Image(image), tv_tensors.Mask(mask))
        return out_image.as_subclass(torch.Tensor), out_mask.as_subclass(torch.Tensor)

    def __repr__(self) -> str:
        return f"JointTransform({self.transform!r}, independent={self.independent})"


def build_train_transform(flip: str = "hflip") -> JointTransform | None:
    """Training augmentation for a flip-ablation arm.

    ``none``: no augmentation; ``hflip``: joint horizontal flip (p=0.5); ``hvflip``: joint
    horizontal and vertical flips (each p=0.5); ``independent``: the original report's horizontal
    and vertical flips drawn separately for image and mask (misaligned labels).
    """
    if flip not in FLIP_MODES:
        raise ValueError(f"flip must be one of {FLIP_MODES}, got {flip!r}")
    if flip == "none":
        return None
    if flip == "hflip":
        return JointTransform(v2.RandomHorizontalFlip(0.5))
    both = v2.Compose([v2.RandomHorizontalFlip(0.5), v2.RandomVerticalFlip(0.5)])
    return JointTransform(both, independent=(flip == "independent"))
