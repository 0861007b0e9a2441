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

from .config import AUGMENT_PRESETS, AUGMENT_STEPS, FLIP_MODES

# The presets' parameters: moderate, as common segmentation recipes use them on pets-sized objects.
SCALE = dict(scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3))  # RandomResizedCrop: area fraction and aspect ratio kept
AFFINE = dict(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1))  # RandomAffine; outside the image: 0 (background)
COLOR = dict(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05)  # ColorJitter, image only


class JointTransform:
    """Call as ``transform(image, mask, generator)`` with uint8 tensors (C, H, W) and (1, H, W)."""

    def __init__(self, transform: v2.Transform, independent: bool = False):
        self.transform, self.independent = transform, independent

    def _seeded(self, seed: int, *inputs):
        with torch.random.fork_rng(devices=[]):
            # v2 draws from the CPU generator only. torch.manual_seed would also queue a seed for every
            # accelerator, recording a stack trace each time (about 0.3 ms a sample); the draws are the same.
            torch.default_generator.manual_seed(seed)
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


def augment_steps(augment: str, size: int, crop_scale: float = SCALE["scale"][0], affine_p: float = 1.0,
                  affine_shift: float = AFFINE["translate"][0], color_strength: float = COLOR["brightness"]
                  ) -> list[v2.Transform]:
    """The transforms a preset adds after the flips (all from torchvision ``transforms.v2``).

    ``scale``: a random crop of ``crop_scale``-100 % of the area (50 % by default; aspect 3:4 to 4:3) resized back
    to ``size`` (bilinear for the image, nearest for the mask); ``rotate``: a random affine map (rotation up to 15
    degrees, shift up to ``affine_shift`` of the side (10 %), scale 0.9-1.1), applied with probability ``affine_p``
    (always by default), pixels from outside filled with 0 (black, background); ``color``: brightness, contrast,
    saturation +-``color_strength`` (30 %), hue +-``color_strength``/6 (0.05), on the image only; ``rotate-color``:
    the affine map, then the colour jitter; ``scale-rotate``: the crop, then the affine map (``all`` without the
    colour); ``all``: the three. The defaults are the presets as the committed
    studies ran them (the same random draws).
    """
    if augment not in AUGMENT_PRESETS:
        raise ValueError(f"--augment {augment}: unknown preset; choose one of: {', '.join(AUGMENT_PRESETS)}.")
    steps: list[v2.Transform] = []
    if "scale" in AUGMENT_STEPS[augment]:
        steps.append(v2.RandomResizedCrop(size, antialias=True, **{**SCALE, "scale": (crop_scale, 1.0)}))
    if "rotate" in AUGMENT_STEPS[augment]:
        affine = v2.RandomAffine(**{**AFFINE, "translate": (affine_shift, affine_shift)}, fill=0)
        steps.append(affine if affine_p >= 1 else v2.RandomApply([affine], p=affine_p))
    if "color" in AUGMENT_STEPS[augment]:
        c = color_strength
        jitter = COLOR if c == COLOR["brightness"] else dict(brightness=c, contrast=c, saturation=c, hue=c / 6)
        steps.append(v2.ColorJitter(**jitter))
    return steps


def strength_options(cfg) -> dict:
    """The augmentation-strength settings of a RunConfig, as :func:`augment_steps` takes them."""
    return dict(crop_scale=cfg.crop_scale, affine_p=cfg.affine_p, affine_shift=cfg.affine_shift,
                color_strength=cfg.color_strength)


def flip_steps(flip: str) -> list[v2.Transform]:
    """The flips of a flip-ablation arm, in the order they draw: horizontal, then vertical (each p=0.5)."""
    if flip not in FLIP_MODES:
        raise ValueError(f"flip must be one of {FLIP_MODES}, got {flip!r}")
    flips: list[v2.Transform] = []
    if flip in ("hflip", "hvflip", "independent"):
        flips.append(v2.RandomHorizontalFlip(0.5))
    if flip in ("hvflip", "independent"):
        flips.append(v2.RandomVerticalFlip(0.5))
    return flips


def build_train_transform(flip: str = "hflip", augment: str = "flip", size: int | None = None,
                          **strength) -> JointTransform | None:
    """Training augmentation: the flips of a flip-ablation arm, then an augmentation preset.

    ``none``: no flips; ``hflip``: joint horizontal flip (p=0.5); ``hvflip``: joint horizontal and
    vertical flips (each p=0.5); ``independent``: the original report's horizontal and vertical flips
    drawn separately for image and mask (misaligned labels). ``augment`` (see :func:`augment_steps`, which
    takes the ``strength`` keywords) is applied jointly after them, in the same seeded call; ``size`` is the
    training size (``scale``).
    """
    flips = flip_steps(flip)
    extra = augment_steps(augment, size, **strength) if augment != "flip" else []
    if extra and size is None:
        raise ValueError("the scale preset needs the training size")
    steps = flips + extra
    if not steps:
        return None
    if flip == "independent":
        return JointTransform(v2.Compose(flips), independent=True)
    if len(steps) == 1 and flip == "hflip" and not extra:
        return JointTransform(steps[0])  # as before: the same random draws as the committed runs
    return JointTransform(v2.Compose(steps))
