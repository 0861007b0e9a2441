"""The Oxford-IIIT Pet dataset in its official layout: splits, trimap -> mask, checks and a cache.

Layout read (the same for the real data, the embedded synthetic set and the downloaded archives)::

    ROOT/images/<Name>.jpg                 (opened by content: some are PNG or GIF data)
    ROOT/annotations/trimaps/<Name>.png    (1 = pet, 2 = background, 3 = boundary)
    ROOT/annotations/trainval.txt, test.txt (lines "<Name> <class id> <species> <breed id>")

Decoded, resized samples are cached as uint8 arrays (one .npz per split, size and boundary
mode) and rebuilt when a source file changes, so JPEGs are decoded once, not every epoch.
"""
from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .config import BOUNDARY_MODES, IGNORE_INDEX
from .errors import DataError  # noqa: F401 - raised here, caught by the CLI

SPLITS = ("train", "val", "trainval", "test")
SPLIT_ALIASES = {"valid": "val", "validation": "val"}
SPECIES = {1: "cat", 2: "dog"}
CACHE_VERSION = 1

# Some real JPEGs decode with warnings ("Corrupt EXIF data", ...) although their pixels are fine.
# Filtered once here: warnings.catch_warnings() is not thread-safe and decoding runs in threads.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")


@dataclass(frozen=True)
class Sample:
    name: str
    class_id: int
    species: str
    breed_id: int

    @property
    def breed(self) -> str:
        return self.name.rsplit("_", 1)[0]


# ----------------------------------------------------------------------------- layout and splits

def image_path(root: str | Path, name: str) -> Path:
    return Path(root) / "images" / f"{name}.jpg"


def trimap_path(root: str | Path, name: str) -> Path:
    return Path(root) / "annotations" / "trimaps" / f"{name}.png"


def check_layout(root: str | Path) -> Path:
    """Raise a one-line DataError if ROOT is not in the official layout."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"Data folder not found: {root}. Create one with `labseg synth {root}` "
                        f"or `labseg download {root}`, or pass --data PATH.")
    for sub in ("images", "annotations/trimaps"):
        if not (root / sub).is_dir():
            raise DataError(f"{root} has no {sub}/ folder; expected the Oxford-IIIT Pet layout "
                            "(images/*.jpg, annotations/trimaps/*.png, annotations/trainval.txt, test.txt).")
    return root


def read_split_file(path: str | Path) -> list[Sample]:
    """Parse trainval.txt / test.txt / list.txt; '#' lines are comments."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Split file not found: {path}; expected annotations/trainval.txt and "
                        "annotations/test.txt as in the official annotations archive.")
    samples = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        try:
            class_id, species, breed_id = (int(p) for p in parts[1:4])
        except ValueError:
            raise DataError(f"{path}:{lineno}: expected '<Name> <class id> <species> <breed id>', "
                            f"got {line!r}.") from None
        samples.append(Sample(parts[0], class_id, SPECIES.get(species, str(species)), breed_id))
    return samples


def canonical_split(split: str) -> str:
    split = SPLIT_ALIASES.get(split, split)
    if split not in SPLITS:
        raise DataError(f"Unknown split {split!r}; choose one of: {', '.join(SPLITS)}.")
    return split


def read_split(root: str | Path, split: str) -> list[Sample]:
    """Samples of a split. ``val`` is every 10th line of trainval.txt (index % 10 == 0), ``train``
    the rest, as in the course's sample code; ``test`` is test.txt."""
    split = canonical_split(split)
    root = check_layout(root)
    ann = root / "annotations"
    if split == "test":
        return read_split_file(ann / "test.txt")
    samples = read_split_file(ann / "trainval.txt")
    if split == "val":
        return [s for i, s in enumerate(samples) if i % 10 == 0]
    if split == "train":
        return [s for i, s in enumerate(samples) if i % 10 != 0]
    return samples


# ----------------------------------------------------------------------------- decoding

def load_image(path: str | Path, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """Open an image by its content (not its extension) and convert it to RGB.

    ``draft_size`` lets the JPEG decoder scale down by a power of two while decoding (never below
    that size), which makes decoding large photos several times faster.
    """
    return _decode_rgb(path, draft_size)[0]


def load_resized_image(path: str | Path, size: int) -> np.ndarray:
    """The image as the network sees it, (size, size, 3) uint8: the one decode-and-resize path that
    training, evaluation and prediction share (JPEG draft decoding, then antialiased bilinear)."""
    return decode_resized(path, size)[0]


def decode_resized(path: str | Path, size: int) -> tuple[np.ndarray, tuple[int, int]]:
    """(:func:`load_resized_image`'s array, the file's own (width, height)), from one decode."""
    img, own = _decode_rgb(path, draft_size=(size, size))
    return _resize_rgb(img, size), own


def _resize_rgb(img: Image.Image, size: int) -> np.ndarray:
    return np.array(img.resize((size, size), Image.BILINEAR, reducing_gap=None), dtype=np.uint8)


def _decode_rgb(path: str | Path, draft_size: tuple[int, int] | None = None) -> tuple[Image.Image, tuple[int, int]]:
    """(RGB image, the file's own width x height): the latter before any JPEG draft scaling."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Image not found: {path}.")
    try:
        with Image.open(path) as img:
            size = img.size
            if draft_size is not None and img.format == "JPEG":
                img.draft("RGB", draft_size)
            if img.mode in ("P", "PA") and "transparency" in img.info:
                img = img.convert("RGBA")
            img = img.convert("RGB")
            img.load()
    except Exception as exc:  # noqa: BLE001 - every decoder failure means "this file is broken"
        raise DataError(f"Cannot decode image {path} ({type(exc).__name__}: {exc}). Replace the file, "
                        "or leave it out: training skips samples that `labseg check-data` lists.") from exc
    return img, size


def read_mask_values(path: str | Path) -> np.ndarray:
    """The raw values of a trimap/mask PNG as a 2-D uint8 array."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Trimap not found: {path}. Every image needs annotations/trimaps/<Name>.png.")
    try:
        with Image.open(path) as img:
            if img.mode not in ("L", "P", "1", "I", "I;16"):
                img = img.convert("L")
            arr = np.asarray(img)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"Cannot decode trimap {path} ({type(exc).__name__}: {exc}). Replace the file.") from exc
    if arr.ndim != 2:
        raise DataError(f"Trimap {path} has shape {arr.shape}; expected a single-channel image.")
    return arr.astype(np.uint8) if arr.max(initial=0) <= 255 else arr


def trimap_to_mask(trimap: np.ndarray, boundary: str = "foreground", source: str | Path = "mask") -> np.ndarray:
    """Official trimap (1 pet, 2 background, 3 boundary) or a binary mask (0/1 or 0/255) -> 0/1 mask.

    Boundary pixels (3) count as pet with ``boundary="foreground"``, as in the course's sample
    code; ``"background"`` counts them as background; ``"ignore"`` marks them 255 (IGNORE_INDEX)
    so that losses and metrics leave them out.
    """
    if boundary not in BOUNDARY_MODES:
        raise ValueError(f"boundary must be one of {BOUNDARY_MODES}, got {boundary!r}")
    values = set(np.unique(trimap).tolist())
    if values <= {1, 2, 3}:
        out = np.where(trimap == 1, 1, 0).astype(np.uint8)
        border = trimap == 3
        out[border] = {"foreground": 1, "background": 0, "ignore": IGNORE_INDEX}[boundary]
        return out
    if values <= {0, 1}:
        return trimap.astype(np.uint8)
    if values <= {0, 255}:
        return (trimap == 255).astype(np.uint8)
    raise DataError(f"{source} holds values {sorted(values)[:8]}; expected a trimap (1 pet, 2 background, "
                    "3 boundary) or a binary mask (0/1 or 0/255).")


def load_pair(root: Path, name: str, size: int | None, boundary: str,
              draft: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Decode one (image, mask) pair; resize the image antialiased-bilinear and the mask nearest. ``draft``: let
    the JPEG decoder scale down by a power of two first (the path evaluation and prediction use); False decodes
    the full image before the same resize."""
    ipath, tpath = image_path(root, name), trimap_path(root, name)
    img, full_size = _decode_rgb(ipath, draft_size=(size, size) if size and draft else None)
    trimap = read_mask_values(tpath)
    if (trimap.shape[1], trimap.shape[0]) != full_size:
        raise DataError(f"{tpath} is {trimap.shape[1]}x{trimap.shape[0]} but {ipath} is "
                        f"{full_size[0]}x{full_size[1]}; a trimap must match its image.")
    mask = trimap_to_mask(trimap, boundary, tpath)
    if not size:
        return np.array(img, dtype=np.uint8), mask
    # np.array, not np.asarray: PIL's buffers are read-only, and torch warns on a tensor made from one
    mask = np.array(Image.fromarray(mask).resize((size, size), Image.NEAREST), dtype=np.uint8)
    return _resize_rgb(img, size), mask


# ----------------------------------------------------------------------------- checking

@dataclass
class DataReport:
    root: Path
    samples: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (name, problem): unusable samples
    notes: list[tuple[str, str]] = field(default_factory=list)  # (name, quirk): handled, but worth knowing

    @property
    def bad_names(self) -> set[str]:
        return {n for n, _ in self.errors}

    def format(self) -> str:
        lines = [f"{self.root}: {self.samples} samples listed, {len(self.bad_names)} unusable, "
                 f"{len(self.notes)} quirks handled."]
        lines += [f"  ERROR {n}: {p}" for n, p in self.errors]
        lines += [f"  note  {n}: {p}" for n, p in self.notes]
        return "\n".join(lines)


def inspect_sample(root: Path, name: str) -> tuple[list[str], list[str]]:
    """(errors, notes) for one listed sample, without resizing."""
    errors, notes = [], []
    ipath, tpath = image_path(root, name), trimap_path(root, name)
    try:
        with Image.open(ipath) as img:
            fmt, mode, size = img.format, img.mode, img.size
        if fmt != "JPEG":
            notes.append(f"{ipath.name} holds {fmt} data, not JPEG (opened by content)")
        if mode != "RGB":
            notes.append(f"{ipath.name} is mode {mode}, converted to RGB")
        load_image(ipath)
    except FileNotFoundError:
        errors.append(f"image missing: {ipath}")
        return errors, notes
    except Exception as exc:  # noqa: BLE001
        errors.append(f"image unreadable: {ipath} ({type(exc).__name__})")
        return errors, notes
    try:
        trimap = read_mask_values(tpath)
        trimap_to_mask(trimap, source=tpath)
        if (trimap.shape[1], trimap.shape[0]) != size:
            errors.append(f"trimap {tpath.name} is {trimap.shape[1]}x{trimap.shape[0]}, image is {size[0]}x{size[1]}")
        elif not (trimap == 1).any() and set(np.unique(trimap).tolist()) <= {1, 2, 3}:
            notes.append(f"trimap {tpath.name} has no pet pixels")
    except DataError as exc:
        errors.append(str(exc))
    return errors, notes


def check_data(root: str | Path, splits: Sequence[str] = ("trainval", "test")) -> DataReport:
    """Validate every listed sample: missing or broken images/trimaps are errors; quirks are notes."""
    root = check_layout(root)
    names = list(dict.fromkeys(s.name for split in splits for s in read_split(root, split)))
    report = DataReport(root, samples=len(names))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for name, (errs, notes) in zip(names, pool.map(lambda n: inspect_sample(root, n), names)):
            report.errors += [(name, e) for e in errs]
            report.notes += [(name, n) for n in notes]
    listed = set(names)
    for p in sorted((root / "images").iterdir()):
        if p.suffix.lower() == ".jpg" and p.stem not in listed:
            report.notes.append((p.stem, "image in no checked split (not used)"))
        elif p.suffix.lower() != ".jpg" and p.is_file():
            report.notes.append((p.stem, f"{p.name} is not a .jpg (ignored)"))
    return report


# ----------------------------------------------------------------------------- cache

def default_cache_dir() -> Path:
    return Path(os.environ.get("LABSEG_CACHE_DIR", Path.home() / ".cache" / "labseg"))


def _fingerprint(root: Path, names: Sequence[str], size: int, boundary: str, draft: bool = True) -> str:
    h = hashlib.sha1(f"v{CACHE_VERSION}|{root.resolve()}|{size}|{boundary}{'' if draft else '|full'}".encode())
    for name in names:
        h.update(name.encode())
        for p in (image_path(root, name), trimap_path(root, name)):
            try:
                st = p.stat()
                h.update(f"|{st.st_size}|{st.st_mtime_ns}".encode())
            except FileNotFoundError:
                h.update(b"|missing")
    return h.hexdigest()[:16]


@dataclass
class SplitArrays:
    """Decoded samples of one split: images (N, S, S, 3) and masks (N, S, S), both uint8."""

    samples: list[Sample]
    images: np.ndarray
    masks: np.ndarray
    skipped: list[tuple[str, str]]

    def subset(self, indices: Sequence[int]) -> SplitArrays:
        """The samples at ``indices``, in that order (the skipped list is kept)."""
        indices = list(indices)
        return SplitArrays([self.samples[i] for i in indices], self.images[indices], self.masks[indices], self.skipped)


def load_split_arrays(root: str | Path, split: str, image_size: int, boundary: str = "foreground",
                      cache_dir: str | Path | None = None, strict: bool = False, limit: int | None = None,
                      use_cache: bool = True, draft: bool = True) -> SplitArrays:
    """Decode (or read from cache) a split at ``image_size`` x ``image_size`` (``draft``: see :func:`load_pair`).

    Bad samples are skipped with one warning naming them; with ``strict=True`` the first one
    raises a DataError instead. ``limit`` keeps only the first N samples of the split.
    """
    root = check_layout(root)
    samples = read_split(root, split)[:limit] if limit else read_split(root, split)
    names = [s.name for s in samples]
    cache_file = None
    if use_cache:
        key = _fingerprint(root, names, image_size, boundary, draft)
        full = "" if draft else "-full"
        cache_file = (Path(cache_dir or default_cache_dir())
                      / f"{root.name}-{split}-{image_size}-{boundary}{full}-{key}.npz")
        if cache_file.is_file():
            try:
                with np.load(cache_file) as z:
                    keep = set(z["names"].tolist())
                    skipped = [tuple(x) for x in z["skipped"].tolist()]
                    images, masks = z["images"], z["masks"]
                _warn_skipped(skipped, strict)
                return SplitArrays([s for s in samples if s.name in keep], images, masks, skipped)
            except Exception:  # noqa: BLE001 - a damaged cache is rebuilt, never trusted
                pass

    def decode(name: str):
        try:
            return load_pair(root, name, image_size, boundary, draft)
        except DataError as exc:
            if strict:
                raise
            return exc

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        decoded = list(pool.map(decode, names))
    good = [(s, d) for s, d in zip(samples, decoded) if not isinstance(d, Exception)]
    skipped = [(s.name, str(d)) for s, d in zip(samples, decoded) if isinstance(d, Exception)]
    if not good:
        raise DataError(f"No usable samples in split {split!r} of {root}; run `labseg check-data {root}`.")
    images = np.stack([d[0] for _, d in good])
    masks = np.stack([d[1] for _, d in good])
    if cache_file is not None:
        _atomic_savez(cache_file, images=images, masks=masks, names=np.array([s.name for s, _ in good]),
                      skipped=np.array(skipped, dtype=str).reshape(-1, 2))
    _warn_skipped(skipped, strict)
    return SplitArrays([s for s, _ in good], images, masks, skipped)


def _warn_skipped(skipped: list[tuple[str, str]], strict: bool) -> None:
    if skipped and strict:
        raise DataError(f"{skipped[0][1]} (strict mode: fix or remove {skipped[0][0]} from the split files)")
    if skipped:
        names = ", ".join(n for n, _ in skipped)
        warnings.warn(f"Skipping {len(skipped)} unusable sample(s): {names}. "
                      "`labseg check-data` says why; pass --strict to fail instead.", stacklevel=3)


def _atomic_savez(path: Path, **arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ----------------------------------------------------------------------------- torch dataset

def sample_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """The generator of one sample's augmentation in one epoch: a function of (seed, epoch, index) only."""
    return torch.Generator().manual_seed(hash((seed, epoch, index)) & 0x7FFF_FFFF_FFFF)


def cutmix_box(size: Sequence[int], generator: torch.Generator) -> tuple[slice, slice]:
    """CutMix's box on an image of ``size`` (H, W): sides sqrt(1 - lam) of the image's, lam uniform in [0, 1], the
    centre uniform over the image, cut at the edges; the rows and columns as slices."""
    lam, cy, cx = torch.rand(3, generator=generator).tolist()
    (h, w), side = size, (1 - lam) ** 0.5
    cy, cx, bh, bw = int(cy * h), int(cx * w), int(side * h), int(side * w)
    return (slice(max(cy - bh // 2, 0), min(cy + bh - bh // 2, h)),
            slice(max(cx - bw // 2, 0), min(cx + bw - bw // 2, w)))


class PetDataset(torch.utils.data.Dataset):
    """(image uint8 (3, S, S), mask uint8 (1, S, S), index) triples from decoded arrays.

    ``transform(image, mask, generator)`` applies the augmentation. Its randomness comes from a
    generator seeded by (seed, epoch, index), so an epoch's augmentations are the same however
    many workers load it and whether or not training was resumed. Call ``set_epoch`` each epoch.

    ``copy_paste``: on this share of samples (drawn from the same generator, before the transform), the pet of
    another sample of the split, drawn at random, is pasted onto this one through its mask (every pixel its mask
    marks, boundary pixels as its boundary rule set them), at the same place; the transform then moves both together.
    At 0 nothing is drawn, so the samples are those of a run without it.

    ``cutmix``: on this share of samples (drawn after any pasting, before the transform), a box of another sample,
    image and mask, replaces the same box of this one (CutMix, Yun et al. 2019, as segmentation uses it): its side a
    share sqrt(1 - lam) of the image's, lam uniform in [0, 1], its centre uniform over the image, cut where it runs
    off. At 0 nothing is drawn.
    """

    def __init__(self, arrays: SplitArrays, transform: Callable | None = None, seed: int = 0,
                 copy_paste: float = 0.0, cutmix: float = 0.0):
        self.arrays, self.transform, self.seed, self.epoch = arrays, transform, seed, 0
        self.copy_paste, self.cutmix = copy_paste, cutmix
        self.images = torch.from_numpy(arrays.images).permute(0, 3, 1, 2)  # a view, no copy
        self.masks = torch.from_numpy(arrays.masks).unsqueeze(1)

    @property
    def samples(self) -> list[Sample]:
        return self.arrays.samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.images)

    def batches(self, order: Sequence[int], batch_size: int, pin_memory: bool = False):
        """(images, masks, indices) batches of ``order`` gathered with one indexing op each, untransformed:
        the loader of ``--augment-on device``, where the batch is augmented on the training device."""
        order_t = torch.as_tensor(list(order), dtype=torch.long)
        rows = torch.from_numpy(self.arrays.images)  # (N, S, S, 3): a gathered row is one memcpy
        for start in range(0, len(order_t), batch_size):
            idx = order_t[start:start + batch_size]
            images, masks = rows[idx].permute(0, 3, 1, 2), self.masks[idx]  # NCHW view, channels_last memory
            if pin_memory:
                images, masks = images.pin_memory(), masks.pin_memory()
            yield images, masks, idx

    def __getitem__(self, index: int):
        image, mask = self.images[index], self.masks[index]
        generator = sample_generator(self.seed, self.epoch, index)
        if self.copy_paste and len(self) > 1 and float(torch.rand((), generator=generator)) < self.copy_paste:
            donor = int(torch.randint(len(self) - 1, (), generator=generator))
            donor += donor >= index  # any sample but this one
            pet = self.masks[donor] > 0
            image = torch.where(pet, self.images[donor], image)
            mask = torch.where(pet, self.masks[donor], mask)
        if self.cutmix and len(self) > 1 and float(torch.rand((), generator=generator)) < self.cutmix:
            donor = int(torch.randint(len(self) - 1, (), generator=generator))
            donor += donor >= index
            rows, cols = cutmix_box(image.shape[-2:], generator)
            image, mask = image.clone(), mask.clone()
            image[:, rows, cols] = self.images[donor][:, rows, cols]
            mask[:, rows, cols] = self.masks[donor][:, rows, cols]
        if self.transform is not None:
            image, mask = self.transform(image, mask, generator)
        return image.contiguous(), mask.contiguous(), index
