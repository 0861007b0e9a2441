"""Checkpoints (labseg.checkpoint): every way a file can be bad gets its own clear error."""
import pytest
import torch

from labseg.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from labseg.models import build_model


def test_bad_checkpoints_get_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="garbage.pt is not a PyTorch file"):
        load_checkpoint(garbage)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty.pt is empty"):
        load_checkpoint(tmp_path / "empty.pt")
    save_checkpoint(tmp_path / "full.pt", model={"w": torch.zeros(1000)}, config={})
    data = (tmp_path / "full.pt").read_bytes()
    (tmp_path / "half.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="half.pt is truncated"):
        load_checkpoint(tmp_path / "half.pt")
    whole = tmp_path / "whole.pt"
    torch.save(build_model("unet", width=2), whole)  # the original report's pickled whole model
    with pytest.raises(CheckpointError, match="whole.pt.*state_dict"):
        load_checkpoint(whole)
    bare = tmp_path / "bare.pt"
    torch.save(build_model("unet", width=2).state_dict(), bare)
    with pytest.raises(CheckpointError, match="not a labseg checkpoint"):
        load_checkpoint(bare)
    save_checkpoint(tmp_path / "ok.pt", model={}, config={})
    assert load_checkpoint(tmp_path / "ok.pt")["format"].startswith("labseg")
