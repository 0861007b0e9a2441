"""Root pytest configuration.

When pytest runs the notebooks under nbval, they must run on the smoke profile and write into a
temporary folder, never into the committed results/ and figures/. labseg.study.setup reads these
overrides from LABSEG_NOTEBOOK_OVERRIDES (set here unless the caller set it already).
"""
import json
import os
import tempfile
from pathlib import Path


def pytest_configure(config):
    if "LABSEG_NOTEBOOK_OVERRIDES" not in os.environ:
        tmp = Path(tempfile.mkdtemp(prefix="labseg-nbval-"))
        os.environ["LABSEG_NOTEBOOK_OVERRIDES"] = json.dumps(
            {"profile": "smoke", "data": str(tmp / "toy-pets"), "out_dir": str(tmp / "results"), "repeats": 1})
    os.environ.setdefault("LABSEG_CACHE_DIR", str(Path(tempfile.gettempdir()) / "labseg-test-cache"))
    os.environ.setdefault("MPLBACKEND", "Agg")
