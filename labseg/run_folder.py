"""The run folder: which settings shape a run (a run is resumed or read back only with equal ones), the record of
the machine it ran on (env.json), the files a run writes, and the checks before a run may write into a folder."""
from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

from .config import RunConfig
from .device import cpu_name
from .outputs import check_output_dir
from .saved_masks import FILE as MASKS_FILE
from .tensorboard_log import FOLDER as TB_FOLDER

# Where a run executes, not what it computes: a run may be resumed or read back with other values.
NOT_RUN_SHAPING = ("device", "num_workers", "cache_dir", "out_dir", "threads", "tensorboard")


def settings_diff(saved: dict[str, Any], cfg: RunConfig) -> list[str]:
    """Names of the run-shaping fields in which a saved config differs from ``cfg``. A field the saved
    config does not have (it was written before the field existed) counts as that field's default."""
    mine, default = cfg.to_dict(), RunConfig().to_dict()
    saved = dict(saved)
    if Path(str(saved.get("data", ""))).name == Path(cfg.data).name:  # the same data elsewhere (a study's key is the
        saved["data"] = cfg.data                                        # data folder's name): e.g. a fresh download
    return sorted(k for k in mine if k not in NOT_RUN_SHAPING and saved.get(k, default[k]) != mine[k])


def environment() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    import PIL

    # Pillow decodes and resizes every image: another version gives other pixels, so it is part of a run's record
    return {"torch": torch.__version__, "pillow": PIL.__version__, "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu": cpu_name(), "cpu_threads": torch.get_num_threads(), "git_commit": commit,
            "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)


# Files a run writes into its folder; --overwrite removes exactly these (and nothing else the folder holds).
RUN_FILES = ("config.json", "env.json", "history.csv", "best.pt", "last.pt", "metrics.json", "test_per_image.csv",
             MASKS_FILE)
RUN_FOLDERS = (TB_FOLDER,)
# of RUN_FILES, those finish() writes (metrics.json last)
FINISH_FILES = ("metrics.json", "test_per_image.csv", MASKS_FILE)


def check_run_folder(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse an --out that cannot hold a run, or that holds one the user did not ask to continue or replace."""
    check_output_dir(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a folder; choose another --out.")
    if (out / "last.pt").exists() and not (resume or overwrite):
        raise FileExistsError(f"{out} already holds a run (last.pt). Pass --resume to continue it, "
                              "--overwrite to replace it, or choose another --out.")
