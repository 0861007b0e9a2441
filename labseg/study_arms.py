"""The study arms the notebooks and tables use, read from the study files (``labseg/studies/*.toml``, one record
per arm with what it changes and why): no arm is defined in Python."""
from __future__ import annotations

from .config import profile_config
from .study_files import load_studies, run_settings

# The arms of the studies live in the study files (labseg/studies/*.toml, one record per arm with its why); the
# names below are read from them, for the notebooks and the tables here.
STUDIES = load_studies()


SCHEDULE_ARMS = {name: dict(arm.sets) for name, arm in STUDIES["budget"].parts["schedule"].items()}


RECIPE_TARGETS = dict(STUDIES["recipe"].targets)


RECIPE_NEXT_TARGETS = dict(STUDIES["recipe"].next_targets)


RECIPE_MAX_SECONDS = STUDIES["recipe"].max_minutes * 60


_UNET_ARMS = STUDIES["recipe"].parts["recipe"]


STRONG_RECIPE = dict(_UNET_ARMS["strong"].sets)


RECIPE_ARMS = {name: STUDIES.changes(arm) for name, arm in _UNET_ARMS.items()}


RECIPE_COMBINATIONS = {name: (arm.base, *arm.adds) for name, arm in _UNET_ARMS.items() if arm.adds}


RECIPE_BUDGETS = {name: arm.budgets for name, arm in _UNET_ARMS.items() if arm.own_budgets}


RECIPE_BASES = {name: arm.base for name, arm in _UNET_ARMS.items()}


# the image size of the recipe study's profile: an arm's share of the image size (low_res_scale) is taken of it
RECIPE_IMAGE_SIZE = profile_config(STUDIES["recipe"].profile).image_size


def recipe_settings(arm: str, epochs: int, image_size: int = RECIPE_IMAGE_SIZE) -> dict:
    """The settings a run of UNet recipe arm ``arm`` trains with for ``epochs`` epochs at ``image_size`` px: the
    strong recipe, the arm's changes with its shares as fields (study_files.run_settings), and its epochs."""
    return {**run_settings({**STRONG_RECIPE, **RECIPE_ARMS[arm]}, epochs, image_size), "epochs": epochs}


_RESNET_ARMS = STUDIES["recipe"].parts["resnet_recipe"]


RESNET_RECIPE_ARMS = {name: (STUDIES.root(arm).name, STUDIES.changes(arm)) for name, arm in _RESNET_ARMS.items()}


RESNET_RECIPE_BUDGETS = {name: arm.budgets for name, arm in _RESNET_ARMS.items() if arm.own_budgets}


def resnet_recipe_settings(arm: str, base: dict, epochs: int | None = None,
                           image_size: int = RECIPE_IMAGE_SIZE) -> dict:
    """The settings of one of :data:`RESNET_RECIPE_ARMS` (``base``: :func:`factor_recipe`'s recipe) trained for
    ``epochs`` (needed by an averaging arm only, whose phase is its ``swa_share`` of them) at ``image_size`` px,
    its shares as fields (study_files.run_settings)."""
    start, changes = RESNET_RECIPE_ARMS[arm]
    return run_settings({**(STRONG_RECIPE if start == "strong" else base), **changes}, epochs, image_size)
