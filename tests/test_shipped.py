"""The UNet that ships in labseg/assets (labseg.shipped): checked against its checksum on load, its card's test
dice the committed run's own."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_the_shipped_model_is_checked_against_its_checksum(tmp_path):
    from labseg.checkpoint import CheckpointError
    from labseg.shipped import SHIPPED, card, load_shipped, sha256, shipped_path

    path = shipped_path()
    assert sha256(path) == SHIPPED["unet"][1]
    ckpt = load_shipped()
    assert all(v.dtype.is_floating_point is False or v.dtype == __import__("torch").float32
               for v in ckpt["model"].values())
    # the card's figure is the committed run's own test dice: results/[<cpu family>/]<study>/runs/<run>/, the folder
    # the build names ("results"; files built before it named only the run, in results/oxford-pet-subset-cpu)
    provenance = ckpt["provenance"]
    committed = REPO / provenance.get("results", f"results/oxford-pet-subset-cpu/runs/{provenance['run']}")
    last = ckpt["config"].get("select") == "last"  # built from last.pt (a recipe with --select last)
    scores = json.loads((committed / "metrics.json").read_text())
    if last and scores.get("selected") != "last":  # a study run scored best.pt there; its last epoch apart
        scores = {"test_dice": json.loads((committed / "metrics_last.json").read_text())["last_test_dice"]}
    assert f"test dice {scores['test_dice']:.4f}" in card(ckpt) and provenance["fp16_mask_pixels_differing"] < 0.001
    assert provenance["test_dice"] == scores["test_dice"] and committed.name == provenance["run"]
    damaged = tmp_path / path.name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its SHA-256"):
        load_shipped(path=damaged)
    with pytest.raises(CheckpointError, match="missing"):
        load_shipped(path=tmp_path / "gone.pt")
