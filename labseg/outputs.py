"""Checks on the paths a command will write, made before anything is computed or written, so that a
bad path costs nothing and leaves nothing behind."""
from __future__ import annotations

import os
from pathlib import Path


def check_output_dir(out: Path, option: str = "--out") -> None:
    """Refuse an output folder that cannot be made, before anything is computed or written."""
    probe = out
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ValueError(f"{option} {out}: {probe} is a file, not a folder; choose another {option}.")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {out}: {probe} is not writable; choose another {option}.")


def check_new_file(path: str, option: str, overwrite: bool, also: str = "") -> None:
    """A file the command will write: its folder must exist, and an existing file is kept unless overwrite."""
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{option} {path} is a folder; give a file name.")
    if not target.parent.is_dir():
        raise ValueError(f"{option} {path}: folder {target.parent} does not exist; create it or choose another path.")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{option} {path} already exists; pass --overwrite to replace it{also}, "
                              "or choose another path.")
