import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from labseg import data as D
from labseg.data import DataError, check_data, load_split_arrays, read_split, trimap_to_mask


def copy_tree(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def test_splits_follow_the_course_rule(toy_root):
    trainval = [s.name for s in read_split(toy_root, "trainval")]
    val = [s.name for s in read_split(toy_root, "val")]
    train = [s.name for s in read_split(toy_root, "train")]
    assert val == trainval[::10]
    assert sorted(train + val) == sorted(trainval) and not set(train) & set(val)
    assert [s.name for s in read_split(toy_root, "valid")] == val
    assert len(read_split(toy_root, "test")) == 30


def test_trimap_conversion_modes():
    tri = np.array([[1, 2, 3]], np.uint8)
    assert trimap_to_mask(tri).tolist() == [[1, 0, 1]]
    assert trimap_to_mask(tri, "background").tolist() == [[1, 0, 0]]
    assert trimap_to_mask(tri, "ignore").tolist() == [[1, 0, 255]]
    assert trimap_to_mask(np.array([[0, 255]], np.uint8)).tolist() == [[0, 1]]
    assert trimap_to_mask(np.array([[0, 1]], np.uint8)).tolist() == [[0, 1]]
    with pytest.raises(DataError, match="my_mask.png"):
        trimap_to_mask(np.array([[0, 7, 200]], np.uint8), source="my_mask.png")


def test_cached_arrays_have_resized_images_and_nearest_masks(toy_root):
    arrays = load_split_arrays(toy_root, "train", 40)
    assert arrays.images.shape == (27, 40, 40, 3) and arrays.images.dtype == np.uint8
    assert set(np.unique(arrays.masks).tolist()) == {0, 1}  # nearest: no blended label values
    ignored = load_split_arrays(toy_root, "train", 40, boundary="ignore")
    assert set(np.unique(ignored.masks).tolist()) == {0, 1, 255}


def test_cache_is_reused_and_rebuilt_when_a_source_changes(tmp_path, toy_root, monkeypatch):
    root = copy_tree(toy_root, tmp_path / "toy")
    first = load_split_arrays(root, "val", 32, cache_dir=tmp_path / "c")

    def boom(*a, **k):
        raise AssertionError("decoded again although cached")

    with monkeypatch.context() as m:
        m.setattr(D, "load_pair", boom)
        np.testing.assert_array_equal(load_split_arrays(root, "val", 32, cache_dir=tmp_path / "c").images, first.images)
    name = first.samples[0].name
    Image.new("RGB", (50, 40), (255, 0, 0)).save(D.image_path(root, name))
    Image.new("L", (50, 40), 1).save(D.trimap_path(root, name))
    rebuilt = load_split_arrays(root, "val", 32, cache_dir=tmp_path / "c")
    assert (np.abs(rebuilt.images[0].astype(int) - [255, 0, 0]) <= 3).all() and (rebuilt.masks[0] == 1).all()


@pytest.fixture
def broken_root(tmp_path, toy_root):
    """A copy of the toy set with one corrupt JPEG and one missing trimap (both in train)."""
    root = copy_tree(toy_root, tmp_path / "broken")
    train = [s.name for s in read_split(root, "train")]
    D.image_path(root, train[0]).write_bytes(b"\xff\xd8\xff not really a jpeg")
    D.trimap_path(root, train[1]).unlink()
    return root, train[0], train[1]


def test_check_data_names_broken_and_missing_files(broken_root):
    root, corrupt, missing = broken_root
    report = check_data(root)
    assert report.bad_names == {corrupt, missing}
    text = report.format()
    assert f"{corrupt}.jpg" in text and f"{missing}.png" in text


def test_training_data_skips_bad_samples_with_one_warning_or_fails_in_strict_mode(broken_root):
    root, corrupt, missing = broken_root
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays = load_split_arrays(root, "train", 32)
    messages = [str(w.message) for w in caught if "Skipping" in str(w.message)]
    assert len(messages) == 1 and corrupt in messages[0] and missing in messages[0]
    assert len(arrays.samples) == 25 and len(arrays.images) == 25
    with pytest.raises(DataError, match=corrupt):
        load_split_arrays(root, "train", 32, strict=True, use_cache=False)


def test_missing_folder_and_split_file_are_one_line_errors(tmp_path, toy_root):
    with pytest.raises(DataError, match="labseg synth"):
        read_split(tmp_path / "nowhere", "train")
    root = copy_tree(toy_root, tmp_path / "nosplit")
    (root / "annotations" / "test.txt").unlink()
    with pytest.raises(DataError, match="test.txt"):
        read_split(root, "test")


def test_cli_reports_a_wrong_path_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "labseg", "check-data", str(tmp_path / "missing")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Data folder not found" in proc.stderr and "Traceback" not in proc.stderr


def test_quirky_image_formats_are_opened_by_content(tmp_path):
    rgba = tmp_path / "rgba.jpg"
    Image.new("RGBA", (9, 7), (10, 20, 30, 0)).save(rgba, format="PNG")
    gif = tmp_path / "pal.jpg"
    Image.new("P", (9, 7), 3).save(gif, format="GIF")
    grey = tmp_path / "grey.jpg"
    Image.new("L", (9, 7), 80).save(grey, format="JPEG")
    for p in (rgba, gif, grey):
        img = D.load_image(p)
        assert img.mode == "RGB" and img.size == (9, 7)
    assert D.load_image(grey).getpixel((0, 0)) == (80, 80, 80)


def test_real_subset_splits_and_quirks(real_root):
    assert len(read_split(real_root, "train")) == 270
    assert len(read_split(real_root, "val")) == 30
    assert len(read_split(real_root, "test")) == 298
    report = check_data(real_root)
    assert report.errors == []
    notes = dict(report.notes)
    assert "PNG" in " ".join(n for k, n in report.notes if k == "Abyssinian_5")
    assert "Abyssinian_34" in notes  # the GIF that is in no split
    img = D.load_image(D.image_path(real_root, "Abyssinian_5"))
    assert img.mode == "RGB" and img.size == (200, 150)
    species = {s.species for s in read_split(real_root, "test")}
    assert species == {"cat", "dog"}


def test_dataset_items_are_deterministic_per_seed_epoch_and_index(toy_root):
    from labseg.transforms import build_train_transform

    ds = D.PetDataset(load_split_arrays(toy_root, "train", 32), build_train_transform("hvflip"), seed=3)
    a = [ds[i][0] for i in range(8)]
    b = [ds[i][0] for i in range(8)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    ds.set_epoch(1)
    c = [ds[i][0] for i in range(8)]
    assert not all(torch.equal(x, y) for x, y in zip(a, c))


def _numpy_samples(ds, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The first ``n`` samples of ``ds`` as numpy (image (S, S, 3), mask (S, S)), as the arrays hold them."""
    return [(image.permute(1, 2, 0).numpy(), mask[0].numpy()) for image, mask, _ in (ds[i] for i in range(n))]


def _assert_share_zero_draws_nothing(arrays, **share_zero):
    """At share 0 a sample mix draws nothing: the very samples of a run without it, transform included."""
    from labseg.transforms import build_train_transform

    plain = D.PetDataset(arrays, build_train_transform("hflip", "all", 32), seed=5)
    off = D.PetDataset(arrays, build_train_transform("hflip", "all", 32), seed=5, **share_zero)
    assert all(torch.equal(plain[i][0], off[i][0]) and torch.equal(plain[i][1], off[i][1]) for i in range(6))


def test_copy_paste_pastes_another_samples_pet_through_its_mask(toy_root):
    """Without a transform the pasted sample is checked pixel by pixel against numpy: where the donor's mask marks
    its pet, the donor's image and mask; elsewhere the sample's own. The donor is some other sample; at share 0
    nothing changes, at share 1 every sample gets a pet."""
    arrays = load_split_arrays(toy_root, "train", 32)
    images, masks = arrays.images, arrays.masks  # (N, S, S, 3), (N, S, S)
    pasted = D.PetDataset(arrays, None, seed=5, copy_paste=1.0)
    donors = []
    for i, (image, mask) in enumerate(_numpy_samples(pasted, 12)):
        found = [d for d in range(len(images)) if d != i
                 and np.array_equal(image, np.where(masks[d][..., None] > 0, images[d], images[i]))
                 and np.array_equal(mask, np.where(masks[d] > 0, masks[d], masks[i]))]
        assert found, f"sample {i}: not its own photo with another sample's pet pasted in"
        donors.append(found[0])
    assert len(set(donors)) > 3  # donors are drawn, not fixed
    assert (pasted[3][1] > 0).sum() >= (torch.from_numpy(masks[3]) > 0).sum()  # the pet only grows
    _assert_share_zero_draws_nothing(arrays, copy_paste=0.0)
    # share 0.5: about half the samples change, the same ones each time for a (seed, epoch)
    half = D.PetDataset(arrays, None, seed=5, copy_paste=0.5)
    changed = [not torch.equal(half[i][1], torch.from_numpy(masks[i])[None]) for i in range(len(images))]
    assert 0.25 < np.mean(changed) < 0.75
    assert changed == [not torch.equal(half[i][1], torch.from_numpy(masks[i])[None]) for i in range(len(images))]


def test_cutmix_puts_a_box_of_another_sample_in_place(toy_root):
    """Without a transform the mixed sample is checked against numpy: inside one axis-aligned box, another sample's
    image and mask; outside it, the sample's own. Boxes vary in size and place; at share 0 nothing changes."""
    arrays = load_split_arrays(toy_root, "train", 32)
    images, masks = arrays.images, arrays.masks  # (N, S, S, 3), (N, S, S)
    mixed = D.PetDataset(arrays, None, seed=7, cutmix=1.0)
    boxes = []
    for i, (image, mask) in enumerate(_numpy_samples(mixed, 16)):
        changed = np.argwhere((image != images[i]).any(-1))
        if not len(changed):  # an empty box (lam near 1) or a donor equal to the sample in the box
            continue
        (r0, c0), (r1, c1) = changed.min(0), changed.max(0) + 1
        found = [d for d in range(len(images)) if d != i
                 and np.array_equal(image[r0:r1, c0:c1], images[d][r0:r1, c0:c1])
                 and np.array_equal(mask[r0:r1, c0:c1], masks[d][r0:r1, c0:c1])]
        assert found, f"sample {i}: its box is not another sample's pixels"
        outside = np.ones(mask.shape, bool)
        outside[r0:r1, c0:c1] = False
        assert np.array_equal(image[outside], images[i][outside]) and np.array_equal(mask[outside], masks[i][outside])
        boxes.append((r1 - r0) * (c1 - c0))
    assert len(boxes) >= 10 and len(set(boxes)) > 5  # boxes drawn, not fixed
    assert max(boxes) > 0.3 * 32 * 32 and min(boxes) < 0.2 * 32 * 32
    _assert_share_zero_draws_nothing(arrays, cutmix=0.0)


def test_a_cutmix_box_has_the_drawn_side_and_stays_on_the_image():
    """cutmix_box against its definition: side round-down of sqrt(1 - lam) x the image's, centred on the drawn
    point, cut at the edges; over many draws its area averages about half the image's less the cut parts."""
    for k in range(200):
        g = torch.Generator().manual_seed(k)
        lam, cy, cx = torch.rand(3, generator=torch.Generator().manual_seed(k)).tolist()
        rows, cols = D.cutmix_box((40, 60), g)
        side_h, side_w = int((1 - lam) ** 0.5 * 40), int((1 - lam) ** 0.5 * 60)
        top, left = int(cy * 40) - side_h // 2, int(cx * 60) - side_w // 2
        assert (rows.start, rows.stop) == (max(top, 0), min(top + side_h, 40))
        assert (cols.start, cols.stop) == (max(left, 0), min(left + side_w, 60))
        assert 0 <= rows.start <= rows.stop <= 40 and 0 <= cols.start <= cols.stop <= 60


def test_prediction_sees_the_pixels_that_training_and_evaluate_see(toy_root):
    """One decode path: the image predict feeds the network equals the cached training/evaluation array."""
    from labseg.data import image_path, load_resized_image, load_split_arrays

    arrays = load_split_arrays(toy_root, "test", 40, use_cache=False)
    for i in (0, 7, len(arrays.samples) - 1):
        direct = load_resized_image(image_path(toy_root, arrays.samples[i].name), 40)
        assert direct.shape == (40, 40, 3) and np.array_equal(direct, arrays.images[i])


def test_full_decode_decodes_every_pixel_before_the_resize(tmp_path):
    from labseg.synthetic import write_toy_pets

    root = write_toy_pets(tmp_path / "pets", per_breed=2)
    name = (root / "annotations" / "trainval.txt").read_text().split()[0]
    big = Image.open(root / "images" / f"{name}.jpg").convert("RGB").resize((800, 600), Image.BICUBIC)
    big.save(root / "images" / f"{name}.jpg", quality=95)
    trimap = Image.open(root / "annotations" / "trimaps" / f"{name}.png").resize((800, 600), Image.NEAREST)
    trimap.save(root / "annotations" / "trimaps" / f"{name}.png")
    draft = load_split_arrays(root, "trainval", 64, cache_dir=tmp_path / "cache", limit=1)
    full = load_split_arrays(root, "trainval", 64, cache_dir=tmp_path / "cache", limit=1, draft=False)
    with Image.open(root / "images" / f"{name}.jpg") as img:
        expected = np.array(img.convert("RGB").resize((64, 64), Image.BILINEAR, reducing_gap=None))
    assert np.array_equal(full.images[0], expected)
    assert not np.array_equal(draft.images[0], full.images[0])  # the draft decoded at 1/8 scale
    assert np.abs(draft.images[0].astype(int) - full.images[0].astype(int)).mean() < 8
    assert np.array_equal(draft.masks, full.masks)
    assert (len(list((tmp_path / "cache").glob("*-full-*.npz"))) == 1
            and len(list((tmp_path / "cache").glob("*.npz"))) == 2)
