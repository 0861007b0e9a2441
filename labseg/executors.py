"""Running a study's missing runs: one after another in this process (``local``, as the notebooks do) or as Ray
tasks on a cluster (``ray``: resources per run, retries when a worker or node dies, each retry resuming from its
last.pt). A finished run lands whole in the study's results folder: written beside it and moved in with
os.replace where the workers share the driver's filesystem, else handed back to the driver as bytes."""
from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

from .study_runs import WORK, PlannedRun

RETRIES = 3  # a task whose worker or node dies runs again (from its last.pt) up to this many times
CLUSTER_EXTRA = "labseg[cluster]"


class Progress:
    """One line: runs done of total, failures, time left (from the pace of the runs finished so far)."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.failed, self.start, self.stream = total, 0, 0, time.monotonic(), stream

    def line(self) -> str:
        finished = self.done + self.failed
        if not finished:
            left = "time left: estimating"
        else:
            seconds = (time.monotonic() - self.start) / finished * (self.total - finished)
            left = f"time left about {seconds / 60:.1f} min"
        return f"runs done {self.done}/{self.total}, failures {self.failed}, {left}"

    def update(self, done: bool) -> None:
        self.done, self.failed = self.done + done, self.failed + (not done)
        end = "\n" if not self.stream.isatty() or self.done + self.failed == self.total else ""
        print(("\r" if self.stream.isatty() else "") + self.line(), end=end, file=self.stream, flush=True)


def result_line(run: PlannedRun, metrics: dict, threads_before: int | None, where: str = "", resumed: int = 0) -> str:
    """What a finished run says: its test dice, minutes and threads, and a thread count that differs from that of
    the run's earlier part (a resumed run) or earlier result."""
    env = json.loads((run.folder / "env.json").read_text()) if (run.folder / "env.json").is_file() else {}
    threads = env.get("cpu_threads")
    note = (f"; trained with {threads} threads, its earlier part with {threads_before}"
            if threads_before is not None and threads is not None and threads != threads_before else "")
    return (f"done {run.arm} s{run.seed}: {run.name}: test dice {metrics['test_dice']:.4f}, "
            f"{metrics.get('train_seconds', 0) / 60:.1f} min, {threads} threads{where}"
            + (f", resumed after epoch {resumed}" if resumed else "") + note)


def run_local(runs: list[PlannedRun], threads: int | None, log=print) -> int:
    """Train each run of ``runs`` here, one after another (experiments.run_experiment, as the notebooks do); failures
    are counted, not raised. Returns the number of failures."""
    from .errors import CheckpointError, DataError
    from .experiments import run_experiment

    progress = Progress(len(runs))
    for run in runs:
        before = run.threads
        if (run.work / "last.pt").is_file() and not run.folder.exists():
            os.replace(run.work, run.folder)  # a run a Ray task left partial continues here, in place
        try:
            metrics = run_experiment(run.cfg.replace(threads=threads), progress=False, log=lambda m: None,
                                     need_checkpoint=False)
        except (CheckpointError, DataError, ValueError, OSError, RuntimeError) as exc:
            log(f"failed {run.arm} s{run.seed}: {run.name}: {exc}")
            progress.update(False)
            continue
        log(result_line(run, metrics, before))
        progress.update(True)
    if runs:
        remove_if_empty(runs[0].work.parent)
    return progress.failed


def remove_if_empty(folder: Path) -> None:
    """runs/.work once nothing is left in it (a partial run stays there: a later `labseg study run` resumes it)."""
    try:
        folder.rmdir()
    except OSError:
        pass


def pack(folder: Path) -> bytes:
    """A run folder as tar bytes (what a worker without the driver's filesystem hands back)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=folder.name)
    return buffer.getvalue()


def land(work: Path, final: Path) -> None:
    """Move a finished run from ``work`` to ``final`` in one os.replace (a partial ``final`` is set aside first),
    with its config.json naming where it now lies."""
    config = work / "config.json"
    if config.is_file():
        values = json.loads(config.read_text())
        config.write_text(json.dumps({**values, "out_dir": str(final)}, indent=2) + "\n")
    if final.exists():
        if (final / "metrics.json").is_file():
            shutil.rmtree(work)  # finished meanwhile by someone else: theirs stays
            return
        aside = final.parent / WORK / f"{final.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(final, aside)
        shutil.rmtree(aside)
    os.replace(work, final)


def unpack(blob: bytes, final: Path) -> None:
    """Write a run handed back as bytes into ``final``: extracted beside it, then moved in whole."""
    incoming = final.parent / WORK / f"{final.name}.incoming-{uuid.uuid4().hex[:8]}"
    incoming.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
            tar.extractall(incoming, filter="data")
        land(incoming / final.name, final)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def train_task(cfg_values: dict, final: str, marker: str, transfer: str) -> dict:
    """One run on a Ray worker. With the driver's filesystem (``transfer`` shared, or auto and ``marker`` is
    visible): train in runs/.work/<run> (a retry resumes there) and land it. Without: train in this node's
    temporary folder and return the finished folder as bytes."""
    from .config import RunConfig
    from .experiments import run_experiment

    final_dir = Path(final)
    shared = transfer == "shared" or (transfer == "auto" and Path(marker).is_file())
    if shared:
        work = final_dir.parent / WORK / final_dir.name
        if not work.exists() and (final_dir / "last.pt").is_file():
            work.parent.mkdir(parents=True, exist_ok=True)
            os.replace(final_dir, work)  # a partial run of the local executor continues here
    else:
        work = Path(tempfile.gettempdir()) / "labseg-runs" / final_dir.parent.parent.name / final_dir.name
    work.parent.mkdir(parents=True, exist_ok=True)
    history = work / "history.csv"
    cut = (work / "last.pt").is_file() and history.is_file()  # a retry: the epochs its earlier attempt finished
    resumed = len(history.read_text().strip().splitlines()) - 1 if cut else 0
    started = time.monotonic()
    metrics = run_experiment(RunConfig.from_dict({**cfg_values, "out_dir": str(work)}), progress=False,
                             log=lambda m: None, need_checkpoint=False)
    import ray

    node = f"{ray.util.get_node_ip_address()} (node {ray.get_runtime_context().get_node_id()[:8]})"
    out = {"metrics": metrics, "seconds": time.monotonic() - started, "node": node, "pid": os.getpid(), "files": None,
           "resumed": resumed}
    if shared:
        land(work, final_dir)
    else:
        out["files"] = pack(work)
        shutil.rmtree(work)
    return out
