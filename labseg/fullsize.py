"""Test scores at each photo's own size: the mask ``labseg predict`` writes, against the trimap at its own size.

The 128-px score (:func:`labseg.engine.evaluate`) compares the network's mask with the trimap resized (nearest) to
the network's size. Users get masks at their photo's size: :func:`labseg.inference.mask_at` resizes the logits back
bilinearly and thresholds them. :func:`full_size_scores` scores that very mask (the same decode, forward, resize and
threshold) against the full-size trimap, with the run's boundary rule, as a mean of per-image scores like the 128-px
figure. :func:`full_size_metrics` keeps a checkpoint's figures in its run folder (``metrics_fullsize.json``), so
that reading them back needs no checkpoint.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .data import DataError, image_path, read_mask_values, read_split, trimap_path, trimap_to_mask
from .inference import decode_for_predict, mask_at
from .metrics import SegmentationMeter, mask_counts

FULL_SIZE_FILE = "metrics_fullsize.json"
SUMMARY_KEYS = ("dice", "iou", "pixel_acc", "global_dice", "global_iou")


def full_size_target(root: str | Path, name: str, boundary: str, own: tuple[int, int]) -> np.ndarray:
    """The trimap of ``name`` at its own size as a 0/1 mask (255 where ``boundary="ignore"`` leaves pixels out)."""
    path = trimap_path(root, name)
    trimap = read_mask_values(path)
    if (trimap.shape[1], trimap.shape[0]) != tuple(own):
        raise DataError(f"{path} is {trimap.shape[1]}x{trimap.shape[0]} but {image_path(root, name)} is "
                        f"{own[0]}x{own[1]}; a trimap must match its image.")
    return trimap_to_mask(trimap, boundary, path)


def full_size_scores(predictor, root: str | Path, split: str = "test", boundary: str = "foreground",
                     limit: int | None = None) -> tuple[dict[str, float], pd.DataFrame]:
    """(summary, per-image table) of ``predictor``'s masks at each photo's own size on ``split`` of ``root``.

    ``predictor``: a :class:`labseg.inference.TorchPredictor` (or anything with its call and ``image_size``). The
    summary has the keys of :meth:`labseg.metrics.SegmentationMeter.summary`; the table adds each photo's width and
    height. A sample whose files cannot be read is left out with one warning, as the 128-px score does."""
    samples = read_split(root, split)[:limit] if limit else read_split(root, split)
    meter, kept, sizes, skipped = SegmentationMeter(), [], [], []
    for sample in samples:
        try:
            small, _, own = decode_for_predict(image_path(root, sample.name), predictor.image_size, full=False)
            target = full_size_target(root, sample.name, boundary, own)
        except DataError as exc:
            skipped.append((sample.name, str(exc)))
            continue
        pred = torch.from_numpy(mask_at(predictor, small, own))
        meter.add_counts(mask_counts(pred[None], torch.from_numpy(target)[None]).numpy(), [sample.name])
        kept.append(sample)
        sizes.append(own)
    if skipped:
        warnings.warn(f"Skipping {len(skipped)} unusable sample(s): {', '.join(n for n, _ in skipped)}. "
                      "`labseg check-data` says why.", stacklevel=2)
    if not kept:
        raise DataError(f"No usable samples in split {split!r} of {root}; run `labseg check-data {root}`.")
    table = meter.per_image()
    table.insert(1, "breed", [s.breed for s in kept])
    table.insert(2, "species", [s.species for s in kept])
    table.insert(3, "width", [w for w, _ in sizes])
    table.insert(4, "height", [h for _, h in sizes])
    return meter.summary(), table


def cache_prefix(checkpoint: str | Path, tta: bool = False) -> str:
    """The keys' prefix of one checkpoint's figures in ``metrics_fullsize.json``, named as the run's other caches
    name them: ``fullsize_test_dice`` for best.pt (metrics.json's checkpoint), ``last_fullsize_test_dice`` for
    last.pt; ``fullsize_tta_`` with flip TTA."""
    stem = Path(checkpoint).stem
    return f"{'' if stem == 'best' else stem + '_'}fullsize_{'tta_' if tta else ''}"


def record_full_size(run_dir: str | Path, checkpoint: str | Path, summary: dict, epoch: int, boundary: str,
                     tta: bool = False) -> dict:
    """Merge one checkpoint's test figures at full size into ``run_dir/metrics_fullsize.json``; returns the file's
    content. ``epoch``: the checkpoint's epoch (``<stem>_epoch``)."""
    path = Path(run_dir) / FULL_SIZE_FILE
    cached = json.loads(path.read_text()) if path.is_file() else {}
    prefix = cache_prefix(checkpoint, tta)
    out = {**cached, "run": Path(run_dir).name, "boundary": boundary, "images": summary["images"],
           f"{Path(checkpoint).stem}_epoch": int(epoch),
           **{f"{prefix}test_{k}": float(summary[k]) for k in SUMMARY_KEYS}}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(out, indent=2) + "\n")
    tmp.replace(path)
    return out


def full_size_metrics(run_dir: str | Path, checkpoint: str = "last.pt", compute: bool = True, tta: bool = False,
                      device: str = "cpu") -> dict:
    """``run_dir``'s ``metrics_fullsize.json`` with the test figures at full size of ``checkpoint`` (best.pt,
    last.pt) in it: read back where they are there, else computed from the checkpoint (on the run's data, with its
    boundary rule) and written there. ``compute=False``, or no checkpoint (a fresh clone keeps none): what the
    file holds ({} without one)."""
    from .checkpoint import load_checkpoint, model_from_checkpoint
    from .device import resolve_device
    from .inference import TorchPredictor

    run_dir = Path(run_dir)
    path = run_dir / FULL_SIZE_FILE
    cached = json.loads(path.read_text()) if path.is_file() else {}
    if f"{cache_prefix(checkpoint, tta)}test_dice" in cached or not compute or not (run_dir / checkpoint).is_file():
        return cached
    ckpt = load_checkpoint(run_dir / checkpoint)
    model, cfg = model_from_checkpoint(ckpt, run_dir / checkpoint)
    predictor = TorchPredictor(model, cfg, resolve_device(device), tta)
    summary, _ = full_size_scores(predictor, cfg.data, "test", cfg.boundary)
    return record_full_size(run_dir, checkpoint, summary, ckpt["epoch"], cfg.boundary, tta)
