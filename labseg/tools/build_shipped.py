"""``python -m labseg.tools.build_shipped RUN_DIR``: write the model that ships with labseg
(``labseg/assets/<file>``, loaded by :mod:`labseg.shipped`) from a finished run's checkpoint, the one its ``select``
setting scores (``--checkpoint`` chooses another). The weights are stored in fp16; the file's provenance records the
test dice of the fp32 and the fp16 weights, at 128 px and at each photo's own size, and the share of test pixels
whose mask differs between the two. The library never imports this module.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from ..batches import load_datasets
from ..checkpoint import CheckpointError, load_checkpoint, model_from_checkpoint
from ..config import RunConfig
from ..data import DataError
from ..fullsize import cache_prefix, full_size_metrics, full_size_scores
from ..inference import TorchPredictor
from ..metrics import SegmentationMeter, predict_mask
from ..paths import CHECKOUT
from ..shipped import DEFAULT, sha256, shipped_path

REPO = CHECKOUT


def results_folder(run_dir: Path) -> dict:
    """{"results": the run's folder relative to the repository} where ``run_dir`` is a run under its results/ (a
    committed study run, scored by its own files there), else {}."""
    folder = Path(run_dir).resolve()
    if not folder.is_relative_to(REPO / "results"):
        return {}
    return {"results": folder.relative_to(REPO).as_posix()}


def selected_checkpoint(run_dir: Path) -> str:
    """``"last"`` where the run scores its last epoch (``select="last"`` in its config.json), else ``"best"``."""
    return "last" if json.loads((run_dir / "config.json").read_text()).get("select") == "last" else "best"


def checkpoint_scores(run_dir: Path, checkpoint: str) -> dict:
    """The run's metrics.json with ``test_dice``/``test_iou`` those of ``checkpoint`` (``"best"``/``"last"``): a run
    that selected its last epoch scored last.pt there; another has the last epoch's in metrics_last.json."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if checkpoint == "last" and metrics.get("selected") != "last":
        last_file = run_dir / "metrics_last.json"
        if not last_file.is_file():
            raise CheckpointError(f"{run_dir} scored best.pt, and has no metrics_last.json with last.pt's test dice; "
                                  "build with --checkpoint best, or score last.pt first (study.last_epoch_run).")
        last = json.loads(last_file.read_text())
        metrics = {**metrics, "test_dice": last["last_test_dice"], "test_iou": last["last_test_iou"]}
    if checkpoint == "best" and metrics.get("selected") == "last":
        raise CheckpointError(f"{run_dir} scored last.pt (select last): its metrics.json holds no test dice of "
                              "best.pt; build with --checkpoint last.")
    return metrics


def reproduced(committed_metrics: Path, run: dict, checkpoint: str) -> dict:
    """Provenance naming the committed run that ``run`` (metrics of ``checkpoint``) retrained, where best epoch,
    its val dice and the checkpoint's test dice and IoU are equal to the last digit; {} where one differs."""
    if not Path(committed_metrics).is_file():
        raise CheckpointError(f"--reproduces {committed_metrics}: no such file; give the committed run's metrics.json.")
    folder = Path(committed_metrics).parent
    committed = checkpoint_scores(folder, checkpoint)
    if any(committed[k] != run[k] for k in ("best_epoch", "best_val_dice", "test_dice", "test_iou")):
        return {}
    return {"run": folder.name, "results": folder.as_posix(),
            "reproduces": f"{folder.as_posix()} (best epoch, its val dice and the {checkpoint} checkpoint's test "
                          "dice and IoU equal to the last digit)"}


def build(run_dir: Path, target: Path, committed_metrics: Path | None = None, checkpoint: str | None = None) -> str:
    """Write ``target`` from ``run_dir``'s best.pt or last.pt (None: the one the run's ``select`` scores), fp16
    weights plus provenance: test dice at 128 px and at each photo's own size, of the fp32 and the fp16 weights;
    returns its SHA-256. The full-size figure of the fp32 weights is kept in the run's metrics_fullsize.json."""
    run_dir = Path(run_dir)
    checkpoint = checkpoint or selected_checkpoint(run_dir)
    ckpt = load_checkpoint(run_dir / f"{checkpoint}.pt")
    metrics = checkpoint_scores(run_dir, checkpoint)
    env = json.loads((run_dir / "env.json").read_text())
    cfg = {**ckpt["config"], "select": checkpoint}
    fullsize = full_size_metrics(run_dir, f"{checkpoint}.pt").get(f"{cache_prefix(checkpoint + '.pt')}test_dice")
    provenance = {"model_name": "UNet (width %d)" % cfg["width"] if cfg["model"] == "unet" else cfg["model"],
                  "run": run_dir.name, "data": Path(cfg["data"]).name, "image_size": cfg["image_size"],
                  "epochs": cfg["epochs"], "best_epoch": metrics["best_epoch"], "seed": cfg["seed"],
                  "checkpoint": f"{checkpoint} epoch ({ckpt['epoch']})" if checkpoint == "last" else
                  f"best by val dice (epoch {ckpt['epoch']})",
                  "test_dice": metrics["test_dice"], "test_iou": metrics["test_iou"], "fullsize_test_dice": fullsize,
                  "parameters": metrics["parameters"], "commit": env.get("git_commit"), "cpu": env.get("cpu"),
                  "bf16": env.get("bf16"), "profile": cfg["profile"],
                  "weights": "fp16 (trained in fp32 weights with bf16 autocast; loaded back as fp32)",
                  **results_folder(run_dir)}
    if committed_metrics is not None:  # the committed run this one retrained: the same numbers, or no claim
        provenance.update(reproduced(Path(committed_metrics), metrics, checkpoint))
    half = {k: v.half() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    provenance.update(fp16_agreement(ckpt, half))
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": ckpt.get("format"), "model": half, "config": cfg, "epoch": ckpt["epoch"],
                "provenance": provenance}, target)
    return sha256(target)


def fp16_agreement(ckpt: dict, half: dict) -> dict:
    """Test dice of the fp16-stored weights (loaded back as fp32), at 128 px and at each photo's own size, and the
    share of test pixels whose predicted mask differs from the fp32 weights' (at the network's size, the metric's
    threshold); {} without the test data."""
    cfg = RunConfig.from_dict(ckpt["config"])
    try:
        test = load_datasets(cfg.replace(device="cpu"), ("test",))["test"]
    except (DataError, OSError):
        return {}
    full, _ = model_from_checkpoint(ckpt)
    rounded, _ = model_from_checkpoint({**ckpt, "model": {k: v.float() for k, v in half.items()}})
    a, b = TorchPredictor(full, cfg, torch.device("cpu")), TorchPredictor(rounded, cfg, torch.device("cpu"))
    meter, differ, total = SegmentationMeter(), 0, 0
    for start in range(0, len(test.arrays.images), 32):
        images = torch.from_numpy(test.arrays.images[start:start + 32]).permute(0, 3, 1, 2)
        la, lb = a(images), b(images)
        differ += int((predict_mask(la) != predict_mask(lb)).sum())
        total += la.numel()
        meter.update(lb, torch.from_numpy(test.arrays.masks[start:start + 32]).unsqueeze(1))
    fullsize, _ = full_size_scores(b, cfg.data, "test", cfg.boundary)
    return {"fp16_test_dice": meter.summary()["dice"], "fp16_mask_pixels_differing": differ / total,
            "fp16_compared_on": f"{len(test.arrays.images)} test images at {cfg.image_size} px",
            "fp16_fullsize_test_dice": fullsize["dice"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labseg.tools.build_shipped", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir")
    p.add_argument("--name", default=DEFAULT)
    p.add_argument("--reproduces", help="metrics.json of the committed run that RUN_DIR retrained")
    p.add_argument("--checkpoint", choices=("best", "last"),
                   help="best.pt (best by val dice) or last.pt (the last epoch); default: the one the run's select "
                        "setting scores (cpu-best's UNet: last)")
    p.add_argument("--out", help="write here instead of labseg/assets/<file of --name>")
    args = p.parse_args(argv)
    run_dir, target = Path(args.run_dir), Path(args.out) if args.out else shipped_path(args.name)
    missing = [f for f in ("config.json", "env.json", "metrics.json") if not (run_dir / f).is_file()]
    try:
        if missing:
            raise CheckpointError(f"{run_dir} holds no {missing[0]}: give the folder of a finished run "
                                  "(labseg train --out FOLDER).")
        if args.reproduces and not Path(args.reproduces).is_file():
            raise CheckpointError(f"--reproduces {args.reproduces}: no such file; give the committed run's "
                                  "metrics.json.")
        digest = build(run_dir, target, args.reproduces, args.checkpoint)
    except CheckpointError as exc:
        print(f"python -m labseg.tools.build_shipped: error: {exc}", file=sys.stderr)
        return 2
    print(f"{target}: sha256 {digest} (write it into SHIPPED)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
