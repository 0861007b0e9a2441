"""A CPU-only .venv in about 4 GB instead of 6.4: `make setup-cpu` (what CI uses).

torch==2.14.1 exists on this project's machines only as its CUDA build, which pulls 3.2 GB of NVIDIA libraries
and 0.9 GB of Triton. On a machine without a GPU most of that is never loaded: Triton only compiles GPU kernels,
cuDNN's engine libraries and cuSOLVER are opened on the first GPU call that needs them. What `import torch`
links at start-up (cuBLAS, cuFFT, NCCL, ...) stays, so the same torch build, bit for bit, runs the same code.

How: pip resolves `-e .[dev]` once without installing (`--dry-run --report`), then installs the resolved
packages one at a time with `--no-deps`, deleting each NVIDIA package's GPU-only files right after it lands, so
the disk never holds more than the slim environment plus one package. Triton is not installed. The result is
checked at the end: torch and torchvision import and run a convolution, and a GPU-only file left behind fails.
Usage: python3 tools/setup_cpu.py [VENV]   (default .venv; the project root is this file's parent's parent)
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {"triton"}  # GPU kernel compiler: torch imports it only for torch.compile on a GPU
# Opened with dlopen on the first GPU call that needs them, never linked at import (readelf -d of torch/lib).
GPU_ONLY = (
    "nvidia/cudnn/lib/libcudnn_*.so.*",    # cuDNN's engines; libcudnn.so.9 itself is linked and stays
    "nvidia/cu13/lib/libcusolver*.so.*",   # only torch/lib/libtorch_cuda_linalg.so, loaded lazily, needs it
    "nvidia/cu13/lib/*.alt.so*",           # NVRTC's alternative build
    "nvidia/cu13/lib/*.a",                 # static archives, for linking CUDA programs
    "nvidia/cu13/lib/libnvperf_*.so",      # profiler back-ends
    "nvidia/nvshmem/lib/*.bc",             # device bitcode
    "nvidia/*/include",                    # C headers
)


def run(*cmd: str, capture: bool = False) -> str:
    done = subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE if capture else None)
    return done.stdout if capture else ""


def prune(site: Path) -> int:
    freed = 0
    for pattern in GPU_ONLY:
        for path in site.glob(pattern):
            if path.is_dir():
                freed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
                shutil.rmtree(path)
            else:
                freed += path.stat().st_size
                path.unlink()
    return freed


def main(venv: str = ".venv") -> int:
    venv_dir = (ROOT / venv).resolve()
    run(sys.executable, "-m", "venv", str(venv_dir))
    py = str(venv_dir / "bin" / "python")
    pip = (py, "-m", "pip", "--disable-pip-version-check")
    run(*pip, "install", "-qq", "--upgrade", "pip")  # -qq: errors only (pip warns once per index that lacks a package)
    site = Path(run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", capture=True).strip())
    report = json.loads(run(*pip, "install", "-qq", "--dry-run", "--ignore-installed", "--report", "-",
                            "-e", f"{ROOT}[dev]", capture=True))
    wanted = [(item["metadata"]["name"], item["metadata"]["version"]) for item in report["install"]
              if not item.get("download_info", {}).get("dir_info", {}).get("editable")]
    wanted = [(name, version) for name, version in wanted if name.lower() not in SKIP]
    heavy = [(n, v) for n, v in wanted if n.lower().startswith(("nvidia-", "torch"))]
    light = [(n, v) for n, v in wanted if (n, v) not in heavy]
    freed = 0
    for name, version in heavy:  # one at a time, pruned at once: the disk never holds the whole CUDA stack
        run(*pip, "install", "-qq", "--no-cache-dir", "--no-deps", f"{name}=={version}")
        freed += prune(site)
    run(*pip, "install", "-qq", "--no-cache-dir", "--no-deps", *(f"{n}=={v}" for n, v in light))
    run(*pip, "install", "-qq", "--no-cache-dir", "--no-deps", "-e", str(ROOT))
    left = [str(p) for pattern in GPU_ONLY for p in site.glob(pattern)]
    if left:
        print(f"setup-cpu: GPU-only files still present: {left[:3]}", file=sys.stderr)
        return 1
    # The check that counts: the same torch imports, links every library it needs and computes.
    run(py, "-c", "import torch, torchvision, torchvision.ops; "
                  "x = torch.nn.functional.conv2d(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 3, 3)); "
                  "assert x.sum().item() == 36.0, x; "
                  "torchvision.ops.nms(torch.tensor([[0., 0, 1, 1]]), torch.tensor([1.]), 0.5)")
    size = sum(f.stat().st_size for f in venv_dir.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"setup-cpu: {venv} ready for the CPU ({size / 2**30:.1f} GiB; {freed / 2**30:.1f} GiB of GPU-only "
          f"files removed, Triton not installed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
