"""The report's sentences, every number computed from the study's runs and tables: the abstract, the discussion
and its limits, the open questions, the networks' descriptions, and the original report's published table."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .study_arms import RECIPE_TARGETS
from .config import RunConfig
from .dataset_stats import all_background_accuracy
from .models import build_model
from .recipe_choice import _best_other_family, chosen_row, fresh_seed_summary, recipe_choice_table
from .results import load_per_image, own_cpu
from .stats import _verdict, mean_std, verdict


# The original lab report's published table: pixel accuracy (which it called "dice"), 256 px,
# full 37-breed Oxford-IIIT Pet, its buggy ResNet34 and independent flips.
ORIGINAL_REPORT = pd.DataFrame([
    {"setting": "no flip, 50 epochs", "unet": 0.9206, "resnet34_unet": 0.8687},
    {"setting": "flips, 50 epochs", "unet": 0.8112, "resnet34_unet": 0.8095},
    {"setting": "flips, 100 epochs", "unet": 0.8301, "resnet34_unet": 0.8133},
])


QUESTIONS = (("06_augmentation", "augmentation_study.csv", 1, "Augmentation beyond flips"),
             ("06_augmentation", "tta_study.csv", None, "Test-time flips"),
             ("07_losses", "loss_study.csv", 1, "Losses"),
             ("08_budget", "schedule_study.csv", 1, "Optimiser and learning-rate schedule"),
             ("08_budget", "budget_study.csv", 2, "Training budget (25 / 50 / 100 epochs on the cpu profile)"),
             ("08_budget", "augment_at_budget.csv", 1, "Augmentation at the recipe's budget (UNet, 2x the epochs)"),
             ("09_encoders", "encoder_study.csv", 1, "Encoders: UNet, ResNet34-UNet, VGG16-BN-UNet"))


def question_tables(results: str | Path) -> list[tuple[str, str, pd.DataFrame | None]]:
    """(title, notebook, table or None where that notebook has not run for this study) per open question."""
    out = []
    for notebook, file, index_cols, title in QUESTIONS:
        path = Path(results) / file
        table = None
        if path.is_file():
            table = pd.read_csv(path, index_col=list(range(index_cols)) if index_cols else None)
            if file == "tta_study.csv":
                table = table.groupby("augment")[["test_dice", "tta_test_dice", "test_iou", "tta_test_iou"]].mean()
        out.append((title, notebook, table))
    return out


def discussion(runs: pd.DataFrame, results: str | Path | None = None, cfg: RunConfig | None = None) -> list[str]:
    """Sentences whose every number comes from ``runs`` (the finished runs of this study) and, for
    the metric's cause, the per-image counts under ``results``; with ``cfg``, what the recipe studies found and the
    study's limits too."""
    out = []
    if results is not None and len(runs):
        first = runs.sort_values("run").iloc[0]
        acc0 = all_background_accuracy(load_per_image(results, first["run"]))
        best = runs.loc[runs["test_dice"].idxmax()]
        out.append(f"The metric: predicting background everywhere already scores {acc0:.4f} mean pixel accuracy "
                   f"(and 0 dice) on this test set. The best run here ({best['run']}) has pixel accuracy "
                   f"{best['test_pixel_acc']:.4f} and dice {best['test_dice']:.4f}. The original report's "
                   "\"dice\" column is pixel accuracy, a score that background pixels dominate"
                   + (", and it reads higher than dice here." if best["test_pixel_acc"] > best["test_dice"] else "."))
    if runs.empty:
        return out
    main = runs[runs["flip"] == "hflip"].groupby("model")["test_dice"]
    models = set(main.groups)
    if {"unet", "resnet34_unet"} <= models:
        a, b = main.get_group("unet"), main.get_group("resnet34_unet")
        better = "ResNet34-UNet" if b.mean() > a.mean() else "UNet"
        out.append(f"With joint horizontal flips, the UNet reaches a mean test dice of {a.mean():.4f} and the corrected "
                   f"ResNet34-UNet {b.mean():.4f}: the {better} is ahead by {abs(b.mean() - a.mean()):.4f}, "
                   f"{_verdict(a, b)}.")
    if {"resnet34_unet", "resnet34_unet_seed"} <= models:
        a, b = main.get_group("resnet34_unet"), main.get_group("resnet34_unet_seed")
        out.append(f"The original report's ResNet34-UNet (every block strided, random projection shortcuts) scores "
                   f"{b.mean():.4f} against {a.mean():.4f} for the corrected network under the same budget: its bugs "
                   f"{'lose' if a.mean() > b.mean() else 'gain'} {abs(a.mean() - b.mean()):.4f} dice, {_verdict(a, b)}.")
    flips = runs[runs["model"] == "unet"].groupby("flip")["test_dice"]
    for arm, what in (("independent", "Independent (misaligned) flips"), ("none", "No flips"),
                      ("hvflip", "Joint horizontal + vertical flips")):
        if {"hflip", arm} <= set(flips.groups):
            j, i = flips.get_group("hflip"), flips.get_group(arm)
            out.append(f"{what} give {i.mean():.4f} test dice against {j.mean():.4f} for joint horizontal flips "
                       f"({len(i)} and {len(j)} seeds): a difference of {i.mean() - j.mean():+.4f}, {_verdict(i, j)}.")
    acc = runs.groupby(["model", "flip"])["test_pixel_acc"].mean()
    rep = ORIGINAL_REPORT.set_index("setting")
    if ("unet", "hflip") in acc and ("resnet34_unet_seed", "hflip") in acc and ("resnet34_unet", "hflip") in acc:
        out.append(f"The original report's table has its ResNet34-UNet {rep.loc['no flip, 50 epochs', 'unet'] - rep.loc['no flip, 50 epochs', 'resnet34_unet']:.4f} "
                   f"pixel accuracy behind its UNet (no flips). Here, in pixel accuracy, the report's network is "
                   f"{acc['unet', 'hflip'] - acc['resnet34_unet_seed', 'hflip']:.4f} behind the UNet and the corrected one "
                   f"{acc['unet', 'hflip'] - acc['resnet34_unet', 'hflip']:.4f}: the part of the gap that the bugs explain "
                   "is the difference between those two.")
    if ("unet", "none") in acc and ("unet", "independent") in acc:
        out.append(f"The report's flips cost its UNet {rep.loc['no flip, 50 epochs', 'unet'] - rep.loc['flips, 50 epochs', 'unet']:.4f} "
                   f"pixel accuracy; here independent flips cost {acc['unet', 'none'] - acc['unet', 'independent']:.4f} "
                   f"against no flips, and joint horizontal flips {acc['unet', 'none'] - acc['unet', 'hflip']:+.4f} "
                   "(negative: a gain).")
    if "test_noboundary_dice" in runs:
        gap = (runs["test_noboundary_dice"] - runs["test_dice"]).mean()
        out.append(f"Ignoring the trimap's boundary band instead of counting it as pet changes test dice by "
                   f"{gap:+.4f} on average over the {len(runs)} runs.")
    return out + (recipe_sentences(runs, results, cfg) + limit_sentences(results, cfg) if results and cfg else [])


def recipe_sentences(runs: pd.DataFrame, results: str | Path, cfg: RunConfig) -> list[str]:
    """What the recipe studies (Sections 3.4-3.5) changed: each network's chosen recipe against the report's."""
    choice = recipe_choice_table(results, cfg.epochs)
    main = runs[runs["flip"] == "hflip"].groupby("model")["test_dice"]
    out = []
    for model, lead in (("unet", "UNet"), ("resnet34_unet", "ResNet34-UNet")):
        r = chosen_row(choice, model)
        if r is None or model not in main.groups:
            continue
        family = r["family"] if isinstance(r.get("family"), str) else own_cpu(results)
        out.append(f"The recipe studies lift the {lead} from {main.get_group(model).mean():.4f} (the report's recipe, "
                   f"best checkpoint by validation) to {r['test_dice_mean']:.4f} ± {r['test_dice_std']:.4f} ({r.name}, "
                   f"on {family}): augmentation, the schedule and a longer budget, each chosen one change at a time "
                   "against the seed spread; Section 3.5 lists the arms and what each changed.")
    return out


def limit_sentences(results: str | Path, cfg: RunConfig) -> list[str]:
    """What the study cannot say: its data, image size, hardware and the arithmetic behind its last digits."""
    counts = Path(results) / "data_counts.csv"
    if not counts.is_file():
        return []
    c = pd.read_csv(counts)
    c = c[c["species"] != "total"]
    cpus = sorted({json.loads(f.read_text()).get("cpu") or "not recorded"
                   for f in Path(results).glob("runs/*/env.json")})
    return [f"Limits. The test set is {int(c['test'].sum())} photos of {c['breed'].nunique()} breeds, and the "
            f"checkpoint choice rests on {int(c['val'].sum())} validation images, so differences below the seed "
            f"spread are not findings. Images are {cfg.image_size} px, every network is trained from scratch on CPU "
            "cores (no pretrained weights, no GPU), and results carry over to the full 37-breed dataset, larger images "
            "or pretrained encoders only as hypotheses. bf16 autocast sums products in another order on each CPU "
            f"family ({'; '.join(cpus)} made this study's runs), so a rerun lands on other last digits there: compare "
            "arms within one family."]


ARCHITECTURES = {"unet": "from scratch: 4 down / 4 up stages of two 3x3 conv + BN + ReLU, bilinear up-sampling, width "
                         "{width} channels at the top (the original report's network at width 64)",
                 "resnet34_unet": "torchvision's ResNet34 as encoder (stride 2 in the first block of stages 2-4 only, "
                                  "trained 1x1 projection shortcuts) and a UNet decoder (256-128-64-32-16 channels)",
                 "resnet34_unet_seed": "the original report's ResNet34-UNet, kept as an ablation arm: stride 2 in every "
                                       "block of stages 2-4 and an untrained projection built inside forward()",
                 "vgg16_bn_unet": "torchvision's VGG16-BN as encoder with the same UNet decoder"}


def architecture_table(width: int) -> pd.DataFrame:
    """The networks of the study: trainable parameters (counted on the built model) and what each is."""
    rows = []
    for name, text in ARCHITECTURES.items():
        model = build_model(name, **({"width": width} if name == "unet" else {}))
        rows.append({"model": name, "parameters": sum(p.numel() for p in model.parameters()),
                     "description": text.format(width=width)})
    return pd.DataFrame(rows).set_index("model")


def abstract_sentences(runs: pd.DataFrame, results: str | Path, cfg: RunConfig) -> list[str]:
    """The abstract's sentences; every number is one of the report's tables' (mean ± sample std over seeds, as
    :func:`arm_summary` computes them)."""
    out = []
    counts = Path(results) / "data_counts.csv"
    if counts.is_file():
        c = pd.read_csv(counts)
        c = c[c["species"] != "total"]
        out.append(f"Pet-versus-background segmentation on {int(c['total'].sum())} photos of "
                   f"{c['breed'].nunique()} breeds ({int(c['train'].sum())} train, {int(c['val'].sum())} val, "
                   f"{int(c['test'].sum())} test), at {cfg.image_size} px for {cfg.epochs} epochs, "
                   f"{cfg.repeats} seed{'s' if cfg.repeats > 1 else ''} per arm.")
    if runs.empty:
        out.append("No run of this study has finished yet: run notebooks 02-04 (`make report`) and render again.")
        return out
    main = runs[runs["flip"] == "hflip"].groupby("model")["test_dice"]
    parts = [f"the {what} {mean_std(main.get_group(m))}" for m, what in (
        ("unet", "from-scratch UNet"), ("resnet34_unet", "corrected ResNet34-UNet"),
        ("resnet34_unet_seed", "original report's ResNet34-UNet")) if m in main.groups]
    if parts:
        out.append("Mean test dice ± std over seeds, with joint horizontal flips: " + "; ".join(parts) + ".")
        out += _comparison_sentences(main, (("unet", "The from-scratch UNet"), ("resnet34_unet", "the corrected "
                                     "ResNet34-UNet"), ("resnet34_unet_seed", "the original report's ResNet34-UNet")))
    flips = runs[runs["model"] == "unet"].groupby("flip")["test_dice"]
    parts = [f"{what} {mean_std(flips.get_group(a))}" for a, what in (
        ("none", "no flips"), ("hflip", "joint flips"), ("independent", "the original report's independent flips"))
        if a in flips.groups]
    if len(parts) > 1:
        out.append("UNet flip ablation: " + "; ".join(parts) + ".")
        if {"hflip", "independent"} <= set(flips.groups):
            cost = flips.get_group("hflip").mean() - flips.get_group("independent").mean()
            out.append(f"Flipping image and mask independently, the original report's costliest bug, loses {cost:.3f} "
                       f"dice against joint flips ({verdict(flips.get_group('independent'), flips.get_group('hflip'))}).")
    choice = recipe_choice_table(results, cfg.epochs)
    fresh = fresh_seed_summary(results)
    for model, lead in (("unet", "the UNet"), ("resnet34_unet", "the ResNet34-UNet")):
        r = chosen_row(choice, model)  # None: no recipe study yet, or nothing chosen for this model
        if r is not None:
            target = RECIPE_TARGETS[model]  # set for the real subset with the cpu profile
            family = r["family"] if isinstance(r.get("family"), str) else own_cpu(results)
            reached = "reached" if r["test_dice_mean"] >= target else "not reached"
            out.append(f"The best recipe of the studies within 15 minutes a run for {lead} ({r.name}"
                       f"{'; the `cpu-best` profile' if cfg.profile == 'cpu' else ''}) reaches {r['test_dice_mean']:.4f} ± "
                       f"{r['test_dice_std']:.4f} test dice on {family}" + (f" (target {target:.2f}: {reached})."
                                                                           if cfg.profile == "cpu" else "."))
            other = _best_other_family(choice, model, family, own_cpu(results))
            if other is not None and cfg.profile == "cpu":
                out[-1] += (f" On {other['family']}, the best measured is {other['test_dice_mean']:.4f} ± "
                            f"{other['test_dice_std']:.4f} ({other.name}; target "
                            f"{'reached' if other['test_dice_mean'] >= target else 'not reached'} there).")
            # 10's check of the choice on unseen seeds, where it was made for this choice
            if (fresh is not None and (model, "fresh") in fresh.index
                    and fresh.loc[(model, "fresh")].get("recipe", r.name) == r.name):
                f, n = fresh.loc[(model, "fresh")], int(fresh.loc[(model, "fresh"), "seeds"])
                out[-1] += (f" On {n} fresh seed{'s' if n > 1 else ''}, trained after the choice, "
                            f"it scores {f['test_dice_mean']:.4f}" + (f" ± {f['test_dice_std']:.4f}" if n > 1 else "")
                            + (f" (target {'reached' if f['test_dice_mean'] >= target else 'not reached'})."
                               if cfg.profile == "cpu" else "."))
    return out


def _comparison_sentences(groups, named) -> list[str]:
    """'A beats B by 0.022 (verdict)' for each neighbouring pair of ``named`` models present in ``groups``."""
    present = [(m, what) for m, what in named if m in groups.groups]
    out = []
    for (a, what_a), (b, what_b) in zip(present, present[1:]):
        diff = groups.get_group(a).mean() - groups.get_group(b).mean()
        word = "beats" if diff > 0 else "trails"
        out.append(f"{what_a[0].upper() + what_a[1:]} {word} {what_b} by {abs(diff):.3f} dice "
                   f"({verdict(groups.get_group(b), groups.get_group(a))}).")
    return out
