"""Epochs a minute of the UNet's chosen recipe (`cpu-best`) with its augmentation in the training process
(``--num-workers 0``, the default) against a DataLoader worker process beside it (``--num-workers 1``), timed A/B
interleaved on the real subset. The recipe's augmentation (crops from the 2x cache, affine maps, colour jitter) runs
per sample on the CPU; with a worker it overlaps the network's steps. Each sample draws from its own generator, so
the batches, and so the runs, are the same either way: the script checks that every epoch's val dice is equal.

    python benchmarks/loader_workers.py --data data/oxford-pet-subset --epochs 6 --rounds 2 [--workers 0 1]

Prints, per round and setting, the median seconds of an epoch's training steps, the epoch's wall seconds and the
share of the cores other processes used meanwhile (>5 %: not an idle timing), then each setting's median and its
ratio to the first setting. Nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import pandas as pd

from labseg.config import profile_config
from labseg.device import cpu_name
from labseg.engine import train


def one_run(data: str, epochs: int, workers: int, out: Path) -> pd.DataFrame:
    cfg = profile_config("cpu-best", model="unet", data=data, epochs=epochs, num_workers=workers, seed=0,
                         out_dir=str(out), tensorboard=False)
    train(cfg, progress=False, log=lambda m: None)
    return pd.read_csv(out / "history.csv")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/oxford-pet-subset")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--workers", type=int, nargs="+", default=[0, 1])
    args = p.parse_args(argv)
    print(f"# python benchmarks/loader_workers.py --epochs {args.epochs} --rounds {args.rounds} --workers "
          f"{' '.join(map(str, args.workers))}; {cpu_name()}; the UNet's cpu-best recipe on {Path(args.data).name}")
    steps: dict[int, list[float]] = {w: [] for w in args.workers}
    histories: dict[int, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for w in args.workers:
                h = one_run(args.data, args.epochs, w, Path(tmp) / f"r{r}-w{w}")
                histories.setdefault(w, h)
                step, wall, other = h["train_seconds"].median(), h["seconds"].median(), h["other_cpu"].mean()
                steps[w].append(step)
                print(f"round {r}  num_workers {w}:  training steps {step:.2f} s an epoch, epoch {wall:.2f} s, "
                      f"other processes {100 * other:.1f} % of the cores")
    first = args.workers[0]
    for w in args.workers:
        med = statistics.median(steps[w])
        same = histories[w]["val_dice"].tolist() == histories[first]["val_dice"].tolist()
        print(f"num_workers {w}: median {med:.2f} s an epoch; against num_workers {first}: "
              f"{statistics.median(steps[first]) / med:.3f}x the epochs a minute; "
              f"val dice of every epoch equal: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
