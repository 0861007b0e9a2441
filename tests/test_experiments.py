"""A study's runs (labseg.experiments.run_experiment): read back when finished, resumed, retrained aside, or refused
when the settings differ."""
import json

import pytest

from test_engine import smoke


@pytest.mark.slow
def test_experiments_are_read_back_resumed_or_refused(toy_root, tmp_path):
    from labseg.experiments import run_experiment

    cfg = smoke(toy_root, tmp_path / "exp", epochs=1)
    first = run_experiment(cfg, log=lambda m: None)
    stamp = (tmp_path / "exp" / "last.pt").stat().st_mtime_ns
    again = run_experiment(cfg.replace(device="cpu", num_workers=1), log=lambda m: None)  # where, not what
    assert again == first and (tmp_path / "exp" / "last.pt").stat().st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match="epochs"):
        run_experiment(cfg.replace(epochs=2), log=lambda m: None)
    for f in ("best.pt", "last.pt"):  # a fresh clone: results committed, checkpoints not
        (tmp_path / "exp" / f).unlink()
    committed = {f: (tmp_path / "exp" / f).read_bytes() for f in ("metrics.json", "history.csv", "config.json")}
    (tmp_path / "exp" / "metrics_tta.json").write_text("{}")  # a cache beside the run: not the run's to remove

    def cut_off(message):  # the retrain is cut off once its first epoch is saved
        if message.startswith("epoch"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(cfg, log=cut_off)
    assert {f: (tmp_path / "exp" / f).read_bytes() for f in committed} == committed  # the results, as they were
    assert not (tmp_path / "exp" / "best.pt").exists() and (tmp_path / "exp" / ".retrain" / "last.pt").is_file()
    rerun = run_experiment(cfg, log=lambda m: None)  # resumes the retrain aside, then moves it in
    assert ((tmp_path / "exp" / "best.pt").is_file()
            and rerun["test_dice"] == pytest.approx(first["test_dice"], abs=1e-6))
    assert not (tmp_path / "exp" / ".retrain").exists() and (tmp_path / "exp" / "metrics_tta.json").read_text() == "{}"
    assert (rerun["run"] == "exp"
            and json.loads((tmp_path / "exp" / "config.json").read_text())["out_dir"] == cfg.out_dir)
    assert run_experiment(cfg, log=lambda m: None) == rerun  # read back
