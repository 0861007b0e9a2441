import torch

from labseg.transforms import build_train_transform


def pair():
    image = torch.arange(3 * 6 * 5, dtype=torch.int64).reshape(3, 6, 5).to(torch.uint8)
    return image, image[:1].clone()  # mask = first channel: aligned iff equal after the transform


def hand_flips(x):
    return [x, x.flip(-1), x.flip(-2), x.flip(-1).flip(-2)]


def test_joint_flips_keep_image_and_mask_aligned_and_do_flip():
    image, mask = pair()
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(40):
        im, m = build_train_transform("hvflip")(image, mask, g)
        assert torch.equal(im[:1], m)
        outcomes = [k for k, f in enumerate(hand_flips(image)) if torch.equal(im, f)]
        assert len(outcomes) == 1
        seen.add(outcomes[0])
    assert seen == {0, 1, 2, 3}


def test_hflip_only_flips_horizontally():
    image, mask = pair()
    g = torch.Generator().manual_seed(1)
    results = [build_train_transform("hflip")(image, mask, g)[0] for _ in range(20)]
    assert all(torch.equal(r, image) or torch.equal(r, image.flip(-1)) for r in results)
    assert any(torch.equal(r, image.flip(-1)) for r in results)


def test_independent_switch_reproduces_misaligned_flips():
    image, mask = pair()
    g = torch.Generator().manual_seed(0)
    aligned = [torch.equal(*(lambda im, m: (im[:1], m))(*build_train_transform("independent")(image, mask, g)))
               for _ in range(40)]
    assert 0 < sum(aligned) < 40  # about 1 in 4 by chance


def test_no_flip_is_identity():
    assert build_train_transform("none") is None


def _blob_pair(size=64, seed=0):
    """A random blob: the mask, and an image whose first channel is 255 where the mask is 1."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    cy, cx = torch.randint(20, size - 20, (2,), generator=g).tolist()
    mask = (((yy - cy) ** 2 / 150 + (xx - cx) ** 2 / 60) < 1).to(torch.uint8)[None]
    image = torch.stack([mask[0] * 255, torch.full_like(mask[0], 90), (xx * 3).to(torch.uint8)])
    return image, mask


import pytest  # noqa: E402


@pytest.mark.parametrize("augment", ["scale", "rotate", "rotate-color", "all"])
def test_geometric_presets_move_image_and_mask_together(augment):
    """After the transform, the image's first channel (bilinear) thresholded at 128 is the mask (nearest):
    they agree except on a thin edge. Independent draws would not."""
    agreement, changed = [], 0
    for seed in range(12):
        image, mask = _blob_pair(seed=seed)
        g = torch.Generator().manual_seed(seed)
        im, m = build_train_transform("hflip", augment, 64)(image, mask, g)
        assert im.shape == image.shape and m.shape == mask.shape and im.dtype == m.dtype == torch.uint8
        assert set(torch.unique(m).tolist()) <= {0, 1}  # nearest: no new mask values
        agreement.append(((im[0] >= 128) == (m[0] == 1)).float().mean().item())
        changed += not torch.equal(m, mask) and not torch.equal(m, mask.flip(-1))
    assert min(agreement) > 0.97 and changed >= 9


def test_color_preset_changes_the_image_only_and_is_deterministic():
    image, mask = _blob_pair()
    t = build_train_transform("none", "color", 64)
    a = t(image, mask, torch.Generator().manual_seed(5))
    b = t(image, mask, torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], mask) and not torch.equal(a[0], image)


def test_unknown_preset_names_the_option():
    with pytest.raises(ValueError, match="--augment blur"):
        build_train_transform("hflip", "blur", 64)
