"""The trained model that ships with labseg: `labseg predict photos/` and `labseg app` use it when no checkpoint is
given, so a reader can try the network on their own photo without training first.

The file (``labseg/assets/<name>.pt``) is a labseg checkpoint whose weights are stored in fp16 (half the size;
``build`` scores the fp16 weights on the test split beside the fp32 ones and records both, and the share of
test pixels whose mask differs, in the file's provenance); loading it checks its SHA-256 against the value written here and turns the
weights back into fp32. ``python -m labseg.shipped build RUN_DIR`` makes such a file from a finished run.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from .checkpoint import CheckpointError

ASSETS = Path(__file__).resolve().parent / "assets"
# name -> (file under labseg/assets, its SHA-256)
SHIPPED = {
    "unet": ("unet-cpu-best-s0.pt", "a5250ee6b8c2a88a8d4abbe1ccf2a5c2b1b1bee16e2e7e0397ef739958bbad04"),
}
DEFAULT = "unet"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def shipped_path(name: str = DEFAULT) -> Path:
    if name not in SHIPPED:
        raise CheckpointError(f"no shipped model {name!r}; shipped: {', '.join(SHIPPED)}.")
    return ASSETS / SHIPPED[name][0]


def load_shipped(name: str = DEFAULT, path: Path | None = None, expected: str | None = None) -> dict:
    """The shipped checkpoint as a labseg checkpoint dict (fp32 weights), after its SHA-256 is checked."""
    import torch

    path = Path(path) if path is not None else shipped_path(name)
    expected = expected or SHIPPED[name][1]
    if not path.is_file():
        raise CheckpointError(f"the shipped model {path} is missing; reinstall labseg (pip install -e .) or pass a "
                              "checkpoint of your own.")
    digest = sha256(path)
    if digest != expected:
        raise CheckpointError(f"{path} does not match its SHA-256 ({digest[:12]}... instead of {expected[:12]}...): "
                              "the file is damaged or was replaced; restore it (git checkout -- "
                              f"{path.name}) or pass a checkpoint of your own.")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    ckpt["model"] = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    return ckpt


def card(ckpt: dict) -> str:
    """One line that says what the shipped model is (the CLI prints it; the app shows it with more)."""
    p = ckpt.get("provenance", {})
    return (f"the shipped {p.get('model_name', 'model')} ({p.get('parameters', 0):,} parameters, trained on "
            f"{p.get('data', '?')} at {p.get('image_size', '?')} px, test dice {p.get('test_dice', float('nan')):.4f}; "
            f"run {p.get('run', '?')}, labseg {p.get('commit', '?')})")


def build(run_dir: Path, target: Path, committed_metrics: Path | None = None, checkpoint: str = "best") -> str:
    """Write ``target`` from ``run_dir``'s best.pt (``checkpoint="last"``: last.pt, scored in the run's
    metrics_last.json, the recipe's ``--select last``), fp16 weights plus provenance; returns its SHA-256."""
    import torch

    from .checkpoint import load_checkpoint

    ckpt = load_checkpoint(run_dir / f"{checkpoint}.pt")
    metrics = run_metrics = json.loads((run_dir / "metrics.json").read_text())
    if checkpoint == "last":
        last = json.loads((run_dir / "metrics_last.json").read_text())
        metrics = {**metrics, "test_dice": last["last_test_dice"], "test_iou": last["last_test_iou"]}
    env = json.loads((run_dir / "env.json").read_text())
    cfg = {**ckpt["config"], "select": checkpoint}
    provenance = {"model_name": "UNet (width %d)" % cfg["width"] if cfg["model"] == "unet" else cfg["model"],
                  "run": run_dir.name, "data": Path(cfg["data"]).name, "image_size": cfg["image_size"],
                  "epochs": cfg["epochs"], "best_epoch": metrics["best_epoch"], "seed": cfg["seed"],
                  "checkpoint": f"{checkpoint} epoch ({ckpt['epoch']})" if checkpoint == "last" else
                  f"best by val dice (epoch {ckpt['epoch']})",
                  "test_dice": metrics["test_dice"], "test_iou": metrics["test_iou"],
                  "parameters": metrics["parameters"], "commit": env.get("git_commit"), "cpu": env.get("cpu"),
                  "bf16": env.get("bf16"), "profile": cfg["profile"],
                  "weights": "fp16 (trained in fp32 weights with bf16 autocast; loaded back as fp32)"}
    if committed_metrics is not None:  # the committed run this one retrained: the same numbers, or no claim
        committed = json.loads(Path(committed_metrics).read_text())
        same = all(committed[k] == run_metrics[k] for k in ("best_epoch", "best_val_dice", "test_dice", "test_iou"))
        if same:
            provenance["run"] = Path(committed_metrics).parent.name
            provenance["reproduces"] = (f"{Path(committed_metrics).parent.as_posix()} (best epoch, val dice and test "
                                        "dice equal to the last digit)")
    half = {k: v.half() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    provenance.update(fp16_agreement(ckpt, half))
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": ckpt.get("format"), "model": half, "config": cfg, "epoch": ckpt["epoch"],
                "provenance": provenance}, target)
    return sha256(target)


def fp16_agreement(ckpt: dict, half: dict) -> dict:
    """Test dice of the fp16-stored weights (loaded back as fp32) and the share of test pixels whose predicted mask
    differs from the fp32 weights' (at the network's size, the metric's threshold); {} without the test data."""
    import torch

    from .checkpoint import model_from_checkpoint
    from .config import RunConfig
    from .data import DataError
    from .engine import load_datasets
    from .metrics import SegmentationMeter, predict_mask
    from .predict import TorchPredictor

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
    return {"fp16_test_dice": meter.summary()["dice"], "fp16_mask_pixels_differing": differ / total,
            "fp16_compared_on": f"{len(test.arrays.images)} test images at {cfg.image_size} px"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labseg.shipped", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write labseg/assets/<file> from a finished run")
    b.add_argument("run_dir")
    b.add_argument("--name", default=DEFAULT)
    b.add_argument("--reproduces", help="metrics.json of the committed run that RUN_DIR retrained")
    b.add_argument("--checkpoint", choices=("best", "last"), default="best",
                   help="best.pt (best by val dice) or last.pt (the last epoch: a recipe with --select last)")
    args = p.parse_args(argv)
    digest = build(Path(args.run_dir), shipped_path(args.name), args.reproduces, args.checkpoint)
    print(f"{shipped_path(args.name)}: sha256 {digest} (write it into SHIPPED)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
