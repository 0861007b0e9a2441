import torch

from labseg.batch_augment import BatchAugment
from labseg.config import RunConfig
from labseg.data import sample_generator
from labseg.transforms import build_train_transform
from test_batch_augment import S, blobs  # the same synthetic blob images


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


def per_sample(transform, images, masks, seed=0, epoch=0):
    out = [transform(images[k], masks[k], sample_generator(seed, epoch, k)) for k in range(len(images))]
    return torch.stack([o[0] for o in out]), torch.stack([o[1] for o in out])


def test_the_default_strength_draws_exactly_as_the_committed_runs():
    images, masks = blobs(12)
    plain = per_sample(build_train_transform("hflip", "all", S), images, masks)
    explicit = per_sample(build_train_transform("hflip", "all", S, crop_scale=0.5, affine_p=1.0, affine_shift=0.1,
                                                color_strength=0.3), images, masks)
    assert torch.equal(plain[0], explicit[0]) and torch.equal(plain[1], explicit[1])


def test_affine_p_zero_leaves_only_the_flips_and_one_half_applies_about_half():
    images, masks = blobs(40, seed=3)
    flips = per_sample(build_train_transform("hflip", "flip", S), images, masks)
    never = per_sample(build_train_transform("hflip", "rotate", S, affine_p=0.0), images, masks)
    assert torch.equal(never[0], flips[0]) and torch.equal(never[1], flips[1])  # the flips' draws come first
    half = per_sample(build_train_transform("hflip", "rotate", S, affine_p=0.5), images, masks)
    moved = sum(not torch.equal(half[1][k], flips[1][k]) for k in range(40))
    assert 10 <= moved <= 30, moved


def test_rotate_color_is_the_affine_map_then_the_colour_jitter():
    """Masks as --augment rotate moves them (colour draws after the affine map and leaves masks alone); images as
    rotate's, then jittered: the jitter with strength 0 leaves rotate's images exactly."""
    images, masks = blobs(12, seed=4)
    rotate = per_sample(build_train_transform("hflip", "rotate", S, affine_p=0.5, affine_shift=0.05), images, masks)
    both = per_sample(build_train_transform("hflip", "rotate-color", S, affine_p=0.5, affine_shift=0.05), images, masks)
    still = per_sample(build_train_transform("hflip", "rotate-color", S, affine_p=0.5, affine_shift=0.05,
                                             color_strength=0.0), images, masks)
    assert torch.equal(both[1], rotate[1]) and not torch.equal(both[0], rotate[0])
    assert torch.equal(still[0], rotate[0]) and torch.equal(still[1], rotate[1])
    assert not torch.equal(rotate[1], masks)  # the affine map moved some masks
    RunConfig(augment="rotate-color", affine_p=0.5, affine_shift=0.05, color_strength=0.1).validate()


def test_scale_rotate_is_all_without_the_colour_jitter():
    """--augment scale-rotate draws the crop, then the affine map, as all does, and jitters nothing: all with colour
    strength 0 gives the same images and masks; the crops make them differ from rotate's."""
    images, masks = blobs(12, seed=5)
    kw = dict(affine_p=0.5, affine_shift=0.05)
    both = per_sample(build_train_transform("hflip", "scale-rotate", S, **kw), images, masks)
    grey = per_sample(build_train_transform("hflip", "all", S, color_strength=0.0, **kw), images, masks)
    rotate = per_sample(build_train_transform("hflip", "rotate", S, **kw), images, masks)
    assert torch.equal(both[0], grey[0]) and torch.equal(both[1], grey[1])
    assert not torch.equal(both[1], rotate[1])
    RunConfig(augment="scale-rotate", augment_source="2x", crop_scale=0.6, **kw).validate()


def test_batch_path_with_affine_p_draws_what_the_per_sample_path_draws():
    images, masks = blobs(24, seed=5)
    ref_x, ref_y = per_sample(build_train_transform("hflip", "rotate", S, affine_p=0.5), images, masks, 0, 2)
    x, y = BatchAugment("hflip", "rotate", S, seed=0, affine_p=0.5)(images, masks, list(range(24)), 2)
    agree = (y == ref_y).float().mean(dim=(1, 2, 3))
    assert agree.min() > 0.97, agree
    assert (x - ref_x.float() / 255).abs().mean() < 0.02
