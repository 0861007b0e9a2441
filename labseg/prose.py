"""The report's sentences, every number computed from the study's runs and tables: the abstract, the discussion
and its limits, the open questions, the networks' descriptions, and the original report's published table."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .config import RunConfig
from .dataset_stats import all_background_accuracy
from .labels import label, split_arm_label
from .machine_load import IDLE_SHARE, timing_kind
from .models import build_model
from .recipe_candidates import family_summary
from .recipe_candidates import read_runs as read_candidate_runs
from .recipe_choice import TYPICAL, _best_other_family, chosen_row, family_gap, fresh_seed_summary, recipe_choice_table
from .results import cpu_family, load_per_image, masks_folder, own_cpu, run_cpu, runs_family, study_folders
from .stats import _verdict, format_mean_std, mean_std, verdict
from .study_arms import RECIPE_MAX_SECONDS, RECIPE_NEXT_TARGETS, RECIPE_TARGETS

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
        out.append(f"With joint horizontal flips, the UNet reaches a mean test dice of {a.mean():.4f} and the "
                   f"corrected ResNet34-UNet {b.mean():.4f}: the {better} is ahead by {abs(b.mean() - a.mean()):.4f}, "
                   f"{_verdict(a, b)}.")
    if {"resnet34_unet", "resnet34_unet_seed"} <= models:
        a, b = main.get_group("resnet34_unet"), main.get_group("resnet34_unet_seed")
        out.append(f"The original report's ResNet34-UNet (every block strided, random projection shortcuts) scores "
                   f"{b.mean():.4f} against {a.mean():.4f} for the corrected network under the same budget: its "
                   f"bugs {'lose' if a.mean() > b.mean() else 'gain'} {abs(a.mean() - b.mean()):.4f} dice, "
                   f"{_verdict(a, b)}.")
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
        theirs = rep.loc["no flip, 50 epochs", "unet"] - rep.loc["no flip, 50 epochs", "resnet34_unet"]
        seed_gap = acc["unet", "hflip"] - acc["resnet34_unet_seed", "hflip"]
        fixed_gap = acc["unet", "hflip"] - acc["resnet34_unet", "hflip"]
        out.append(f"The original report's table has its ResNet34-UNet {theirs:.4f} pixel accuracy behind its UNet "
                   f"(no flips). Here, in pixel accuracy, the report's network is {seed_gap:.4f} behind the UNet and "
                   f"the corrected one {fixed_gap:.4f}: the part of the gap that the bugs explain is the difference "
                   "between those two.")
    if ("unet", "none") in acc and ("unet", "independent") in acc:
        theirs = rep.loc["no flip, 50 epochs", "unet"] - rep.loc["flips, 50 epochs", "unet"]
        out.append(f"The report's flips cost its UNet {theirs:.4f} pixel accuracy; here independent flips cost "
                   f"{acc['unet', 'none'] - acc['unet', 'independent']:.4f} against no flips, and joint horizontal "
                   f"flips {acc['unet', 'none'] - acc['unet', 'hflip']:+.4f} (negative: a gain).")
    if "test_noboundary_dice" in runs:
        gap = (runs["test_noboundary_dice"] - runs["test_dice"]).mean()
        out.append(f"Ignoring the trimap's boundary band instead of counting it as pet changes test dice by "
                   f"{gap:+.4f} on average over the {len(runs)} runs.")
    if not (results and cfg):
        return out
    return (out + failure_sentences(results, runs) + question_sentences(results) + recipe_sentences(runs, results, cfg)
            + study_candidate_sentences(results, cfg) + limit_sentences(results, cfg))


def _change_words(arm: str, base: str) -> str:
    """What a candidate changes in the chosen recipe, from their labels ("<arm>, <n> epochs"): the arm it adds
    ("crop-2x + mild-affine + ema, 150 epochs" -> "ema"), its budget ("140 epochs instead of 150"), or both
    ("width-24 at 65 epochs": an arm that trains fewer epochs in about the same minutes)."""
    (name, epochs), (base_name, base_epochs) = split_arm_label(arm), split_arm_label(base)
    if name == base_name:
        return f"{epochs} epochs instead of {base_epochs}"
    return name.removeprefix(base_name + " + ") + ("" if epochs == base_epochs else f" at {epochs} epochs")


def study_candidate_sentences(results: str | Path, cfg: RunConfig) -> list[str]:
    """:func:`candidate_sentences` on the study's seeds, against the next targets where they are set (the real
    subset's ``cpu`` profile)."""
    next_targets = RECIPE_NEXT_TARGETS if cfg.profile == "cpu" else {}
    return candidate_sentences(results, [cfg.seed + i for i in range(cfg.repeats)], next_targets)


def failure_sentences(results: str | Path, runs: pd.DataFrame) -> list[str]:
    """Section 3.3 in words: the UNet's worst test images (seed 0 of the profile's recipe) by breed and dice."""
    seed0 = runs[(runs["model"] == "unet") & (runs["flip"] == "hflip")].sort_values("seed")
    if seed0.empty:
        return []
    name = seed0.iloc[0]["run"]
    folder = masks_folder(results, name)  # the run Section 3.3's figure draws: its own, or the same run made again
    if folder is None:
        folder = Path(results) / "runs" / name
    per_image = pd.read_csv(folder / "test_per_image.csv").sort_values("dice")
    worst = per_image.head(12)
    breeds = worst["breed"].value_counts()
    again = folder.parent.parent != Path(results)
    whose = (f"the run its figure draws, seed 0 made again with the current code on "
             f"{cpu_family(run_cpu(folder))} (test dice {per_image['dice'].mean():.4f})" if again else "seed 0")
    return [f"Where the UNet fails (Section 3.3; {whose}): its 12 worst test images score {worst['dice'].min():.2f}-"
            f"{worst['dice'].max():.2f} dice against a median of {per_image['dice'].median():.2f}; "
            + ", ".join(f"{n} {b.replace('_', ' ')}" for b, n in breeds.items())
            + " photos, with their errors drawn over the photo in the figure."]



# Section 3.4's studies: (table, what it varies, its baseline arm)
QUESTION_BASELINES = (("augmentation_study.csv", "Augmentation beyond flips", "flip"),
                      ("augment_at_budget.csv", "Augmentation at 2x the epochs", "flip"),
                      ("loss_study.csv", "The loss", "bce_dice"),
                      ("schedule_study.csv", "Optimiser and schedule", "constant"),
                      ("encoder_study.csv", "The encoder", "unet"))


def _families(x: pd.Series, b: pd.Series) -> str:
    """The CPU family of two table rows' runs, or both where they differ (an arm against a baseline made earlier)."""
    fx, fb = cpu_family(str(x.get("cpu"))), cpu_family(str(b.get("cpu")))
    return fx if fx == fb else f"the arm on {fx}, the baseline on {fb}"


def _tta_sentence(results: str | Path) -> list[str]:
    """Section 3.4's test-time flips in words: the mean gain of flip TTA over plain test dice, per run, and in how
    many runs it helped (``tta_study.csv``: one row per run)."""
    path = Path(results) / "tta_study.csv"
    if not path.is_file():
        return []
    t = pd.read_csv(path)
    gain = t["tta_test_dice"] - t["test_dice"]
    return [f"Test-time flips (Section 3.4): averaging each photo's logits with its mirror image's adds "
            f"{gain.mean():+.4f} test dice on average over {len(t)} runs (between {gain.min():+.4f} and "
            f"{gain.max():+.4f}; higher in {int((gain > 0).sum())} of them), at twice the inference cost; the "
            "same runs, so the gain is paired, not a difference between arms."]


def question_sentences(results: str | Path) -> list[str]:
    """Section 3.4 in words: per study, the best arm against its baseline, with the seed-spread verdict."""
    out = []
    for file, what, baseline in QUESTION_BASELINES:
        path = Path(results) / file
        if not path.is_file():
            continue
        t = pd.read_csv(path, index_col=0)
        t = t[t["seeds"] > 1]
        if baseline not in t.index or len(t) < 2:
            continue
        b, best = t.loc[baseline], t.drop(index=baseline)["test_dice_mean"].idxmax()
        x = t.loc[best]
        gain, spread = x["test_dice_mean"] - b["test_dice_mean"], max(x["test_dice_std"], b["test_dice_std"])
        verdict_words = "more than" if abs(gain) > spread else "within"
        out.append(f"{what} (Section 3.4): the best other arm, {label(best)}, scores {x['test_dice_mean']:.4f} against "
                   f"{b['test_dice_mean']:.4f} for {label(baseline)}, {gain:+.4f}, {verdict_words} the seed spread "
                   f"({spread:.4f}); best-by-validation checkpoint, {_families(x, b)}.")
    out += _tta_sentence(results)
    budget = Path(results) / "budget_study.csv"
    if budget.is_file():
        table = pd.read_csv(budget, index_col=[0, 1])
        t = table["test_dice_mean"]
        best = {m: int(t.xs(m).idxmax()) for m in t.index.get_level_values(0).unique()}
        families = sorted({cpu_family(str(c)) for c in table.get("cpu", pd.Series(["not recorded"]))})
        spread = table["test_dice_std"]
        out.append("The budget (Section 3.4): " + "; ".join(
            f"the {label(m)} scores best at {e} epochs ({format_mean_std(t[(m, e)], spread[(m, e)])})"
            for m, e in best.items()) + f"; best-by-validation checkpoint, {' and '.join(families)}.")
    return out


def recipe_sentences(runs: pd.DataFrame, results: str | Path, cfg: RunConfig) -> list[str]:
    """What the recipe studies (Section 3.5) changed: each network's chosen recipe against the report's."""
    choice = recipe_choice_table(results, cfg.epochs)
    main = runs[runs["flip"] == "hflip"].groupby("model")["test_dice"]
    out = []
    for model, lead in (("unet", "UNet"), ("resnet34_unet", "ResNet34-UNet")):
        r = chosen_row(choice, model)
        if r is None or model not in main.groups:
            continue
        family = _family_of(r, results)
        out.append(f"The recipe study (Section 3.5) lifts the {lead} from {main.get_group(model).mean():.4f} (the "
                   f"report's recipe, best-by-validation checkpoint) to "
                   f"{format_mean_std(r['test_dice_mean'], r['test_dice_std'])} (\"{_recipe_words(r.name)}\", "
                   f"{_scoring(r.name)}, {family}).")
    searched = {model: (len(_eligible(choice, model, r["family"])), _family_of(r, results))
                for model in ("unet", "resnet34_unet") if (r := chosen_row(choice, model)) is not None}
    if len(searched) == 2 and len(out) == 2:
        (n_u, f_u), (n_r, f_r) = searched["unet"], searched["resnet34_unet"]
        fresh = fresh_seed_summary(results)
        seeds = ("" if fresh is None else " and fresh seeds (" + ", ".join(
            f"{int(fresh.loc[(m, 'fresh'), 'seeds'])} for the {lead}" for m, lead in (("unet", "UNet"),
                                                                                    ("resnet34_unet", "ResNet34-UNet"))
            if (m, "fresh") in fresh.index) + ")")
        out.append(f"The two chosen recipes do not rank the networks: their searches differ in breadth ({n_u} whole "
                   f"recipes with 3 seeds for the UNet, {n_r} for the ResNet34-UNet), in CPU family ({f_u}; {f_r})"
                   f"{seeds}.")
    return out


def candidate_sentences(results: str | Path, seeds: list[int], targets: dict,
                        max_seconds: float = RECIPE_MAX_SECONDS) -> list[str]:
    """Section 3.6 in one sentence per network: its chosen recipe's minutes a run timed idle per CPU family against
    ``max_seconds``, what each candidate beyond it moved (with the seed-spread verdict) and the best 3-seed mean
    against the next target (``targets``); none before notebook 10 wrote its runs."""
    runs = read_candidate_runs(results)
    if runs is None or runs.empty:
        return []
    out = []
    for model, by_model in runs.groupby("model", sort=False):
        lead, base_arm = label(model), by_model["arm"].iloc[0]
        parts = []
        for family, g in by_model.groupby("family", sort=False):
            f = family_summary(g, base_arm, seeds, max_seconds)
            timing = ("not yet timed idle" if f["idle_runs"] == 0 else
                      f"{f['idle_minutes']:.1f} min a run timed idle, "
                      + ("within" if f["idle_minutes"] * 60 <= max_seconds else "over")
                      + f" the {max_seconds / 60:.0f}-minute limit")
            moves = "; ".join(f"{_change_words(m['arm'], base_arm)} moves it by {m['gain']:+.4f} "
                              + ("on one seed (no verdict)" if m["seeds"] < 2 else
                                 f"over {m['seeds']} seeds (" + ("beyond" if m["beyond"] else "within")
                                 + " the seed spread)") for m in f["moves"])
            target = targets.get(model)
            reach = ("" if target is None or f["best"] is None else
                     f"; the best 3-seed mean of these, {f['best_mean']:.4f}, "
                     + ("reaches" if f["best_mean"] >= target else "misses") + f" the next target {target:.2f}")
            own = ("" if f["ground"] not in ("replaced", "none") else
                   f"; by idle timing, no arm here with {len(seeds)} seeds trains within the limit either"
                   if f["ground"] == "none" else
                   f"; by idle timing this family's recipe is the chosen one with "
                   f"{_change_words(f['recipe'], base_arm)} ({f['recipe_mean']:.4f}, {f['recipe_minutes']:.1f} min "
                   "a run)")
            parts.append(f"on {family}, {timing}" + (f"; {moves}" if moves else "") + reach + own)
        out.append(f"Section 3.6, the {lead}'s chosen recipe: " + "; ".join(parts) + ".")
    return out


def _family_of(row: pd.Series, results: str | Path) -> str:
    """The CPU family a recipe row was measured on: the row's own (runs of another family) or the study's."""
    return cpu_family(row["family"] if isinstance(row.get("family"), str) else own_cpu(results))


def _idle_clause(results: str | Path) -> str:
    """How many of a study's runs, in all its results folders, record how busy the machine was while they trained,
    and how many of those were idle timings (:mod:`labseg.machine_load`)."""
    folders = study_folders(results).values() if Path(results).parent.is_dir() else []
    shares = [json.loads(f.read_text()).get("train_other_cpu") for folder in folders
              for f in folder.glob("runs/*/metrics.json")]
    shares = [x for x in shares if x is not None]
    if not shares:
        return ("; no run of this study records how busy its machine was (labseg now writes it as other_cpu in "
                "history.csv), so none can count as one")
    idle = sum(timing_kind(x) == "idle" for x in shares)
    return (f"; {len(shares)} run{'s' if len(shares) > 1 else ''} in its results folders record how busy the machine "
            f"was, {idle} of them idle (other processes at most {IDLE_SHARE:.0%} of the cores): Section 3.6 times "
            "the chosen recipes by those")


def limit_sentences(results: str | Path, cfg: RunConfig) -> list[str]:
    """What the study cannot say: its data, image size, hardware, how recipes were chosen and timed, and the CPU
    families behind its last digits."""
    c = _breed_counts(results)
    if c is None:
        return []
    families = sorted({cpu_family(json.loads(f.read_text()).get("cpu"))
                       for folder in study_folders(results).values() for f in folder.glob("runs/*/env.json")})
    return [f"Limits. The test set is {int(c['test'].sum())} photos of {c['breed'].nunique()} breeds, and the "
            f"checkpoint choice rests on {int(c['val'].sum())} validation images, so differences below the seed "
            f"spread are not findings; 3 seeds give a rough spread only. Images are {cfg.image_size} px, every "
            "network is trained from scratch on 2 CPU cores (no pretrained weights, no GPU): results carry over to "
            "the full 37-breed dataset, larger images or pretrained encoders only as hypotheses.",
            "Recipes are chosen on test dice, not on validation dice (30 images rank too coarsely): the chosen "
            "scores are optimistic, and the fresh seeds check only the seed. \"Within 15 minutes a run\" is judged "
            "by typical times (the fastest tenth of a run's epochs times its epochs, since runs shared the cores) or, "
            "where a table has none (notebook 08's), by the runs' measured mean, not by an idle timing"
            + _idle_clause(results) + ".",
            "bf16 autocast sums products in another order on each CPU family, so a rerun lands on other digits there; "
            f"this study's runs were made on: {'; '.join(families)}. Recipes are ranked within one family. The "
            "runs of Sections 3.1-3.2, which are also Section 3.4's baselines, predate the CPU record (\"CPU not "
            "recorded\"), so Section 3.4's comparisons may cross families, and those runs' exact digits can be made "
            "again only on the family they came from."]


ARCHITECTURES = {"unet": "from scratch: 4 down / 4 up stages of two 3x3 conv + BN + ReLU, bilinear up-sampling, width "
                         "{width} channels at the top (the original report's network at width 64)",
                 "resnet34_unet": "torchvision's ResNet34 as encoder (stride 2 in the first block of stages 2-4 only, "
                                  "trained 1x1 projection shortcuts) and a UNet decoder (256-128-64-32-16 channels)",
                 "resnet34_unet_seed": "the original report's ResNet34-UNet, kept as an ablation arm: stride 2 in "
                                       "every block of stages 2-4 and an untrained projection built inside forward()",
                 "vgg16_bn_unet": "torchvision's VGG16-BN as encoder with the same UNet decoder"}


def architecture_table(width: int) -> pd.DataFrame:
    """The networks of the study: trainable parameters (counted on the built model) and what each is."""
    rows = []
    for name, text in ARCHITECTURES.items():
        model = build_model(name, **({"width": width} if name == "unet" else {}))
        rows.append({"model": name, "parameters": sum(p.numel() for p in model.parameters()),
                     "description": text.format(width=width)})
    return pd.DataFrame(rows).set_index("model")


def _scoring(recipe: str) -> str:
    return "last epoch" if recipe.endswith(", last epoch") else "best-by-validation checkpoint"


def _recipe_words(recipe: str) -> str:
    """"10 budget: crop-2x + mild-affine, 150 epochs, last epoch" -> "crop-2x + mild-affine, 150 epochs"."""
    return recipe.removesuffix(", last epoch").partition(": ")[2] or recipe


def _breed_counts(results: str | Path) -> pd.DataFrame | None:
    """Notebook 01's images per split and breed (``data_counts.csv``) without its total row; None before 01 ran."""
    path = Path(results) / "data_counts.csv"
    if not path.is_file():
        return None
    counts = pd.read_csv(path)
    return counts[counts["species"] != "total"]


def _data_sentence(results: str | Path, cfg: RunConfig) -> list[str]:
    c = _breed_counts(results)
    if c is None:
        return []
    return [f"Pet-versus-background segmentation on {int(c['total'].sum())} photos of {c['breed'].nunique()} breeds "
            f"({int(c['train'].sum())} train, {int(c['val'].sum())} val, {int(c['test'].sum())} test), at "
            f"{cfg.image_size} px on 2 CPU cores, {cfg.repeats} seed{'s' if cfg.repeats > 1 else ''} per arm; every "
            "score is a mean ± sample standard deviation over the seeds, with the CPU family and the checkpoint it "
            "was read from."]


def _network_sentence(runs: pd.DataFrame, cfg: RunConfig) -> list[str]:
    main = runs[runs["flip"] == "hflip"]
    g = main.groupby("model")["test_dice"]
    if not {"unet", "resnet34_unet"} <= set(g.groups):
        return []
    u, r = g.get_group("unet"), g.get_group("resnet34_unet")
    params = main.groupby("model")["parameters"].first() if "parameters" in main else None
    sizes = (f" ({params['resnet34_unet'] / 1e6:.0f} M parameters against {params['unet'] / 1e6:.0f} M)"
             if params is not None and params.notna().all() else "")
    word = "beats" if u.mean() > r.mean() else "trails"
    return [f"Under the original report's recipe ({cfg.epochs} epochs, scored at the checkpoint of best validation "
            f"dice; {runs_family(main)}), the from-scratch UNet scores {mean_std(u)} test dice and {word} the "
            f"corrected ResNet34-UNet{sizes}, {mean_std(r)}, by {abs(u.mean() - r.mean()):.3f}: {_verdict(u, r)}."]


def _bug_sentence(runs: pd.DataFrame, results: str | Path) -> list[str]:
    flips = runs[runs["model"] == "unet"].groupby("flip")["test_dice"]
    nets = runs[runs["flip"] == "hflip"].groupby("model")["test_dice"]
    parts = []
    if {"hflip", "independent"} <= set(flips.groups):
        j, i = flips.get_group("hflip"), flips.get_group("independent")
        parts.append(f"flipping image and mask independently costs the most, {j.mean() - i.mean():.3f} dice against "
                     f"joint flips ({i.mean():.4f} against {j.mean():.4f}; {_verdict(i, j)})")
    if {"resnet34_unet", "resnet34_unet_seed"} <= set(nets.groups):
        a, b = nets.get_group("resnet34_unet"), nets.get_group("resnet34_unet_seed")
        parts.append(f"its ResNet34 with every block strided and untrained projections costs {a.mean() - b.mean():.3f} "
                     f"({b.mean():.4f} against {a.mean():.4f}; {_verdict(a, b)})")
    if len(runs) and "test_pixel_acc" in runs:
        best = runs.loc[runs["test_dice"].idxmax()]
        acc0 = all_background_accuracy(load_per_image(results, runs.sort_values("run").iloc[0]["run"]))
        parts.append(f"and its \"dice\" column is pixel accuracy, which reads {best['test_pixel_acc']:.2f} where dice "
                     f"reads {best['test_dice']:.2f} and which predicting background everywhere already scores "
                     f"{acc0:.2f}")
    return [f"Of the original report's bugs, {'; '.join(parts)}."] if parts else []


def _recipe_sentences_abstract(results: str | Path, cfg: RunConfig, choice: pd.DataFrame) -> list[str]:
    out, fresh = [], fresh_seed_summary(results)
    for model, lead in (("unet", "UNet"), ("resnet34_unet", "ResNet34-UNet")):
        r = chosen_row(choice, model)  # None: no recipe study yet, or nothing chosen for this model
        if r is None:
            continue
        family = _family_of(r, results)
        target, candidates = RECIPE_TARGETS.get(model), len(_eligible(choice, model, r["family"]))
        text = (f"The {lead}'s recipe, the best 3-seed mean within 15 minutes a run among the {candidates} whole "
                f"recipes measured on {family} (\"{_recipe_words(r.name)}\", Section 3.5), scores "
                f"{format_mean_std(r['test_dice_mean'], r['test_dice_std'])} ({_scoring(r.name)}, {family})")
        if target is not None and cfg.profile == "cpu":
            text += f": target {target:.2f} {'reached' if r['test_dice_mean'] >= target else 'not reached'} there"
            other = _best_other_family(choice, model, r["family"] if isinstance(r.get("family"), str)
                                       else own_cpu(results), own_cpu(results))
            if other is not None:
                there = "reached" if other["test_dice_mean"] >= target else "not reached"
                text += (f"; on {cpu_family(other['family'])} the best is "
                         f"{format_mean_std(other['test_dice_mean'], other['test_dice_std'])}, target {there}")
        if (fresh is not None and (model, "fresh") in fresh.index
                and fresh.loc[(model, "fresh")].get("recipe", r.name) == r.name):
            f, n = fresh.loc[(model, "fresh")], int(fresh.loc[(model, "fresh"), "seeds"])
            text += (f"; on {n} fresh seed{'s' if n > 1 else ''}, trained after the choice, "
                     f"{format_mean_std(f['test_dice_mean'], f['test_dice_std'] if n > 1 else None)}")
        out.append(text + ".")
    return out


def _runner_up(choice: pd.DataFrame, model: str, chosen: pd.Series) -> pd.Series | None:
    """The best other recipe of ``model`` with 3 seeds or more within the time limit, measured on the chosen
    recipe's CPU family (the chosen runs scored the other way, last epoch or best-by-validation, are not another
    recipe)."""
    rows = _eligible(choice, model, chosen["family"])
    rows = rows[[_recipe_words(n) != _recipe_words(chosen.name) for n in rows.index]]
    return None if rows.empty else rows.sort_values("test_dice_mean", ascending=False).iloc[0]


def _eligible(choice: pd.DataFrame, model: str, family) -> pd.DataFrame:
    """The recipes of ``model`` on ``family`` (a family name, or NaN: the study's own) with 3 seeds or more that fit
    the time limit."""
    rows = choice.loc[model]
    same = [f == family or (not isinstance(f, str) and not isinstance(family, str)) for f in rows["family"]]
    return rows[np.array(same) & (rows["seeds"] >= 3).to_numpy() & (rows["fits"] == "yes").to_numpy()]


def _other_scoring(choice: pd.DataFrame, model: str, chosen: pd.Series) -> pd.Series | None:
    """The chosen recipe's runs read the other way (best-by-validation against last epoch), where the table has it."""
    rows = _eligible(choice, model, chosen["family"])
    rows = rows[[n != chosen.name and _recipe_words(n) == _recipe_words(chosen.name) for n in rows.index]]
    return None if rows.empty else rows.iloc[0]


def chosen_recipe_sentences(results: str | Path, cfg: RunConfig, choice: pd.DataFrame) -> list[str]:
    """Section 3.5's account of each network's chosen recipe in words: what it is, how it was scored and timed, on
    which CPU family, the recipe behind it and whether the gap exceeds the seed spread, and the target per family."""
    out = []
    for model, lead in (("unet", "UNet"), ("resnet34_unet", "ResNet34-UNet")):
        r = chosen_row(choice, model)
        if r is None:
            continue
        family = _family_of(r, results)
        candidates = len(_eligible(choice, model, r["family"]))
        text = (f"The {lead}'s recipe is \"{_recipe_words(r.name)}\", scored at the {_scoring(r.name)}: "
                f"{format_mean_std(r['test_dice_mean'], r['test_dice_std'])} over {int(r['seeds'])} seeds on {family} "
                f"({r['minutes']:.1f} min a {'typical run' if r['timing'] == TYPICAL else 'run, measured mean'}), "
                f"the best of the {candidates} whole recipes with 3 seeds or "
                f"more measured there that train within 15 minutes a run")
        runner = _runner_up(choice, model, r)
        if runner is not None:
            gap = r["test_dice_mean"] - runner["test_dice_mean"]
            spread = max(r["test_dice_std"], runner["test_dice_std"])
            text += (f". Next on {family} is another recipe, \"{_recipe_words(runner.name)}\" "
                     f"({_scoring(runner.name)}), {runner['test_dice_mean']:.4f}: {gap:.4f} lower, "
                     + ("beyond" if gap > spread else "within") + f" the seed spread ({spread:.4f})")
        other_reading = _other_scoring(choice, model, r)
        if other_reading is not None:
            text += (f"; the chosen runs read at the {_scoring(other_reading.name)} score "
                     f"{other_reading['test_dice_mean']:.4f}")
        target = RECIPE_TARGETS.get(model) if cfg.profile == "cpu" else None
        if target is not None:
            reached = "reached" if r["test_dice_mean"] >= target else "not reached"
            text += f". Target {target:.2f}: {reached} on {family}"
            other = _best_other_family(choice, model, r["family"] if isinstance(r.get("family"), str)
                                       else own_cpu(results), own_cpu(results))
            if other is not None:
                text += (f"; on {cpu_family(other['family'])} the best 3-seed recipe, \"{_recipe_words(other.name)}\", "
                         f"scores {format_mean_std(other['test_dice_mean'], other['test_dice_std'])}: "
                         + ("reached" if other["test_dice_mean"] >= target else "not reached"))
        out.append(text + ".")
    return out


def quoted_arms(sentences: list[str]) -> list[str]:
    """The arm names a text quotes ("crop-2x + mild-affine, 150 epochs" -> crop-2x + mild-affine): its glossary."""
    return [re.sub(r", \d+ epochs$", "", q) for s in sentences for q in re.findall(r'"([^"]+)"', s)]


def full_size_sentence(table: pd.DataFrame) -> str:
    """What the full-size figures (:func:`labseg.recipe_check.full_size_table`) say against the 128-px ones."""
    diff = table["difference"]
    low, high = f"{diff.min():+.4f}", f"{diff.max():+.4f}"
    moved = f"{low} dice" if low == high else f"between {low} and {high} dice"
    return (f"At each photo's own size these runs score {moved} from their 128-px figure ({len(table)} scored "
            f"checkpoint{'s' if len(table) > 1 else ''}). Two effects "
            "nearly cancel: the 128-px grid cannot hold thin structures such as ears, tails and the border band, "
            "while the bilinear resize of the logits places the outline between 128-px pixels. So the 128-px "
            "figures of this report are what a user of `labseg predict` or the app gets at the photo's own size.")


def _caveat_sentence(choice: pd.DataFrame) -> list[str]:
    if choice.empty:
        return []
    gap = family_gap(choice)
    text = ("Recipes are chosen on test dice, so a chosen recipe's score is optimistic: fresh seeds guard against a "
            "lucky seed, not against choosing on the test set")
    if gap is not None:
        text += (f"; and the CPU family alone moves one recipe's 3-seed mean by up to {gap[0]:.3f} dice "
                 f"(\"{_recipe_words(gap[1])}\" on both families), as much as many effects ranked here, so recipes "
                 "are ranked within one family; Section 3.4's baselines predate the CPU record, so its comparisons "
                 "may cross families")
    return [text + "."]


def abstract_sentences(runs: pd.DataFrame, results: str | Path, cfg: RunConfig) -> list[str]:
    """The abstract: the findings in sentences, every score with its CPU family and the checkpoint it was read from
    (best-by-validation or last epoch); every number is one of the report's tables'."""
    out = _data_sentence(results, cfg)
    if runs.empty:
        return out + ["No run of this study has finished yet: run notebooks 02-04 (`make report`) and render again."]
    choice = recipe_choice_table(results, cfg.epochs)
    return (out + _network_sentence(runs, cfg) + _bug_sentence(runs, results)
            + _recipe_sentences_abstract(results, cfg, choice) + _caveat_sentence(choice))


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
