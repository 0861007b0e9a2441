"""`labseg` command line: thin subcommands over labseg.engine, labseg.data and friends."""
from __future__ import annotations

import argparse
import json
import os
import sys
import typing
import warnings
from pathlib import Path

from .config import (
    BOUNDARY_MODES,
    PROFILE_MODELS,
    PROFILES,
    TOY_DATA,
    RunConfig,
    canonical_model_name,
    check_threads,
    option_fields,
    option_flags,
    profile_config,
)

EPILOG = """examples:
  labseg synth data/toy-pets                       write the embedded synthetic set
  labseg train --data data/toy-pets --profile toy --out runs/unet
  labseg evaluate runs/unet/best.pt --split test
  labseg predict runs/unet/best.pt photo.jpg --out predictions/
  labseg check-data ../shared/data/oxford-pet-subset
"""


def _default(name: str) -> str:
    """'by profile: smoke 48, toy 64, cpu 128, full 256', or 'default 8' where no profile sets it; a profile whose
    value depends on the model (PROFILE_MODELS) lists each model's: 'cpu-best 50 (unet 150, resnet34_unet 75)'."""
    base = getattr(RunConfig(), name)
    per = {}
    for prof, values in PROFILES.items():
        own = values.get(name, base)
        models = {m: v[name] for m, v in PROFILE_MODELS.get(prof, {}).items() if name in v and v[name] != own}
        per[prof] = f"{own}" + (f" ({', '.join(f'{m} {v}' for m, v in models.items())})" if models else "")
    if len(set(per.values())) == 1:
        return f"default {per['toy']}"
    return "by profile: " + ", ".join(f"{prof} {v}" for prof, v in per.items())


PROFILE_PURPOSE = {"smoke": "seconds, CI", "toy": "the default; minutes on the toy pets",
                   "cpu": "the real subset on 2 CPU cores", "cpu-best": "cpu with each model's best recipe of the "
                   "studies (recipe_choice.best_recipe)", "full": "the full dataset on a GPU"}


def profile_help() -> str:
    """--profile's help, made from the profiles themselves (config.PROFILES and PROFILE_MODELS): it cannot go stale."""
    parts = []
    for prof, values in PROFILES.items():
        shown = ", ".join(f"{k} {v}" for k, v in values.items())
        models = "; ".join(f"{m}: " + ", ".join(f"{k} {v}" for k, v in opts.items())
                           for m, opts in PROFILE_MODELS.get(prof, {}).items())
        parts.append(f"{prof} ({PROFILE_PURPOSE.get(prof, '')}: {shown}{'; ' + models if models else ''})")
    return "; ".join(parts)


THREADS_HELP = RunConfig.__dataclass_fields__["threads"].metadata["help"]
PREDICT_THREADS_HELP = ("CPU threads for torch (default: the cores left by the decode and write threads, at least "
                        "one: 1 on a 2-core machine, 12 on 16 cores)")
DEVICE_HELP = RunConfig.__dataclass_fields__["device"].metadata["help"]
RUN_OPTIONS = "run settings (a profile sets a consistent budget; each flag overrides one value)"


def _option_keywords(field, hint) -> dict[str, typing.Any]:
    """add_argument's keywords for a RunConfig field: its type and metadata, default None (the profile fills it)."""
    meta = field.metadata
    kind = next((t for t in typing.get_args(hint) if t is not type(None)), hint)
    text = meta["help"].format(default=_default(field.name) if "{default}" in meta["help"] else "",
                               profiles=profile_help() if "{profiles}" in meta["help"] else "")
    kwargs: dict[str, typing.Any] = dict(dest=field.name, default=None, help=text.replace("%", "%%"))
    if kind is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif kind in (int, float):
        kwargs["type"] = kind
    if meta["choices"]:
        kwargs["choices"] = list(meta["choices"])
    return {**kwargs, **(meta["cli"] if isinstance(meta["cli"], dict) else {})}


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """One option per RunConfig field that is one (config.option_fields), the profile first: it sets the rest."""
    g = p.add_argument_group(RUN_OPTIONS)
    hints = typing.get_type_hints(RunConfig)
    for field in sorted(option_fields(), key=lambda f: f.name != "profile"):
        g.add_argument(*option_flags(field), **_option_keywords(field, hints[field.name]))


def _config_from_args(args: argparse.Namespace, **extra) -> RunConfig:
    names = [f.name for f in option_fields() if f.name != "profile"]
    values = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    values.update({k: v for k, v in extra.items() if v is not None})
    return profile_config(args.profile, **values)


class _Parser(argparse.ArgumentParser):
    """argparse, with a misused option reported in one line (no usage block), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="labseg", description="Binary pet/background segmentation on Oxford-IIIT Pet.",
                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from .cli_study import add_study_parser

    for add in (_add_train, _add_evaluate, _add_app, _add_predict, _add_export, add_study_parser, _add_synth,
                _add_download, _add_check_data):
        add(sub)
    return parser


TTA_HELP = "test-time augmentation: average the logits of each image and of its horizontal flip (twice the compute)"


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train a model; writes checkpoints, history and test metrics",
                       description="Train on the train split, keep the best epoch by val dice, score it on test. "
                                   "Writes OUT/config.json, history.csv, best.pt, last.pt, metrics.json, "
                                   "test_per_image.csv.")
    _add_run_options(p)
    p.add_argument("--out", "--save_as", dest="out", help="output folder (default runs/<model>); --save_as is the "
                                                          "report's spelling")
    p.add_argument("--log_path", "--log-path", dest="log_path", help="also copy the per-epoch history CSV here")
    p.add_argument("--resume", action="store_true",
                   help="continue OUT/last.pt (same settings) instead of starting over")
    p.add_argument("--overwrite", action="store_true", help="replace a run already in OUT (and the --log_path file)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def _add_evaluate(sub) -> None:
    p = sub.add_parser("evaluate", help="score a checkpoint on a split",
                       description="Score a checkpoint on a split; prints mean per-image dice, IoU, pixel accuracy "
                                   "and their dataset-wide versions.")
    p.add_argument("checkpoint", nargs="?", help="labseg checkpoint (.pt, or a run folder for its best.pt)")
    p.add_argument("--model", "--pretrained", dest="checkpoint_flag",
                   help="the checkpoint FILE, in the original report's spelling (--model/--pretrained PATH). "
                        "Unlike `labseg train --model`, this is not an architecture: the checkpoint says which it is")
    p.add_argument("--data", help="dataset root (default: the one the checkpoint was trained on)")
    p.add_argument("--split", default="test", help="train | val | trainval | test (default test)")
    p.add_argument("--boundary", choices=list(BOUNDARY_MODES), help="default: as trained")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--threads", type=int, help=THREADS_HELP)
    p.add_argument("--per-image", dest="per_image", help="write per-image scores to this CSV (the summary is "
                                                         "printed first)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --per-image file")
    p.add_argument("--tta", action="store_true", help=TTA_HELP)
    p.add_argument("--full-size", dest="full_size", action="store_true",
                   help="also score at each photo's own size: the mask `labseg predict` writes against the "
                        "full-size trimap (same boundary rule); a run's own test figures are kept in its folder "
                        "(metrics_fullsize.json)")


def _add_app(sub) -> None:
    p = sub.add_parser("app", help="a web page to try the model on your photos (needs labseg[app])",
                       description="Serve a Gradio page on 127.0.0.1: drop a photo, see the overlay and the mask at "
                                   "the photo's size, move the threshold, download the mask PNG. Uses the shipped "
                                   "UNet unless a checkpoint is given.")
    p.add_argument("checkpoint", nargs="?", help="labseg checkpoint (.pt, or a run folder; default: the shipped UNet)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to serve on (default 127.0.0.1, this machine only; 0.0.0.0 serves every "
                        "interface: anyone who can reach this machine can use the page)")
    p.add_argument("--auth", metavar="FILE",
                   help="a login in front of the page: FILE holds one line user:password (the password never goes "
                        "on the command line)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")


def _add_predict(sub) -> None:
    p = sub.add_parser("predict", help="write mask PNGs and overlays for any images",
                       description="Predict pet masks for image files of any size; writes NAME_mask.png (1-bit, at "
                                   "the image's size: exact) and NAME_overlay.jpg (for looking at: JPEG, longer side "
                                   "at most 2048 px) into --out. An image that cannot be decoded is skipped and "
                                   "named at the end (exit status 1). Without a checkpoint, the UNet that ships with "
                                   "labseg is used (it says so).")
    p.add_argument("paths", nargs="+", metavar="[CHECKPOINT] INPUT",
                   help="optionally first a labseg checkpoint (.pt, or a run folder holding best.pt) or an ONNX export "
                        "(.onnx, from `labseg export`; run by onnxruntime on the CPU); then image files or folders")
    p.add_argument("--out", default="predictions", help="output folder (default predictions/)")
    p.add_argument("--no-overlay", dest="overlay", action="store_false",
                   help="write the masks only (no overlays: each file decoded once; about twice as fast)")
    p.add_argument("--overlay-format", dest="overlay_format", choices=["png", "jpg"], default="jpg",
                   help="overlay file: jpg (default, quality 90) | png (lossless, zlib level 1, about 20x slower to "
                        "write; the mask is a PNG either way)")
    p.add_argument("--overlay-side", dest="overlay_side", type=int, default=2048,
                   help="longest side of an overlay in pixels, larger images' overlays scaled down (default 2048; 0: "
                        "the image's own size; the mask is always at the image's size)")
    p.add_argument("--progress", dest="progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar (default: for more than 8 images)")
    p.add_argument("--device", default="auto", help=DEVICE_HELP)
    p.add_argument("--threads", type=int, help=PREDICT_THREADS_HELP)
    p.add_argument("--overwrite", action="store_true", help="replace mask/overlay files already in --out")
    p.add_argument("--tta", action="store_true", help=TTA_HELP)


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a checkpoint to ONNX, checked with onnxruntime",
                       description="Write CHECKPOINT's network as an ONNX model (opset 17; dynamic batch, height and "
                                   "width). Input 'image': float32 RGB 0-255, (N, 3, H, W), normalisation folded in; "
                                   "output 'logits' (N, 1, H, W), pet where logits > 0. The training size is in the "
                                   "file's metadata (labseg_image_size). Needs the onnx extra: pip install "
                                   "'labseg[onnx]'.")
    p.add_argument("checkpoint", help="labseg checkpoint (.pt, or a run folder for its best.pt)")
    p.add_argument("target", help="the .onnx file to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing target file")


def _add_synth(sub) -> None:
    p = sub.add_parser("synth", help="write the embedded synthetic 'toy pets' set",
                       description="Write a deterministic synthetic set in the official layout (jpg images, "
                                   "1/2/3 trimaps, trainval.txt/test.txt). An existing set is kept.")
    p.add_argument("root", nargs="?", default=TOY_DATA)
    p.add_argument("--per-breed", dest="per_breed", type=int, default=100,
                   help="images per breed, >= 2; half trainval, half test (3 breeds; default 100)")
    p.add_argument("--seed", type=int, default=0, help="generator seed, >= 0 (default 0): same seed, same images")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder")


def _add_download(sub) -> None:
    p = sub.add_parser("download", help="fetch and verify the official Oxford-IIIT Pet archives",
                       description="Download images.tar.gz and annotations.tar.gz, check their MD5, extract them "
                                   "atomically into ROOT (no partial folder is left on failure). With --subset "
                                   "pets-3: only the 598 photos of 3 breeds that every committed study used, each "
                                   "file checked against the studies' SHA-256 sums (ROOT/SUBSET.md says how it "
                                   "compares).")
    p.add_argument("root", nargs="?", default=None,
                   help="target folder (default data/oxford-iiit-pet; with --subset pets-3, data/oxford-pet-subset: "
                        "the folder name the studies' results are filed under)")
    p.add_argument("--subset", choices=["pets-3"], default=None,
                   help="pets-3: the studies' subset (Abyssinian, american_bulldog, Bengal; official splits)")
    p.add_argument("--base-url", dest="base_url", help="mirror serving both archives (default: the official site)")
    p.add_argument("--archive-md5", dest="archive_md5", action="append", default=[], metavar="NAME=MD5",
                   help="the MD5 a mirror's repackaged archive has instead of the official one (repeat per archive; "
                        "with --subset, every extracted file is still checked against the studies' SHA-256 sums)")


def _add_check_data(sub) -> None:
    p = sub.add_parser("check-data", help="validate a dataset folder and list bad or quirky files",
                       description="Check every listed sample: missing or undecodable images and trimaps are errors "
                                   "(exit 1); quirks that labseg handles (PNG/GIF data named .jpg, RGBA, palette) are "
                                   "notes.")
    p.add_argument("root")
    p.add_argument("--splits", nargs="+", default=["trainval", "test"])


def cmd_train(args) -> int:
    from .outputs import check_new_file

    model = canonical_model_name(args.model) if args.model else None
    cfg = _config_from_args(args, model=model)
    cfg = cfg.replace(out_dir=args.out or f"runs/{cfg.model}").validate()
    if args.log_path:
        check_new_file(args.log_path, "--log_path", args.overwrite or args.resume, " (--resume updates it too)")
    from .engine import train  # torch loads only once the options are known to be good
    print(f"training {cfg.model} on {cfg.data} ({cfg.profile} profile: {cfg.image_size}px, {cfg.epochs} epochs, "
          f"batch {cfg.batch_size}) -> {cfg.out_dir}")
    metrics = train(cfg, resume=args.resume, overwrite=args.overwrite, progress=args.progress)
    if args.log_path:
        import shutil
        shutil.copyfile(Path(cfg.out_dir) / "history.csv", args.log_path)
    print(json.dumps({k: v for k, v in metrics.items() if k.startswith("test_") or k == "best_epoch"}, indent=1))
    return 0


def cmd_evaluate(args) -> int:
    from .batches import load_datasets
    from .checkpoint import load_checkpoint, model_from_checkpoint
    from .data import canonical_split, check_layout
    from .device import resolve_device, set_threads
    from .engine import evaluate
    from .outputs import check_new_file

    path = args.checkpoint or args.checkpoint_flag
    if not path:
        raise ValueError("give a checkpoint: labseg evaluate runs/unet/best.pt (or a run folder).")
    split = canonical_split(args.split)
    check_threads(args.threads)
    if args.per_image:
        check_new_file(args.per_image, "--per-image", args.overwrite)
    ckpt = load_checkpoint(path)
    model, cfg = model_from_checkpoint(ckpt, path)
    cfg = cfg.replace(**{k: v for k, v in dict(data=args.data, boundary=args.boundary, device=args.device).items()
                         if v})
    device = resolve_device(cfg.device)
    set_threads(args.threads)
    check_layout(cfg.data)
    ds = load_datasets(cfg, (split,))[split]
    summary, table = evaluate(model.to(device), ds, cfg, device, tta=args.tta)
    print(f"{path} on {cfg.data} [{split}, {summary['images']} images, {cfg.image_size}px, boundary={cfg.boundary}"
          f"{', flip TTA' if args.tta else ''}]")
    for k in ("dice", "iou", "pixel_acc", "global_dice", "global_iou"):
        print(f"  {k:12s} {summary[k]:.4f}", flush=True)
    if args.full_size:
        table = _evaluate_full_size(args, path, ckpt, model, cfg, device, table)
    if args.per_image:
        table.to_csv(args.per_image, index=False)
        print(f"per-image scores -> {args.per_image}")
    return 0


def _evaluate_full_size(args, path, ckpt: dict, model, cfg, device, table):
    """Print the scores at each photo's own size; keep them in the run folder where they are the run's own test
    figures (its data, its boundary rule); ``table`` with the per-image ones added (``fullsize_*`` columns)."""
    from .checkpoint import checkpoint_path
    from .data import canonical_split
    from .fullsize import SUMMARY_KEYS, full_size_scores, record_full_size
    from .inference import TorchPredictor

    split = canonical_split(args.split)
    summary, full = full_size_scores(TorchPredictor(model, cfg, device, args.tta), cfg.data, split, cfg.boundary)
    print(f"  at each photo's own size ({summary['images']} images; the mask `labseg predict` writes, against the "
          "full-size trimap):")
    for k in SUMMARY_KEYS:
        print(f"  {k:12s} {summary[k]:.4f}", flush=True)
    file, trained = checkpoint_path(path), ckpt["config"]
    own = (args.data is None or Path(args.data).resolve() == Path(trained["data"]).resolve()) and \
        args.boundary in (None, trained["boundary"])
    if split == "test" and own and (file.parent / "metrics.json").is_file():
        record_full_size(file.parent, file, summary, ckpt["epoch"], cfg.boundary, args.tta)
        print(f"full-size test figures of {file.name} -> {file.parent / 'metrics_fullsize.json'}")
    columns = full.set_index("name")[["width", "height", "dice", "iou", "pixel_acc"]]
    return table.join(columns.add_prefix("fullsize_"), on="name")


def split_checkpoint(paths: list[str]) -> tuple[str | None, list[str]]:
    """(checkpoint or None for the shipped model, inputs): the first path is a checkpoint when it names a .pt or
    .onnx file or a run folder (one holding best.pt)."""
    first = Path(paths[0])
    if first.suffix.lower() in (".pt", ".pth", ".onnx") or (first.is_dir() and (first / "best.pt").is_file()):
        return paths[0], paths[1:]
    return None, paths


def cmd_app(args) -> int:
    import importlib.util
    import socket

    if not importlib.util.find_spec("gradio"):
        raise ValueError("labseg app needs Gradio: pip install -e '.[app]' (or `make app`, which installs it).")
    from .app import read_auth, serve

    auth = read_auth(args.auth) if args.auth is not None else None
    if not 1 <= args.port <= 65535:
        raise ValueError(f"--port {args.port}: choose a port between 1 and 65535 (e.g. 7860).")
    with socket.socket() as probe:
        try:
            probe.bind((args.host, args.port))
        except OSError as exc:
            raise ValueError(f"--host {args.host} --port {args.port}: cannot serve there ({exc.strerror}); choose "
                             "another --port, or a --host this machine has.") from None
    checkpoint = args.checkpoint
    predictor = None
    if checkpoint is not None:  # a bad checkpoint: one line now, not a page that fails; loaded once, served
        from .inference import load_predictor

        predictor = load_predictor(checkpoint, args.device, log=lambda m: None)
    serve(checkpoint, args.host, args.port, args.device, log=lambda m: print(m, flush=True), predictor=predictor,
          auth=auth)
    return 0


def cmd_predict(args) -> int:
    from .predict import predict

    check_threads(args.threads)
    checkpoint, inputs = split_checkpoint(args.paths)
    if not inputs:
        raise ValueError(f"{checkpoint}: that is the checkpoint; name the images or folders to predict after it.")
    predict(checkpoint, inputs, args.out, args.device, overwrite=args.overwrite, threads=args.threads,
            tta=args.tta, overlays=args.overlay, progress=args.progress, overlay_format=args.overlay_format,
            overlay_side=args.overlay_side)
    return 0


def cmd_export(args) -> int:
    from .onnx_export import export_onnx

    target = export_onnx(args.checkpoint, args.target, overwrite=args.overwrite)
    print(f"{args.checkpoint} -> {target} (onnxruntime output checked against PyTorch)")
    return 0


def cmd_study(args) -> int:
    from .cli_study import cmd_study as study

    return study(args)


def cmd_synth(args) -> int:
    from .synthetic import write_toy_pets

    if args.per_breed < 2:
        raise ValueError(f"--per-breed {args.per_breed}: must be >= 2 (half of each breed is trainval, half test).")
    if args.seed < 0:
        raise ValueError(f"--seed {args.seed}: must be >= 0.")
    root = write_toy_pets(args.root, per_breed=args.per_breed, seed=args.seed, overwrite=args.overwrite)
    print(f"toy pets in {root}")
    return 0


def archive_md5s(pairs: list[str]) -> dict[str, str]:
    """--archive-md5 NAME=MD5 ...: the official archives' names, each with the MD5 given or its official one."""
    import re

    from .download import ARCHIVES

    md5 = dict(ARCHIVES)
    for pair in pairs:
        name, _, digest = pair.partition("=")
        if name not in ARCHIVES or not re.fullmatch(r"[0-9a-f]{32}", digest):
            raise ValueError(f"--archive-md5 {pair}: give NAME=MD5 with NAME one of {', '.join(ARCHIVES)} and MD5 "
                             "32 hex digits")
        md5[name] = digest
    return md5


def cmd_download(args) -> int:
    from .download import download_pets
    from .subset import DEFAULT_ROOT, download_subset

    kwargs = {"base_url": args.base_url} if args.base_url else {}
    if args.archive_md5:
        kwargs["archives"] = archive_md5s(args.archive_md5)
    if args.subset:
        print(download_subset(args.root or DEFAULT_ROOT[args.subset], args.subset, **kwargs).line())
        return 0
    print(f"Oxford-IIIT Pet in {download_pets(args.root or 'data/oxford-iiit-pet', **kwargs)}")
    return 0


def cmd_check_data(args) -> int:
    from .data import check_data

    report = check_data(args.root, args.splits)
    print(report.format())
    return 1 if report.errors else 0


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "app": cmd_app, "export": cmd_export,
            "study": cmd_study,
            "synth": cmd_synth,
            "download": cmd_download, "check-data": cmd_check_data}


def resume_command(argv: list[str]) -> str:
    """The command line that continues an interrupted `labseg train`: the same arguments, plus
    --resume, without --overwrite (which would start over)."""
    import shlex

    args = [a for a in argv if a != "--overwrite"]
    if "--resume" not in args:
        args.append("--resume")
    return shlex.join(["labseg", *args])


def main(argv: list[str] | None = None) -> int:
    from .errors import CheckpointError, DataError, DownloadError, PredictionFailures

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    warnings.simplefilter("default", UserWarning)
    try:
        return COMMANDS[args.command](args)
    except PredictionFailures as exc:
        print(f"labseg {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except (DataError, CheckpointError, DownloadError, FileExistsError, ValueError) as exc:
        print(f"labseg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # unwritable folder, disk full, ...: the file and the reason, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"labseg {args.command}: error: {where}{exc.strerror or exc}. Check the path and free space, "
              "or choose another location.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.command == "train":
            print(f"interrupted; this continues from the last finished epoch:\n  {resume_command(argv)}",
                  file=sys.stderr)
        else:
            print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug in labseg: still one line, the traceback on request
        if os.environ.get("LABSEG_DEBUG"):
            raise
        print(f"labseg {args.command}: internal error: {type(exc).__name__}: {exc} (please report it; "
              "LABSEG_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
