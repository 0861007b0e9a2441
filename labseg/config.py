"""One dataclass for a run, and the named profiles that fill it consistently."""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

TOY_DATA = "data/toy-pets"
MIN_IMAGE_SIZE = 32

# What can be asked for by name. Kept here, free of torch imports, so that the command line checks
# every option in a fraction of a second; the modules that implement them import these tuples.
MODEL_NAMES = ("unet", "resnet34_unet", "resnet34_unet_seed", "vgg16_bn_unet")
# Models whose encoder can start from a local torchvision state dict (--pretrained), and its architecture.
PRETRAINED_ENCODERS = {"resnet34_unet": "resnet34", "vgg16_bn_unet": "vgg16_bn"}
LOSSES = ("dice", "bce", "bce_dice", "focal", "jaccard", "lovasz", "focal_dice", "bce_jaccard", "bce_lovasz")
FLIP_MODES = ("none", "hflip", "hvflip", "independent")
# Augmentation on top of the --flip arm: geometry jointly on image and mask (nearest for masks), colour on
# the image only. "flip" adds nothing (the report's and the cpu profile's setting). Each preset names the steps it
# adds, in the order they draw: "scale" (a random crop), "rotate" (a random affine map), "color" (colour jitter).
AUGMENT_STEPS = {"flip": (), "scale": ("scale",), "rotate": ("rotate",), "color": ("color",),
                 "rotate-color": ("rotate", "color"), "scale-rotate": ("scale", "rotate"),
                 "all": ("scale", "rotate", "color")}
AUGMENT_PRESETS = tuple(AUGMENT_STEPS)


def presets_with(step: str) -> tuple[str, ...]:
    """The --augment presets that include ``step`` ("scale", "rotate" or "color")."""
    return tuple(p for p, steps in AUGMENT_STEPS.items() if step in steps)


def _either(names: tuple[str, ...]) -> str:
    """("a", "b", "c") -> "a, b or c"."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
# Where the augmentation runs: per sample in the data loader (torchvision v2, the committed runs), or on
# whole batches on the training device (labseg.batch_augment: the same parameters, GPU-ready).
AUGMENT_ON = ("loader", "device")
OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("constant", "cosine", "onecycle")
BOUNDARY_MODES = ("foreground", "background", "ignore")
IGNORE_INDEX = 255  # the mask value of pixels no loss or metric counts (trimap borders with --boundary ignore)
# The soft dice term over each image (averaged over the batch) or over the whole batch as one region.
DICE_REDUCTIONS = ("image", "batch")
# How training images are decoded: JPEG draft (the decoder scales down by a power of two, then an antialiased
# resize: the path evaluation and prediction use) or a full decode before the same resize.
DECODES = ("draft", "full")
# Where --augment scale/all crops from: the training images as cached at the image size (a crop is resized up to
# it) or cached at twice the image size (a crop is resized down to it, as a crop of the photo would be).
AUGMENT_SOURCES = ("cache", "2x")
# Which checkpoint is scored on test: the epoch with the best validation dice, or the last epoch.
SELECTS = ("best", "last")
# bf16 autocast: where the device is fast at it, always, or never.
AMP_MODES = ("auto", "bf16", "off")
# Spellings used by the original report's --use_model flag, and other natural ones.
_MODEL_ALIASES = {"resnet34unet": "resnet34_unet", "resnet34": "resnet34_unet",
                  "resnet34unetseed": "resnet34_unet_seed",
                  "vgg16bn": "vgg16_bn_unet", "vgg16bnunet": "vgg16_bn_unet"}


def check_threads(threads: int | None) -> None:
    """``--threads`` (train, evaluate, predict): None or a whole number >= 1."""
    what = value_error(RunConfig.__dataclass_fields__["threads"], threads)
    if what:
        _refuse("threads", threads, what)


def canonical_model_name(name: str) -> str:
    """``"UNet"``, ``"ResNet34_UNet"``, ``"resnet34-unet"`` ... -> the registry's name."""
    key = str(name).strip().lower().replace("-", "_")
    if key in MODEL_NAMES:
        return key
    key = _MODEL_ALIASES.get(key.replace("_", ""), key)
    if key not in MODEL_NAMES:
        raise ValueError(f"--model {name}: unknown model; choose one of: {', '.join(MODEL_NAMES)}.")
    return key
REAL_SUBSET = "../shared/data/oxford-pet-subset"


# Each profile is a consistent budget. Data is chosen separately (--data / DATA=).
PROFILES: dict[str, dict[str, Any]] = {
    # seconds: CI and notebook tests
    "smoke": dict(image_size=48, epochs=2, batch_size=8, width=8, train_subset=32, lr=3e-3),
    # the default on the embedded toy pets: a few minutes for the whole pipeline on a laptop CPU
    "toy": dict(image_size=64, epochs=20, batch_size=8, width=16, lr=2e-3),
    # the real 3-breed subset on 2 CPU cores, reduced size and width
    # (about 65 minutes for the whole report on 2 cores: 12 UNet and 6 ResNet34-UNet runs)
    "cpu": dict(image_size=128, epochs=25, batch_size=8, width=16, lr=1e-3, repeats=3),
    # the recipe the real-subset studies support, per model (recipe_choice.best_recipe on results/oxford-pet-subset-cpu:
    # the best 3-seed recipe of 06-10 that trains within 15 minutes a run on 2 cores): the cpu profile with the
    # one-cycle schedule and twice the epochs (the recipe of 06-08), and PROFILE_MODELS' settings per model.
    # tests/repo/test_committed_results.py checks it against the committed study tables.
    "cpu-best": dict(image_size=128, epochs=50, batch_size=8, width=16, lr=1e-3, repeats=3, schedule="onecycle"),
    # the original report's budget: full dataset, 256 px, 50 epochs, full-width UNet (GPU)
    "full": dict(image_size=256, epochs=50, batch_size=8, width=64, lr=1e-4),
}


# Settings of a profile that depend on the model (a profile's recipe chosen per model): applied over PROFILES when
# the run's model is listed; explicit options still have the last word.
PROFILE_MODELS: dict[str, dict[str, dict[str, Any]]] = {
    # each network's recipe as recipe_choice.best_recipe chooses it from the committed studies
    # (tests/repo/test_committed_results.py checks it against the committed tables; the report's Section 3.5 and
    # notebook 10 say why it was chosen)
    "cpu-best": {"unet": dict(augment="all", optimizer="adamw", weight_decay=1e-2, schedule="cosine", warmup_epochs=2.0,
                              epochs=150, affine_p=0.5, affine_shift=0.05, augment_source="2x", select="last"),
                 "resnet34_unet": dict(augment="rotate", affine_p=0.5, affine_shift=0.05, optimizer="adamw",
                                       weight_decay=5e-2, epochs=75, swa_epochs=15, swa_lr=0.5, select="last")},
}


def option(default: Any, help: str, *, flags: tuple[str, ...] = (), choices: tuple[str, ...] = (),
           low: int | None = None, interval: str = "", why: str = "", error: str = "",
           cli: bool | dict[str, Any] = True) -> Any:
    """A RunConfig field with everything about its option: the help (``{default}`` stands for the per-profile
    defaults, ``{profiles}`` for the profiles, both filled in by labseg.cli), the flags (default --name-with-dashes),
    the values it takes (choices, whole numbers >= low, or numbers in an interval such as "[0, 1)"), the wording of
    its error (``why`` ends the usual one, ``error`` replaces it) and ``cli``: False for a field that is not an
    option, or the argparse keywords that differ from the ones the field implies."""
    return dataclasses.field(default=default, metadata=dict(help=help, flags=flags, choices=choices, low=low,
                                                            interval=interval, why=why, error=error, cli=cli))


_INTERVAL = re.compile(r"([\[(])(\S+), (\S+)([\])])")


def _in_interval(value: Any, interval: str) -> bool:
    """Whether ``value`` is a number (not a bool) in ``interval``, written "[0, 1)", "(0, 1]" ..."""
    opening, low, high, closing = _INTERVAL.fullmatch(interval).groups()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    above = value > float(low) if opening == "(" else value >= float(low)
    below = value < float(high) if closing == ")" else value <= float(high)
    return above and below


def value_error(field: dataclasses.Field, value: Any) -> str:
    """What is wrong with ``value`` for a RunConfig field, by the field's metadata alone ("" if nothing)."""
    meta = field.metadata
    if value is None and field.default is None:
        return ""
    if meta["choices"] and value not in meta["choices"]:
        return f"unknown value; choose one of: {', '.join(meta['choices'])}."
    if meta["low"] is not None and (not isinstance(value, int) or isinstance(value, bool) or value < meta["low"]):
        return meta["error"] or f"must be a whole number >= {meta['low']}{meta['why']}."
    if meta["interval"] and not _in_interval(value, meta["interval"]):
        return meta["error"] or f"must be a number in {meta['interval']}{meta['why']}."
    return ""


def _refuse(name: str, value: Any, what: str) -> None:
    """Raise the one-line error that names the option as its flag."""
    raise ValueError(f"--{name.replace('_', '-')} {value}: {what}")


@dataclass
class RunConfig:
    """Everything that shapes a run. Notebook parameters and CLI flags use these exact names."""

    data: str = option(TOY_DATA, f"dataset root in the Oxford-IIIT Pet layout (default {TOY_DATA})")
    model: str = option("unet", "the architecture to train: unet (default) | resnet34_unet | vgg16_bn_unet | "
                        "resnet34_unet_seed (the original report's buggy network); --use_model is the report's "
                        "spelling and accepts UNet / ResNet34_UNet. (On `labseg evaluate`, --model is a checkpoint "
                        "file instead.)", flags=("--model", "--use_model"))
    width: int = option(64, "UNet base channels, 64 in the paper ({default})", low=1)
    pretrained: str | None = option(None, "local torchvision state-dict file for the encoder: resnet34 for "
                                    "resnet34_unet, vgg16_bn for vgg16_bn_unet (never downloaded)")
    image_size: int = option(256, f"square input size in pixels, >= {MIN_IMAGE_SIZE} ({{default}})",
                             flags=("--image-size", "--image_size"), low=MIN_IMAGE_SIZE,
                             why=" (the networks pool the input down 32x)")
    epochs: int = option(50, "training epochs, >= 1; --epoch is the report's spelling ({default})",
                         flags=("--epochs", "--epoch"), low=1)
    batch_size: int = option(8, "images per training step, >= 2 ({default})", flags=("--batch-size", "--batch_size"),
                             low=2, why=" (BatchNorm needs 2 images per batch to train)")
    lr: float = option(1e-3, "Adam learning rate ({default})", flags=("--lr", "--learning-rate"), interval="(0, 10)",
                       error="the learning rate must be > 0 (e.g. 1e-3).")
    weight_decay: float = option(0.0, "Adam weight decay (L2), >= 0 ({default})", interval="[0, inf]",
                                 error="weight decay must be >= 0.")
    loss: str = option("bce_dice", "computed on logits (default bce_dice)", choices=LOSSES)
    flip: str = option("hflip", "augmentation: joint flips (default hflip), or 'independent' = the original report's "
                       "misaligned flips", choices=FLIP_MODES)
    augment: str = option("flip", "augmentation after the flips (torchvision transforms.v2; geometry joint, colour on "
                          "the image): flip (nothing more; default) | scale (random crop 50-100 % of the area) | "
                          "rotate (affine: 15 degrees, 10 % shift, 0.9-1.1 zoom) | color (jitter) | rotate-color (the "
                          "two) | scale-rotate (crop, then affine) | all (the three)", choices=AUGMENT_PRESETS)
    augment_on: str = option("loader", "where augmentation runs: loader (default: per sample, torchvision v2, on the "
                             "CPU) | device (whole batches on the training device: the same random parameters, one "
                             "grid_sample; use it to feed a GPU)", choices=AUGMENT_ON)
    optimizer: str = option("adam", "adam (default; weight decay as L2 on every parameter) | adamw (decoupled, not on "
                            "norms/biases)", choices=OPTIMIZERS)
    schedule: str = option("constant", "learning rate, stepped per batch: constant (the report) | cosine | onecycle "
                           "({default})", choices=SCHEDULES)
    warmup_epochs: float = option(0.0, "linear warm-up from 0 over this many epochs (constant and cosine; default 0)")
    lr_floor: float = option(0.0, "cosine schedule: decay to this fraction of --lr instead of 0 (default 0)",
                             interval="[0, 1)")
    swa_epochs: int = option(0, "stochastic weight averaging: the last N epochs (counted in --epochs; the schedule "
                             "runs in the epochs before them) train at a constant rate and the average of their "
                             "weights, with its BatchNorm statistics measured again, is the network evaluated and "
                             "saved (default 0: none)", low=0)
    swa_lr: float = option(0.1, "--swa-epochs: the averaging phase's constant rate, as a fraction of --lr, in (0, 1] "
                           "(default 0.1)", interval="(0, 1]", why=": the averaging phase's rate as a fraction of --lr")
    ema_decay: float = option(0.0, "an exponential moving average of the weights, updated after every step with this "
                              "decay (warmed up: min(decay, (1+t)/(10+t))), is the network evaluated and saved, in "
                              "[0, 1) (default 0: none)", interval="[0, 1)",
                              why=": the moving average's decay per step (e.g. 0.999; 0: none)")
    drop_path: float = option(0.0, "--model resnet34_unet: stochastic depth in training, each encoder block's residual "
                              "branch is skipped per sample at a rate rising linearly to this one at the deepest "
                              "block, in [0, 1) (default 0: none)", interval="[0, 1)")
    deep_supervision: float = option(0.0, "--model unet: the decoder's three coarser stages each get a 1x1 side "
                                     "output, upsampled to the mask and scored by the loss too, which adds this "
                                     "weight times their mean, in [0, 1] (default 0: none; predictions use the last "
                                     "stage alone)", interval="[0, 1]",
                                     why=": the side outputs' weight in the loss (e.g. 0.4; 0: none)")
    dice_reduction: str = option("image", "the loss's soft dice term: per image, averaged over the batch (default) | "
                                 "over the whole batch as one region", choices=DICE_REDUCTIONS)
    crop_scale: float = option(0.5, "--augment scale/scale-rotate/all: the random crop keeps this to 100 % of the area "
                               "(default 0.5)", interval="(0, 1]")
    affine_p: float = option(1.0, "--augment rotate/rotate-color/scale-rotate/all: probability of the affine map per "
                             "sample (default 1: always)", interval="[0, 1]")
    affine_shift: float = option(0.1, "--augment rotate/rotate-color/scale-rotate/all: largest shift, as a fraction of "
                                 "the side (default 0.1)", interval="[0, 0.5]")
    color_strength: float = option(0.3, "--augment color/rotate-color/all: brightness, contrast, saturation +-this, "
                                   "hue +-this/6 (default 0.3)", interval="[0, 1)")
    augment_source: str = option("cache", "--augment scale/scale-rotate/all: crop from the training images at the "
                                 "image size (cache, default: a crop is resized up) or cached at twice the size (2x: "
                                 "a crop is resized down to it)", choices=AUGMENT_SOURCES)
    copy_paste: float = option(0.0, "copy-paste: on this share of training samples, the pet of another training "
                               "image is pasted through its mask onto the sample (image and mask, before the other "
                               "augmentations), in [0, 1] (default 0: none)", interval="[0, 1]",
                               why=": the share of samples that get another image's pet pasted in")
    cutmix: float = option(0.0, "CutMix: on this share of training samples, a box of another training image (image "
                           "and mask, its side a random share of the image's) replaces the same box of the sample "
                           "(before the other augmentations), in [0, 1] (default 0: none)", interval="[0, 1]",
                           why=": the share of samples that get a box of another image")
    low_res: int = option(0, "progressive resizing: the first --low-res-share of the epochs train on random crops "
                          "resized to this size instead of --image-size (fewer pixels a step: more epochs a minute); "
                          "the later epochs, val and test use --image-size; from 32 to below --image-size (default "
                          "0: none)", low=0, why=": the early epochs' training size in pixels (0: none)")
    low_res_share: float = option(0.5, "--low-res: the share of the epochs, from the first, that train at it, in "
                                  "(0, 1) (default 0.5)", interval="(0, 1)")
    decode: str = option("draft", "training images: draft (default: the JPEG decoder scales down first, as evaluation "
                         "and predict do) | full (decode every pixel, then the same resize)", choices=DECODES)
    select: str = option("best", "checkpoint scored on test: best (default: the epoch with the best val dice) | last",
                         choices=SELECTS)
    boundary: str = option("foreground", "trimap border pixels (3): foreground as in the course code (default), "
                           "background, or ignored in loss and metrics", choices=BOUNDARY_MODES)
    seed: int = option(0, "seed for weights, sample order and augmentation, >= 0 (default 0); the same seed gives the "
                       "same run", low=0)
    train_subset: int | None = option(None, "train on this many images only ({default}; None = all)", low=2,
                                      error="train on at least 2 images (or leave it out for all).")
    device: str = option("auto", "auto (cuda, then mps, then cpu; default) | cpu | cuda | cuda:N | mps")
    amp: str = option("auto", "bf16 autocast; auto (default) uses it where the device is fast at it",
                      choices=AMP_MODES)
    channels_last: bool = option(True, "channels_last memory format (default on)")
    num_workers: int = option(0, "DataLoader worker processes (default 0)", low=0)
    threads: int | None = option(None, "CPU threads for torch (default: torch's choice, usually one per core; the "
                                 "OMP_NUM_THREADS environment variable works too)", low=1,
                                 error="must be >= 1 (or leave it out for torch's choice).")
    tensorboard: bool = option(True, "also log to OUT/tensorboard/ (default on where the tensorboard package is "
                               "installed; `tensorboard --logdir runs/` compares runs)")
    out_dir: str = option("runs/default", "the run's folder (labseg train --out, default runs/<model>)", cli=False)
    cache_dir: str | None = option(None, "decoded-data cache folder (default ~/.cache/labseg, or $LABSEG_CACHE_DIR)")
    strict: bool = option(False, "fail on the first bad sample instead of skipping it",
                          cli=dict(action="store_true"))
    profile: str = option("custom", "{profiles}", choices=(*PROFILES, "custom"),
                          cli=dict(choices=list(PROFILES), default="toy"))
    repeats: int = option(1, "notebooks: seeds seed, seed+1, ... for each arm of a comparison", low=1, cli=False)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def model_options(self) -> dict[str, Any]:
        if self.model == "unet":
            return {"width": self.width, **({"deep_supervision": True} if self.deep_supervision else {})}
        options: dict[str, Any] = {}
        if self.model in PRETRAINED_ENCODERS and self.pretrained:
            options["pretrained"] = self.pretrained
        if self.drop_path:
            options["drop_path"] = self.drop_path
        return options

    def validate(self) -> RunConfig:
        """Raise a one-line ValueError naming the option (as its CLI flag) for any value that cannot
        work. Called before anything is written, so a bad option never leaves debris."""
        canonical_model_name(self.model)
        for f in fields(self):
            what = value_error(f, getattr(self, f.name))
            if what:
                _refuse(f.name, getattr(self, f.name), what)
        for check in CROSS_CHECKS:
            check(self)
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        unknown = set(values) - set(field_names())
        if unknown:
            raise ValueError(f"Unknown config field(s): {', '.join(sorted(unknown))}. "
                             f"Known: {', '.join(field_names())}.")
        return cls(**values)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


def low_res_epochs(cfg: RunConfig) -> int:
    """How many epochs, from the first, train at ``--low-res`` (0 without it)."""
    return round(cfg.low_res_share * cfg.epochs) if cfg.low_res else 0


def _check_flips(cfg: RunConfig) -> None:
    """Augmentation beyond the flips needs flips that keep image and mask aligned."""
    if cfg.augment != "flip" and cfg.flip == "independent":
        _refuse("augment", cfg.augment, "needs joint flips; --flip independent is the report's bug, kept as an "
                "ablation arm on its own.")


def _check_phases(cfg: RunConfig) -> None:
    """The averaging phase, then the warm-up, fit in the epochs."""
    if cfg.swa_epochs >= cfg.epochs:
        _refuse("swa_epochs", cfg.swa_epochs, f"the averaging phase must be a whole number of epochs shorter than "
                f"training ({cfg.epochs} epochs): the schedule runs in the epochs before it.")
    scheduled = cfg.epochs - cfg.swa_epochs
    if not (isinstance(cfg.warmup_epochs, (int, float)) and 0 <= cfg.warmup_epochs < scheduled):
        less = f": {cfg.epochs} less {cfg.swa_epochs} of --swa-epochs" if cfg.swa_epochs else ""
        _refuse("warmup_epochs", cfg.warmup_epochs, f"warm-up must be >= 0 and shorter than the schedule "
                f"({scheduled} epochs{less}).")
    if cfg.schedule == "onecycle" and cfg.warmup_epochs:
        _refuse("warmup_epochs", cfg.warmup_epochs, "onecycle has its own warm-up (30 % of training); leave "
                "--warmup-epochs out.")


def _check_lr_floor(cfg: RunConfig) -> None:
    """A learning-rate floor only shapes the cosine schedule."""
    if cfg.lr_floor and cfg.schedule != "cosine":
        _refuse("lr_floor", cfg.lr_floor, "the floor applies to --schedule cosine only.")


def _check_averaging(cfg: RunConfig) -> None:
    """--swa-lr needs an averaging phase; EMA and SWA exclude each other."""
    if cfg.swa_lr != RunConfig.swa_lr and not cfg.swa_epochs:
        _refuse("swa_lr", cfg.swa_lr, "sets the rate of the averaging phase; this run has none (add --swa-epochs N).")
    if cfg.ema_decay and cfg.swa_epochs:
        _refuse("ema_decay", cfg.ema_decay, "averages the weights one way and --swa-epochs another; use one of them.")


def _check_drop_path(cfg: RunConfig) -> None:
    """Stochastic depth needs the residual blocks of resnet34_unet."""
    if cfg.drop_path and canonical_model_name(cfg.model) != "resnet34_unet":
        _refuse("drop_path", cfg.drop_path, f"drops residual blocks of the resnet34_unet encoder; --model "
                f"{cfg.model} has none to drop.")


def _check_deep_supervision(cfg: RunConfig) -> None:
    """Side outputs are the UNet decoder's."""
    if cfg.deep_supervision and canonical_model_name(cfg.model) != "unet":
        _refuse("deep_supervision", cfg.deep_supervision, f"adds side outputs to the unet decoder; --model "
                f"{cfg.model} has none.")


def _check_augment_settings(cfg: RunConfig) -> None:
    """A strength or crop source set away from its default needs an --augment preset that uses it."""
    for name, presets in (("crop_scale", presets_with("scale")), ("affine_p", presets_with("rotate")),
                          ("affine_shift", presets_with("rotate")), ("color_strength", presets_with("color"))):
        if getattr(cfg, name) != getattr(RunConfig, name) and cfg.augment not in presets:
            _refuse(name, getattr(cfg, name), f"sets the strength of --augment {_either(presets)}; this run "
                    f"uses --augment {cfg.augment}.")
    if cfg.augment_source != "cache" and cfg.augment not in presets_with("scale"):
        _refuse("augment_source", cfg.augment_source, f"sets where --augment {_either(presets_with('scale'))} crops "
                f"from; this run uses --augment {cfg.augment}.")
    if cfg.copy_paste and cfg.augment_on != "loader":
        _refuse("copy_paste", cfg.copy_paste, "needs --augment-on loader (pasting runs per sample).")
    if cfg.cutmix and cfg.augment_on != "loader":
        _refuse("cutmix", cfg.cutmix, "needs --augment-on loader (mixing runs per sample).")
    if cfg.augment_source != "cache" and cfg.augment_on != "loader":
        _refuse("augment_source", cfg.augment_source, "needs --augment-on loader (the device path augments "
                "batches of one size).")


def _check_low_res(cfg: RunConfig) -> None:
    """Progressive resizing: a size below the image size, crops that resize to it, per sample, before any averaging."""
    if cfg.low_res_share != RunConfig.low_res_share and not cfg.low_res:
        _refuse("low_res_share", cfg.low_res_share, "sets the share of the epochs at --low-res; this run has none "
                "(add --low-res SIZE).")
    if not cfg.low_res:
        return
    if not MIN_IMAGE_SIZE <= cfg.low_res < cfg.image_size:
        _refuse("low_res", cfg.low_res, f"must be from {MIN_IMAGE_SIZE} to below --image-size {cfg.image_size} "
                "(or 0: none).")
    if cfg.augment not in presets_with("scale"):
        _refuse("low_res", cfg.low_res, f"resizes the random crops of --augment {_either(presets_with('scale'))}; "
                f"this run uses --augment {cfg.augment}.")
    if cfg.augment_on != "loader":
        _refuse("low_res", cfg.low_res, "needs --augment-on loader (the device path augments batches of one size).")
    if low_res_epochs(cfg) > cfg.epochs - cfg.swa_epochs:
        _refuse("low_res_share", cfg.low_res_share, f"{low_res_epochs(cfg)} epochs at --low-res "
                f"run into the averaging phase (the last {cfg.swa_epochs} of {cfg.epochs}); use a smaller share.")


def _check_pretrained(cfg: RunConfig) -> None:
    """Encoder weights: a model that takes them, and a local file."""
    if cfg.pretrained is None:
        return
    arch = PRETRAINED_ENCODERS.get(canonical_model_name(cfg.model))
    if arch is None:
        _refuse("pretrained", cfg.pretrained, f"encoder weights apply to {', '.join(PRETRAINED_ENCODERS)} "
                f"only, not {cfg.model}.")
    if not Path(cfg.pretrained).is_file():
        _refuse("pretrained", cfg.pretrained, f"file not found; pass a local torchvision {arch} "
                "state-dict file (labseg never downloads weights).")


# The rules between fields, run in this order once every field is valid on its own (RunConfig.validate).
CROSS_CHECKS = (_check_flips, _check_phases, _check_lr_floor, _check_averaging, _check_drop_path,
                _check_deep_supervision, _check_augment_settings, _check_low_res, _check_pretrained)


def field_names() -> list[str]:
    return [f.name for f in fields(RunConfig)]


def option_fields() -> list[dataclasses.Field]:
    """The RunConfig fields that are command-line options (labseg train), in their order."""
    return [f for f in fields(RunConfig) if f.metadata["cli"] is not False]


def option_flags(field: dataclasses.Field) -> tuple[str, ...]:
    """A field's flags: its own spellings, or --name-with-dashes."""
    return field.metadata["flags"] or (f"--{field.name.replace('_', '-')}",)


def profile_config(profile: str = "toy", **overrides) -> RunConfig:
    """A RunConfig from a named profile (with its settings for the run's model, PROFILE_MODELS), with explicit
    overrides (None values are ignored)."""
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}.")
    model = overrides.get("model") or RunConfig.model
    try:
        model = canonical_model_name(model)
    except ValueError:
        pass  # validate() names the bad model
    values = {**PROFILES[profile], **PROFILE_MODELS.get(profile, {}).get(model, {}), "profile": profile}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return RunConfig.from_dict(values)
