"""The saved test masks (labseg.saved_masks): a round trip, and a bad file named."""
import numpy as np
import pytest

from labseg.saved_masks import FILE, SavedMasksError, load_masks, save_masks


def test_saved_masks_round_trip_and_a_bad_file_is_named(tmp_path):
    rng = np.random.default_rng(0)
    masks = rng.random((37, 24, 20)) > 0.5
    names = [f"img_{i}" for i in range(37)]
    save_masks(tmp_path / FILE, names, masks)
    back = load_masks(tmp_path / FILE)
    assert list(back) == names and all(np.array_equal(back[n], m) for n, m in zip(names, masks))
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(SavedMasksError, match="bad.png"):
        load_masks(tmp_path / "bad.png")
