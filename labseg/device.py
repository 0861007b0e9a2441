"""Where and in what precision a model runs: device choice, bf16 autocast, CPU threads, and the
one conversion of a uint8 batch into the network's normalised input."""
from __future__ import annotations

import functools
from contextlib import nullcontext
from pathlib import Path

import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"--device {name}: unknown device; use auto, cpu, cuda or mps.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: no CUDA GPU is available here; use --device auto or cpu.")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"--device {name}: Apple's MPS is not available here; use --device auto or cpu.")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device {name}: labseg runs on cpu, cuda or mps.")
    return device


def set_threads(threads: int | None) -> None:
    """Cap torch's CPU threads (None: leave torch's choice, which OMP_NUM_THREADS also sets)."""
    if threads is not None:
        torch.set_num_threads(int(threads))


@functools.cache
def cpu_name() -> str:
    """The CPU's model name (timings differ 5x between machines of one kind: name it beside them)."""
    import platform

    try:
        info = Path("/proc/cpuinfo").read_text()
        for line in info.splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                extra = "AMX" if "amx_bf16" in info else "AVX512-BF16" if "avx512_bf16" in info else ""
                return f"{name} ({extra})" if extra else name
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated and slow."""
    return cpu_family() != "no-bf16"


def cpu_family(flags: str | None = None) -> str:
    """The CPU's bf16 arithmetic, which decides a bf16 training run's figures bit for bit:
    ``amx`` (Intel Xeon with AMX tiles), ``avx512-bf16`` (AMD EPYC, or an Intel CPU with AVX512-BF16 but no
    AMX), or ``no-bf16`` (bf16 emulated: ``--amp auto`` trains in fp32). ``flags``: /proc/cpuinfo's text
    (read from the machine when None)."""
    if flags is None:
        try:
            flags = Path("/proc/cpuinfo").read_text()
        except OSError:
            flags = ""
    words = set(flags.split())
    if "amx_bf16" in words:
        return "amx"
    if "avx512_bf16" in words:
        return "avx512-bf16"
    return "no-bf16"


def use_bf16(amp: str, device: torch.device) -> bool:
    if amp not in ("auto", "bf16", "off"):
        raise ValueError(f"--amp {amp}: choose auto, bf16 or off.")
    if amp == "off":
        return False
    if amp == "bf16":
        return True
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_fast_bf16()


def fp32_note(amp: str, device: torch.device, bf16: bool) -> str | None:
    """One line for a run that asked for bf16 where it helps (``--amp auto``) on a CPU without native bf16: it
    trains in fp32, so it lands on other figures than the studies' runs and takes about 3x their time (None
    elsewhere)."""
    if amp != "auto" or device.type != "cpu" or bf16:
        return None
    return ("note: this CPU has no native bf16 (AMX or AVX512-BF16), so --amp auto trains in fp32: other figures "
            "than the studies' runs (bf16) and about 3x their time (docs/performance.md)")


def autocast(device: torch.device, enabled: bool):
    return torch.autocast(device.type, dtype=torch.bfloat16) if enabled else nullcontext()


def prepare_batch(images: torch.Tensor, masks: torch.Tensor, device: torch.device, channels_last: bool):
    """uint8 (N, 3, H, W) (or float32 in [0, 1], normalised in place) -> normalised float on ``device``; masks
    stay uint8 (255 = ignored). The memory layout of the input is kept (NHWC rows stay channels_last)."""
    images = images.to(device, non_blocking=True)
    scaled = images.dtype == torch.uint8
    images = images.to(torch.float32)
    if scaled:
        images.div_(255)
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    images.sub_(mean).div_(std)  # in place, the same arithmetic as (x - mean) / std
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images, masks.to(device, non_blocking=True)
