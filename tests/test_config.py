"""RunConfig's fields are the one source of labseg train's run options and of their checks."""
from __future__ import annotations

import argparse
from dataclasses import fields

import pytest

from labseg.cli import RUN_OPTIONS, _config_from_args, build_parser
from labseg.config import (
    PROFILE_MODELS,
    PROFILES,
    RunConfig,
    check_threads,
    option_fields,
    option_flags,
    profile_config,
)

FIELDS = {f.name: f for f in fields(RunConfig)}


def train_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def run_actions() -> list[argparse.Action]:
    """The actions of labseg train's run-settings group."""
    group = next(g for g in train_parser()._action_groups if g.title == RUN_OPTIONS)
    return group._group_actions


def test_every_field_has_an_option_or_is_marked_as_none():
    parser_dests = {a.dest for a in train_parser()._actions}
    for f in fields(RunConfig):
        assert f.metadata.get("help"), f"{f.name}: declare it with config.option(default, help, ...)"
        if f.metadata["cli"] is False:
            assert f.name not in parser_dests, f"{f.name} is marked as no option but labseg train has one"
        else:
            assert f.name in parser_dests, f"{f.name} has no option"
    assert {f.name for f in fields(RunConfig) if f.metadata["cli"] is False} == {"out_dir", "repeats"}


def test_the_run_options_are_the_metadatas_flags_types_and_choices():
    actions = {a.dest: a for a in run_actions()}
    assert list(actions)[0] == "profile" and set(actions) == {f.name for f in option_fields()}
    for f in option_fields():
        action, flags = actions[f.name], option_flags(f)
        if isinstance(action, argparse.BooleanOptionalAction):
            flags = (*flags, *(f"--no-{flag[2:]}" for flag in flags))
        assert tuple(action.option_strings) == flags, f.name
        assert action.choices == (f.metadata["cli"] if isinstance(f.metadata["cli"], dict) else {}).get(
            "choices", list(f.metadata["choices"]) or None), f.name
        expected = {int: int, float: float}.get(type(f.default))
        assert action.type is expected or (f.default is None and action.type in (int, None)), f.name
    assert actions["train_subset"].type is int and actions["threads"].type is int
    assert actions["lr"].type is float and actions["pretrained"].type is None
    assert isinstance(actions["strict"], argparse._StoreTrueAction)


def test_the_report_spellings_are_kept():
    assert option_flags(FIELDS["image_size"]) == ("--image-size", "--image_size")
    assert option_flags(FIELDS["epochs"]) == ("--epochs", "--epoch")
    assert option_flags(FIELDS["model"]) == ("--model", "--use_model")
    assert option_flags(FIELDS["lr"]) == ("--lr", "--learning-rate")
    assert option_flags(FIELDS["batch_size"]) == ("--batch-size", "--batch_size")


def test_no_option_has_a_default_but_the_profile():
    args = train_parser().parse_args([])
    assert args.profile == "toy"
    assert {f.name: getattr(args, f.name) for f in option_fields() if f.name != "profile"} == {
        f.name: None for f in option_fields() if f.name != "profile"}


def test_every_option_has_a_filled_in_help():
    for action in run_actions():
        assert action.help and action.help.strip(), action.dest
        assert "{" not in action.help and "}" not in action.help, action.dest
    helps = {a.dest: a.help for a in run_actions()}
    assert helps["profile"].startswith("smoke (seconds, CI: image_size 48")
    assert "(by profile: smoke 48, toy 64, cpu 128, cpu-best 128, full 256)" in helps["image_size"]
    assert "random crop 50-100 %% of the area" in helps["augment"]  # argparse prints a single %


def test_the_help_shows_a_profiles_per_model_values():
    helps = {a.dest: a.help for a in run_actions()}
    assert "cpu-best 50 (unet 150, resnet34_unet 75)" in helps["epochs"]
    assert "cpu-best onecycle (unet cosine)" in helps["schedule"]
    shown = 0
    for prof, models in PROFILE_MODELS.items():
        for model, values in models.items():
            for name, value in values.items():
                own = PROFILES[prof].get(name, FIELDS[name].default)
                if "{default}" in FIELDS[name].metadata["help"] and value != own:
                    assert f"{model} {value}" in helps[name], (prof, model, name)
                    shown += 1
    assert shown >= 4


def test_the_options_reach_the_config_under_their_field_names():
    args = train_parser().parse_args(["--profile", "cpu-best", "--use_model", "resnet34_unet", "--image_size", "64",
                                      "--epoch", "3", "--learning-rate", "0.01", "--no-tensorboard", "--strict",
                                      "--no-channels-last", "--threads", "2"])
    cfg = _config_from_args(args, model="resnet34_unet")
    assert (cfg.profile, cfg.model, cfg.image_size, cfg.epochs, cfg.lr) == ("cpu-best", "resnet34_unet", 64, 3, 0.01)
    assert (cfg.tensorboard, cfg.strict, cfg.channels_last, cfg.threads) == (False, True, False, 2)
    assert cfg.swa_epochs == PROFILE_MODELS["cpu-best"]["resnet34_unet"]["swa_epochs"]  # not given: the profile's


BAD = [
    (dict(image_size=16), "--image-size 16: must be a whole number >= 32 (the networks pool the input down 32x)."),
    (dict(image_size=64.0), "--image-size 64.0: must be a whole number >= 32 (the networks pool the input down 32x)."),
    (dict(batch_size=1), "--batch-size 1: must be a whole number >= 2 (BatchNorm needs 2 images per batch to train)."),
    (dict(epochs=0), "--epochs 0: must be a whole number >= 1."),
    (dict(width=True), "--width True: must be a whole number >= 1."),
    (dict(repeats=0), "--repeats 0: must be a whole number >= 1."),
    (dict(seed=-1), "--seed -1: must be a whole number >= 0."),
    (dict(num_workers=-2), "--num-workers -2: must be a whole number >= 0."),
    (dict(lr=0), "--lr 0: the learning rate must be > 0 (e.g. 1e-3)."),
    (dict(lr=10), "--lr 10: the learning rate must be > 0 (e.g. 1e-3)."),
    (dict(weight_decay=-0.1), "--weight-decay -0.1: weight decay must be >= 0."),
    (dict(train_subset=1), "--train-subset 1: train on at least 2 images (or leave it out for all)."),
    (dict(threads=0), "--threads 0: must be >= 1 (or leave it out for torch's choice)."),
    (dict(model="vit9000"), "--model vit9000: unknown model; choose one of: unet, resnet34_unet, resnet34_unet_seed, "
                            "vgg16_bn_unet."),
    (dict(loss="hinge"), "--loss hinge: unknown value; choose one of: dice, bce, bce_dice, focal, jaccard, lovasz, "
                         "focal_dice, bce_jaccard, bce_lovasz."),
    (dict(amp="fp16"), "--amp fp16: unknown value; choose one of: auto, bf16, off."),
    (dict(profile="huge"), "--profile huge: unknown value; choose one of: smoke, toy, cpu, cpu-best, full, custom."),
    (dict(lr_floor=1.0, schedule="cosine"), "--lr-floor 1.0: must be a number in [0, 1)."),
    (dict(crop_scale=0, augment="scale"), "--crop-scale 0: must be a number in (0, 1]."),
    (dict(affine_shift=0.51, augment="rotate"), "--affine-shift 0.51: must be a number in [0, 0.5]."),
    (dict(affine_p=float("nan"), augment="all"), "--affine-p nan: must be a number in [0, 1]."),
    (dict(color_strength="strong", augment="color"), "--color-strength strong: must be a number in [0, 1)."),
    (dict(swa_epochs=5, swa_lr=0), "--swa-lr 0: must be a number in (0, 1]: the averaging phase's rate as a fraction "
                                   "of --lr."),
    (dict(ema_decay=1.0), "--ema-decay 1.0: must be a number in [0, 1): the moving average's decay per step (e.g. "
                          "0.999; 0: none)."),
    (dict(augment="scale", flip="independent"), "--augment scale: needs joint flips; --flip independent is the "
                                                "report's bug, kept as an ablation arm on its own."),
    (dict(epochs=5, swa_epochs=5), "--swa-epochs 5: the averaging phase must be a whole number of epochs shorter than "
                                   "training (5 epochs): the schedule runs in the epochs before it."),
    (dict(epochs=10, warmup_epochs=10.0), "--warmup-epochs 10.0: warm-up must be >= 0 and shorter than the schedule "
                                          "(10 epochs)."),
    (dict(schedule="onecycle", warmup_epochs=1.0), "--warmup-epochs 1.0: onecycle has its own warm-up (30 % of "
                                                   "training); leave --warmup-epochs out."),
    (dict(lr_floor=0.1), "--lr-floor 0.1: the floor applies to --schedule cosine only."),
    (dict(swa_lr=0.2), "--swa-lr 0.2: sets the rate of the averaging phase; this run has none (add --swa-epochs N)."),
    (dict(ema_decay=0.99, swa_epochs=5), "--ema-decay 0.99: averages the weights one way and --swa-epochs another; "
                                         "use one of them."),
    (dict(drop_path=0.1), "--drop-path 0.1: drops residual blocks of the resnet34_unet encoder; --model unet has "
                          "none to drop."),
    (dict(affine_p=0.5), "--affine-p 0.5: sets the strength of --augment rotate, rotate-color, scale-rotate or all; "
                         "this run uses --augment flip."),
    (dict(augment_source="2x", augment="scale", augment_on="device"),
     "--augment-source 2x: needs --augment-on loader (the device path augments batches of one size)."),
    (dict(copy_paste=0.5, augment_on="device"), "--copy-paste 0.5: needs --augment-on loader (pasting runs per "
                                                "sample)."),
    (dict(copy_paste=1.5), "--copy-paste 1.5: must be a number in [0, 1]: the share of samples that get another "
                           "image's pet pasted in."),
    (dict(cutmix=0.5, augment_on="device"), "--cutmix 0.5: needs --augment-on loader (mixing runs per sample)."),
    (dict(cutmix=-0.1), "--cutmix -0.1: must be a number in [0, 1]: the share of samples that get a box of another "
                        "image."),
    (dict(pretrained="nowhere.pth"), "--pretrained nowhere.pth: encoder weights apply to resnet34_unet, vgg16_bn_unet "
                                     "only, not unet."),
    (dict(low_res=-96), "--low-res -96: must be a whole number >= 0: the early epochs' training size in pixels (0: "
                        "none)."),
    (dict(low_res=96, low_res_share=1.0, augment="scale"), "--low-res-share 1.0: must be a number in (0, 1)."),
    (dict(low_res_share=0.6), "--low-res-share 0.6: sets the share of the epochs at --low-res; this run has none "
                              "(add --low-res SIZE)."),
    (dict(low_res=128, image_size=128, augment="scale"), "--low-res 128: must be from 32 to below --image-size 128 "
                                                         "(or 0: none)."),
    (dict(low_res=16, image_size=128, augment="scale"), "--low-res 16: must be from 32 to below --image-size 128 (or "
                                                        "0: none)."),
    (dict(low_res=96, image_size=128, augment="rotate"), "--low-res 96: resizes the random crops of --augment scale, "
                                                         "scale-rotate or all; this run uses --augment rotate."),
    (dict(low_res=96, image_size=128, augment="all", augment_on="device"),
     "--low-res 96: needs --augment-on loader (the device path augments batches of one size)."),
    (dict(low_res=96, image_size=128, augment="all", epochs=10, swa_epochs=5, low_res_share=0.6),
     "--low-res-share 0.6: 6 epochs at --low-res run into the averaging phase (the last 5 of 10); use a smaller "
     "share."),
]


@pytest.mark.parametrize("kw, message", BAD, ids=[", ".join(f"{k}={v}" for k, v in kw.items()) for kw, _ in BAD])
def test_a_bad_value_is_refused_with_its_message(kw, message):
    with pytest.raises(ValueError) as refused:
        RunConfig(**kw).validate()
    assert str(refused.value) == message


@pytest.mark.parametrize("kw", [dict(image_size=32), dict(batch_size=2), dict(seed=0), dict(lr=9.5),
                                dict(weight_decay=0), dict(train_subset=2), dict(threads=1), dict(model="UNet"),
                                dict(lr_floor=0.99, schedule="cosine"), dict(crop_scale=1, augment="scale"),
                                dict(affine_shift=0.5, augment="rotate"), dict(affine_p=0, augment="all"),
                                dict(swa_epochs=5, swa_lr=1), dict(ema_decay=0.999), dict(profile="custom"),
                                dict(copy_paste=1), dict(copy_paste=0), dict(cutmix=1),
                                dict(low_res=32, image_size=128, augment="scale"),
                                dict(low_res=127, image_size=128, augment="all", low_res_share=0.99),
                                dict(low_res=96, image_size=128, augment="all", epochs=10, swa_epochs=5),
                                dict(epochs=10, swa_epochs=4, warmup_epochs=5.9)])
def test_the_edges_of_each_range_are_accepted(kw):
    assert RunConfig(**kw).validate() == RunConfig(**kw)


def test_every_profile_is_valid_for_every_model():
    for prof in PROFILES:
        for model in ("unet", "resnet34_unet", "vgg16_bn_unet", "resnet34_unet_seed"):
            profile_config(prof, model=model).validate()


def test_threads_of_evaluate_and_predict_are_checked_as_trains():
    check_threads(None)
    check_threads(3)
    with pytest.raises(ValueError) as refused:
        check_threads(0)
    assert str(refused.value) == "--threads 0: must be >= 1 (or leave it out for torch's choice)."


def test_options_refuse_bad_values_in_one_line():
    for kw, msg in ((dict(lr_floor=0.1), "--schedule cosine"), (dict(crop_scale=0.0, augment="scale"), r"\(0, 1\]"),
                    (dict(affine_p=True, augment="all"), "--affine-p True"),
                    (dict(affine_shift=0.05), "--augment rotate, rotate-color, scale-rotate or all"),
                    (dict(crop_scale=0.9, augment="rotate-color"),
                     "--augment scale, scale-rotate or all; this run uses --augment rotate-color"),
                    (dict(decode="half"), "--decode half"),
                    (dict(select="worst"), "--select worst"), (dict(dice_reduction="pixel"), "--dice-reduction"),
                    (dict(augment_source="3x", augment="all"), "--augment-source 3x"),
                    (dict(augment_source="2x"), "--augment scale, scale-rotate or all"),
                    (dict(augment_source="2x", augment="scale", augment_on="device"), "--augment-on loader")):
        with pytest.raises(ValueError, match=msg):
            RunConfig(**kw).validate()
