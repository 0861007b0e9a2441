"""`labseg study status` and `labseg study run --executor local` on a tiny study file: each run done, partial or
missing, the time left from recorded runs, and a resumed run trained with another thread count says so."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STUDY = '''title = "tiny"
profile = "smoke"
data = "{data}"
seeds = {seeds}
[p]
why = "a test"
[[p.arm]]
name = "hflip"
why = "one arm"
'''


def labseg(*args):
    return subprocess.run([sys.executable, "-m", "labseg", "study", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300, cwd=REPO)


def cut_after_one_epoch(data: Path, out: Path) -> None:
    """Seed 1 of the study trained with 2 threads and interrupted after its first epoch (a last.pt)."""
    import pytest
    import torch

    from labseg.config import profile_config
    from labseg.engine import train

    def stop(msg):
        if msg.startswith("epoch   1/"):
            raise KeyboardInterrupt

    threads = torch.get_num_threads()
    try:
        with pytest.raises(KeyboardInterrupt):
            train(profile_config("smoke", data=str(data), seed=1, threads=2, out_dir=str(out)), progress=False,
                  log=stop)
    finally:
        torch.set_num_threads(threads)


def test_status_and_a_resumed_run_with_another_thread_count(toy_root, tmp_path):
    one, three = tmp_path / "one.toml", tmp_path / "three.toml"
    one.write_text(STUDY.format(data=toy_root, seeds="[0]"))
    three.write_text(STUDY.format(data=toy_root, seeds="[0, 1, 2]"))
    out = str(tmp_path / "results")
    first = labseg("run", str(one), "--cpus-per-run", "2", "--out-dir", out)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1].startswith("done p/hflip s0: unet-hflip-s0: test dice ")
    runs = tmp_path / "results" / f"{toy_root.name}-smoke" / "runs"
    cut_after_one_epoch(toy_root, runs / "unet-hflip-s1")
    status = labseg("status", str(three), "--out-dir", out)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].startswith(f"three ({three}): 3 runs in {tmp_path / 'results'}") and \
        "1 done, 1 partial, 1 missing; time left about " in lines[0]
    assert lines[1].startswith("  done     p/hflip s0: unet-hflip-s0 (") and lines[1].endswith(" min, 2 threads)")
    assert lines[2].startswith("  partial  p/hflip s1: unet-hflip-s1 (~") and lines[2].endswith("left, 1/2 epochs)")
    assert lines[3].startswith("  missing  p/hflip s2: unet-hflip-s2 (~") and lines[3].endswith(" min left)")
    again = labseg("run", str(three), "--cpus-per-run", "1", "--out-dir", out)
    assert again.returncode == 0, again.stderr
    done = [line for line in again.stdout.splitlines() if line.startswith("done ")]
    assert len(done) == 2
    assert done[0].startswith("done p/hflip s1:") and done[0].endswith(
        "1 threads; trained with 1 threads, its earlier part with 2")
    assert done[1].startswith("done p/hflip s2:") and "earlier part" not in done[1]
    assert "3 done, 0 partial, 0 missing; time left about none" in labseg("status", str(three), "--out-dir", out).stdout


def test_an_unknown_study_is_one_line():
    out = labseg("status", "nosuchstudy")
    assert out.returncode == 2 and out.stderr.strip() == (
        "labseg study: error: study 'nosuchstudy': unknown; choose one of: augmentation, baselines, budget, encoders, "
        "losses, recipe, smoke (or all, or a .toml file)")


def test_derived_arms_read_the_recipe_of_the_folder_that_ran_studies_06_08(tmp_path, monkeypatch):
    """Runs for another CPU family (--out-dir results/amd-epyc) train the recipe the study file's own folder supports,
    unless their own folder ran 06-08 itself; an explicit folder wins."""
    import pandas as pd

    from labseg.study_runs import derived_settings, find_study, plan, recipe_source, study_of

    monkeypatch.chdir(tmp_path)
    study, studies = find_study("recipe")
    own = study_of(study).results  # results/oxford-pet-subset-cpu
    other = study_of(study, out_dir="results/amd-epyc")
    own.mkdir(parents=True)
    pd.DataFrame([{"arm": "constant", "seeds": 3, "test_dice_mean": 0.80, "test_dice_std": 0.004},
                  {"arm": "onecycle", "seeds": 3, "test_dice_mean": 0.84, "test_dice_std": 0.004}]).to_csv(
        own / "schedule_study.csv", index=False)
    assert recipe_source(study, other) == own
    assert derived_settings(studies, study, other)["factor_recipe"]["schedule"] == "onecycle"
    resnet = [r.name for r in plan(studies, study, other) if r.arm.startswith("resnet_recipe/08 recipe")]
    assert resnet and all("schedule-onecycle" in name for name in resnet)
    from labseg.cli_study import recipe_line

    assert recipe_line(studies, study, other) == (f"  arms built on budget/recipe/06-08 train the recipe of {own}'s "
                                                  "studies 06-08\n")
    assert recipe_line(*find_study("smoke")[::-1], study_of(find_study("smoke")[0])) == ""
    # the other folder ran 06-08 itself (here: none of its arms adopted): its own tables count
    other.results.mkdir(parents=True)
    pd.DataFrame([{"arm": "constant", "seeds": 3, "test_dice_mean": 0.80, "test_dice_std": 0.004}]).to_csv(
        other.results / "schedule_study.csv", index=False)
    assert recipe_source(study, other) == other.results
    assert derived_settings(studies, study, other)["factor_recipe"]["schedule"] == "constant"
    assert recipe_source(study, other, recipe_from=own) == own
