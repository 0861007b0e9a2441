"""What a run's loop iterates over: the datasets of a run's splits (decoded and cached by :mod:`labseg.data`,
transformed per sample or per batch), the order of each epoch (a function of seed and epoch only, so a resumed run
sees the same batches) and the normalised training batches of an epoch."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import DataLoader

from .batch_augment import BatchAugment
from .config import RunConfig, low_res_epochs
from .data import PetDataset, load_split_arrays
from .device import prepare_batch
from .transforms import build_train_transform, strength_options


def load_datasets(cfg: RunConfig, splits: tuple[str, ...] = ("train", "val")) -> dict[str, PetDataset]:
    out = {}
    for split in splits:
        # --decode applies to the training images; val and test keep the one path prediction uses (draft)
        draft = split != "train" or cfg.decode == "draft"
        # --augment-source 2x: training images cached at twice the size; the random crop resizes them down
        size = 2 * cfg.image_size if split == "train" and cfg.augment_source == "2x" else cfg.image_size
        arrays = load_split_arrays(cfg.data, split, size, cfg.boundary, cfg.cache_dir, cfg.strict, draft=draft)
        if split == "train" and cfg.train_subset:
            keep = np.sort(np.random.default_rng(cfg.seed).permutation(len(arrays.samples))[: cfg.train_subset])
            arrays = arrays.subset(keep)
        # --augment-on device: the loader only gathers uint8 rows; BatchAugment transforms whole batches
        on_loader = split == "train" and cfg.augment_on == "loader"
        transform = (build_train_transform(cfg.flip, cfg.augment, cfg.image_size, **strength_options(cfg))
                     if on_loader else None)
        out[split] = PetDataset(arrays, transform, seed=cfg.seed,
                                copy_paste=cfg.copy_paste if split == "train" else 0.0,
                                cutmix=cfg.cutmix if split == "train" else 0.0)
        if split == "train" and cfg.low_res:  # --low-res: the same images, crops resized to the early size
            out["train_low_res"] = PetDataset(arrays, build_train_transform(cfg.flip, cfg.augment, cfg.low_res,
                                                                            **strength_options(cfg)),
                                              seed=cfg.seed, copy_paste=cfg.copy_paste, cutmix=cfg.cutmix)
    return out


def loader(ds: PetDataset, cfg: RunConfig, device: torch.device, order: list[int] | None = None) -> DataLoader:
    return DataLoader(ds, batch_size=cfg.batch_size, sampler=order, num_workers=cfg.num_workers,
                      pin_memory=device.type == "cuda", drop_last=False)


def steps_per_epoch(n: int, seed: int, batch_size: int) -> int:
    """Training steps in every epoch (:func:`epoch_order` drops the same last single image each epoch)."""
    return math.ceil(len(epoch_order(n, seed, 0, batch_size)) / batch_size)


def epoch_order(n: int, seed: int, epoch: int, batch_size: int) -> list[int]:
    """The shuffled sample order of one epoch, a function of (seed, epoch) only (resumable).

    A last batch of a single image is dropped: BatchNorm cannot train on one value per channel.
    """
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 100_003 + epoch)).tolist()
    return order[:-1] if n > 1 and n % batch_size == 1 else order


def train_batches(cfg: RunConfig, train_ds: PetDataset, epoch: int, device: torch.device,
                   batch_augment: BatchAugment | None, low_res_ds: PetDataset | None = None):
    """The normalised (x, y) training batches of ``epoch``, augmented: the same batches each time it is called;
    from ``low_res_ds`` (load_datasets' "train_low_res") in the first :func:`low_res_epochs`."""
    if low_res_ds is not None and epoch < low_res_epochs(cfg):
        train_ds = low_res_ds
    train_ds.set_epoch(epoch)
    order = epoch_order(len(train_ds), cfg.seed, epoch, cfg.batch_size)
    batches = (train_ds.batches(order, cfg.batch_size, pin_memory=device.type == "cuda")
               if batch_augment is not None else loader(train_ds, cfg, device, order))
    for images, masks, idx in batches:
        if batch_augment is not None:
            images, masks = batch_augment(images.to(device, non_blocking=True), masks.to(device, non_blocking=True),
                                          idx.tolist(), epoch)
        yield prepare_batch(images, masks, device, cfg.channels_last)
