"""The trained model that ships with labseg: `labseg predict photos/` and `labseg app` use it when no checkpoint is
given, so a reader can try the network on their own photo without training first.

The file (``labseg/assets/<name>.pt``) is a labseg checkpoint whose weights are stored in fp16 (half the size;
``build`` scores the fp16 weights on the test split beside the fp32 ones, at 128 px and at each photo's own size,
and records them, and the share of test pixels whose mask differs, in the file's provenance); loading it checks its
SHA-256 against the value written here and turns the weights back into fp32. ``python -m labseg.tools.build_shipped
RUN_DIR`` (:mod:`labseg.tools.build_shipped`) makes such a file from a finished run.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from .checkpoint import CheckpointError

ASSETS = Path(__file__).resolve().parent / "assets"
# name -> (file under labseg/assets, its SHA-256)
SHIPPED = {
    "unet": ("unet-cpu-best-s3.pt", "3454f0e4ed38e3e46fde7027c03aeddb078c56cb07a3d57f29eeaf64f3943e2f"),
}
DEFAULT = "unet"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def shipped_path(name: str = DEFAULT) -> Path:
    if name not in SHIPPED:
        raise CheckpointError(f"no shipped model {name!r}; shipped: {', '.join(SHIPPED)}.")
    return ASSETS / SHIPPED[name][0]


def load_shipped(name: str = DEFAULT, path: Path | None = None, expected: str | None = None) -> dict:
    """The shipped checkpoint as a labseg checkpoint dict (fp32 weights), after its SHA-256 is checked."""
    import torch

    path = Path(path) if path is not None else shipped_path(name)
    expected = expected or SHIPPED[name][1]
    if not path.is_file():
        raise CheckpointError(f"the shipped model {path} is missing; reinstall labseg (pip install -e .) or pass a "
                              "checkpoint of your own.")
    digest = sha256(path)
    if digest != expected:
        raise CheckpointError(f"{path} does not match its SHA-256 ({digest[:12]}... instead of {expected[:12]}...): "
                              "the file is damaged or was replaced; restore it (git checkout -- "
                              f"{path.name}) or pass a checkpoint of your own.")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    ckpt["model"] = {k: v.float() if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    return ckpt


def card(ckpt: dict) -> str:
    """One line that says what the shipped model is (the CLI prints it; the app shows it with more)."""
    p = ckpt.get("provenance", {})
    full = f" ({p['fullsize_test_dice']:.4f} at each photo's own size)" if p.get("fullsize_test_dice") else ""
    return (f"the shipped {p.get('model_name', 'model')} ({p.get('parameters', 0):,} parameters, trained on "
            f"{p.get('data', '?')} at {p.get('image_size', '?')} px, test dice {p.get('test_dice', float('nan')):.4f}"
            f"{full}; run {p.get('run', '?')}, labseg {p.get('commit', '?')}, {p.get('cpu', '?')})")
