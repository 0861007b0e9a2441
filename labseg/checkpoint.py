"""Checkpoints: state dicts plus the run's config, written atomically and read with ``weights_only``.

Every way a file can fail to be a usable labseg checkpoint gets one message that names the file,
says what it is instead, and what to do.
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .config import RunConfig
from .errors import CheckpointError  # noqa: F401 - raised here, caught by the CLI
from .models import build_model

CHECKPOINT_FORMAT = "labseg-checkpoint-v1"


def save_checkpoint(path: str | Path, **payload) -> None:
    """Write a state-dict checkpoint atomically (temp file + rename): a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save({"format": CHECKPOINT_FORMAT, **payload}, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def checkpoint_path(path: str | Path) -> Path:
    """A run folder means its best.pt; raise a CheckpointError if there is no such file."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.is_file():
        raise CheckpointError(f"Checkpoint not found: {path}. Train one with `labseg train --out DIR` "
                              "and pass DIR/best.pt (or DIR).")
    return path


def _what_file_is(path: Path) -> str | None:
    """Why ``path`` cannot be a torch.save file, judged from its bytes (None: it could be one)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not head:
        return "is empty (0 bytes)"
    if head[:2] == b"PK":
        return None if zipfile.is_zipfile(path) else "is truncated (an incomplete PyTorch zip archive)"
    if head[:1] == b"\x80":  # a legacy (pre-1.6) torch.save / plain pickle stream
        return None
    return "is not a PyTorch file (its first bytes are neither a zip archive nor a pickle)"


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a labseg checkpoint with ``weights_only=True``; every failure names the file and the fix."""
    path = checkpoint_path(path)
    problem = _what_file_is(path)
    if problem:
        raise CheckpointError(f"{path} {problem}. Re-run training, or copy the file again.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        text = str(exc)
        if "Unsupported global" in text or "GLOBAL" in text or "Unsupported operand" in text:
            raise CheckpointError(
                f"{path} holds pickled Python objects (e.g. a whole model saved with torch.save(model)), "
                "which labseg does not unpickle because that can run arbitrary code. Load it in the code "
                "that wrote it and save model.state_dict() instead.") from None
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(exc).__name__}); it may be truncated "
                              "or damaged. Re-run training, or copy the file again.") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is a PyTorch file but not a labseg checkpoint (no '{CHECKPOINT_FORMAT}' "
                              "marker); it may be a bare state dict. labseg checkpoints come from `labseg train`.")
    if not isinstance(ckpt.get("model"), dict) or not isinstance(ckpt.get("config"), dict):
        raise CheckpointError(f"{path} is a labseg checkpoint without its weights or config (damaged); "
                              "re-run training.")
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any], path: str | Path = "checkpoint") -> tuple[nn.Module, RunConfig]:
    """The network a checkpoint describes, with its weights loaded, and the run's config."""
    try:
        cfg = RunConfig.from_dict(ckpt["config"])
        options = cfg.model_options()
        options.pop("pretrained", None)  # the weights come from the checkpoint itself
        model = build_model(cfg.model, **options)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: its config cannot be used by this labseg version ({exc}); "
                              "re-train with this version or use the labseg that wrote it.") from None
    try:
        model.load_state_dict(ckpt["model"], strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: its weights do not fit a {cfg.model} model "
                              f"({str(exc).splitlines()[0]}).") from None
    return model, cfg
