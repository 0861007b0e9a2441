"""Device choice (labseg.device): auto picks what this machine has."""
import torch

from labseg.device import resolve_device


def test_device_auto_falls_back_to_cpu_here():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        expected = "mps"
    assert resolve_device("auto").type == expected
