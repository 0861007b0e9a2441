"""tools/setup_cpu.py (`make setup-cpu`, what CI installs): what it deletes is never linked at import."""
from __future__ import annotations

import fnmatch
import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("setup_cpu", ROOT / "tools" / "setup_cpu.py")
setup_cpu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(setup_cpu)


def test_prune_removes_the_gpu_only_files_and_keeps_what_torch_links(tmp_path):
    keep = ["nvidia/cudnn/lib/libcudnn.so.9", "nvidia/cu13/lib/libcublas.so.13", "nvidia/cu13/lib/libcudart.so.13",
            "nvidia/cu13/lib/libcusparse.so.12", "nvidia/nccl/lib/libnccl.so.2", "torch/lib/libtorch_cpu.so"]
    drop = ["nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9", "nvidia/cudnn/lib/libcudnn_adv.so.9",
            "nvidia/cu13/lib/libcusolver.so.12", "nvidia/cu13/lib/libcusolverMg.so.12",
            "nvidia/cu13/lib/libnvrtc.alt.so.13", "nvidia/cu13/lib/libcudart_static.a",
            "nvidia/cu13/lib/libnvperf_host.so", "nvidia/nvshmem/lib/libnvshmem_device.bc",
            "nvidia/cudnn/include/cudnn.h"]
    for rel in keep + drop:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x" * 10)
    assert setup_cpu.prune(tmp_path) == 10 * len(drop)
    assert all((tmp_path / rel).is_file() for rel in keep)
    assert not any((tmp_path / rel).exists() for rel in drop)
    assert setup_cpu.prune(tmp_path) == 0  # nothing left to remove


def _needed(lib: Path) -> set[str]:
    out = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True).stdout
    return {line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line}


def test_no_library_that_torch_links_at_import_is_pruned():
    """The libraries `import torch, torchvision` loads: their extension modules and, transitively, every library
    they name as needed (readelf -d), found among torch's and the NVIDIA packages' files. None matches a pattern
    setup-cpu deletes. (libtorch_cuda_linalg.so, which needs cuSOLVER, is not among them: torch opens it on the
    first linear-algebra call on a GPU.)"""
    import torch
    import torchvision

    if shutil.which("readelf") is None:
        pytest.skip("readelf (binutils) is not installed")
    site = Path(torch.__file__).parent.parent
    files = {p.name: p for p in site.glob("*/lib/*.so*")} | {p.name: p for p in site.glob("nvidia/*/lib/*.so*")}
    todo = [p for pkg in (torch, torchvision) for p in Path(pkg.__file__).parent.glob("*.so")]
    assert todo, "no extension module found in torch"
    seen: set[str] = set()
    while todo:
        for name in _needed(todo.pop()):
            if name not in seen:
                seen.add(name)
                if name in files:
                    todo.append(files[name])
    assert {"libtorch_cpu.so", "libc10.so"} <= seen  # the walk follows torch's own links
    assert "libtorch_cuda_linalg.so" not in seen
    names = [pattern.rsplit("/", 1)[1] for pattern in setup_cpu.GPU_ONLY]
    linked = sorted(n for n in seen for name in names if fnmatch.fnmatch(n, name))
    assert not linked, f"setup-cpu would delete libraries that import torch links: {linked}"
