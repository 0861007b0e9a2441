from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_SUBSET = Path(os.environ.get("LABSEG_REAL_SUBSET", REPO.parent / "shared" / "data" / "oxford-pet-subset"))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes its decoded-data cache under pytest's temp folder, never in ~/.cache."""
    monkeypatch.setenv("LABSEG_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory) -> Path:
    """A small toy-pets set (3 breeds x 20 images: 30 trainval, 30 test), written once per session."""
    from labseg.synthetic import write_toy_pets

    return write_toy_pets(tmp_path_factory.mktemp("toy") / "toy-pets", per_breed=20)


@pytest.fixture
def real_root() -> Path:
    if not (REAL_SUBSET / "annotations" / "trainval.txt").is_file():
        pytest.skip(f"real Oxford-IIIT Pet subset not found at {REAL_SUBSET}")
    return REAL_SUBSET


@pytest.fixture
def real_root_or_none() -> Path | None:
    """The real subset where it is present, else None (for tests that use it only when they can)."""
    return REAL_SUBSET if (REAL_SUBSET / "annotations" / "trainval.txt").is_file() else None

