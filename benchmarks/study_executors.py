"""Wall time of a toy study (benchmarks/toy_study.toml: 4 runs of 20 epochs, smoke profile) run three
ways on this machine: one after another with 2 threads a run (--executor local), two side by side with 1 thread
each (--executor ray, a local cluster), one at a time through Ray with 2 threads (Ray's overhead against local),
and the time to start and stop a local Ray cluster. Run it where Ray stays on loopback:

    unshare -n sh -c 'ip link set lo up; python benchmarks/study_executors.py OUT.txt'
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STUDY = REPO / "benchmarks" / "toy_study.toml"


def timed(*args: str) -> tuple[float, str]:
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "labseg", "study", "run", str(STUDY), *args], capture_output=True,
                         text=True, cwd=REPO, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    if out.returncode:
        raise SystemExit(out.stderr)
    return time.monotonic() - start, out.stdout


def ray_start_stop() -> float:
    code = ("import ray, os; ray.init(num_cpus=os.cpu_count(), include_dashboard=False, "
            "_node_ip_address='127.0.0.1', logging_level='ERROR'); ray.shutdown()")
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.monotonic() - start


def main(report: str) -> None:
    from labseg.device import cpu_name
    from labseg.synthetic import write_toy_pets

    data = write_toy_pets(REPO / "data" / "toy-pets")
    lines = [f"toy study (4 runs on the toy pets: smoke profile, 20 epochs) on {cpu_name()}, {os.cpu_count()} cores, "
             f"busy machine (load average {os.getloadavg()[0]:.1f} at the start)"]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RAY_TMPDIR"] = tmp  # Ray's session files go with the folder
        warm, _ = timed("--cpus-per-run", "2", "--data", str(data), "--out-dir", f"{tmp}/warm")  # the data cache
        lines.append(f"(a first pass, which also writes the decoded-data cache: {warm:.1f} s wall, not counted)")
        for label, args in (("local, one after another, 2 threads a run", ["--cpus-per-run", "2"]),
                            ("ray local cluster, two side by side, 1 thread each", ["--executor", "ray",
                                                                                    "--cpus-per-run", "1"]),
                            ("ray local cluster, one at a time, 2 threads a run", ["--executor", "ray",
                                                                                   "--cpus-per-run", "2"])):
            seconds, _ = timed(*args, "--data", str(data), "--out-dir", f"{tmp}/{len(lines)}")
            lines.append(f"{label}: {seconds:.1f} s wall")
        lines.append(f"start and stop a local Ray cluster (no task): {ray_start_stop():.1f} s")
    Path(report).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1])
