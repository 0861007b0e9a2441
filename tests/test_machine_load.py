"""How busy the rest of the machine was while a run trained (labseg.machine_load): a busy process that is not ours
counts, our own work and our children's do not; a run's share is its epochs' shares weighted by their seconds."""
import math
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from labseg import machine_load
from labseg.machine_load import IDLE_SHARE, LoadMeter, run_share, timing_kind

BUSY = [sys.executable, "-c", "import time\nend = time.time() + 4\nwhile time.time() < end: pass"]


def linux() -> bool:
    return machine_load._machine() is not None


@pytest.mark.skipif(not linux(), reason="needs /proc/stat")
def test_another_process_spinning_one_core_counts_and_our_own_work_does_not():
    cores = machine_load._machine()[1]
    # started by a shell that exits at once: the busy process is re-parented away, not our child
    launched = subprocess.run(["sh", "-c", f"{shlex.join(BUSY)} >/dev/null 2>&1 & echo $!"], capture_output=True,
                              text=True, check=True)
    pid = int(launched.stdout.strip())
    time.sleep(0.5)
    meter = LoadMeter()
    time.sleep(2.0)
    share = meter.other_share()
    end = time.time() + 10
    while Path(f"/proc/{pid}").exists() and time.time() < end:  # it stops itself after 4 s
        time.sleep(0.2)
    assert share == pytest.approx(1 / cores, abs=0.15)  # one of the cores busy with someone else's work
    meter = LoadMeter()
    end = time.time() + 1.5
    while time.time() < end:  # this process spins: its own work
        pass
    assert meter.other_share() < 0.15


@pytest.mark.skipif(not linux(), reason="needs /proc/stat")
def test_our_children_count_as_our_own_work():
    meter = LoadMeter()
    child = subprocess.Popen(BUSY[:2] + ["import time\nend = time.time() + 2\nwhile time.time() < end: pass"])
    child.wait()
    assert meter.other_share() < 0.15


def test_a_machine_without_proc_stat_gives_nan(monkeypatch, tmp_path):
    monkeypatch.setattr(machine_load, "PROC_STAT", tmp_path / "missing")
    assert math.isnan(LoadMeter().other_share())


def test_a_run_share_is_weighted_by_epoch_seconds_and_nan_where_not_recorded():
    history = pd.DataFrame({"seconds": [10.0, 30.0], "other_cpu": [0.0, 0.4]})
    assert run_share(history) == pytest.approx(0.3)
    assert math.isnan(run_share(pd.DataFrame({"seconds": [10.0]})))
    assert math.isnan(run_share(pd.DataFrame({"seconds": [10.0, 5.0], "other_cpu": [0.1, None]})))
    assert [timing_kind(x) for x in (0.0, IDLE_SHARE, IDLE_SHARE + 0.01, math.nan)] == [
        "idle", "idle", "busy", "not recorded"]
