"""`labseg study run --executor ray` on a real Ray cluster (no mocks): a head node and a second node on 127.0.0.1,
1 CPU each, inside a network namespace that holds only loopback (tests/ray_cluster_check.py runs there). The smoke
study's runs finish although a worker is SIGKILLed while it trains, and equal, bit for bit, the same runs trained
here one after another with the same thread count. Bad input: one line, exit 2."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
# a run's clock readings (and how busy the machine was meanwhile), not its results
TIMING = {"train_seconds", "seconds", "train_images_per_s", "other_cpu", "train_other_cpu"}


def labseg(*args, env=None, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0", **(env or {})}
    return subprocess.run([sys.executable, "-m", "labseg", "study", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=REPO)


def namespace_reason() -> str | None:
    """Why the loopback-only namespace cannot be made here (None: it can)."""
    if shutil.which("unshare") is None or shutil.which("ip") is None or shutil.which("ss") is None:
        return "needs unshare, ip and ss (util-linux, iproute2)"
    if os.geteuid() != 0:
        return "needs root for `unshare -n` (a network namespace that holds only loopback)"
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"`unshare -n` refused here: {probe.stderr.strip()}"


def same_run(a: Path, b: Path) -> None:
    """Metrics, per-epoch history and weights (best.pt, last.pt) equal, bit for bit, clock readings aside."""
    ma, mb = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    assert {k: v for k, v in ma.items() if k not in TIMING} == {k: v for k, v in mb.items() if k not in TIMING}
    ha, hb = (pd.read_csv(d / "history.csv").drop(columns=list(TIMING), errors="ignore") for d in (a, b))
    pd.testing.assert_frame_equal(ha, hb, check_exact=True)
    for name in ("best.pt", "last.pt"):
        wa, wb = (torch.load(d / name, weights_only=False)["model"] for d in (a, b))
        assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def long_smoke(folder: Path, budget: int = 25) -> Path:
    """The smoke study with each run ``budget`` x the smoke profile's epochs (its file has 4x: 8 epochs, a second
    or less on an idle machine, over before a worker can be killed mid-run), as a study file in ``folder``."""
    text = (REPO / "labseg" / "studies" / "smoke.toml").read_text()
    assert "budgets = [4]" in text
    path = folder / "smoke_long.toml"
    path.write_text(text.replace("budgets = [4]", f"budgets = [{budget}]"))
    return path


@pytest.mark.slow
def test_a_study_runs_on_a_two_node_ray_cluster_and_survives_a_killed_worker(toy_root, tmp_path):
    reason = namespace_reason()
    if reason:
        pytest.skip(reason)
    study = str(long_smoke(tmp_path))
    local = labseg("run", study, "--cpus-per-run", "1", "--data", str(toy_root), "--out-dir", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    temp = tempfile.mkdtemp(prefix="lsray", dir="/tmp")  # short: Ray's socket paths must fit 107 characters
    script = f"ip link set lo up; exec {sys.executable} {REPO / 'tests' / 'ray_cluster_check.py'} " \
             f"{toy_root} {tmp_path / 'cluster'} {temp} {study}"
    # RAY_TMPDIR and HOME: Ray's session files and any ~/.ray/auth_token stay in the test's own folder (a token
    # another local cluster left in ~/.ray makes the nodes refuse a driver that lacks it)
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": temp, "HOME": temp}
    try:
        out = subprocess.run(["unshare", "-n", "sh", "-c", script], capture_output=True, text=True, env=env,
                             timeout=420)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["nodes"] == ["127.0.0.1", "127.0.0.1"]
    hosts = [line.split()[3].rsplit(":", 1)[0] for line in seen["listening"]]
    assert hosts and set(hosts) <= {"127.0.0.1", "[::ffff:127.0.0.1]"}, seen["listening"]
    assert seen["left_running"] == []
    gpus = seen["gpus"]
    assert gpus["rc"] == 2 and not gpus["out_exists"]
    assert "error: --gpus-per-run 0.5: the Ray cluster has 0 GPUs" in gpus["stderr"]
    assert "Traceback" not in gpus["stderr"]
    for mode in ("run", "driver"):
        result = seen[mode]
        assert result["rc"] == 0, result["stderr"]
        done = [line for line in result["stdout"].splitlines() if line.startswith("done ")]
        assert len(done) == 4 and all("1 threads on 127.0.0.1 (node " in line for line in done)
        assert len({line.rsplit("(node ", 1)[1][:8] for line in done}) == 2  # tasks ran on both nodes
        assert result["stderr"].strip().splitlines()[-1] == "runs done 4/4, failures 0, time left about 0.0 min"
    resumed = [line for line in seen["run"]["stdout"].splitlines() if ", resumed after epoch" in line]
    assert len(resumed) == 1 and seen["killed_run"] in resumed[0]  # the killed run went on from its last.pt
    key = f"{toy_root.name}-smoke"
    runs = {"local": tmp_path / "local" / key / "runs"}
    for mode in ("cluster", "cluster-driver"):
        runs[mode] = tmp_path / mode / key / "runs"
        assert sorted(p.name for p in runs[mode].iterdir()) == sorted(p.name for p in runs["local"].iterdir())
        for run in runs["local"].iterdir():
            same_run(run, runs[mode] / run.name)


def test_an_unreachable_address_is_one_line_within_30_s(toy_root, tmp_path):
    start = time.monotonic()
    out = labseg("run", "smoke", "--executor", "ray", "--address", "127.0.0.1:9", "--data", str(toy_root),
                 "--out-dir", str(tmp_path / "out"))
    assert time.monotonic() - start < 30
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith("labseg study: error: --address 127.0.0.1:9: no Ray cluster answers there")
    assert not (tmp_path / "out").exists()


def test_without_ray_the_line_names_the_cluster_extra(toy_root, tmp_path):
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "ray.py").write_text("raise ImportError('ray is blocked for this test')\n")
    out = labseg("run", "smoke", "--executor", "ray", "--data", str(toy_root), "--out-dir", str(tmp_path / "out"),
                 env={"PYTHONPATH": f"{shim}{os.pathsep}{REPO}"})
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "Ray is not installed here; install it with pip install 'labseg[cluster]'" in out.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, words", [
    (["--cpus-per-run", "0"], "--cpus-per-run 0: must be a whole number >= 1"),
    (["--gpus-per-run", "0.25"], "--gpus-per-run 0.25: applies to --executor ray only"),
    (["--executor", "ray", "--gpus-per-run", "-1"], "--gpus-per-run -1: must be 0, a fraction"),
    (["--address", "auto"], "--address auto: applies to --executor ray only"),
])
def test_bad_options_are_one_line_before_anything_is_written(toy_root, tmp_path, args, words):
    out = labseg("run", "smoke", *args, "--data", str(toy_root), "--out-dir", str(tmp_path / "out"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and words in out.stderr
    assert not (tmp_path / "out").exists()
