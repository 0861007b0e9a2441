"""Prediction for image files of any size and format: mask PNGs at the image's own size, and overlays.

The network sees exactly the pixels that training and ``labseg evaluate`` gave it (:mod:`labseg.inference`): the image
is decoded and resized by :func:`labseg.data.load_resized_image`, the one decode path of the package,
and thresholded by :func:`labseg.metrics.predict_mask`, the test metric's own rule.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from .data import DataError
from .errors import PredictionFailures  # noqa: F401 - raised here, caught by the CLI
from .inference import decode_for_predict, load_predictor, mask_at
from .outputs import check_output_dir

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff")


# zlib level for the mask and overlay PNGs: PIL's default (6) spends most of a folder's prediction time in zlib;
# level 1 is several times faster for files a little larger (`python -m labseg.tools.bench --predict` measures both).
PNG_LEVEL = 1
# an overlay is for looking at: a JPEG (quality 90) whose longer side is at most OVERLAY_SIDE pixels; the mask PNG
# stays exact, 1-bit at the image's own size. `--overlay-format png --overlay-side 0` gives lossless full-size ones.
OVERLAY_FORMAT = "jpg"
OVERLAY_SIDE = 2048


def network_threads(workers: int) -> int:
    """torch's threads for `labseg predict` without --threads: the cores its ``workers`` decode and write threads
    leave, at least one. The network runs one image at a time; its speed comes from the pipeline around it, and a
    second intra-op thread on a core another thread (or another job) wants stalls at every barrier."""
    return max(1, (os.cpu_count() or 1) - workers)


def overlay(image: Image.Image, mask: np.ndarray, colour=(255, 40, 40), alpha: float = 0.45) -> Image.Image:
    """The mask's pixels tinted ``colour`` over the image (uint8; only the mask's pixels are computed)."""
    arr = np.array(image, dtype=np.uint8)
    tinted = arr[mask].astype(np.float32) * (1 - alpha) + np.array(colour, np.float32) * alpha
    arr[mask] = tinted.astype(np.uint8)
    return Image.fromarray(arr)


def mask_image(mask: np.ndarray) -> Image.Image:
    """A 1-bit image of the mask: read it back with ``np.array(Image.open(p).convert("L"))`` for 0/255."""
    return Image.fromarray(np.ascontiguousarray(mask, dtype=bool))


def _save_png(image: Image.Image, path: Path, level: int = PNG_LEVEL) -> None:
    _save_atomic(image, path, format="PNG", compress_level=level)


def _save_atomic(image: Image.Image, path: Path, **options) -> None:
    """Write an image atomically: an interrupted run never leaves a half-written file under the final name."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        image.save(tmp, **options)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write_outputs(mask: np.ndarray, image: Image.Image | None, mask_path: Path, over_path: Path | None) -> None:
    _save_png(mask_image(mask), mask_path)
    if over_path is None:
        return
    if image.size != (mask.shape[1], mask.shape[0]):  # a capped overlay: the mask shown at its size
        mask = np.asarray(Image.fromarray(mask).resize(image.size, Image.NEAREST))
    if over_path.suffix == ".jpg":
        _save_atomic(overlay(image, mask), over_path, format="JPEG", quality=90)
    else:
        _save_png(overlay(image, mask), over_path)


def list_inputs(inputs: list[str | Path]) -> list[Path]:
    """Image files named, and the image files (by suffix) inside folders named; a missing path is an error."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise DataError(f"{item} holds no image files ({', '.join(IMAGE_SUFFIXES)}); nothing to predict.")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise DataError(f"Input not found: {item}; pass image files or folders of images.")
    return files


def predict(checkpoint: str | Path | None, inputs: list[str | Path], out_dir: str | Path, device: str = "auto",
            overwrite: bool = False, threads: int | None = None, tta: bool = False, log=print,
            overlays: bool = True, progress: bool | None = None, overlay_format: str = OVERLAY_FORMAT,
            overlay_side: int | None = OVERLAY_SIDE) -> list[Path]:
    """Write ``<name>_mask.png`` (1-bit, the image's own size: exact) and ``<name>_overlay.jpg`` for each input: the
    overlay is for looking at, a JPEG (quality 90) with its longer side at most ``overlay_side`` pixels (None or 0:
    the image's size); ``overlay_format="png"``: a lossless ``<name>_overlay.png``; ``overlays=False``: masks only.
    ``threads`` None: :func:`network_threads`.

    ``checkpoint`` is a labseg checkpoint (.pt or a run folder), or an ONNX export (.onnx, run by
    onnxruntime on the CPU through the same decode, resize and threshold), or None: the shipped UNet.

    Everything is checked before the first file is written: the checkpoint, the device, that every
    input exists, that no two inputs share a name stem (their outputs would collide) and that no
    output exists already (unless ``overwrite``). An image that cannot be decoded does not stop the
    others: each readable one is predicted, and PredictionFailures names the unreadable ones at the end.

    A folder streams through three stages at once: images are decoded ahead in threads, the network runs on one
    image at a time (the masks are those of a batch of one, exactly), and the PNGs are written by threads (zlib
    and PIL's decoders release the GIL). ``progress``: a bar on stderr (default: for more than 8 images).
    """
    if overlay_format not in ("png", "jpg"):
        raise ValueError(f"--overlay-format {overlay_format}: choose png or jpg.")
    if overlay_side is not None and overlay_side < 0:
        raise ValueError(f"--overlay-side {overlay_side}: give a positive number of pixels, or 0 for the image's size.")
    workers = max(1, min(4, os.cpu_count() or 1))
    predictor = load_predictor(checkpoint, device, network_threads(workers) if threads is None else threads, tta, log)
    files = list_inputs(inputs)
    out = Path(out_dir)
    kinds = {"mask": "png", "overlay": overlay_format} if overlays else {"mask": "png"}
    _check_outputs(files, out, kinds, overwrite)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    bar = _progress(len(files), progress)
    written, failed = _predict_files(predictor, files, out, kinds, overlay_side, workers, bar, log)
    bar.close()
    if failed:
        _fail(failed, len(files), out, remove=created and not written)
    return written


def _check_outputs(files: list[Path], out: Path, kinds: dict[str, str], overwrite: bool) -> None:
    """No two inputs share a name stem, ``out`` can be a folder of outputs, and (unless ``overwrite``) none of the
    outputs (``<stem>_<kind>.<ext>`` for each of ``kinds``) exists already."""
    stems: dict[str, Path] = {}
    for f in files:
        if f.stem in stems:
            raise ValueError(f"{stems[f.stem]} and {f} would both be written as {f.stem}_mask.png; "
                             "rename one or predict them into different --out folders.")
        stems[f.stem] = f
    check_output_dir(out)
    targets = [out / f"{stem}_{kind}.{ext}" for stem in stems for kind, ext in kinds.items()]
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{len(existing)} output file(s) already exist, e.g. {existing[0]}; "
                              "pass --overwrite to replace them, or choose another --out.")


def _predict_files(predictor, files: list[Path], out: Path, kinds: dict[str, str], overlay_side: int | None,
                   workers: int, bar, log) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Each file decoded ahead in threads, predicted (one image at a time) and written by threads, in order:
    (the paths written, (file, why) for each file that could not be decoded)."""
    overlays = "overlay" in kinds
    written, failed = [], []
    with ThreadPoolExecutor(workers, thread_name_prefix="decode") as decoder, \
            ThreadPoolExecutor(workers, thread_name_prefix="write") as writer:
        writes = deque()
        for f, job in _decode_ahead(decoder, files, predictor.image_size, overlays, overlay_side, 2 * workers):
            try:
                small, image, own = job.result()
            except DataError as exc:
                failed.append((f, str(exc)))
                log(f"{f}: skipped, cannot be decoded")
                bar.update()
                continue
            mask = mask_at(predictor, small, own)
            paths = [out / f"{f.stem}_{kind}.{ext}" for kind, ext in kinds.items()]
            writes.append(writer.submit(_write_outputs, mask, image, paths[0], paths[1] if overlays else None))
            while len(writes) > 2 * workers:
                writes.popleft().result()
            written += paths
            if not bar.disable:
                bar.update()
            else:
                log(f"{f} -> {', '.join(p.name for p in paths)} ({100 * mask.mean():.1f}% pet)")
        for job in writes:
            job.result()
    return written, failed


def _decode_ahead(decoder: ThreadPoolExecutor, files: list[Path], image_size: int, overlays: bool,
                  overlay_side: int | None, limit: int):
    """(file, its decode's future) for each file in order, with at most ``limit`` decodes in flight: the next file's
    decode starts before the current one's is handed over."""
    ahead = deque()  # decodes in flight (12-megapixel images are 36 MB each)
    todo = iter(files)
    for f in todo:
        ahead.append((f, decoder.submit(decode_for_predict, f, image_size, overlays, overlay_side)))
        if len(ahead) >= limit:
            break
    while ahead:
        f, job = ahead.popleft()
        nxt = next(todo, None)
        if nxt is not None:
            ahead.append((nxt, decoder.submit(decode_for_predict, nxt, image_size, overlays, overlay_side)))
        yield f, job


def _fail(failed: list[tuple[Path, str]], total: int, out: Path, remove: bool):
    """Raise PredictionFailures naming the images that could not be decoded; ``remove``: first remove ``out`` (made by
    this call, left empty)."""
    if remove:
        out.rmdir()
    names = ", ".join(str(f) for f, _ in failed)
    raise PredictionFailures(f"{len(failed)} of {total} image(s) could not be decoded and were skipped: "
                             f"{names}; the other {total - len(failed)} were predicted into {out}. "
                             "Replace or remove the unreadable files.")


def _progress(total: int, progress: bool | None):
    from tqdm.auto import tqdm

    show = total > 8 if progress is None else progress
    return tqdm(total=total, desc="predict", unit="image", disable=not show)
