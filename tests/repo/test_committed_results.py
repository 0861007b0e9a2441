"""The committed results agree with the code that made them: every committed run is an arm and seed of a study
file (or one of 10's fresh seeds), and the cpu-best profile holds the recipes that recipe_choice chooses from the
committed tables."""
from pathlib import Path

import pytest

from labseg import recipe_choice, results
from labseg.study_files import load_studies

REPO = Path(__file__).resolve().parents[2]


def test_the_factor_recipe_is_the_cpu_best_profiles_own():
    """The 06-08 recipe (recipe_choice.recipe_summary on the committed real-subset tables) is the cpu-best profile's own
    settings, what a network without settings of its own in PROFILE_MODELS trains with (the UNet's and the
    ResNet34-UNet's are chosen across more studies: the test below)."""
    from labseg.config import PROFILE_MODELS, RunConfig, profile_config

    committed = Path(__file__).resolve().parents[2] / "results" / "oxford-pet-subset-cpu"
    if not (committed / "budget_study.csv").is_file():
        pytest.skip("the budget study (08) has not been committed for the real subset")
    best, why, table = recipe_choice.recipe_summary(committed, profile_config("cpu"))
    assert "vgg16_bn_unet" not in PROFILE_MODELS["cpu-best"]
    profile = profile_config("cpu-best", model="vgg16_bn_unet")
    changed = [f for f in ("image_size", "width", "batch_size", "repeats", *results.FACTORS)
               if getattr(best, f) != getattr(profile, f)]
    assert not changed, (changed, why)
    assert profile.schedule != RunConfig().schedule or profile.epochs != profile_config("cpu").epochs
    assert set(table.index) == {"unet", "resnet34_unet"}


def test_the_cpu_best_profile_is_each_models_best_recipe():
    """cpu-best (with its settings per model) = recipe_choice.best_recipe on the committed real-subset tables, for both
    models of the report."""
    from labseg.config import profile_config

    committed = Path(__file__).resolve().parents[2] / "results" / "oxford-pet-subset-cpu"
    if not (committed / "budget_study.csv").is_file():
        pytest.skip("the budget study (08) has not been committed for the real subset")
    for model in ("unet", "resnet34_unet"):
        recipe, why = recipe_choice.best_recipe(committed, model, profile_epochs=profile_config("cpu").epochs)
        assert recipe is not None, why
        profile = profile_config("cpu-best", model=model)
        expected = profile_config("cpu", model=model, **recipe)
        changed = [f for f in ("image_size", "width", "batch_size", "repeats", *results.FACTORS)
                   if getattr(expected, f) != getattr(profile, f)]
        assert not changed, (model, changed, why)


# Runs of 10's fresh-seed cell: seeds 3-5 of the recipe recipe_choice.best_recipe chose from the results (the UNet's
# "crop-2x + mild-affine" at 6x; on AMD EPYC "... + adamw-wd-0.05 + swa" at 0.3x, then at 0.5x). The choice is
# made from the results, so no study file lists them; nor does it list the fresh seed 3 of the candidate closest to
# the next target (the combination at 190 epochs, 0.0001 short on seeds 0-2), run to see whether it holds beyond
# them. Everything else committed is an arm + seed of a file.
FRESH_SEED_RUNS = {
    "results": [f"unet-hflip-augment-all-optimizer-adamw-weight_decay-0.01-schedule-cosine-warmup_epochs-2-epochs-150-"
                f"affine_p-0.5-affine_shift-0.05-augment_source-2x-s{s}" for s in (3, 4, 5)],
    "results/amd-epyc": [f"resnet34_unet-hflip-augment-rotate-optimizer-adamw-weight_decay-0.05-schedule-onecycle-"
                         f"epochs-75-swa_epochs-15-swa_lr-{lr}-affine_p-0.5-affine_shift-0.05-s{s}"
                         for lr in ("0.3", "0.5") for s in (3, 4, 5)]
    + [f"unet-hflip-augment-all-optimizer-adamw-weight_decay-0.01-schedule-cosine-warmup_epochs-2-epochs-150-"
       f"affine_p-0.5-affine_shift-0.05-augment_source-2x-s{s}" for s in (3, 4, 5)]
    + ["unet-hflip-augment-all-optimizer-adamw-weight_decay-0.01-schedule-cosine-warmup_epochs-2-epochs-190-"
       "affine_p-0.5-affine_shift-0.05-augment_source-2x-deep_supervision-0.4-low_res-96-low_res_share-0.6-s3"]}


@pytest.mark.parametrize("out_dir", ["results", "results/amd-epyc"])
def test_every_committed_run_is_an_arm_and_seed_of_a_study_file(out_dir, monkeypatch):
    from labseg.study_runs import plan, study_of

    monkeypatch.chdir(REPO)
    studies = load_studies()
    planned = {}
    for st in studies.values():
        if st.profile == "cpu":  # the derived arms read 06-08's recipe from the file's own folder (results/)
            planned.update({r.name: r for r in plan(studies, st, study_of(st, out_dir=out_dir))})
    runs = REPO / out_dir / "oxford-pet-subset-cpu" / "runs"
    committed = sorted(p.name for p in runs.iterdir() if (p / "metrics.json").is_file())
    assert len(committed) > 20
    unplanned = [c for c in committed if c not in planned]  # fresh seeds are run as they finish, one at a time
    assert unplanned and set(unplanned) <= set(FRESH_SEED_RUNS[out_dir])
    assert all(planned[c].state == "done" for c in committed if c in planned)
