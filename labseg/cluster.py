"""The ``ray`` executor's driver: connect to a Ray cluster (or start a local one), check that it can hold a run,
submit each missing run as a task with its resources and retries, and land what comes back.
The task itself is :func:`labseg.executors.train_task`."""
from __future__ import annotations

import logging
import os
import socket
import sys
import uuid

from .executors import CLUSTER_EXTRA, RETRIES, Progress, remove_if_empty, result_line, train_task, unpack
from .study_runs import WORK, PlannedRun, read_state

CONNECT_SECONDS = 10


def import_ray():
    """Ray, or one line naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise ValueError(f"--executor ray: Ray is not installed here; install it with pip install '{CLUSTER_EXTRA}' "
                         "(or use --executor local)") from None
    return ray


def check_address(address: str) -> None:
    """A HOST:PORT that answers a TCP connection within :data:`CONNECT_SECONDS`; else one line."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--address {address}: give auto or HOST:PORT of a Ray head node (e.g. 127.0.0.1:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        raise ValueError(f"--address {address}: no Ray cluster answers there ({exc.strerror or exc}); start one with "
                         "`ray start --head`, or leave --address out for a local one") from None


def connect(address: str | None):
    """ray, initialised: on the cluster at ``address`` (auto: the one this machine has joined) or, with None, on
    a new local cluster of this machine's cores (on 127.0.0.1)."""
    ray = import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    quiet = dict(logging_level=logging.ERROR, log_to_driver=False, configure_logging=True)
    if address not in (None, "auto"):
        check_address(address)
    try:
        if address is None:
            ray.init(num_cpus=os.cpu_count(), include_dashboard=False, _node_ip_address="127.0.0.1", **quiet)
        else:
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, TimeoutError) as exc:
        where = "on this machine" if address == "auto" else f"at {address}"
        raise ValueError(f"--address {address}: no Ray cluster found {where} ({str(exc).splitlines()[0]}); start "
                         "one with `ray start --head`, or leave --address out for a local one") from None
    return ray


def check_resources(ray, cpus: int, gpus: float) -> None:
    """One line where no node of the cluster can hold a run of ``cpus`` CPUs and ``gpus`` GPUs."""
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    if gpus and not any(n.get("GPU", 0) >= gpus for n in nodes):
        have = sum(n.get("GPU", 0) for n in nodes)
        raise ValueError(f"--gpus-per-run {gpus:g}: the Ray cluster has {have:g} GPUs; leave --gpus-per-run out "
                         "for CPU runs, or start the nodes on GPU machines")
    if not any(n.get("CPU", 0) >= cpus for n in nodes):
        most = max((n.get("CPU", 0) for n in nodes), default=0)
        raise ValueError(f"--cpus-per-run {cpus}: no node of the Ray cluster has {cpus} CPUs (the largest has "
                         f"{most:g}); ask for fewer")


def _failure(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if cause is not None:
        return f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}"
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}" + (f": {first[0]}" if first else "")


def run_ray(ray, runs: list[PlannedRun], cpus: int, gpus: float, transfer: str = "auto", log=print) -> int:
    """Each run of ``runs`` as a Ray task on the cluster ``ray`` is connected to (:func:`connect`): ``cpus`` CPUs
    (its thread count) and ``gpus`` GPUs each, retried :data:`RETRIES` times where its worker or node dies.
    Returns the number of failed runs; disconnects at the end."""
    marker = None
    try:
        if not runs:
            return 0
        work = runs[0].folder.parent / WORK
        work.mkdir(parents=True, exist_ok=True)
        marker = work / f".driver-{uuid.uuid4().hex}"
        marker.touch()
        task = ray.remote(train_task).options(num_cpus=cpus, num_gpus=gpus, max_retries=RETRIES,
                                              retry_exceptions=False)
        refs, before = {}, {run.name: run.threads for run in runs}
        for run in runs:
            cfg = run.cfg.replace(threads=cpus, **({"device": "cuda"} if gpus else {}))
            refs[task.remote(cfg.to_dict(), str(run.folder), str(marker), transfer)] = run
        return _collect(ray, refs, before, log)
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)
            remove_if_empty(marker.parent)
        ray.shutdown()


def _collect(ray, refs: dict, before: dict, log) -> int:
    progress = Progress(len(refs), stream=sys.stderr)
    while refs:
        ready, _ = ray.wait(list(refs), num_returns=1)
        run = refs.pop(ready[0])
        try:
            out = ray.get(ready[0])
        except Exception as exc:  # noqa: BLE001 - a failed run is counted and named; the others go on
            log(f"failed {run.arm} s{run.seed}: {run.name}: {_failure(exc)}")
            progress.update(False)
            continue
        if out["files"] is not None:
            unpack(out["files"], run.folder)
        read_state(run)
        log(result_line(run, out["metrics"], before[run.name], where=f" on {out['node']}", resumed=out["resumed"]))
        progress.update(True)
    return progress.failed

