"""`make report`'s pipeline (labseg.pipeline): which notebooks run, the parameters they get, bad options in one line,
the caller's environment left as it was."""
import pytest

from labseg import pipeline, study


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
