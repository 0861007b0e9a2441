"""TensorBoard logging of a training run, when the ``tensorboard`` package is installed.

history.csv stays the record of truth; the event files (``<run>/tensorboard/``) are for looking:
``tensorboard --logdir results/<study>/runs`` shows every arm of a study side by side. Per epoch:
train and val loss, val dice / IoU / pixel accuracy, learning rate, training images/s; every few
epochs (and the last), a grid of validation images with their truth and the prediction.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .device import autocast, prepare_batch
from .metrics import predict_mask

FOLDER = "tensorboard"
SCALARS = {"loss/train": "train_loss", "loss/val": "val_loss", "val/dice": "val_dice", "val/iou": "val_iou",
           "val/pixel_acc": "val_pixel_acc", "train/images_per_s": "train_images_per_s"}
GRID_IMAGES = 4


class TensorBoardLog:
    """No-op when disabled or when tensorboard is missing (one note says so)."""

    def __init__(self, run_dir: str | Path, enabled: bool, epochs: int, start_epoch: int = 0, log=print):
        self.writer = None
        self.every = max(1, epochs // 5)
        self.epochs = epochs
        if not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log("note: TensorBoard logging is off (tensorboard is not installed; `pip install tensorboard` "
                "turns it on, --no-tensorboard silences this note). history.csv has every figure.")
            return
        # purge_step: a resumed run drops the events an interrupted run wrote after its last checkpoint
        self.writer = SummaryWriter(str(Path(run_dir) / FOLDER), purge_step=start_epoch + 1 if start_epoch else None)

    def epoch(self, row: dict[str, Any], lr: float) -> None:
        if self.writer is None:
            return
        step = int(row["epoch"])
        for tag, key in SCALARS.items():
            self.writer.add_scalar(tag, float(row[key]), step)
        self.writer.add_scalar("train/lr", lr, step)
        self.writer.flush()

    @torch.no_grad()
    def predictions(self, step: int, model: torch.nn.Module, dataset, device: torch.device, channels_last: bool,
                    bf16: bool) -> None:
        """Rows of (image, truth, prediction) for the first few validation images, every few epochs."""
        if self.writer is None or not (step % self.every == 0 or step == self.epochs):
            return
        from torchvision.utils import make_grid

        n = min(GRID_IMAGES, len(dataset))
        images = torch.stack([dataset[i][0] for i in range(n)])
        masks = torch.stack([dataset[i][1] for i in range(n)])
        was_training = model.training
        model.eval()
        x, _ = prepare_batch(images, masks, device, channels_last)
        with autocast(device, bf16):
            pred = predict_mask(model(x).float()).cpu()
        model.train(was_training)
        truth = (masks == 1).float().expand(-1, 3, -1, -1)
        tiles = []
        for img, t, p in zip(images.float() / 255, truth, pred.float().expand(-1, 3, -1, -1)):
            tiles += [img, t, p]
        self.writer.add_image("val/image_truth_prediction", make_grid(tiles, nrow=3, padding=2), step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
