"""Training, evaluation and prediction. ``train(config)`` reads top to bottom as the loop it runs."""
from __future__ import annotations

import functools
import json
import math
import os
import platform
import subprocess
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from .config import RunConfig
from .data import DataError, PetDataset, load_image, load_split_arrays
from .losses import SegmentationLoss
from .metrics import SegmentationMeter
from .models import build_model, canonical_model_name
from .transforms import build_train_transform

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CHECKPOINT_FORMAT = "labseg-checkpoint-v1"


class CheckpointError(Exception):
    """A checkpoint that cannot be used: the message names the file and what to do."""


# ----------------------------------------------------------------------------- device and precision

def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"Unknown device {name!r}; use auto, cpu, cuda or mps.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA GPU is available; use --device auto or cpu.")
    return device


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated and slow."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def use_bf16(amp: str, device: torch.device) -> bool:
    if amp not in ("auto", "bf16", "off"):
        raise ValueError(f"amp must be auto, bf16 or off, got {amp!r}")
    if amp == "off":
        return False
    if amp == "bf16":
        return True
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_fast_bf16()


def autocast(device: torch.device, enabled: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if enabled else nullcontext()


def make_optimizer(model: nn.Module, lr: float, weight_decay: float = 0.0, device: torch.device | None = None):
    """Adam; the fused kernel where the device has one (CPU, CUDA): one pass over the parameters
    instead of several, about 5% of a ResNet34-UNet training step on a 2-core CPU."""
    fused = device is not None and device.type in ("cpu", "cuda")
    return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay, fused=fused or None)


def prepare_batch(images: torch.Tensor, masks: torch.Tensor, device: torch.device, channels_last: bool):
    """uint8 (N, 3, H, W) -> normalised float on ``device``; masks stay uint8 (255 = ignored)."""
    images = images.to(device, non_blocking=True).float().div_(255)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    images = (images - mean) / std
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images, masks.to(device, non_blocking=True)


# ----------------------------------------------------------------------------- checkpoints

def save_checkpoint(path: str | Path, **payload) -> None:
    """Write a state-dict checkpoint atomically (temp file + rename): a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save({"format": CHECKPOINT_FORMAT, **payload}, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a labseg checkpoint with ``weights_only=True``; every failure names the file and the fix."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.is_file():
        raise CheckpointError(f"Checkpoint not found: {path}. Train one with `labseg train --out DIR` "
                              "and pass DIR/best.pt (or DIR).")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        text = str(exc)
        if "weights_only" in text or "Unsupported global" in text or "GLOBAL" in text:
            raise CheckpointError(
                f"{path} holds pickled Python objects (e.g. a whole model saved with torch.save(model)), "
                "which labseg does not unpickle because that can run arbitrary code. Load it in the code "
                "that wrote it and save model.state_dict() instead.") from exc
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(exc).__name__}); it may be truncated "
                              "or not a PyTorch file. Re-run training or copy the file again.") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is a PyTorch file but not a labseg checkpoint (no '{CHECKPOINT_FORMAT}' "
                              "marker); it may be a bare state dict. labseg checkpoints come from `labseg train`.")
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any], path: str | Path = "checkpoint") -> tuple[nn.Module, RunConfig]:
    cfg = RunConfig.from_dict(ckpt["config"])
    options = cfg.model_options()
    options.pop("pretrained", None)  # the weights come from the checkpoint itself
    model = build_model(cfg.model, **options)
    try:
        model.load_state_dict(ckpt["model"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: its weights do not fit a {cfg.model} model ({str(exc).splitlines()[0]}).") from exc
    return model, cfg


# ----------------------------------------------------------------------------- data

def load_datasets(cfg: RunConfig, splits: tuple[str, ...] = ("train", "val")) -> dict[str, PetDataset]:
    out = {}
    for split in splits:
        arrays = load_split_arrays(cfg.data, split, cfg.image_size, cfg.boundary, cfg.cache_dir, cfg.strict)
        if split == "train" and cfg.train_subset:
            keep = np.sort(np.random.default_rng(cfg.seed).permutation(len(arrays.samples))[: cfg.train_subset])
            arrays = arrays.subset(keep)
        transform = build_train_transform(cfg.flip) if split == "train" else None
        out[split] = PetDataset(arrays, transform, seed=cfg.seed)
    return out


def _loader(ds: PetDataset, cfg: RunConfig, device: torch.device, order: list[int] | None = None) -> DataLoader:
    return DataLoader(ds, batch_size=cfg.batch_size, sampler=order, num_workers=cfg.num_workers,
                      pin_memory=device.type == "cuda", drop_last=False)


def epoch_order(n: int, seed: int, epoch: int, batch_size: int) -> list[int]:
    """The shuffled sample order of one epoch, a function of (seed, epoch) only (resumable).

    A last batch of a single image is dropped: BatchNorm cannot train on one value per channel.
    """
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch)).tolist()
    return order[:-1] if n > 1 and n % batch_size == 1 else order


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(model: nn.Module, dataset: PetDataset, cfg: RunConfig, device: torch.device | None = None,
             criterion: nn.Module | None = None, extra_masks: dict[str, np.ndarray] | None = None):
    """(summary dict, per-image DataFrame). ``extra_masks`` scores the same predictions against other
    masks too (e.g. with the trimap boundary ignored); their keys prefix the extra columns."""
    device = device or next(model.parameters()).device
    bf16 = use_bf16(cfg.amp, device)
    model.eval()
    meter = SegmentationMeter()
    extra = {k: SegmentationMeter() for k in (extra_masks or {})}
    loss_sum, n = 0.0, 0
    for images, masks, idx in _loader(dataset, cfg, device):
        x, y = prepare_batch(images, masks, device, cfg.channels_last)
        with autocast(device, bf16):
            logits = model(x)
        logits = logits.float()
        if criterion is not None:
            loss_sum += float(criterion(logits, y)) * len(x)
            n += len(x)
        names = [dataset.samples[i].name for i in idx.tolist()]
        meter.update(logits, y, names)
        for key, m in extra.items():
            m.update(logits, torch.from_numpy(extra_masks[key][idx.numpy()]).unsqueeze(1).to(device), names)
    summary = meter.summary()
    if criterion is not None:
        summary["loss"] = loss_sum / max(n, 1)
    table = meter.per_image()
    by_name = {s.name: s for s in dataset.samples}
    table.insert(1, "breed", [by_name[x].breed for x in table["name"]])
    table.insert(2, "species", [by_name[x].species for x in table["name"]])
    for key, m in extra.items():
        summary.update({f"{key}_{k}": v for k, v in m.summary().items() if k != "images"})
        scores = m.per_image()
        for col in ("dice", "iou", "pixel_acc"):
            table[f"{key}_{col}"] = scores[col].to_numpy()
    return summary, table


# ----------------------------------------------------------------------------- training

def train_step(model: nn.Module, optimizer, criterion: nn.Module, x: torch.Tensor, y: torch.Tensor,
               device: torch.device, bf16: bool) -> torch.Tensor:
    """One optimisation step: forward (bf16 autocast if asked), loss in fp32 on logits, backward, Adam."""
    with autocast(device, bf16):
        logits = model(x)
    loss = criterion(logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


# Where a run executes, not what it computes: a run may be resumed or read back with other values.
NOT_RUN_SHAPING = ("device", "num_workers", "cache_dir", "out_dir")


def settings_diff(saved: dict[str, Any], cfg: RunConfig) -> list[str]:
    """Names of the run-shaping fields in which a saved config differs from ``cfg``."""
    mine = cfg.to_dict()
    return sorted(k for k in mine if k not in NOT_RUN_SHAPING and saved.get(k) != mine[k])


def environment() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "cpu_threads": torch.get_num_threads(), "git_commit": commit,
            "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def train(cfg: RunConfig, resume: bool = False, overwrite: bool = False, progress: bool = True,
          log=print) -> dict[str, Any]:
    """Train ``cfg.model`` on the train split, select by val dice, score the best on test.

    Writes to ``cfg.out_dir``: config.json, env.json, history.csv (one row per epoch), last.pt and
    best.pt (state-dict checkpoints), metrics.json and test_per_image.csv. ``resume=True`` continues
    from last.pt; an existing run is never overwritten unless ``overwrite=True``.
    """
    cfg = cfg.replace(model=canonical_model_name(cfg.model))
    out = Path(cfg.out_dir)
    last_path, best_path = out / "last.pt", out / "best.pt"
    if last_path.exists() and not (resume or overwrite):
        raise FileExistsError(f"{out} already holds a run (last.pt). Pass --resume to continue it, "
                              "--overwrite to replace it, or choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(cfg.device)
    bf16 = use_bf16(cfg.amp, device)

    datasets = load_datasets(cfg, ("train", "val"))
    train_ds, val_ds = datasets["train"], datasets["val"]
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, **cfg.model_options()).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, cfg.lr, cfg.weight_decay, device)
    criterion = SegmentationLoss(cfg.loss, ignore_index=255)
    history: list[dict[str, Any]] = []
    best_dice, start_epoch = -math.inf, 0

    if resume and last_path.exists():
        ckpt = load_checkpoint(last_path)
        diff = settings_diff(ckpt["config"], cfg)
        if diff:
            raise CheckpointError(f"{last_path} was trained with other settings ({', '.join(diff)}); "
                                  "resume with the same settings, or use another --out.")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        history, best_dice, start_epoch = ckpt["history"], ckpt["best_dice"], ckpt["epoch"]
        torch.set_rng_state(ckpt["rng"])
        log(f"Resuming {out} from epoch {start_epoch}/{cfg.epochs}")
    cfg.save(out / "config.json")
    _write_json(out / "env.json", {**environment(), "device": str(device), "bf16": bf16})

    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        train_ds.set_epoch(epoch)
        order = epoch_order(len(train_ds), cfg.seed, epoch, cfg.batch_size)
        t0, loss_sum, seen = time.perf_counter(), 0.0, 0
        bar = tqdm(_loader(train_ds, cfg, device, order), desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   leave=False, disable=not progress)
        for images, masks, _ in bar:
            x, y = prepare_batch(images, masks, device, cfg.channels_last)
            loss = train_step(model, optimizer, criterion, x, y, device, bf16)
            loss_sum += float(loss.detach()) * len(x)
            seen += len(x)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
        train_seconds = time.perf_counter() - t0
        val, _ = evaluate(model, val_ds, cfg, device, criterion)
        row = {"epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1), "val_loss": val["loss"],
               "val_dice": val["dice"], "val_iou": val["iou"], "val_pixel_acc": val["pixel_acc"],
               "val_global_dice": val["global_dice"], "train_seconds": train_seconds,
               "seconds": time.perf_counter() - t0, "train_images_per_s": seen / max(train_seconds, 1e-9)}
        history.append(row)
        improved = row["val_dice"] > best_dice
        best_dice = max(best_dice, row["val_dice"])
        state = dict(model=model.state_dict(), config=cfg.to_dict(), epoch=epoch + 1, metrics=row,
                     history=history, best_dice=best_dice)
        if improved:
            save_checkpoint(best_path, **state)
        save_checkpoint(last_path, **state, optimizer=optimizer.state_dict(), rng=torch.get_rng_state())
        pd.DataFrame(history).to_csv(out / "history.csv", index=False)
        log(f"epoch {epoch + 1:3d}/{cfg.epochs}  train_loss {row['train_loss']:.4f}  val_loss {row['val_loss']:.4f}  "
            f"val_dice {row['val_dice']:.4f}  val_iou {row['val_iou']:.4f}  "
            f"val_acc {row['val_pixel_acc']:.4f}  {row['seconds']:.1f}s" + ("  *best" if improved else ""))

    return finish(cfg, device, log=log)


def finish(cfg: RunConfig, device: torch.device | None = None, log=print) -> dict[str, Any]:
    """Score ``best.pt`` on the test split (standard masks, and with the boundary ignored); write metrics."""
    out = Path(cfg.out_dir)
    device = device or resolve_device(cfg.device)
    ckpt = load_checkpoint(out / "best.pt")
    model, _ = model_from_checkpoint(ckpt, out / "best.pt")
    model.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    test_ds = load_datasets(cfg, ("test",))["test"]
    extra = None
    if cfg.boundary != "ignore":
        ignored = load_split_arrays(cfg.data, "test", cfg.image_size, "ignore", cfg.cache_dir, cfg.strict)
        extra = {"noboundary": ignored.masks}
    test, table = evaluate(model, test_ds, cfg, device, SegmentationLoss(cfg.loss), extra)
    table.to_csv(out / "test_per_image.csv", index=False)
    history = pd.read_csv(out / "history.csv")
    metrics = {"run": out.name, "model": cfg.model, "best_epoch": int(ckpt["epoch"]),
               "best_val_dice": float(ckpt["best_dice"]), "epochs": cfg.epochs,
               "train_seconds": float(history["seconds"].sum()),
               "parameters": sum(p.numel() for p in model.parameters()),
               **{f"test_{k}": v for k, v in test.items()}, "complete": True}
    _write_json(out / "metrics.json", metrics)
    log(f"test ({test['images']} images): dice {test['dice']:.4f}  IoU {test['iou']:.4f}  "
        f"pixel acc {test['pixel_acc']:.4f}  -> {out}")
    return metrics


def run_experiment(cfg: RunConfig, progress: bool = False, log=print) -> dict[str, Any]:
    """Train-if-needed, for experiment series: a finished run with the same config is read back,
    an interrupted one resumes from last.pt, a new one starts. Each run's results land as it ends.

    A finished run whose checkpoints are gone (a fresh clone holds only the small result files) is
    trained again, so that the figures drawn from its predictions can be made."""
    out = Path(cfg.out_dir)
    done = out / "metrics.json"
    if done.is_file() and (out / "config.json").is_file():
        diff = settings_diff(json.loads((out / "config.json").read_text()),
                             cfg.replace(model=canonical_model_name(cfg.model)))
        if diff:
            raise FileExistsError(f"{out} holds a finished run with other settings ({', '.join(diff)}); "
                                  "delete it or choose another out_dir.")
        if (out / "best.pt").is_file():
            return json.loads(done.read_text())
        return train(cfg, overwrite=True, progress=progress, log=log)
    return train(cfg, resume=True, progress=progress, log=log)


# ----------------------------------------------------------------------------- prediction

@torch.no_grad()
def predict_image(model: nn.Module, cfg: RunConfig, path: str | Path, device: torch.device) -> tuple[Image.Image, np.ndarray]:
    """(RGB image, mask bool (H, W)) at the image's own size: resized to the training size for the
    network, logits resized back bilinearly, thresholded at probability 0.5."""
    image = load_image(path)
    small = torch.from_numpy(np.array(image.resize((cfg.image_size, cfg.image_size), Image.BILINEAR))).permute(2, 0, 1)
    x, _ = prepare_batch(small[None], torch.zeros(1), device, cfg.channels_last)
    model.eval()
    with autocast(device, use_bf16(cfg.amp, device)):
        logits = model(x)
    logits = F.interpolate(logits.float(), size=(image.height, image.width), mode="bilinear", align_corners=False)
    return image, (logits[0, 0] > 0).cpu().numpy()


def overlay(image: Image.Image, mask: np.ndarray, colour=(255, 40, 40), alpha: float = 0.45) -> Image.Image:
    arr = np.asarray(image, dtype=np.float32).copy()
    arr[mask] = arr[mask] * (1 - alpha) + np.array(colour, np.float32) * alpha
    return Image.fromarray(arr.astype(np.uint8))


def predict(checkpoint: str | Path, inputs: list[str | Path], out_dir: str | Path, device: str = "auto",
            overwrite: bool = False, log=print) -> list[Path]:
    """Write ``<name>_mask.png`` (0/255, the image's own size) and ``<name>_overlay.png`` for each input.
    A folder input means every image file in it. Files already in ``out_dir`` are kept unless ``overwrite``;
    two inputs with the same name stem (a.jpg, a.png) are refused, since their outputs would collide."""
    ckpt = load_checkpoint(checkpoint)
    model, cfg = model_from_checkpoint(ckpt, checkpoint)
    dev = resolve_device(device)
    model.to(dev)
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            files += sorted(p for p in item.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"))
        elif item.is_file():
            files.append(item)
        else:
            raise DataError(f"Input not found: {item}; pass image files or folders of images.")
    out = Path(out_dir)
    stems: dict[str, Path] = {}
    for f in files:
        if f.stem in stems:
            raise ValueError(f"{stems[f.stem]} and {f} would both be written as {f.stem}_mask.png; "
                             "rename one or predict them into different --out folders.")
        stems[f.stem] = f
    targets = [out / f"{stem}_{kind}.png" for stem in stems for kind in ("mask", "overlay")]
    existing = [t for t in targets if t.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{len(existing)} output file(s) already exist, e.g. {existing[0]}; "
                              "pass --overwrite to replace them, or choose another --out.")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        image, mask = predict_image(model, cfg, f, dev)
        mask_path, over_path = out / f"{f.stem}_mask.png", out / f"{f.stem}_overlay.png"
        Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path)
        overlay(image, mask).save(over_path)
        written += [mask_path, over_path]
        log(f"{f} -> {mask_path.name}, {over_path.name} ({100 * mask.mean():.1f}% pet)")
    return written
