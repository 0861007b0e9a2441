"""The studies as the notebooks run them (labseg.study): where a study lies, its arms, another CPU family's results;
read-back by default and retraining only when asked (LABSEG_RETRAIN none|missing|all); the last epoch's scores."""
import json
import os
import time

import numpy as np
import pandas as pd
import pytest

from labseg import figures, study
from labseg.config import profile_config
from labseg.saved_masks import FILE, load_masks, save_masks


def test_select_arms_keeps_the_studys_order_and_refuses_unknown_names():
    known = {"strong": {}, "fp32": {"amp": "off"}, "crop-2x": {"augment_source": "2x"}}
    assert study.select_arms(None, known) == known
    assert list(study.select_arms(["crop-2x", "strong"], known)) == ["strong", "crop-2x"]
    with pytest.raises(ValueError, match="unknown arm 'fp16'; choose from: strong, fp32, crop-2x"):
        study.select_arms(["strong", "fp16"], known)
    with pytest.raises(ValueError, match="give a list of arm names"):
        study.select_arms("strong", known)


def test_a_study_lies_under_its_out_dir_named_by_data_and_profile(tmp_path):
    cfg = study.profile_config("cpu", data=str(tmp_path / "data" / "pets"), out_dir=str(tmp_path / "results"))
    S = study.Study.under(cfg)
    assert (S.results, S.figures, S.key) == (tmp_path / "results" / "pets-cpu", tmp_path / "figures" / "pets-cpu",
                                             "pets-cpu")
    assert S.run_dir("unet-hflip-s0") == tmp_path / "results" / "pets-cpu" / "runs" / "unet-hflip-s0"
    assert not (tmp_path / "results").exists() and not (tmp_path / "figures").exists()  # nothing created


def test_other_study_reads_another_results_folder_and_refuses_a_missing_one(tmp_path):
    S = study.Study.under(study.profile_config("cpu", data=str(tmp_path / "pets"), out_dir=str(tmp_path / "results")))
    assert study.other_study(None, S) is None
    other = tmp_path / "results" / "amd-epyc"
    with pytest.raises(ValueError, match=r"other_cpu = .*amd-epyc.*not a folder here"):
        study.other_study(str(other), S)
    assert not other.exists()  # nothing created
    other.mkdir(parents=True)
    S2 = study.other_study(str(other), S)
    assert S2.results == other / "pets-cpu" and S2.key == S.key and S2.cfg.out_dir == str(other)
    assert not S2.results.exists()  # read back only: no folder made


@pytest.mark.slow
def test_the_last_epoch_scores_of_a_study_run_are_those_of_select_last(toy_root, tmp_path, monkeypatch):
    """study.last_epoch_run scores a run's last.pt, plain and with flip TTA, without training it again: the plain
    figure is the test dice of the same run trained with --select last; an older cache without the TTA figure is
    completed, not trusted."""
    import json

    from labseg import study
    from labseg.batches import load_datasets
    from labseg.checkpoint import load_checkpoint, model_from_checkpoint
    from labseg.engine import evaluate, train

    monkeypatch.delenv("LABSEG_NOTEBOOK_OVERRIDES", raising=False)  # this study's own parameters, not nbval's
    small = dict(image_size=40, epochs=3, width=4, batch_size=6, train_subset=14, amp="off")
    S = study.setup(profile="smoke", data=str(toy_root), out_dir=str(tmp_path / "results"), **small)
    last = study.last_epoch_run(S)
    cfg = profile_config("smoke", data=str(toy_root), out_dir=str(tmp_path / "again"), select="last", **small)
    assert last["last_test_dice"] == pytest.approx(train(cfg, progress=False, log=lambda m: None)["test_dice"],
                                                   rel=1e-9)
    assert last["last_epoch"] == 3 and last["test_dice"] == study.run(S)["test_dice"]
    path = S.run_dir(last["run"]) / "last.pt"
    model, run_cfg = model_from_checkpoint(load_checkpoint(path), path)
    tta, _ = evaluate(model, load_datasets(run_cfg, ("test",))["test"], run_cfg, tta=True)
    assert last["last_tta_test_dice"] == pytest.approx(tta["dice"], rel=1e-9) != last["last_test_dice"]
    # a chosen recipe's run scored as its select says (10's fresh seeds and other CPU family)
    scored = study.recipe_scores(False, S, "last")
    assert scored == {"run": last["run"], "test_dice": last["last_test_dice"],
                      "tta_test_dice": last["last_tta_test_dice"]}
    best = study.recipe_scores(False, S)
    assert best["test_dice"] == last["test_dice"] and best["tta_test_dice"] == study.tta_run(S)["tta_test_dice"]
    assert study.recipe_scores(False, S, seed=7) is None and not S.run_dir(study.name(S, seed=7)).exists()
    cache = path.parent / "metrics_last.json"
    old = {k: v for k, v in last.items() if not k.startswith("last_tta")}
    cache.write_text(json.dumps({**old, "last_test_dice": 0.5}))  # a cache of an earlier version: completed, its
    assert study.last_epoch_run(S) == {**last, "last_test_dice": 0.5} == json.loads(cache.read_text())  # figures kept
    # train=False never trains: without checkpoints (a fresh clone) and caches it gives {} and changes no file
    folder = path.parent
    for f in ("metrics_last.json", "metrics_tta.json", "best.pt", "last.pt"):
        (folder / f).unlink(missing_ok=True)
    before = {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()}
    assert study.last_epoch_run(S, train=False) == {} and study.tta_run(S, train=False) == {}
    assert (np.isnan(study.recipe_scores(False, S, "last")["test_dice"])
            and np.isnan(study.recipe_scores(False, S)["tta_test_dice"]))
    assert {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()} == before


@pytest.fixture
def smoke_study(toy_root, tmp_path):
    cfg = profile_config("smoke", data=str(toy_root), out_dir=str(tmp_path / "results"), image_size=32, epochs=1,
                         width=4, train_subset=12, amp="off", channels_last=False)
    return study.Study.under(cfg)


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


def test_glossary_split_gives_the_arms_named_with_all_they_build_on_or_add_and_the_rest():
    from labseg.study_files import load_studies

    arms = {a.name: a for a in load_studies()["recipe"].arms()}
    named = ["crop-2x + mild-affine", "fp32"]
    here, rest = study.glossary_split("recipe", named)
    # crop-2x + mild-affine builds on crop-2x and adds mild-affine; each builds on strong, which builds on the profile
    assert list(here.index) == ["strong", "fp32", "crop-2x", "mild-affine", "crop-2x + mild-affine"]
    assert set(arms[n].base for n in ("crop-2x", "mild-affine", "fp32")) == {"strong"}
    assert arms["crop-2x + mild-affine"].adds == ("mild-affine",) or list(arms["crop-2x + mild-affine"].adds) == [
        "mild-affine"]
    assert not set(here.index) & set(rest.index) and "wide-crop" in rest.index
    every = {r["arm"] for r in study.glossary() if r["study"] == "recipe"}
    assert set(here.index) | set(rest.index) == every  # nothing lost (another part's alias of an arm aside)
    assert study.glossary_split("recipe", ["no such arm"])[0].empty
