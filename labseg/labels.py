"""The one table of names as a reader reads them: table columns, networks and settings in words. Tables, figures
and the report's sentences all label from here."""
from __future__ import annotations

# Column and index names as a reader expects them.
LABELS = {"test_dice": "test dice", "tta_test_dice": "test dice, flip TTA", "last_test_dice": "test dice, last epoch",
          "last_tta_test_dice": "last epoch, flip TTA",
          "test_iou": "IoU", "tta_test_iou": "IoU, flip TTA", "test_pixel_acc": "pixel accuracy",
          "test_noboundary_dice": "dice, boundary ignored", "test_noboundary_iou": "IoU, boundary ignored",
          "test_noboundary_pixel_acc": "pixel acc., boundary ignored", "seeds": "seeds",
          "train_s_per_run": "train s / run", "train_images_per_s": "train images / s", "best_epoch": "best epoch",
          "cpu": "CPU", "target": "target", "parameters": "parameters", "params": "parameters", "gflops": "GFLOPs",
          "infer_images_per_s": "inference images / s", "peak_mib": "peak MiB", "model": "model", "flip": "flips",
          "augment": "augmentation", "loss": "loss", "arm": "arm", "epochs": "epochs", "seed": "seed",
          "species": "species", "breed": "breed", "train": "train", "val": "val", "test": "test", "total": "total",
          "setting": "setting", "unet": "UNet", "resnet34_unet": "ResNet34-UNet",
          "resnet34_unet_seed": "report's ResNet34-UNet", "vgg16_bn_unet": "VGG16-BN-UNet",
          "train_seconds": "train s", "changes": "what it changes", "recipe": "recipe (notebook: arm)",
          "minutes": "min / run", "timing": "how timed", "train_s_typical": "train s / run (typical)",
          "fits": "within 15 min",
          "chosen": "chosen", "test_global_dice": "global dice", "runs": "runs", "commits": "commits",
          "threads": "threads", "checkpoint": "checkpoint", "cpu_family": "CPU family",
          "test_dice_128px": "test dice, 128 px", "fullsize_test_dice": "test dice, photo's own size",
          "difference": "own size - 128 px"}
MODEL_LABELS = {k: LABELS[k] for k in ("unet", "resnet34_unet", "resnet34_unet_seed", "vgg16_bn_unet")}


def arm_label(arm: str, epochs: int) -> str:
    """A study arm trained for ``epochs``, as the recipe tables and choices name it: '<arm>, <n> epochs'."""
    return f"{arm}, {epochs} epochs"


def split_arm_label(text: str) -> tuple[str, int]:
    """'<arm>, <n> epochs' (:func:`arm_label`) -> (arm, n); a network's prefix ('ResNet34-UNet: ') stays on the arm."""
    arm, _, epochs = str(text).rpartition(", ")
    return arm, int(epochs.split()[0])


def label(key) -> str:
    """A column, network or setting name in words (the name with spaces for underscores where the table has none)."""
    return LABELS.get(str(key), str(key).replace("_", " "))


# A run setting in words, for the glossary of arm names: "{v}" is the value.
SETTING_WORDS = {
    "optimizer": "optimiser {v}", "weight_decay": "weight decay {v}", "schedule": "{v} learning-rate schedule",
    "warmup_epochs": "{v} warm-up epochs", "lr": "peak learning rate {v}",
    "lr_floor": "the cosine ends at {v} x the rate",
    "augment": "augmentation preset {v}", "amp": "bf16 autocast: {v}", "loss": "loss {v}",
    "dice_reduction": "soft dice over the whole {v}", "decode": "training images decoded in {v}",
    "augment_source": "random crops from a {v} cache", "affine_p": "affine map on a share {v} of samples",
    "affine_shift": "shifts up to {v} of the side", "crop_scale": "crops down to {v} of the area",
    "color_strength": "colour jitter +-{v}", "swa_share": "stochastic weight averaging over the last {v} of the epochs",
    "swa_lr": "averaging at {v} x the rate", "drop_path": "stochastic depth up to {v}",
    "ema_decay": "moving average of the weights, decay {v} a step",
    "deep_supervision": "the decoder's coarser stages scored too (side outputs), weight {v}",
    "copy_paste": "another training image's pet pasted in through its mask, on a share {v} of samples",
    "cutmix": "a box of another training image (CutMix), on a share {v} of samples",
    "low_res": "the early epochs trained at {v} px (progressive resizing)",
    "low_res_scale": "the early epochs trained at {v} x the image size (progressive resizing)",
    "low_res_share": "a share {v} of the epochs at the lower size",
    "width": "UNet base channels {v}", "epochs": "{v} epochs",
    "select": "scored at the {v} epoch", "flip": "flips: {v}",
}


# The parts of a loss name ("bce_lovasz": two parts summed), in words.
LOSS_WORDS = {"bce": "BCE", "dice": "soft dice", "focal": "focal", "jaccard": "soft Jaccard",
              "lovasz": "Lovász hinge"}


def setting_words(name: str, value) -> str:
    """One run setting in words ("affine map on a share 0.5 of samples", "loss BCE + Lovász hinge"); unknown
    settings as "name value"."""
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    if name == "loss":
        shown = " + ".join(LOSS_WORDS.get(part, part) for part in shown.split("_"))
    return SETTING_WORDS[name].format(v=shown) if name in SETTING_WORDS else f"{name} {shown}"
