"""Reading finished runs (labseg.results): the machines and code versions behind them, typical training times."""
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
