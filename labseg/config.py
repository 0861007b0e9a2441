"""One dataclass for a run, and the named profiles that fill it consistently."""
from __future__ import annotations

import dataclasses
import json
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
# Spellings used by the original report's --use_model flag, and other natural ones.
_MODEL_ALIASES = {"resnet34unet": "resnet34_unet", "resnet34": "resnet34_unet", "resnet34unetseed": "resnet34_unet_seed",
                  "vgg16bn": "vgg16_bn_unet", "vgg16bnunet": "vgg16_bn_unet"}


def check_threads(threads: int | None) -> None:
    """``--threads`` (train, evaluate, predict): None or a whole number >= 1."""
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"--threads {threads}: must be >= 1 (or leave it out for torch's choice).")


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


@dataclass
class RunConfig:
    """Everything that shapes a run. Notebook parameters and CLI flags use these exact names."""

    data: str = TOY_DATA  # dataset root in the official Oxford-IIIT Pet layout
    model: str = "unet"  # unet | resnet34_unet | resnet34_unet_seed
    width: int = 64  # UNet base channels (64 in the paper); smaller for CPU runs
    pretrained: str | None = None  # local torchvision encoder state-dict file (resnet34_unet, vgg16_bn_unet)
    image_size: int = 256  # images are resized to image_size x image_size
    epochs: int = 50
    batch_size: int = 8
    lr: float = 1e-3
    weight_decay: float = 0.0
    loss: str = "bce_dice"  # dice | bce | bce_dice, all on logits
    flip: str = "hflip"  # none | hflip | hvflip | independent (the original report's bug)
    augment: str = "flip"  # on top of the flips: flip (nothing more) | scale | rotate | color | all
    augment_on: str = "loader"  # loader (per sample, torchvision v2) | device (whole batches, tensor ops)
    optimizer: str = "adam"  # adam (L2 weight decay on every parameter) | adamw (decoupled, not on norms/biases)
    schedule: str = "constant"  # learning rate per batch: constant (the report) | cosine | onecycle
    warmup_epochs: float = 0.0  # linear warm-up from 0 (constant and cosine schedules)
    lr_floor: float = 0.0  # cosine: the learning rate decays to lr_floor x lr instead of 0
    swa_epochs: int = 0  # the last swa_epochs epochs train at swa_lr x lr and their weights are averaged (SWA)
    swa_lr: float = 0.1  # the constant rate of the averaging phase, as a fraction of lr
    ema_decay: float = 0.0  # an exponential moving average of the weights (this decay per step) is the network
                            # evaluated and saved (0: none)
    drop_path: float = 0.0  # resnet34_unet: stochastic depth, the deepest encoder block's drop rate (0: none)
    dice_reduction: str = "image"  # the soft dice term per image (averaged) | over the whole batch
    crop_scale: float = 0.5  # scale / all: the random crop keeps crop_scale-100 % of the area
    affine_p: float = 1.0  # rotate / all: probability that the affine map is applied to a sample
    affine_shift: float = 0.1  # rotate / all: largest shift, as a fraction of the image side
    color_strength: float = 0.3  # color / all: brightness, contrast, saturation +-strength, hue +-strength/6
    augment_source: str = "cache"  # scale / all: crop from the image-size cache (crops upsampled) | a 2x cache
    decode: str = "draft"  # training images: JPEG draft decode (as evaluation) | full decode, then the same resize
    select: str = "best"  # checkpoint scored on test: best (by val dice) | last (the last epoch)
    boundary: str = "foreground"  # trimap border pixels: foreground | background | ignore
    seed: int = 0
    train_subset: int | None = None  # use only this many training images (None: all)
    device: str = "auto"  # auto (cuda, then mps, then cpu) | cpu | cuda | mps
    amp: str = "auto"  # auto (bf16 where the device has fast bf16) | bf16 | off
    channels_last: bool = True
    num_workers: int = 0  # DataLoader workers; 0 loads in the main process (fast with the cache)
    threads: int | None = None  # CPU threads for torch (None: torch's choice; OMP_NUM_THREADS works too)
    tensorboard: bool = True  # also log to <out_dir>/tensorboard/ when the tensorboard package is installed
    out_dir: str = "runs/default"
    cache_dir: str | None = None  # decoded-data cache (default ~/.cache/labseg or $LABSEG_CACHE_DIR)
    strict: bool = False  # fail on the first bad sample instead of skipping it
    profile: str = "custom"
    repeats: int = 1  # notebooks: seeds seed, seed+1, ... for each arm of a comparison

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def model_options(self) -> dict[str, Any]:
        if self.model == "unet":
            return {"width": self.width}
        options: dict[str, Any] = {}
        if self.model in PRETRAINED_ENCODERS and self.pretrained:
            options["pretrained"] = self.pretrained
        if self.drop_path:
            options["drop_path"] = self.drop_path
        return options

    def validate(self) -> RunConfig:
        """Raise a one-line ValueError naming the option (as its CLI flag) for any value that cannot
        work. Called before anything is written, so a bad option never leaves debris."""
        def bad(name: str, value: Any, what: str) -> None:
            raise ValueError(f"--{name.replace('_', '-')} {value}: {what}")

        def choice(name: str, value: Any, allowed) -> None:
            if value not in allowed:
                bad(name, value, f"unknown value; choose one of: {', '.join(allowed)}.")

        canonical_model_name(self.model)
        for name, low in (("image_size", MIN_IMAGE_SIZE), ("epochs", 1), ("batch_size", 2), ("width", 1),
                          ("repeats", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                extra = {"image_size": " (the networks pool the input down 32x)",
                         "batch_size": " (BatchNorm needs 2 images per batch to train)"}.get(name, "")
                bad(name, value, f"must be a whole number >= {low}{extra}.")
        for name, low in (("seed", 0), ("num_workers", 0), ("swa_epochs", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or value < low:
                bad(name, value, f"must be a whole number >= {low}.")
        if not (isinstance(self.lr, (int, float)) and 0 < self.lr < 10):
            bad("lr", self.lr, "the learning rate must be > 0 (e.g. 1e-3).")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            bad("weight_decay", self.weight_decay, "weight decay must be >= 0.")
        if self.train_subset is not None and self.train_subset < 2:
            bad("train_subset", self.train_subset, "train on at least 2 images (or leave it out for all).")
        check_threads(self.threads)
        choice("loss", self.loss, LOSSES)
        choice("flip", self.flip, FLIP_MODES)
        choice("augment", self.augment, AUGMENT_PRESETS)
        choice("augment_on", self.augment_on, AUGMENT_ON)
        choice("optimizer", self.optimizer, OPTIMIZERS)
        choice("schedule", self.schedule, SCHEDULES)
        if self.augment != "flip" and self.flip == "independent":
            bad("augment", self.augment, "needs joint flips; --flip independent is the report's bug, kept as an "
                "ablation arm on its own.")
        if isinstance(self.swa_epochs, bool) or self.swa_epochs >= self.epochs:
            bad("swa_epochs", self.swa_epochs, f"the averaging phase must be a whole number of epochs shorter than "
                f"training ({self.epochs} epochs): the schedule runs in the epochs before it.")
        scheduled = self.epochs - self.swa_epochs
        if not (isinstance(self.warmup_epochs, (int, float)) and 0 <= self.warmup_epochs < scheduled):
            bad("warmup_epochs", self.warmup_epochs, f"warm-up must be >= 0 and shorter than the schedule "
                f"({scheduled} epochs" + (f": {self.epochs} less {self.swa_epochs} of --swa-epochs)." if self.swa_epochs
                                          else ")."))
        if self.schedule == "onecycle" and self.warmup_epochs:
            bad("warmup_epochs", self.warmup_epochs, "onecycle has its own warm-up (30 % of training); leave "
                "--warmup-epochs out.")
        for name, low, high, closed in (("lr_floor", 0, 1, False), ("crop_scale", 0, 1, True), ("affine_p", 0, 1, True),
                                        ("affine_shift", 0, 0.5, True), ("color_strength", 0, 1, False),
                                        ("drop_path", 0, 1, False)):
            value = getattr(self, name)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value and (
                value <= high if closed else value < high)
            if not ok or (name == "crop_scale" and value == 0):
                bad(name, value, f"must be a number in {'(' if name == 'crop_scale' else '['}{low}, {high}"
                    f"{']' if closed else ')'}.")
        if self.lr_floor and self.schedule != "cosine":
            bad("lr_floor", self.lr_floor, "the floor applies to --schedule cosine only.")
        if not (isinstance(self.swa_lr, (int, float)) and not isinstance(self.swa_lr, bool) and 0 < self.swa_lr <= 1):
            bad("swa_lr", self.swa_lr, "must be a number in (0, 1]: the averaging phase's rate as a fraction of --lr.")
        if self.swa_lr != RunConfig.swa_lr and not self.swa_epochs:
            bad("swa_lr", self.swa_lr, "sets the rate of the averaging phase; this run has none (add --swa-epochs N).")
        if not (isinstance(self.ema_decay, (int, float)) and not isinstance(self.ema_decay, bool)
                and 0 <= self.ema_decay < 1):
            bad("ema_decay", self.ema_decay, "must be a number in [0, 1): the moving average's decay per step "
                "(e.g. 0.999; 0: none).")
        if self.ema_decay and self.swa_epochs:
            bad("ema_decay", self.ema_decay, "averages the weights one way and --swa-epochs another; use one of them.")
        if self.drop_path and canonical_model_name(self.model) != "resnet34_unet":
            bad("drop_path", self.drop_path, f"drops residual blocks of the resnet34_unet encoder; --model "
                f"{self.model} has none to drop.")
        for name, presets in (("crop_scale", presets_with("scale")), ("affine_p", presets_with("rotate")),
                              ("affine_shift", presets_with("rotate")), ("color_strength", presets_with("color"))):
            if getattr(self, name) != getattr(RunConfig, name) and self.augment not in presets:
                bad(name, getattr(self, name), f"sets the strength of --augment {_either(presets)}; this run "
                    f"uses --augment {self.augment}.")
        choice("dice_reduction", self.dice_reduction, DICE_REDUCTIONS)
        choice("decode", self.decode, DECODES)
        choice("augment_source", self.augment_source, AUGMENT_SOURCES)
        if self.augment_source != "cache" and self.augment not in presets_with("scale"):
            bad("augment_source", self.augment_source, f"sets where --augment {_either(presets_with('scale'))} crops "
                f"from; this run uses --augment {self.augment}.")
        if self.augment_source != "cache" and self.augment_on != "loader":
            bad("augment_source", self.augment_source, "needs --augment-on loader (the device path augments "
                "batches of one size).")
        choice("select", self.select, SELECTS)
        choice("boundary", self.boundary, BOUNDARY_MODES)
        choice("amp", self.amp, ("auto", "bf16", "off"))
        choice("profile", self.profile, (*PROFILES, "custom"))
        if self.pretrained is not None:
            arch = PRETRAINED_ENCODERS.get(canonical_model_name(self.model))
            if arch is None:
                bad("pretrained", self.pretrained, f"encoder weights apply to {', '.join(PRETRAINED_ENCODERS)} "
                    f"only, not {self.model}.")
            if not Path(self.pretrained).is_file():
                bad("pretrained", self.pretrained, f"file not found; pass a local torchvision {arch} "
                    "state-dict file (labseg never downloads weights).")
        return self

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunConfig:
        unknown = set(values) - set(field_names())
        if unknown:
            raise ValueError(f"Unknown config field(s): {', '.join(sorted(unknown))}. Known: {', '.join(field_names())}.")
        return cls(**values)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")


def field_names() -> list[str]:
    return [f.name for f in fields(RunConfig)]


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
    # tests/test_study.py checks it against the committed study tables.
    "cpu-best": dict(image_size=128, epochs=50, batch_size=8, width=16, lr=1e-3, repeats=3, schedule="onecycle"),
    # the original report's budget: full dataset, 256 px, 50 epochs, full-width UNet (GPU)
    "full": dict(image_size=256, epochs=50, batch_size=8, width=64, lr=1e-4),
}


# Settings of a profile that depend on the model (a profile's recipe chosen per model): applied over PROFILES when
# the run's model is listed; explicit options still have the last word.
PROFILE_MODELS: dict[str, dict[str, dict[str, Any]]] = {
    # recipe_choice.best_recipe on results/oxford-pet-subset-cpu (tests/test_study.py checks it against the committed tables)
    # UNet: notebook 10's strong recipe with milder affine maps and crops from the 2x cache (AdamW, warm-up + cosine,
    # all augmentations), 150 epochs, scored at the last epoch;
    # ResNet34-UNet: the profile's recipe with milder random affine maps (notebook 10's "08 recipe + rotate +
    # mild-affine": applied half the time, shifts up to 5 %), AdamW with weight decay 5e-2 and stochastic weight
    # averaging (60 one-cycle epochs, then 15 averaged at 0.5x the rate: "+ adamw-wd-0.05 + swa at 0.5x", 75
    # epochs), scored at the last epoch: chosen on AMD EPYC, where it leads the 60-epoch recipe by more than the seed
    # spread
    "cpu-best": {"unet": dict(augment="all", optimizer="adamw", weight_decay=1e-2, schedule="cosine", warmup_epochs=2.0,
                              epochs=150, affine_p=0.5, affine_shift=0.05, augment_source="2x", select="last"),
                 "resnet34_unet": dict(augment="rotate", affine_p=0.5, affine_shift=0.05, optimizer="adamw",
                                       weight_decay=5e-2, epochs=75, swa_epochs=15, swa_lr=0.5, select="last")},
}


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
