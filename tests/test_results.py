"""Reading finished runs (labseg.results): the machines and code versions behind them, typical training times."""
import json

import numpy as np
import pandas as pd
import pytest

from labseg import results


def test_environment_summary_counts_each_machine_and_code_version(tmp_path):
    import json

    def run(name, commit, device="cpu", finished=True):
        d = tmp_path / "runs" / name
        d.mkdir(parents=True)
        (d / "env.json").write_text(json.dumps({"device": device, "bf16": True, "torch": "2.14.1",
                                                "cpu_threads": 2, "git_commit": commit}))
        if finished:
            (d / "metrics.json").write_text("{}")

    run("a", "aaa1111")
    run("b", "bbb2222")
    run("c", "bbb2222")
    run("d", "ccc3333", device="cuda", finished=False)  # unfinished: not part of the report
    assert results.environment_summary(tmp_path) == (
        "device: cpu (bf16 autocast: True), torch 2.14.1, 2 CPU threads (3 runs)\n"
        "code: labseg commit bbb2222 (2 runs); aaa1111 (1 run)")
    assert results.environment_summary(tmp_path / "nothing") == "no finished runs"


def test_typical_seconds_times_an_averaging_phase_apart():
    """The 10th-percentile epoch times the epochs, per phase where a run averages weights (its averaging epochs also
    measure BatchNorm statistics, so they are slower than the fastest tenth of the whole run)."""
    plain = pd.DataFrame({"seconds": [10.0] * 8 + [30.0, 50.0]})
    assert results.typical_seconds(plain) == pytest.approx(100.0)
    averaged = pd.DataFrame({"seconds": [10.0] * 8 + [13.0, 14.0, 13.0, 40.0],
                             "swa_averaged": [0] * 8 + [1, 2, 3, 4]})
    expected = 10.0 * 8 + np.quantile([13.0, 14.0, 13.0, 40.0], 0.1) * 4
    assert results.typical_seconds(averaged) == pytest.approx(expected) and expected > 10.0 * 12


def test_typical_seconds_times_the_low_res_epochs_apart(tmp_path):
    """Progressive resizing's early epochs are faster than the rest: the 10th-percentile epoch of the whole run
    would time every epoch as one at the low size. A run's phases come from its config."""
    history = pd.DataFrame({"epoch": range(1, 11), "seconds": [2.0] * 6 + [7.0, 7.5, 7.0, 30.0]})
    assert results.typical_seconds(history) == pytest.approx(20.0)  # 2 s x 10: the low size's pace
    expected = 2.0 * 6 + np.quantile([7.0, 7.5, 7.0, 30.0], 0.1) * 4
    assert results.typical_seconds(history, low_res_epochs=6) == pytest.approx(expected)
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    history.to_csv(run / "history.csv", index=False)
    for low_res, want in ((96, expected), (0, 20.0)):
        (run / "config.json").write_text(json.dumps({"epochs": 10, "low_res": low_res, "low_res_share": 0.6}))
        assert results.run_typical_seconds(tmp_path, "r") == pytest.approx(want)


@pytest.mark.parametrize("cpu, family", [("Intel(R) Xeon(R) Processor (AMX)", "Intel AMX"),
                                         ("AMD EPYC (AVX512-BF16)", "AMD EPYC"), ("AMD EPYC", "AMD EPYC without bf16"),
                                         (None, "CPU not recorded"),
                                         ("not recorded", "CPU not recorded"), ("Apple M3", "Apple M3")])
def test_a_cpu_is_named_by_its_family(cpu, family):
    assert results.cpu_family(cpu) == family


def test_run_counts_name_every_results_folder_of_a_study(tmp_path):
    for folder, n in (("results/key", 2), ("results/amd/key", 1), ("results/empty/key", 0)):
        for i in range(n):
            (tmp_path / folder / "runs" / f"r{i}").mkdir(parents=True)
            (tmp_path / folder / "runs" / f"r{i}" / "metrics.json").write_text("{}")
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    words = results.run_count_words(results.study_folders(tmp_path / "results" / "key"))
    assert words == "2 finished runs in `results/key/runs/`, 1 in `results/amd/key/runs/`"
