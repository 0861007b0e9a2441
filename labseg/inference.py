"""The one path from a photo to a mask, shared by training's evaluation, `labseg predict`, `labseg evaluate
--full-size` and the app: the network's forward pass (plain or with flip test-time augmentation), a checkpoint (or
the shipped model, or an ONNX export) as a predictor of uint8 images, the photo decoded as training decoded it, and
the logits resized back to the photo's own size and thresholded by the test metric's rule
(:func:`labseg.metrics.predict_mask`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from .checkpoint import load_checkpoint, model_from_checkpoint
from .config import RunConfig
from .data import decode_resized, load_image
from .device import autocast, prepare_batch, resolve_device, set_threads, use_bf16
from .metrics import predict_mask
from .onnx_export import OnnxPredictor
from .shipped import card, load_shipped


def forward(model: nn.Module, x: torch.Tensor, device: torch.device, bf16: bool) -> torch.Tensor:
    """The network's logits in float32 (bf16 autocast inside where asked)."""
    with autocast(device, bf16):
        return model(x).float()


def forward_tta(model: nn.Module, x: torch.Tensor, device: torch.device, bf16: bool) -> torch.Tensor:
    """Test-time augmentation: the mean of the logits of ``x`` and of its horizontal flip (flipped back)."""
    return 0.5 * (forward(model, x, device, bf16) + forward(model, x.flip(-1), device, bf16).flip(-1))


class TorchPredictor:
    """A checkpoint's network on a device: uint8 RGB (N, 3, S, S) -> float32 logits (N, 1, S, S) on the CPU."""

    def __init__(self, model: nn.Module, cfg: RunConfig, device: torch.device, tta: bool = False):
        self.model, self.cfg, self.device, self.tta = model.to(device).eval(), cfg, device, tta
        self.image_size = cfg.image_size

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        x, _ = prepare_batch(images, torch.zeros(1), self.device, self.cfg.channels_last)
        bf16 = use_bf16(self.cfg.amp, self.device)
        run = forward_tta if self.tta else forward
        return run(self.model, x, self.device, bf16).cpu()


class OnnxRunner:
    """An ONNX export (labseg.onnx_export) behind the same call as TorchPredictor."""

    def __init__(self, path: str | Path, threads: int | None = None, tta: bool = False):
        self.onnx, self.tta = OnnxPredictor(path, threads), tta
        self.image_size = self.onnx.image_size

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        logits = torch.from_numpy(self.onnx.logits(images.float().numpy()))
        if self.tta:
            flipped = torch.from_numpy(self.onnx.logits(images.flip(-1).float().numpy())).flip(-1)
            logits = 0.5 * (logits + flipped)
        return logits


def overlay_size(own: tuple[int, int], side: int | None) -> tuple[int, int]:
    """(width, height) of the overlay for an image of ``own`` size: scaled so its longer side is at most ``side``
    (None or 0: the image's own size)."""
    if not side or max(own) <= side:
        return own
    scale = side / max(own)
    return max(1, round(own[0] * scale)), max(1, round(own[1] * scale))


def decode_for_predict(path: str | Path, size: int, full: bool = True,
                       overlay_side: int | None = None) -> tuple[np.ndarray, Image.Image | None, tuple[int, int]]:
    """(the network's input: (size, size, 3) uint8 by the one decode path of training and evaluation, the RGB image
    for the overlay or None when ``full`` is False, the image's own (width, height)). Without ``full``, the file is
    decoded once (a JPEG at a reduced scale); with it, a second time for the overlay: at its own size, or at
    :func:`overlay_size` for ``overlay_side`` (a JPEG decoded at a reduced scale, then resized)."""
    small, own = decode_resized(path, size)
    if not full:
        return small, None, own
    shown = overlay_size(own, overlay_side)
    if shown == own:
        return small, load_image(path), own
    image = load_image(path, draft_size=shown)
    return small, (image if image.size == shown else image.resize(shown, Image.BILINEAR)), own


def mask_at(predictor, small: np.ndarray, own: tuple[int, int], threshold: float = 0.5) -> np.ndarray:
    """The predicted mask, bool (H, W) at the image's own size: the network runs at the training size, its logits
    are resized back bilinearly and thresholded as the metric does (sigmoid > threshold, 0.5 by default)."""
    logits = predictor(torch.from_numpy(small).permute(2, 0, 1)[None])
    logits = F.interpolate(logits, size=(own[1], own[0]), mode="bilinear", align_corners=False)
    return predict_mask(logits, threshold)[0, 0].numpy()


def predict_image(predictor, path: str | Path) -> tuple[Image.Image, np.ndarray]:
    """(RGB image at its own size, mask bool (H, W)) for one file (see :func:`mask_at`)."""
    small, image, own = decode_for_predict(path, predictor.image_size)
    return image, mask_at(predictor, small, own)


def load_predictor(checkpoint: str | Path | None, device: str = "auto", threads: int | None = None, tta: bool = False,
                   log=print):
    """A TorchPredictor (or OnnxRunner for .onnx) for ``checkpoint``; None: the model that ships with labseg
    (:mod:`labseg.shipped`, its checksum checked), said in one line through ``log``."""
    if checkpoint is not None and str(checkpoint).lower().endswith(".onnx"):
        return OnnxRunner(checkpoint, threads, tta)
    if checkpoint is None:
        ckpt = load_shipped()
        log(f"no checkpoint given: using {card(ckpt)}")
        checkpoint = "the shipped model"
    else:
        ckpt = load_checkpoint(checkpoint)
    model, cfg = model_from_checkpoint(ckpt, checkpoint)
    dev = resolve_device(device)
    set_threads(threads)
    return TorchPredictor(model, cfg, dev, tta)
