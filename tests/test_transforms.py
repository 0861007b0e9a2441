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
