"""Read-back by default, retraining only when asked: study.run under LABSEG_RETRAIN none|missing|all, the saved test
masks a prediction figure draws without a checkpoint, and the pipeline's options."""
import json
import os
import time

import numpy as np
import pandas as pd
import pytest

from labseg import figures, pipeline, study
from labseg.config import profile_config
from labseg.saved_masks import FILE, SavedMasksError, load_masks, save_masks


@pytest.fixture
def smoke_study(toy_root, tmp_path):
    cfg = profile_config("smoke", data=str(toy_root), out_dir=str(tmp_path / "results"), image_size=32, epochs=1,
                         width=4, train_subset=12, amp="off", channels_last=False)
    return study.Study.under(cfg)


def test_saved_masks_round_trip_and_a_bad_file_is_named(tmp_path):
    rng = np.random.default_rng(0)
    masks = rng.random((37, 24, 20)) > 0.5
    names = [f"img_{i}" for i in range(37)]
    save_masks(tmp_path / FILE, names, masks)
    back = load_masks(tmp_path / FILE)
    assert list(back) == names and all(np.array_equal(back[n], m) for n, m in zip(names, masks))
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(SavedMasksError, match="bad.png"):
        load_masks(tmp_path / "bad.png")


@pytest.mark.slow
def test_retrain_modes(smoke_study, monkeypatch):
    S = smoke_study
    monkeypatch.setenv(study.RETRAIN_ENV, "none")
    with pytest.raises(study.MissingRunError, match="RETRAIN=missing"):
        study.run(S, seed=0)
    assert study.run_if(True, S, seed=0) is None and not S.results.exists()  # nothing trained, nothing written

    monkeypatch.setenv(study.RETRAIN_ENV, "missing")
    made = study.run(S, seed=0)
    folder = S.run_dir(made["run"])
    masks = load_masks(folder / FILE)
    per_image = pd.read_csv(folder / "test_per_image.csv")
    assert list(masks) == per_image["name"].tolist()
    for name in ("best.pt", "last.pt"):  # a clone: the checkpoints are not committed
        (folder / name).unlink()
    stamp = (folder / "metrics.json").stat().st_mtime_ns

    monkeypatch.setenv(study.RETRAIN_ENV, "none")
    assert study.run(S, seed=0)["test_dice"] == made["test_dice"]
    assert study.tta_run(S, seed=0) == {}  # a score that needs the checkpoint is not made by training
    fig = figures.prediction_grid(study.masks_dir(S, made["run"]), per_image["name"][:2].tolist())
    assert len(fig.axes) == 8 and (folder / "metrics.json").stat().st_mtime_ns == stamp
    assert not (folder / "best.pt").exists()

    monkeypatch.setenv(study.RETRAIN_ENV, "all")
    since = time.time()
    os.utime(folder / "metrics.json", (since - 10, since - 10))  # made before this retrain began
    monkeypatch.setenv(study.RETRAIN_SINCE_ENV, str(since))
    again = study.run(S, seed=0)  # made again, once, and then read back
    assert (folder / "best.pt").is_file() and (folder / "metrics.json").stat().st_mtime >= since
    assert study.run(S, seed=0)["test_dice"] == again["test_dice"]
    assert "1 of 1 runs made" in study.retrain_progress(S, "next")


def test_masks_come_from_the_same_run_made_again_elsewhere(smoke_study, tmp_path):
    S = smoke_study
    name = "unet-hflip-s0"
    (S.run_dir(name)).mkdir(parents=True)
    with pytest.raises(study.MissingRunError, match="no saved test masks for unet-hflip-s0"):
        study.masks_dir(S, name)
    other = S.results.parent / "remade-elsewhere" / S.key / "runs" / name
    other.mkdir(parents=True)
    save_masks(other / FILE, ["a"], np.ones((1, 4, 4), bool))
    (other / "env.json").write_text(json.dumps({"cpu": "AMD EPYC (AVX512-BF16)"}))
    (other / "metrics.json").write_text(json.dumps({"test_dice": 0.5}))
    assert study.masks_dir(S, name) == other
    assert study.masks_note(S, other) == "the same run made again on AMD EPYC (AVX512-BF16), test dice 0.5000"
    assert study.masks_note(S, S.run_dir(name)) == ""


def test_encoder_cost_is_read_back(smoke_study, monkeypatch):
    S = smoke_study
    S.results.mkdir(parents=True)
    pd.DataFrame({"params": [1.0], "gflops": [2.0]}, index=["unet"]).to_csv(S.results / "encoder_cost.csv")
    monkeypatch.setenv(study.RETRAIN_ENV, "none")
    cost, where = study.encoder_cost(S, ["unet"])
    assert cost.loc["unet", "gflops"] == 2.0 and where.startswith("read back")


def test_pipeline_options():
    assert pipeline.notebooks_for("toy") == pipeline.CORE
    assert pipeline.notebooks_for("cpu") == pipeline.NOTEBOOKS
    assert pipeline.notebooks_for("cpu", "05_report,02_unet") == ("02_unet", "05_report")
    with pytest.raises(ValueError, match="unknown notebook '11_x'"):
        pipeline.notebooks_for("cpu", "11_x")
    assert pipeline.study_params("10_recipe", "nowhere-cpu", "results", "none") == {"train_missing": False}
    assert pipeline.study_params("02_unet", "x", "results", "all") == {}


@pytest.mark.parametrize("args, match", [(["--retrain", "some"], "--retrain some"),
                                         (["--data", "no/such/folder"], "--data no/such/folder"),
                                         (["--notebooks", "99_nope"], "unknown notebook")])
def test_pipeline_bad_options_get_one_line(args, match, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert pipeline.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]


def test_prediction_figures_keep_committed_figures_of_runs_without_masks(smoke_study, capsys):
    S = smoke_study
    S.run_dir("unet-hflip-s0").mkdir(parents=True)
    with pytest.raises(study.MissingRunError, match="no saved test masks"):  # nothing to keep: a clear error
        study.prediction_figures(S, "unet-hflip-s0", {"02_unet_worst12": ("t", lambda r: r["name"][:2])})
    S.figures.mkdir(parents=True)
    (S.figures / "02_unet_worst12.png").write_bytes(b"committed")
    assert study.prediction_figures(S, "unet-hflip-s0", {"02_unet_worst12": ("t", lambda r: r["name"][:2])}) is None
    assert "committed prediction figures stay" in capsys.readouterr().out
    assert (S.figures / "02_unet_worst12.png").read_bytes() == b"committed"


def test_the_pipeline_leaves_the_callers_environment_as_it_was(monkeypatch, tmp_path):
    """The retrain mode reaches the notebooks' kernels through the environment, and is taken back afterwards: a
    later `study.run` in the same process trains as before."""
    import os

    import papermill

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(study.RETRAIN_ENV, raising=False)
    seen = []
    monkeypatch.setattr(papermill, "execute_notebook", lambda *a, **kw: seen.append(os.environ[study.RETRAIN_ENV]))
    pipeline.run_pipeline("toy", notebooks=("02_unet",), document=False)
    assert seen == ["none"] and study.RETRAIN_ENV not in os.environ
