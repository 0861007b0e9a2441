"""The study arms the notebooks and tables use, read from the study files (``labseg/studies/*.toml``, one record
per arm with what it changes and why): no arm is defined in Python."""
from __future__ import annotations

from .study_files import load_studies

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


_RESNET_ARMS = STUDIES["recipe"].parts["resnet_recipe"]


RESNET_RECIPE_ARMS = {name: (STUDIES.root(arm).name, STUDIES.changes(arm)) for name, arm in _RESNET_ARMS.items()}


RESNET_RECIPE_BUDGETS = {name: arm.budgets for name, arm in _RESNET_ARMS.items() if arm.own_budgets}


SWA_SHARE = next(changes["swa_share"] for _, changes in RESNET_RECIPE_ARMS.values() if "swa_share" in changes)


def resnet_recipe_settings(arm: str, base: dict, epochs: int | None = None) -> dict:
    """The settings of one of :data:`RESNET_RECIPE_ARMS` (``base``: :func:`factor_recipe`'s recipe) trained for
    ``epochs`` (needed by an averaging arm only, whose phase is its ``swa_share`` of them)."""
    start, changes = RESNET_RECIPE_ARMS[arm]
    settings = {**(STRONG_RECIPE if start == "strong" else base), **changes}
    share = settings.pop("swa_share", None)
    if share is not None:
        if epochs is None:
            raise ValueError(f"{arm}: its averaging phase is a share of the epochs; pass epochs")
        settings["swa_epochs"] = round(share * epochs)
    return settings
