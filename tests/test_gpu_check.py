"""`python -m labseg.tools.gpu_check` on a machine without CUDA: one line, nothing written."""


def test_gpu_check_says_so_in_one_line_and_writes_nothing_without_cuda(tmp_path, capsys):
    import torch

    from labseg.tools.gpu_check import main

    if torch.cuda.is_available():
        import pytest

        pytest.skip("this machine has CUDA: the check would run")
    assert main(["--out", str(tmp_path / "latest-cuda.txt")]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and "no CUDA GPU" in printed[0]
    assert not list(tmp_path.iterdir())
