"""Finished runs written by hand (nothing is trained): the files a study reads back (config.json, metrics.json,
env.json, history.csv and the flip-TTA / last-epoch caches), for the tests of the notebooks' modules."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from labseg import study
from labseg.config import profile_config
from labseg.models import canonical_model_name

REPO = Path(__file__).resolve().parents[1]


def cpu_study(root: Path, out_dir: str | Path | None = None, **changes) -> study.Study:
    """A study of the cpu profile (3 seeds, 25 epochs) on data named 'oxford-pet-subset', under ``out_dir``
    (default: ``root/results``); nothing is created."""
    cfg = profile_config("cpu", data=str(root / "oxford-pet-subset"), out_dir=str(out_dir or root / "results"),
                         **changes)
    return study.Study.under(cfg)


def committed_study(tmp_path: Path, machine: str = "") -> study.Study:
    """The committed real-data study (results/ or results/<machine>/), read back only."""
    return cpu_study(tmp_path, REPO / "results" / machine if machine else REPO / "results")


def write_run(st: study.Study, seed: int, dice: float, seconds: tuple = (10.0,) * 9 + (30.0,), tta: float | None = None,
              last: float | None = None, last_tta: float | None = None, cpu: str = "Test CPU", best_epoch: int = 20,
              train_seconds: float = 100.0, **changes) -> str:
    """One finished run of ``st`` with ``changes`` (as study.run names it): test dice ``dice`` (IoU dice - 0.1),
    one history row per epoch second of ``seconds``, and the caches of its flip-TTA and last-epoch scores where
    given. Returns the run's name."""
    name = study.name(st, seed=seed, **changes)
    cfg = st.cfg.replace(repeats=1, seed=seed, **changes)
    cfg = cfg.replace(model=canonical_model_name(cfg.model))
    folder = st.run_dir(name)
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(cfg.to_dict()))
    (folder / "env.json").write_text(json.dumps({"cpu": cpu, "device": "cpu", "bf16": True, "torch": "2.x",
                                                 "cpu_threads": 2, "git_commit": "abc1234"}))
    (folder / "metrics.json").write_text(json.dumps({
        "test_dice": dice, "test_iou": dice - 0.1, "test_pixel_acc": 0.9, "best_epoch": best_epoch,
        "train_seconds": train_seconds}))
    pd.DataFrame({"epoch": range(1, len(seconds) + 1), "seconds": seconds,
                  "train_images_per_s": [50.0] * len(seconds)}).to_csv(folder / "history.csv", index=False)
    if tta is not None:
        (folder / "metrics_tta.json").write_text(json.dumps({"run": name, "test_dice": dice, "tta_test_dice": tta}))
    if last is not None:
        (folder / "metrics_last.json").write_text(json.dumps({"run": name, "test_dice": dice, "last_test_dice": last,
                                                              "last_tta_test_dice": last_tta}))
    return name
