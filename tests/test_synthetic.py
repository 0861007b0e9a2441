import os

import numpy as np
from PIL import Image

from labseg.data import check_data, image_path, read_split, trimap_path
from labseg.synthetic import make_sample, write_toy_pets


def test_samples_are_deterministic():
    a, b = make_sample(7, 1, "stripes"), make_sample(7, 1, "stripes")
    assert np.array_equal(np.asarray(a[0]), np.asarray(b[0])) and np.array_equal(np.asarray(a[1]), np.asarray(b[1]))
    assert not np.array_equal(np.asarray(make_sample(8, 1, "stripes")[1]), np.asarray(a[1]))


def test_toy_set_has_the_official_layout_and_varied_samples(toy_root):
    assert check_data(toy_root).errors == []
    names = [s.name for s in read_split(toy_root, "trainval")]
    sizes = {Image.open(image_path(toy_root, n)).size for n in names}
    assert len(sizes) > 10
    fractions = []
    for n in names:
        tri = np.asarray(Image.open(trimap_path(toy_root, n)))
        assert set(np.unique(tri).tolist()) == {1, 2, 3}
        fractions.append((tri != 2).mean())
    assert 0.05 < min(fractions) and max(fractions) < 0.7 and np.std(fractions) > 0.03
    assert {s.species for s in read_split(toy_root, "test")} == {"cat", "dog"}


def test_no_colour_threshold_separates_pets_from_background(toy_root):
    """The best single-channel threshold, chosen on the whole set, must stay far from solving it."""
    names = [s.name for s in read_split(toy_root, "trainval")]
    pix = np.concatenate([np.asarray(Image.open(image_path(toy_root, n)).convert("RGB")).reshape(-1, 3) for n in names])
    truth = np.concatenate([(np.asarray(Image.open(trimap_path(toy_root, n))) != 2).ravel() for n in names])
    best = 0.0
    for c in range(3):
        for t in range(0, 256, 8):
            for pred in (pix[:, c] > t, pix[:, c] <= t):
                tp = (pred & truth).sum()
                best = max(best, 2 * tp / (pred.sum() + truth.sum()))
    assert best < 0.6


def test_existing_folders_are_kept(tmp_path):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("precious")
    try:
        write_toy_pets(other, per_breed=1)
    except FileExistsError as exc:
        assert "nothing was written" in str(exc)
    else:
        raise AssertionError("an existing folder was overwritten")
    assert (other / "notes.txt").read_text() == "precious"


def test_synth_folders_follow_the_users_umask(tmp_path):
    from labseg.synthetic import write_toy_pets

    old = os.umask(0o022)
    try:
        root = write_toy_pets(tmp_path / "pets", per_breed=2)
    finally:
        os.umask(old)
    assert root.stat().st_mode & 0o777 == 0o755
    assert (root / "images").stat().st_mode & 0o777 == 0o755
