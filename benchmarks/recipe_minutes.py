"""Minutes a run of the UNet's chosen recipe (`cpu-best`) and of candidates built on it, on one machine in one
session: each arm trains a few epochs, A/B interleaved round by round, and its median epoch (training steps and the
val pass) times the arm's epochs gives its minutes a run there; with --low-res the epochs at the lower size and
those after them are timed apart and weighted by their counts. Idle timings of whole runs come from whichever
machine ran them, and machines of this kind differ by up to about 1.4x (docs/performance.md); the ratios printed
here compare the arms on the same cores.

    python benchmarks/recipe_minutes.py --data data/oxford-pet-subset --epochs 6 --rounds 2 \\
        --arm "" --arm deep_supervision=0.4 --arm deep_supervision=0.4,ema_decay=0.999 --arm cutmix=0.5

An arm is a comma-separated list of RunConfig settings over `cpu-best` ("": the chosen recipe itself; `epochs=N`:
the arm's epochs a run, the recipe's 150 where not given). Prints, per round and arm, the median seconds of an
epoch (per phase) and the share of the cores other processes used meanwhile (>5 %: not an idle timing), then each
arm's minutes a run and its ratio to the first arm. Nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

import pandas as pd

from labseg.config import RunConfig, low_res_epochs, profile_config
from labseg.device import cpu_name
from labseg.engine import train


def parse_arm(text: str) -> dict:
    """'deep_supervision=0.4,ema_decay=0.999' -> {'deep_supervision': 0.4, 'ema_decay': 0.999}, each value of its
    RunConfig field's type; '' -> {}. An unknown setting is a one-line error."""
    fields = {f.name: f for f in dataclasses.fields(RunConfig)}
    out = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = pair.partition("=")
        if key not in fields or not value:
            raise SystemExit(f"--arm {text!r}: {pair!r} is not SETTING=VALUE of a RunConfig setting")
        kind = type(getattr(RunConfig(), key))
        out[key] = kind(float(value)) if kind in (int, float) else value
    return out


def one_run(data: str, epochs: int, changes: dict, out: Path) -> pd.DataFrame:
    cfg = profile_config("cpu-best", model="unet", data=data, seed=0, out_dir=str(out), tensorboard=False,
                         **changes)
    train(cfg.replace(epochs=epochs), progress=False, log=lambda m: None)
    return pd.read_csv(out / "history.csv")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/oxford-pet-subset")
    p.add_argument("--epochs", type=int, default=6, help="epochs timed per arm and round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--arm", action="append", default=None, help="settings over cpu-best (repeat; default: '' and "
                   "deep_supervision=0.4)")
    args = p.parse_args(argv)
    arms = args.arm if args.arm is not None else ["", "deep_supervision=0.4"]
    changes = {a: parse_arm(a) for a in arms}
    full = profile_config("cpu-best", model="unet").epochs
    print(f"# python benchmarks/recipe_minutes.py --epochs {args.epochs} --rounds {args.rounds} "
          + " ".join(f"--arm {a!r}" for a in arms) + f"; {cpu_name()}; the UNet's cpu-best recipe ({full} epochs) "
          f"on {Path(args.data).name}")
    runs: dict[str, list[float]] = {a: [] for a in arms}  # minutes a run of the arm's own epochs, per round
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for i, a in enumerate(arms):
                h = one_run(args.data, args.epochs, changes[a], Path(tmp) / f"r{r}-a{i}")
                phases, minutes = phase_minutes(h, args.epochs, changes[a], full)
                runs[a].append(minutes)
                print(f"round {r}  {a or 'chosen recipe'}:  {phases}, other processes "
                      f"{100 * h['other_cpu'].mean():.1f} % of the cores: {minutes:.1f} min a run here")
    first = statistics.median(runs[arms[0]])
    for a in arms:
        med = statistics.median(runs[a])
        print(f"{a or 'chosen recipe'}: median {med:.1f} min a run of {changes[a].get('epochs', full)} epochs here; "
              f"{med / first:.3f}x the first arm's time")
    return 0


def phase_minutes(history: pd.DataFrame, timed: int, changes: dict, full: int) -> tuple[str, float]:
    """The median epoch of each phase of a timed run of ``timed`` epochs (the first epoch warms up and is left out;
    with --low-res the early epochs train at the lower size, so each phase is timed apart) in words, and the
    minutes a run of the arm's own epochs (``changes``' or ``full``) takes at those medians."""
    epochs = changes.get("epochs", full)
    arm = RunConfig(**{k: v for k, v in changes.items() if k in ("low_res", "low_res_share")})
    low_timed, n_low = (low_res_epochs(arm.replace(epochs=n)) for n in (timed, epochs))  # as training counts them
    seconds = history["seconds"].to_numpy()
    if not low_timed:
        med = statistics.median(seconds[1:])
        return f"{med:.2f} s an epoch", med * epochs / 60
    if not 1 < low_timed < timed:
        raise SystemExit(f"--epochs {timed}: time at least 2 epochs at --low-res and 1 after it (share "
                         f"{arm.low_res_share})")
    low, rest = statistics.median(seconds[1:low_timed]), statistics.median(seconds[low_timed:])
    return (f"{low:.2f} s an epoch at {changes['low_res']} px, {rest:.2f} s after",
            (low * n_low + rest * (epochs - n_low)) / 60)


if __name__ == "__main__":
    sys.exit(main())
