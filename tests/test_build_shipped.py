"""`python -m labseg.tools.build_shipped`: the checkpoint the run's ``select`` scores, its figures at both sizes, the
committed run it reproduces only where the numbers are equal, and one line for a folder it cannot use."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from labseg.checkpoint import CheckpointError
from labseg.shipped import card
from labseg.tools.build_shipped import REPO, build, main, results_folder


@pytest.fixture(scope="module")
def last_run(tmp_path_factory, toy_root):
    """A toy run that scores its last epoch (select last), as cpu-best's UNet does."""
    from labseg.config import profile_config
    from labseg.engine import train

    out = tmp_path_factory.mktemp("shipped") / "run"
    cfg = profile_config("smoke", data=str(toy_root), out_dir=str(out), epochs=3, width=4, image_size=40,
                         train_subset=8, select="last")
    train(cfg, progress=False, log=lambda m: None)
    return out


@pytest.mark.slow
def test_build_ships_the_checkpoint_the_run_selects_with_its_figures(last_run, tmp_path):
    committed = tmp_path / "results" / "committed-run"
    shutil.copytree(last_run, committed, ignore=shutil.ignore_patterns("*.pt", "tensorboard"))
    build(last_run, tmp_path / "shipped.pt", committed / "metrics.json")
    shipped = torch.load(tmp_path / "shipped.pt", weights_only=True)
    last = torch.load(last_run / "last.pt", weights_only=True)
    assert shipped["epoch"] == last["epoch"] == 3 and shipped["config"]["select"] == "last"
    assert all(torch.equal(shipped["model"][k], v.half() if v.is_floating_point() else v)
               for k, v in last["model"].items())
    p, metrics = shipped["provenance"], json.loads((last_run / "metrics.json").read_text())
    assert p["checkpoint"] == "last epoch (3)" and p["test_dice"] == metrics["test_dice"]
    kept = json.loads((last_run / "metrics_fullsize.json").read_text())
    assert p["fullsize_test_dice"] == kept["last_fullsize_test_dice"] and kept["last_epoch"] == 3
    assert p["run"] == "committed-run" and p["results"] == committed.as_posix()
    assert f"test dice {p['test_dice']:.4f} ({p['fullsize_test_dice']:.4f} at each photo's own size)" in card(shipped)
    assert abs(p["fp16_fullsize_test_dice"] - p["fullsize_test_dice"]) < 0.02  # fp16 weights, the same masks nearly
    # the committed run's test dice differs in its last digit: no claim that the build reproduces it
    (committed / "metrics.json").write_text(json.dumps({**metrics, "test_dice": metrics["test_dice"] + 1e-12}))
    build(last_run, tmp_path / "other.pt", committed / "metrics.json")
    other = torch.load(tmp_path / "other.pt", weights_only=True)["provenance"]
    assert "reproduces" not in other and other["run"] == last_run.name and "results" not in other


def test_a_run_under_the_repositorys_results_is_named_by_its_folder(tmp_path):
    run = REPO / "results" / "amd-epyc" / "oxford-pet-subset-cpu" / "runs" / "unet-s3"
    assert results_folder(run) == {"results": "results/amd-epyc/oxford-pet-subset-cpu/runs/unet-s3"}
    assert results_folder(tmp_path / "results" / "run") == {} and results_folder(REPO / "resultsx" / "run") == {}


@pytest.mark.slow
def test_build_refuses_what_the_run_did_not_score_in_one_line(last_run, tmp_path, capsys):
    with pytest.raises(CheckpointError, match="scored last.pt"):
        build(last_run, tmp_path / "x.pt", checkpoint="best")
    assert main([str(tmp_path), "--out", str(tmp_path / "x.pt")]) == 2
    assert capsys.readouterr().err.strip().endswith("holds no config.json: give the folder of a finished run "
                                                    "(labseg train --out FOLDER).")
    none = str(tmp_path / "none.json")
    assert main([str(last_run), "--reproduces", none, "--out", str(tmp_path / "x.pt")]) == 2
    assert "--reproduces" in capsys.readouterr().err
    assert not (tmp_path / "x.pt").exists()
