"""Device choice (labseg.device): auto picks what this machine has."""
import torch

from labseg.device import resolve_device


def test_device_auto_falls_back_to_cpu_here():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        expected = "mps"
    assert resolve_device("auto").type == expected


def test_a_cpu_without_native_bf16_gets_one_line_saying_it_trains_in_fp32():
    from labseg.device import fp32_note

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    note = fp32_note("auto", cpu, bf16=False)
    assert note is not None and "no native bf16" in note and "fp32" in note and "\n" not in note
    assert fp32_note("auto", cpu, bf16=True) is None  # AMX or AVX512-BF16: bf16 autocast, as the studies ran
    assert fp32_note("off", cpu, bf16=False) is None  # fp32 asked for
    assert fp32_note("auto", cuda, bf16=False) is None
