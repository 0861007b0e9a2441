"""Training and evaluation. ``train(config)`` reads top to bottom as the loop it runs.

Beside it: the batches of an epoch in :mod:`labseg.batches`, optimiser and schedule in :mod:`labseg.optim`, the
run folder and its record in :mod:`labseg.run_folder`, checkpoints in :mod:`labseg.checkpoint`, device and
precision in :mod:`labseg.device`, the forward pass in :mod:`labseg.inference`; train-if-needed for experiment
series in :mod:`labseg.experiments`.
"""
from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from .batch_augment import BatchAugment
from .batches import load_datasets, loader, steps_per_epoch, train_batches
from .checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint, save_checkpoint
from .config import RunConfig
from .data import PetDataset, check_layout, load_split_arrays, read_split
from .device import autocast, fp32_note, prepare_batch, resolve_device, set_threads, use_bf16
from .ema import ExponentialAverage
from .inference import forward, forward_tta
from .losses import SegmentationLoss, SideOutputLoss
from .machine_load import LoadMeter, run_share
from .metrics import SegmentationMeter, predict_mask
from .models import build_model, canonical_model_name
from .optim import make_optimizer, make_scheduler
from .run_folder import RUN_FILES, RUN_FOLDERS, check_run_folder, environment, settings_diff, write_json
from .saved_masks import FILE as MASKS_FILE
from .saved_masks import save_masks
from .swa import WeightAverage
from .tensorboard_log import TensorBoardLog
from .transforms import strength_options

# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def evaluate(model: nn.Module, dataset: PetDataset, cfg: RunConfig, device: torch.device | None = None,
             criterion: nn.Module | None = None, extra_masks: dict[str, np.ndarray] | None = None, tta: bool = False,
             predicted: dict[str, np.ndarray] | None = None):
    """(summary dict, per-image DataFrame). ``extra_masks`` scores the same predictions against other
    masks too (e.g. with the trimap boundary ignored); their keys prefix the extra columns. ``tta``:
    test-time augmentation, the mean of the logits of the image and of its horizontal flip. ``predicted``: a dict
    that receives each image's predicted mask (name -> (H, W) bool)."""
    device = device or next(model.parameters()).device
    bf16 = use_bf16(cfg.amp, device)
    model.eval()
    meter = SegmentationMeter()
    extra = {k: SegmentationMeter() for k in (extra_masks or {})}
    loss_sum, n = 0.0, 0
    for images, masks, idx in loader(dataset, cfg, device):
        x, y = prepare_batch(images, masks, device, cfg.channels_last)
        logits = forward_tta(model, x, device, bf16) if tta else forward(model, x, device, bf16)
        if criterion is not None:
            loss_sum += float(criterion(logits, y)) * len(x)
            n += len(x)
        names = [dataset.samples[i].name for i in idx.tolist()]
        meter.update(logits, y, names)
        if predicted is not None:
            predicted.update(zip(names, predict_mask(logits)[:, 0].cpu().numpy()))
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
        logits = model(x)  # a deeply supervised network: (logits, side logits), scored by SideOutputLoss
    loss = criterion(logits if isinstance(logits, tuple) else logits.float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


@dataclass
class _Training:
    """What a run trains and keeps: the network, its optimiser, schedule and loss, the averages, the record so far."""

    model: nn.Module
    optimizer: Any
    scheduler: Any
    criterion: nn.Module
    average: WeightAverage | None
    ema: ExponentialAverage | None
    history: list[dict[str, Any]] = field(default_factory=list)
    best_dice: float = -math.inf
    start_epoch: int = 0


class _Steps(NamedTuple):
    """An epoch's training steps: summed loss (times images), images seen, the last step's rate, seconds."""

    loss_sum: float
    seen: int
    lr: float
    seconds: float


def train(cfg: RunConfig, resume: bool = False, overwrite: bool = False, progress: bool = True,
          log=print) -> dict[str, Any]:
    """Train ``cfg.model`` on the train split, select by val dice, score the best on test.

    Writes to ``cfg.out_dir``: config.json, env.json, history.csv (one row per epoch), last.pt and
    best.pt (state-dict checkpoints), metrics.json and test_per_image.csv. ``resume=True`` continues
    from last.pt; an existing run is never overwritten unless ``overwrite=True``.

    Every setting, the data, the checkpoint to resume and the output folder are checked before the
    first file is written; a run that fails before its first epoch ends leaves no folder behind.
    """
    cfg = cfg.replace(model=canonical_model_name(cfg.model)).validate()
    out = Path(cfg.out_dir)
    last_path = out / "last.pt"
    check_run_folder(out, resume, overwrite)
    device = resolve_device(cfg.device)
    set_threads(cfg.threads)
    bf16 = use_bf16(cfg.amp, device)
    check_layout(cfg.data)
    if (note := fp32_note(cfg.amp, device, bf16)) is not None:
        log(note)
    read_split(cfg.data, "test")  # scored at the end: a missing test.txt is found now, not after training
    ckpt = _checkpoint_to_resume(cfg, last_path) if resume and last_path.exists() else None
    datasets = load_datasets(cfg, ("train", "val"))
    training = _start_training(cfg, len(datasets["train"]), device)
    if ckpt is not None:
        _restore(training, ckpt, cfg)
        log(f"Resuming {out} from epoch {training.start_epoch}/{cfg.epochs}")

    # Everything is checked: from here on files are written.
    created = not out.exists()
    if ckpt is None and overwrite:
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
        for name in RUN_FOLDERS:
            shutil.rmtree(out / name, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    try:
        cfg.save(out / "config.json")
        write_json(out / "env.json", {**environment(), "device": str(device), "bf16": bf16})
        return _train_epochs(cfg, training, datasets, device, bf16, progress, log)
    except BaseException:
        if created and not last_path.exists():  # not one epoch finished: nothing worth keeping
            shutil.rmtree(out, ignore_errors=True)
        raise


def _checkpoint_to_resume(cfg: RunConfig, last_path: Path) -> dict[str, Any]:
    """``last_path`` read, once its settings are found to be ``cfg``'s."""
    ckpt = load_checkpoint(last_path)
    diff = settings_diff(ckpt["config"], cfg)
    if diff:
        raise CheckpointError(f"{last_path} was trained with other settings ({', '.join(diff)}); "
                              "resume with the same settings, or use another --out.")
    return ckpt


def _start_training(cfg: RunConfig, train_images: int, device: torch.device) -> _Training:
    """The seeded network, its optimiser, schedule, loss and averages, as at the start of epoch 1."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, **cfg.model_options()).to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, cfg.lr, cfg.weight_decay, device, cfg.optimizer)
    scheduler = make_scheduler(optimizer, cfg, steps_per_epoch(train_images, cfg.seed, cfg.batch_size))
    criterion = SegmentationLoss(cfg.loss, ignore_index=255, dice_reduction=cfg.dice_reduction)
    if cfg.deep_supervision:
        criterion = SideOutputLoss(criterion, cfg.deep_supervision)
    average = WeightAverage(model) if cfg.swa_epochs else None
    ema = ExponentialAverage(model, cfg.ema_decay) if cfg.ema_decay else None
    return _Training(model, optimizer, scheduler, criterion, average, ema)


def _restore(training: _Training, ckpt: dict[str, Any], cfg: RunConfig) -> None:
    """Continue from ``ckpt`` (a last.pt): the network that trains, the averages, optimiser, schedule, record, RNG."""
    if "swa" in ckpt:  # cut off in the averaging phase: "model" is the average, "swa" the network that trains
        training.model.load_state_dict(ckpt["swa"]["training"])
        training.average = WeightAverage(training.model, ckpt["swa"]["averaged"], ckpt["model"])
    elif "ema" in ckpt:  # "model" is the moving average, "ema" the network that trains
        training.model.load_state_dict(ckpt["ema"]["training"])
        training.ema = ExponentialAverage(training.model, cfg.ema_decay, ckpt["ema"]["updates"], ckpt["model"])
    else:
        training.model.load_state_dict(ckpt["model"])
    if "optimizer" in ckpt:  # a finished run's last.pt has none: nothing trains past its last epoch
        training.optimizer.load_state_dict(ckpt["optimizer"])
    if "scheduler" in ckpt:
        training.scheduler.load_state_dict(ckpt["scheduler"])
    training.history, training.best_dice, training.start_epoch = ckpt["history"], ckpt["best_dice"], ckpt["epoch"]
    if "rng" in ckpt:
        torch.set_rng_state(ckpt["rng"])


def _train_epochs(cfg: RunConfig, training: _Training, datasets: dict[str, PetDataset], device: torch.device,
                  bf16: bool, progress: bool, log) -> dict[str, Any]:
    """Each epoch from ``training.start_epoch`` on: train, score on val, record, checkpoint and log it; then
    :func:`finish` scores the selected checkpoint on the test split."""
    out = Path(cfg.out_dir)
    train_ds, val_ds = datasets["train"], datasets["val"]
    tb = TensorBoardLog(out, cfg.tensorboard, cfg.epochs, training.start_epoch, log)
    batch_augment = (BatchAugment(cfg.flip, cfg.augment, cfg.image_size, cfg.seed, **strength_options(cfg))
                     if cfg.augment_on == "device" else None)
    batches = partial(train_batches, cfg, train_ds, device=device, batch_augment=batch_augment,
                      low_res_ds=datasets.get("train_low_res"))
    swa_start = cfg.epochs - cfg.swa_epochs  # epochs from here on train at a constant rate and are averaged
    steps = steps_per_epoch(len(train_ds), cfg.seed, cfg.batch_size)
    try:
        for epoch in range(training.start_epoch, cfg.epochs):
            training.model.train()
            in_swa = epoch >= swa_start
            if in_swa:  # the schedule has run its course: a constant rate (the scheduler is not stepped)
                for group in training.optimizer.param_groups:
                    group["lr"] = cfg.swa_lr * cfg.lr
            t0, load = time.perf_counter(), LoadMeter()
            bar = tqdm(batches(epoch), total=steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                       disable=not progress)
            done = _train_steps(training, bar, in_swa, device, bf16, t0)
            evaluated = _evaluated_model(training, in_swa, batches, epoch, device, bf16)
            val, _ = evaluate(evaluated, val_ds, cfg, device, training.criterion)
            row = _history_row(cfg, training, epoch, done, val, t0, load)
            training.history.append(row)
            improved = row["val_dice"] > training.best_dice
            training.best_dice = max(training.best_dice, row["val_dice"])
            _save_checkpoints(cfg, training, evaluated, row, in_swa, improved)
            pd.DataFrame(training.history).to_csv(out / "history.csv", index=False)
            tb.epoch(row, row["lr"])
            tb.predictions(epoch + 1, evaluated, val_ds, device, cfg.channels_last, bf16)
            log(_epoch_line(cfg, row, improved, training.average.averaged if in_swa else None))
    finally:
        tb.close()
    return finish(cfg, device, log=log)


def _train_steps(training: _Training, bar, in_swa: bool, device: torch.device, bf16: bool, t0: float) -> _Steps:
    """One optimisation step per batch of ``bar`` (the schedule stepped outside the averaging phase, the EMA after
    each step), its running loss on the bar; ``t0``: when the epoch started."""
    loss_sum, seen = 0.0, 0
    for x, y in bar:
        loss = train_step(training.model, training.optimizer, training.criterion, x, y, device, bf16)
        lr_used = training.optimizer.param_groups[0]["lr"]  # the rate of this step (history: the epoch's last)
        if not in_swa:
            training.scheduler.step()
        if training.ema is not None:
            training.ema.update(training.model)
        loss_sum += float(loss.detach()) * len(x)
        seen += len(x)
        bar.set_postfix(loss=f"{loss_sum / seen:.4f}")
    return _Steps(loss_sum, seen, lr_used, time.perf_counter() - t0)


def _evaluated_model(training: _Training, in_swa: bool, batches, epoch: int, device: torch.device,
                     bf16: bool) -> nn.Module:
    """The weights an epoch is scored and saved with: in the averaging phase the average, this epoch's weights added
    and its BatchNorm statistics measured on ``batches(epoch)``; else the moving average where one is kept, else
    the network that trains."""
    evaluated = training.model if training.ema is None else training.ema.model
    if in_swa:
        training.average.update(training.model)
        training.average.measure_batchnorm((x for x, _ in batches(epoch)), device, bf16)
        evaluated = training.average.model
    return evaluated


def _history_row(cfg: RunConfig, training: _Training, epoch: int, done: _Steps, val: dict[str, Any],
                 t0: float, load: LoadMeter) -> dict[str, Any]:
    """The epoch's row of history.csv: train loss, val scores, times, speed, the rate of its last step, and the
    share of the machine's cores other processes used meanwhile (``other_cpu``: how far its time is an idle one)."""
    row = {"epoch": epoch + 1, "train_loss": done.loss_sum / max(done.seen, 1), "val_loss": val["loss"],
           "val_dice": val["dice"], "val_iou": val["iou"], "val_pixel_acc": val["pixel_acc"],
           "val_global_dice": val["global_dice"], "train_seconds": done.seconds,
           "seconds": time.perf_counter() - t0, "train_images_per_s": done.seen / max(done.seconds, 1e-9),
           "lr": done.lr, "other_cpu": load.other_share()}
    if cfg.swa_epochs:
        row["swa_averaged"] = training.average.averaged  # epochs in the average the val scores are of (0: none)
    return row


def _save_checkpoints(cfg: RunConfig, training: _Training, evaluated: nn.Module, row: dict[str, Any], in_swa: bool,
                      improved: bool) -> None:
    """best.pt if the epoch improved val dice; last.pt always, with what a resume needs (optimizer moments: twice
    the weights' size with Adam; in the averaging phase, the network that trains on), except after the last epoch:
    a finished run's last.pt keeps the weights it evaluated (for --select last and last-epoch scoring) only."""
    out = Path(cfg.out_dir)
    state = dict(model=evaluated.state_dict(), config=cfg.to_dict(), epoch=row["epoch"], metrics=row,
                 history=training.history, best_dice=training.best_dice)
    if improved:
        save_checkpoint(out / "best.pt", **state)
    resume_state = ({} if row["epoch"] == cfg.epochs else
                    dict(optimizer=training.optimizer.state_dict(), scheduler=training.scheduler.state_dict(),
                         rng=torch.get_rng_state(),
                         **({"swa": dict(training=training.model.state_dict(), averaged=training.average.averaged)}
                            if in_swa else {}),
                         **({"ema": dict(training=training.model.state_dict(), updates=training.ema.updates)}
                            if training.ema is not None else {})))
    save_checkpoint(out / "last.pt", **state, **resume_state)


def _epoch_line(cfg: RunConfig, row: dict[str, Any], improved: bool, averaged: int | None) -> str:
    """The epoch's log line; ``averaged``: the epochs in the SWA average it scored (None outside that phase)."""
    return (f"epoch {row['epoch']:3d}/{cfg.epochs}  train_loss {row['train_loss']:.4f}  "
            f"val_loss {row['val_loss']:.4f}  "
            f"val_dice {row['val_dice']:.4f}  val_iou {row['val_iou']:.4f}  "
            f"val_acc {row['val_pixel_acc']:.4f}  {row['seconds']:.1f}s" + ("  *best" if improved else "")
            + (f"  (average of {averaged})" if averaged is not None else ""))


def _other_cpu(history: pd.DataFrame) -> dict[str, float]:
    """``train_other_cpu``: the share of the machine's cores other processes used while the run trained, averaged
    over its epochs (see :mod:`labseg.machine_load`); left out where not recorded."""
    share = run_share(history)
    return {} if math.isnan(share) else {"train_other_cpu": round(share, 4)}


def finish(cfg: RunConfig, device: torch.device | None = None, log=print) -> dict[str, Any]:
    """Score the selected checkpoint (``best.pt``, or ``last.pt`` with ``select="last"``) on the test split
    (standard masks, and with the boundary ignored); write metrics."""
    out = Path(cfg.out_dir)
    device = device or resolve_device(cfg.device)
    chosen = out / ("last.pt" if cfg.select == "last" else "best.pt")
    ckpt = load_checkpoint(chosen)
    model, _ = model_from_checkpoint(ckpt, chosen)
    model.to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    test_ds = load_datasets(cfg, ("test",))["test"]
    extra = None
    if cfg.boundary != "ignore":
        ignored = load_split_arrays(cfg.data, "test", cfg.image_size, "ignore", cfg.cache_dir, cfg.strict)
        extra = {"noboundary": ignored.masks}
    predicted: dict[str, np.ndarray] = {}
    test, table = evaluate(model, test_ds, cfg, device, SegmentationLoss(cfg.loss, dice_reduction=cfg.dice_reduction),
                           extra, predicted=predicted)
    table.to_csv(out / "test_per_image.csv", index=False)
    names = table["name"].tolist()
    save_masks(out / MASKS_FILE, names, np.stack([predicted[n] for n in names]))
    history = pd.read_csv(out / "history.csv")
    best_epoch = int(ckpt["epoch"]) if cfg.select == "best" else int(history.loc[history["val_dice"].idxmax(), "epoch"])
    metrics = {"run": out.name, "model": cfg.model, "best_epoch": best_epoch,
               "best_val_dice": float(ckpt["best_dice"]), "epochs": cfg.epochs,
               **({"selected": "last", "selected_epoch": int(ckpt["epoch"])} if cfg.select == "last" else {}),
               "train_seconds": float(history["seconds"].sum()), **_other_cpu(history),
               "parameters": sum(p.numel() for p in model.parameters()),
               **{f"test_{k}": v for k, v in test.items()}, "complete": True}
    write_json(out / "metrics.json", metrics)
    weights = (f"the last epoch's weights ({int(ckpt['epoch'])})" if cfg.select == "last"
               else f"the best epoch by val dice ({best_epoch})")
    log(f"test ({test['images']} images, {weights}): dice {test['dice']:.4f}  IoU {test['iou']:.4f}  "
        f"pixel acc {test['pixel_acc']:.4f}  -> {out}")
    return metrics


