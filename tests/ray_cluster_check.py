"""Run by tests/test_cluster.py inside a network namespace that holds only loopback (``unshare -n``): a Ray head
node and a second node (``ray start``, 1 CPU each, on 127.0.0.1), the smoke study dispatched to them with
``labseg study run --executor ray``, one worker SIGKILLed while it trains, bad input against the live cluster, then
both nodes stopped by their process ids. Prints one JSON object of what it saw; the test asserts on it."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PORT = 6390


def children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return out


def descendants(roots: list[int]) -> list[int]:
    tree, found, todo = children(), [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def wait_for(check, seconds: float, what: str):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def alive_nodes(address: str) -> list[str]:
    code = ("import ray, json; ray.init(address=%r, logging_level='ERROR', log_to_driver=False); "
            "print(json.dumps([n['NodeManagerAddress'] for n in ray.nodes() if n['Alive']]))" % address)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=150)
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 and out.stdout.strip() else []


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def labseg(*args: str, timeout: float = 150) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labseg", "study", *args], capture_output=True, text=True,
                          timeout=timeout)


def open_runs(pid: int, work: Path) -> set[str]:
    """The runs under ``work`` a process holds a file of open (a training run: its TensorBoard log)."""
    names = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = Path(os.readlink(fd))
        except OSError:
            continue
        if target.is_relative_to(work):
            names.add(target.relative_to(work).parts[0])
    return names


def kill_a_training_worker(starts: list[int], runs: Path, driver: subprocess.Popen) -> dict:
    """SIGKILL the worker process of a task whose run has written its last.pt (it is training, past epoch 1)."""
    work = runs / ".work"

    def training():
        if driver.poll() is not None:
            raise SystemExit(f"the driver ended before a run trained: {driver.communicate()}")
        for pid in descendants(starts):
            if cmdline(pid).startswith("ray::train_task"):
                cut = [name for name in open_runs(pid, work) if (work / name / "last.pt").is_file()]
                if cut:
                    return pid, cut[0]
        return None

    pid, name = wait_for(training, 90, "a run past its first epoch")
    os.kill(pid, signal.SIGKILL)
    return {"killed": pid, "killed_run": name}


def main(data: str, out: str, temp: str, study: str = "smoke") -> dict:
    """``study``: the study file the cluster runs (the test's longer copy of the smoke study)."""
    ray = str(Path(sys.executable).with_name("ray"))
    address = f"127.0.0.1:{PORT}"
    node = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--num-gpus", "0", "--object-store-memory",
            str(150 * 2**20), "--block"]
    head = subprocess.Popen([ray, "start", "--head", "--port", str(PORT), "--include-dashboard", "false",
                             "--disable-usage-stats", "--temp-dir", temp, *node],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    starts, seen = [head.pid], {}
    try:
        wait_for(lambda: port_open(PORT), 120, "the head node's port")
        wait_for(lambda: alive_nodes(address), 240, "the head node")  # registered: a second node can join
        second = subprocess.Popen([ray, "start", "--address", address, *node], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        starts.append(second.pid)
        seen["nodes"] = wait_for(lambda: (n := alive_nodes(address)) and len(n) == 2 and n, 300, "two nodes")
        seen["listening"] = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout.splitlines()
        gpus = labseg("run", "smoke", "--executor", "ray", "--address", address, "--gpus-per-run", "0.5",
                      "--data", data, "--out-dir", out + "-gpu")
        seen["gpus"] = {"rc": gpus.returncode, "stderr": gpus.stderr, "out_exists": Path(out + "-gpu").exists()}
        driver = subprocess.Popen([sys.executable, "-m", "labseg", "study", "run", study, "--executor", "ray",
                                   "--address", address, "--cpus-per-run", "1", "--data", data, "--out-dir", out],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen.update(kill_a_training_worker(starts, Path(out) / f"{Path(data).name}-smoke" / "runs", driver))
        stdout, stderr = driver.communicate(timeout=240)
        seen["run"] = {"rc": driver.returncode, "stdout": stdout, "stderr": stderr}
        back = labseg("run", study, "--executor", "ray", "--address", address, "--cpus-per-run", "1",
                      "--transfer", "driver", "--data", data, "--out-dir", out + "-driver")
        seen["driver"] = {"rc": back.returncode, "stdout": back.stdout, "stderr": back.stderr}
    finally:
        before = descendants(starts)
        for pid in reversed(starts):
            os.kill(pid, signal.SIGTERM)
        for proc in (head, *([second] if len(starts) > 1 else [])):
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
        time.sleep(1)
        left = [p for p in before if Path(f"/proc/{p}").exists() and cmdline(p)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        seen["left_running"] = [cmdline(p) for p in left]
    return seen


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
