"""Runs of an experiment series: train if needed. A finished run with the same settings is read back, an
interrupted one resumes, a new one starts; a finished run whose checkpoints are gone is trained again aside and
replaces its files only once it has finished."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from .config import RunConfig
from .engine import finish, train
from .models import canonical_model_name
from .run_folder import FINISH_FILES, RUN_FILES, RUN_FOLDERS, settings_diff


def run_experiment(cfg: RunConfig, progress: bool = False, log=print, need_checkpoint: bool = True) -> dict[str, Any]:
    """Train-if-needed, for experiment series: a finished run with the same config is read back,
    an interrupted one resumes from last.pt, a new one starts. Each run's results land as it ends.

    A finished run whose checkpoints are gone (a fresh clone holds only the small result files) is
    trained again, so that the figures drawn from its predictions can be made; with
    ``need_checkpoint=False`` (a caller that reads only metrics and histories) it is read back. The new
    training goes to a folder aside (:data:`RETRAIN_FOLDER` inside the run's folder, resumable there) and
    replaces the run's files only once it has finished: an interrupted retrain leaves the committed
    results as they were."""
    out = Path(cfg.out_dir)
    done = out / "metrics.json"
    if done.is_file() and (out / "config.json").is_file():
        diff = settings_diff(json.loads((out / "config.json").read_text()),
                             cfg.replace(model=canonical_model_name(cfg.model)))
        if diff:
            raise FileExistsError(f"{out} holds a finished run with other settings ({', '.join(diff)}); "
                                  "delete it or choose another out_dir.")
        if (out / "best.pt").is_file() or not need_checkpoint:
            return json.loads(done.read_text())
        return retrain_aside(cfg, progress, log)
    return train(cfg, resume=True, progress=progress, log=log)


# Where run_experiment trains a finished run again (its checkpoints gone) before the new files replace the old.
RETRAIN_FOLDER = ".retrain"


def retrain_aside(cfg: RunConfig, progress: bool, log) -> dict[str, Any]:
    """Train the finished run of ``cfg`` again in ``<run>/.retrain`` (resuming one cut off there), then move its
    files over the run's own and score it in place; the run's other files (caches beside it) are kept."""
    out = Path(cfg.out_dir)
    aside = out / RETRAIN_FOLDER
    train(cfg.replace(out_dir=str(aside)), resume=True, progress=progress, log=log)
    for name in RUN_FOLDERS:
        if (aside / name).exists():
            shutil.rmtree(out / name, ignore_errors=True)
            os.replace(aside / name, out / name)
    for name in RUN_FILES:  # the training's files; config.json is written afresh and finish() below writes the rest
        if name not in ("config.json", *FINISH_FILES):
            os.replace(aside / name, out / name)
    cfg.save(out / "config.json")
    shutil.rmtree(aside)
    return finish(cfg, log=log)
