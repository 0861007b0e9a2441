"""One command for the minutes a GPU machine is lent: ``make gpu-check`` (``python -m labseg.tools.gpu_check``).

On a machine with CUDA, within about 8 minutes: a smoke training and a short toy training on the GPU (bf16
autocast, channels_last, pinned memory, ``--augment-on device``), a resume check there (a run stopped after
epoch 2 and resumed against one trained straight through), then the benchmark on the GPU at 128 and 256 px with
the smp rows and the loader lines. One verdict line per check; everything printed also goes to
``benchmarks/latest-cuda.txt``, headed by the GPU's name. Without CUDA it says so in one line, exits 0 and writes
nothing.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

from ..paths import CHECKOUT

REPO = CHECKOUT


def train_on_gpu(data: Path, out: Path, **overrides) -> dict:
    from ..config import profile_config
    from ..engine import train

    cfg = profile_config(overrides.pop("profile", "smoke"), data=str(data), out_dir=str(out), device="cuda",
                         augment_on="device", **overrides)
    return train(cfg, progress=False, log=lambda m: None)


def resume_matches(data: Path, work: Path) -> tuple[bool, str]:
    """A 4-epoch smoke run straight through against one stopped after epoch 2 and resumed (on CUDA some kernels
    are not bit-deterministic: the histories are compared to 1e-3)."""
    import pandas as pd

    from ..config import profile_config
    from ..engine import train

    opts = dict(data=str(data), device="cuda", augment_on="device", augment="all", epochs=4)
    train(profile_config("smoke", out_dir=str(work / "full"), **opts), progress=False, log=lambda m: None)

    def stop_after_two(msg):
        if msg.startswith("epoch   2/"):
            raise KeyboardInterrupt

    cut = profile_config("smoke", out_dir=str(work / "cut"), **opts)
    with contextlib.suppress(KeyboardInterrupt):
        train(cut, progress=False, log=stop_after_two)
    train(cut, resume=True, progress=False, log=lambda m: None)
    a, b = (pd.read_csv(work / name / "history.csv") for name in ("full", "cut"))
    diff = float((a[["train_loss", "val_dice"]] - b[["train_loss", "val_dice"]]).abs().max().max())
    return diff <= 1e-3, f"largest history difference {diff:.2e} over {len(a)} epochs"


def parser() -> argparse.ArgumentParser:
    """The check's command line."""
    p = argparse.ArgumentParser(prog="python -m labseg.tools.gpu_check", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "latest-cuda.txt"), help="the log to write")
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    return p


def training_checks(data: Path, work: Path, say) -> list[bool]:
    """A smoke and a 5-epoch toy training on the GPU, each said in one verdict line: passed or not, each."""
    verdicts = []
    for name, overrides in (("smoke training", dict(augment="all")),
                            ("toy training, 5 epochs", dict(profile="toy", epochs=5, augment="all"))):
        t0 = time.perf_counter()
        try:
            folder = work / name.replace(" ", "-").replace(",", "")
            metrics = train_on_gpu(data, folder, **overrides)
            saved = json.loads((folder / "env.json").read_text())
            ok = saved.get("device", "").startswith("cuda") and saved.get("bf16") is True
            verdicts.append(ok)
            say(f"check {name}: {'PASS' if ok else 'FAIL'}: test dice {metrics['test_dice']:.4f}, "
                f"{time.perf_counter() - t0:.0f} s, device {saved.get('device')}, bf16 {saved.get('bf16')}")
        except Exception as exc:  # noqa: BLE001 - a check that fails says so and the others still run
            verdicts.append(False)
            say(f"check {name}: FAIL: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    return verdicts


def resume_check(data: Path, work: Path, say) -> bool:
    """:func:`resume_matches`, said in one verdict line: passed or not."""
    try:
        ok, why = resume_matches(data, work / "resume")
    except Exception as exc:  # noqa: BLE001
        ok, why = False, f"{type(exc).__name__}: {exc}"
    say(f"check resume on CUDA: {'PASS' if ok else 'FAIL'}: {why}")
    return ok


def benchmark_check(data: Path, sizes: list[int], say) -> bool:
    """The benchmark on the GPU at ``sizes`` (with the smp rows where labseg[bench] is installed): each line it
    prints, then one verdict line: whether it ran through."""
    import importlib.util

    from .bench import main as bench

    models = ["unet", "resnet34_unet", "vgg16_bn_unet"]
    if importlib.util.find_spec("segmentation_models_pytorch"):  # labseg[bench]
        models.insert(2, "smp_unet_resnet34")
    else:
        say("note: segmentation_models_pytorch is not installed (pip install -e '.[bench]'): no smp rows")
    buffer = io.StringIO()
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(buffer):
            bench(["--device", "cuda", "--sizes", *map(str, sizes), "--models", *models, "--width", "64",
                   "--no-onnx", "--min-seconds", "4",
                   "--data", str(data), "--e2e-images", "160", "--quality-seeds", "0", "--predict-images", "60",
                   "--predict-big", "1"])
        ok = True
    except Exception as exc:  # noqa: BLE001
        ok = False
        buffer.write(f"benchmark failed: {type(exc).__name__}: {exc}\n")
    for line in buffer.getvalue().splitlines():
        say(line)
    say(f"check benchmark on CUDA: {'PASS' if ok else 'FAIL'}: {time.perf_counter() - t0:.0f} s")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Run the checks, say each verdict and write the log; 0 if all passed (or there is no CUDA GPU), else 1."""
    args = parser().parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("gpu-check: no CUDA GPU on this machine; nothing was run or written (run it where a GPU is lent).")
        return 0
    gpu = torch.cuda.get_device_name(0)
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    from ..run_folder import environment
    from ..synthetic import write_toy_pets

    env = environment()
    say(f"# python -m labseg.tools.gpu_check   ({time.strftime('%Y-%m-%d')}, labseg {env['git_commit']}, GPU {gpu}, "
        f"torch {torch.__version__}, CPU {env['cpu']})")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = write_toy_pets(work / "toy-pets", per_breed=40)
        verdicts = training_checks(data, work, say)
        verdicts.append(resume_check(data, work, say))
        verdicts.append(benchmark_check(data, args.sizes, say))
    say(f"gpu-check: {sum(verdicts)} of {len(verdicts)} checks passed on {gpu}")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"-> {args.out}")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
