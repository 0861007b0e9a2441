"""`labseg` command line: thin subcommands over labseg.engine, labseg.data and friends."""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from .config import PROFILES, TOY_DATA, RunConfig, profile_config

EPILOG = """examples:
  labseg synth data/toy-pets                       write the embedded synthetic set
  labseg train --data data/toy-pets --profile toy --out runs/unet
  labseg evaluate runs/unet/best.pt --split test
  labseg predict runs/unet/best.pt photo.jpg --out predictions/
  labseg check-data ../shared/data/oxford-pet-subset
"""


def _add_run_options(p: argparse.ArgumentParser) -> None:
    d = RunConfig()
    g = p.add_argument_group("run settings (default: the profile's value, else the RunConfig default)")
    g.add_argument("--profile", default="toy", choices=list(PROFILES),
                   help="consistent budget: smoke (seconds, CI), toy (default; minutes on the toy pets), "
                        "cpu (real subset on 2 CPU cores), full (full dataset, 256 px, 50 epochs; GPU)")
    g.add_argument("--data", help=f"dataset root in the Oxford-IIIT Pet layout (default {TOY_DATA})")
    g.add_argument("--model", "--use_model", dest="model",
                   help="unet | resnet34_unet | resnet34_unet_seed (the original report's buggy network); "
                        "--use_model is the original report's spelling and accepts UNet / ResNet34_UNet")
    g.add_argument("--width", type=int, help=f"UNet base channels (paper: 64; default {d.width} or the profile's)")
    g.add_argument("--pretrained", help="local torchvision resnet34 state-dict file for the encoder (never downloaded)")
    g.add_argument("--image-size", "--image_size", dest="image_size", type=int, help="square input size in pixels")
    g.add_argument("--epochs", "--epoch", dest="epochs", type=int, help="training epochs (--epoch: report's spelling)")
    g.add_argument("--batch-size", "--batch_size", dest="batch_size", type=int)
    g.add_argument("--lr", "--learning-rate", dest="lr", type=float, help="Adam learning rate")
    g.add_argument("--weight-decay", dest="weight_decay", type=float)
    g.add_argument("--loss", choices=["dice", "bce", "bce_dice"], help="all computed on logits (default bce_dice)")
    g.add_argument("--flip", choices=["none", "hflip", "hvflip", "independent"],
                   help="augmentation: joint flips, or 'independent' = the original report's misaligned flips")
    g.add_argument("--boundary", choices=["foreground", "background", "ignore"],
                   help="trimap border pixels (3): foreground as in the course code (default), background, "
                        "or ignored in loss and metrics")
    g.add_argument("--seed", type=int)
    g.add_argument("--train-subset", dest="train_subset", type=int, help="train on this many images only")
    g.add_argument("--device", help="auto (cuda, then mps, then cpu; default) | cpu | cuda | mps")
    g.add_argument("--amp", choices=["auto", "bf16", "off"], help="bf16 autocast; auto uses it where the device is fast at it")
    g.add_argument("--channels-last", dest="channels_last", action=argparse.BooleanOptionalAction, default=None,
                   help="channels_last memory format (default on)")
    g.add_argument("--num-workers", dest="num_workers", type=int, help="DataLoader worker processes (default 0)")
    g.add_argument("--cache-dir", dest="cache_dir", help="decoded-data cache folder (default ~/.cache/labseg)")
    g.add_argument("--strict", action="store_true", default=None, help="fail on the first bad sample instead of skipping it")


def _config_from_args(args: argparse.Namespace, **extra) -> RunConfig:
    names = [f for f in RunConfig.__dataclass_fields__ if f != "profile"]
    values = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    values.update({k: v for k, v in extra.items() if v is not None})
    return profile_config(args.profile, **values)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labseg", description="Binary pet/background segmentation on Oxford-IIIT Pet.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model; writes checkpoints, history and test metrics",
                       description="Train on the train split, keep the best epoch by val dice, score it on test. "
                                   "Writes OUT/config.json, history.csv, best.pt, last.pt, metrics.json, test_per_image.csv.")
    _add_run_options(p)
    p.add_argument("--out", "--save_as", dest="out", help="output folder (default runs/<model>); --save_as is the "
                                                          "report's spelling")
    p.add_argument("--log_path", "--log-path", dest="log_path", help="also copy the per-epoch history CSV here")
    p.add_argument("--resume", action="store_true", help="continue OUT/last.pt (same settings) instead of starting over")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in OUT (and the --log_path file)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")

    p = sub.add_parser("evaluate", help="score a checkpoint on a split",
                       description="Score a checkpoint on a split; prints mean per-image dice, IoU, pixel accuracy "
                                   "and their dataset-wide versions.")
    p.add_argument("checkpoint", nargs="?", help="labseg checkpoint (.pt, or a run folder for its best.pt)")
    p.add_argument("--model", "--pretrained", dest="checkpoint_flag",
                   help="the checkpoint, in the original report's spelling (--model/--pretrained PATH)")
    p.add_argument("--data", help="dataset root (default: the one the checkpoint was trained on)")
    p.add_argument("--split", default="test", help="train | val | trainval | test (default test)")
    p.add_argument("--boundary", choices=["foreground", "background", "ignore"], help="default: as trained")
    p.add_argument("--device", default="auto")
    p.add_argument("--per-image", dest="per_image", help="write per-image scores to this CSV")

    p = sub.add_parser("predict", help="write mask and overlay PNGs for any images",
                       description="Predict pet masks for image files of any size; writes NAME_mask.png (0/255, at "
                                   "the image's size) and NAME_overlay.png into --out.")
    p.add_argument("checkpoint", help="labseg checkpoint (.pt, or a run folder)")
    p.add_argument("inputs", nargs="+", help="image files or folders")
    p.add_argument("--out", default="predictions", help="output folder (default predictions/)")
    p.add_argument("--device", default="auto")
    p.add_argument("--overwrite", action="store_true", help="replace mask/overlay files already in --out")

    p = sub.add_parser("synth", help="write the embedded synthetic 'toy pets' set",
                       description="Write a deterministic synthetic set in the official layout (jpg images, "
                                   "1/2/3 trimaps, trainval.txt/test.txt). An existing set is kept.")
    p.add_argument("root", nargs="?", default=TOY_DATA)
    p.add_argument("--per-breed", dest="per_breed", type=int, default=100, help="images per breed (3 breeds; default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder")

    p = sub.add_parser("download", help="fetch and verify the official Oxford-IIIT Pet archives",
                       description="Download images.tar.gz and annotations.tar.gz, check their MD5, extract them "
                                   "atomically into ROOT (no partial folder is left on failure).")
    p.add_argument("root", nargs="?", default="data/oxford-iiit-pet")
    p.add_argument("--base-url", dest="base_url", help="mirror serving both archives (default: the official site)")

    p = sub.add_parser("check-data", help="validate a dataset folder and list bad or quirky files",
                       description="Check every listed sample: missing or undecodable images and trimaps are errors "
                                   "(exit 1); quirks that labseg handles (PNG/GIF data named .jpg, RGBA, palette) are notes.")
    p.add_argument("root")
    p.add_argument("--splits", nargs="+", default=["trainval", "test"])
    return parser


def cmd_train(args) -> int:
    from .engine import train
    from .models import canonical_model_name

    model = canonical_model_name(args.model) if args.model else None
    cfg = _config_from_args(args, model=model)
    cfg = cfg.replace(out_dir=args.out or f"runs/{cfg.model}")
    if args.log_path and Path(args.log_path).exists() and not (args.overwrite or args.resume):
        raise FileExistsError(f"--log_path {args.log_path} already exists; pass --overwrite to replace it "
                              "(--resume updates it too), or choose another path.")
    print(f"training {cfg.model} on {cfg.data} ({cfg.profile} profile: {cfg.image_size}px, {cfg.epochs} epochs, "
          f"batch {cfg.batch_size}) -> {cfg.out_dir}")
    metrics = train(cfg, resume=args.resume, overwrite=args.overwrite, progress=args.progress)
    if args.log_path:
        import shutil
        shutil.copyfile(Path(cfg.out_dir) / "history.csv", args.log_path)
    print(json.dumps({k: v for k, v in metrics.items() if k.startswith("test_") or k == "best_epoch"}, indent=1))
    return 0


def cmd_evaluate(args) -> int:
    from .engine import evaluate, load_checkpoint, load_datasets, model_from_checkpoint, resolve_device

    path = args.checkpoint or args.checkpoint_flag
    if not path:
        raise SystemExit("labseg evaluate: give a checkpoint (labseg evaluate runs/unet/best.pt).")
    model, cfg = model_from_checkpoint(load_checkpoint(path), path)
    cfg = cfg.replace(**{k: v for k, v in dict(data=args.data, boundary=args.boundary, device=args.device).items() if v})
    device = resolve_device(cfg.device)
    ds = load_datasets(cfg, (args.split,))[args.split]
    summary, table = evaluate(model.to(device), ds, cfg, device)
    if args.per_image:
        table.to_csv(args.per_image, index=False)
    print(f"{path} on {cfg.data} [{args.split}, {summary['images']} images, {cfg.image_size}px, boundary={cfg.boundary}]")
    for k in ("dice", "iou", "pixel_acc", "global_dice", "global_iou"):
        print(f"  {k:12s} {summary[k]:.4f}")
    return 0


def cmd_predict(args) -> int:
    from .engine import predict

    predict(args.checkpoint, args.inputs, args.out, args.device, overwrite=args.overwrite)
    return 0


def cmd_synth(args) -> int:
    from .synthetic import write_toy_pets

    root = write_toy_pets(args.root, per_breed=args.per_breed, seed=args.seed, overwrite=args.overwrite)
    print(f"toy pets in {root}")
    return 0


def cmd_download(args) -> int:
    from .download import download_pets

    kwargs = {"base_url": args.base_url} if args.base_url else {}
    print(f"Oxford-IIIT Pet in {download_pets(args.root, **kwargs)}")
    return 0


def cmd_check_data(args) -> int:
    from .data import check_data

    report = check_data(args.root, args.splits)
    print(report.format())
    return 1 if report.errors else 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "synth": cmd_synth,
            "download": cmd_download, "check-data": cmd_check_data}


def main(argv: list[str] | None = None) -> int:
    from .data import DataError
    from .download import DownloadError
    from .engine import CheckpointError

    args = build_parser().parse_args(argv)
    warnings.simplefilter("default", UserWarning)
    try:
        return COMMANDS[args.command](args)
    except (DataError, CheckpointError, DownloadError, FileExistsError, FileNotFoundError, ValueError) as exc:
        print(f"labseg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; `labseg train --resume` continues from the last finished epoch", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
