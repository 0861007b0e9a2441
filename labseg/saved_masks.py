"""The predicted test masks of a finished run, kept beside its metrics so that figures need no checkpoint.

One file per run, ``test_masks.png``: a 1-bit PNG that any image viewer opens, the masks (white = pet) tiled
row by row in the order of the run's ``test_per_image.csv``, with the image names and the mask size in the
PNG's text chunks. 298 masks of 128 px take about 70 kB.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

FILE = "test_masks.png"
COLUMNS = 16


class SavedMasksError(ValueError):
    """A masks file that cannot be read, or that lacks a mask a caller asks for."""


def save_masks(path: str | Path, names: list[str], masks: np.ndarray) -> Path:
    """Write ``masks`` (N, H, W, bool) named ``names`` to ``path`` atomically (a temporary sibling, then rename)."""
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3 or len(masks) != len(names) or not len(names):
        raise ValueError(f"save_masks: {len(names)} names for masks of shape {masks.shape}")
    n, h, w = masks.shape
    rows = -(-n // COLUMNS)
    mosaic = np.zeros((rows * h, COLUMNS * w), dtype=bool)
    for i, mask in enumerate(masks):
        r, c = divmod(i, COLUMNS)
        mosaic[r * h:(r + 1) * h, c * w:(c + 1) * w] = mask
    info = PngImagePlugin.PngInfo()
    info.add_text("labseg-masks", json.dumps({"names": list(names), "height": h, "width": w}))
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    Image.fromarray(mosaic).convert("1").save(tmp, "PNG", pnginfo=info, optimize=True)
    tmp.replace(path)
    return path


def load_masks(path: str | Path) -> dict[str, np.ndarray]:
    """name -> (H, W) bool mask, from a file :func:`save_masks` wrote."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            meta = json.loads(img.info["labseg-masks"])
            mosaic = np.array(img.convert("1"), dtype=bool)
    except (OSError, KeyError, ValueError) as exc:
        raise SavedMasksError(f"{path}: not a labseg masks file ({exc}); delete it and make it again with "
                              "labseg evaluate or by training the run.") from exc
    h, w = meta["height"], meta["width"]
    out = {}
    for i, name in enumerate(meta["names"]):
        r, c = divmod(i, COLUMNS)
        out[name] = mosaic[r * h:(r + 1) * h, c * w:(c + 1) * w].copy()
    return out
