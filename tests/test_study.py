"""The report's tables and generated sentences, from hand-made run tables (no training)."""

import pytest

from labseg import study


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
