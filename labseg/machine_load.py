"""How busy the rest of the machine was while a run trained: the share of all its cores that other processes (and
the host, as steal time) used. A run's time is an idle timing only where that share stayed near zero.

Read from Linux's /proc/stat (the machine's busy CPU time) less this process's own CPU time and its children's
(DataLoader workers), over the wall-clock time between two readings. Where /proc/stat cannot be read (not Linux),
the share is NaN: not recorded.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

PROC_STAT = Path("/proc/stat")
# a run is timed idle when other processes used at most this share of the machine's cores on average
IDLE_SHARE = 0.05


def _machine() -> tuple[float, int] | None:
    """(busy CPU seconds of the whole machine since boot, cores), or None where /proc/stat cannot be read. Busy is
    user, nice, system, irq, softirq and steal (guest time is already inside user)."""
    try:
        lines = PROC_STAT.read_text().splitlines()
    except OSError:
        return None
    fields = lines[0].split() if lines else []
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(v) for v in fields[1:9]] + [0] * max(0, 9 - len(fields))
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks[:8]
    cores = sum(1 for line in lines[1:] if line.startswith("cpu") and line[3:4].isdigit())
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"), max(cores, 1)


def _own_seconds() -> float:
    """CPU seconds of this process (all its threads) and of its children, the live ones included."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    tick = os.sysconf("SC_CLK_TCK")
    for child in _live_children():
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return total


def _live_children() -> list[int]:
    """The process ids of this process's running children (Linux; none elsewhere)."""
    try:
        tasks = Path(f"/proc/{os.getpid()}/task").iterdir()
        return [int(pid) for task in tasks for pid in (task / "children").read_text().split()]
    except OSError:
        return []


class LoadMeter:
    """Started when made; :meth:`other_share` gives the share of the machine's cores that everything but this
    process used since then (0: idle, 1: every core busy with other work), NaN where it cannot be read."""

    def __init__(self):
        self._wall, self._machine, self._own = time.perf_counter(), _machine(), _own_seconds()

    def other_share(self) -> float:
        now = _machine()
        wall = time.perf_counter() - self._wall
        if now is None or self._machine is None or wall <= 0:
            return math.nan
        busy = now[0] - self._machine[0]
        other = busy - (_own_seconds() - self._own)
        return min(max(other / (wall * now[1]), 0.0), 1.0)


def run_share(history) -> float:
    """A run's share of the machine used by other processes, averaged over its epochs by their seconds; NaN where
    its history has no ``other_cpu`` column (runs made before it was recorded) or a value is missing."""
    if "other_cpu" not in history or not len(history):
        return math.nan
    shares, seconds = history["other_cpu"].astype(float), history["seconds"].astype(float)
    if shares.isna().any():
        return math.nan
    return float((shares * seconds).sum() / seconds.sum())


def timing_kind(share: float) -> str:
    """'idle', 'busy' or 'not recorded': how a run's training time was measured."""
    if math.isnan(share):
        return "not recorded"
    return "idle" if share <= IDLE_SHARE else "busy"
