"""Root pytest configuration.

When pytest runs the notebooks under nbval, they must run on the smoke profile and write into a
temporary folder, never into the committed results/ and figures/. labseg.study.setup reads these
overrides from LABSEG_NOTEBOOK_OVERRIDES (set here unless the caller set it already).

The temporary folder holds the smoke runs' checkpoints (hundreds of MB with the ResNet34-UNet), so
it is removed when pytest ends; a caller who sets LABSEG_NOTEBOOK_OVERRIDES owns their own folder.
"""
import json
import os
import shutil
import tempfile
from pathlib import Path

_OWN_TMP = None


def pytest_configure(config):
    global _OWN_TMP
    if "LABSEG_NOTEBOOK_OVERRIDES" not in os.environ:
        _OWN_TMP = Path(tempfile.mkdtemp(prefix="labseg-nbval-"))
        os.environ["LABSEG_NOTEBOOK_OVERRIDES"] = json.dumps(
            {"profile": "smoke", "data": str(_OWN_TMP / "toy-pets"), "out_dir": str(_OWN_TMP / "results"),
             "repeats": 1})
    os.environ.setdefault("LABSEG_CACHE_DIR", str(Path(tempfile.gettempdir()) / "labseg-test-cache"))
    os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_unconfigure(config):
    global _OWN_TMP
    if _OWN_TMP is not None:
        shutil.rmtree(_OWN_TMP, ignore_errors=True)
        os.environ.pop("LABSEG_NOTEBOOK_OVERRIDES", None)
        _OWN_TMP = None
