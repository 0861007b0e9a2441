"""Batch-level augmentation (``--augment-on device``) against the per-sample torchvision path."""
import math

import pytest
import torch

from labseg.batch_augment import BatchAugment, color_jitter, shift_hue
from labseg.data import sample_generator
from labseg.transforms import AFFINE, COLOR, SCALE, build_train_transform

S = 64


def blobs(n: int, seed: int = 0):
    """Images whose red channel is 200 inside an ellipse (the mask) plus smooth ramps elsewhere."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(S), torch.arange(S), indexing="ij")
    images, masks = [], []
    for _ in range(n):
        cy, cx = torch.randint(20, S - 20, (2,), generator=g).tolist()
        m = (((yy - cy) ** 2 / 150 + (xx - cx) ** 2 / 60) < 1).to(torch.uint8)
        images.append(torch.stack([m * 200 + 20, (yy * 3).to(torch.uint8), (255 - xx * 3).to(torch.uint8)]))
        masks.append(m[None])
    return torch.stack(images), torch.stack(masks)


def per_sample(flip, augment, images, masks, seed, epoch, indices):
    t = build_train_transform(flip, augment, S)
    out = [t(images[k], masks[k], sample_generator(seed, epoch, i)) for k, i in enumerate(indices)]
    return torch.stack([o[0] for o in out]), torch.stack([o[1] for o in out])


@pytest.mark.parametrize("flip", ["hflip", "hvflip", "independent"])
def test_flips_equal_the_per_sample_path_bit_for_bit(flip):
    images, masks = blobs(24)
    indices = list(range(100, 124))
    ref_x, ref_y = per_sample(flip, "flip", images, masks, 7, 3, indices)
    x, y = BatchAugment(flip, "flip", S, seed=7)(images, masks, indices, 3)
    assert x.dtype == y.dtype == torch.uint8  # nothing resampled: exact
    assert torch.equal(x, ref_x) and torch.equal(y, ref_y)
    assert not torch.equal(y, masks)  # something was flipped


@pytest.mark.parametrize("flip,augment", [("hflip", "scale"), ("none", "rotate"), ("hvflip", "all"), ("none", "color"),
                                                 ("hflip", "rotate-color"), ("hflip", "scale-rotate")])
def test_presets_match_the_per_sample_path_up_to_resampling(flip, augment):
    """The same parameters (drawn by torchvision's own make_params, same seeds): masks agree on all but a thin
    edge, images up to interpolation (one grid_sample, bilinear, float) and uint8 rounding."""
    images, masks = blobs(16, seed=1)
    indices = list(range(16))
    ref_x, ref_y = per_sample(flip, augment, images, masks, 0, 5, indices)
    x, y = BatchAugment(flip, augment, S, seed=0)(images, masks, indices, 5)
    agree = (y == ref_y).float().mean(dim=(1, 2, 3))
    assert agree.min() > 0.97, agree
    assert (x - ref_x.float() / 255).abs().mean() < 0.02
    if augment == "color":
        assert torch.equal(y, masks) and (x - ref_x.float() / 255).abs().max() < 8 / 255


@pytest.mark.parametrize("augment", ["scale", "rotate", "all"])
def test_geometry_keeps_image_and_mask_aligned(augment):
    """The red channel thresholded is the mask after the transform (colour jitter shifts the threshold a bit)."""
    images, masks = blobs(32, seed=2)
    x, y = BatchAugment("hflip", augment, S, seed=1)(images, masks, list(range(32)), 0)
    inside = x[:, 0] > (120 / 255 if augment != "all" else 0.0)
    if augment == "all":  # colour changes red levels: compare with a per-image threshold between the two modes
        r = x[:, 0]
        lo, hi = r.amin(dim=(1, 2), keepdim=True), r.amax(dim=(1, 2), keepdim=True)
        inside = r > (lo + hi) / 2
    agree = (inside == (y[:, 0] == 1)).float().mean(dim=(1, 2))
    assert agree.min() > 0.96, agree
    assert set(torch.unique(y).tolist()) <= {0, 1}
    assert sum(not torch.equal(y[k], masks[k]) for k in range(32)) >= 28


def test_batch_composition_and_order_do_not_change_a_sample():
    """A sample's augmentation depends on (seed, epoch, index) only: any batch, any position, any resume."""
    images, masks = blobs(12, seed=3)
    aug = BatchAugment("hvflip", "all", S, seed=4)
    indices = list(range(50, 62))
    x, y = aug(images, masks, indices, 9)
    perm = torch.randperm(12, generator=torch.Generator().manual_seed(0))
    xp, yp = aug(images[perm], masks[perm], [indices[i] for i in perm], 9)
    assert torch.allclose(xp, x[perm], atol=1e-6) and torch.equal(yp, y[perm])
    x2, _ = aug(images, masks, indices, 10)
    assert not torch.allclose(x2, x)  # another epoch, other draws


def test_parameter_distributions_follow_the_presets():
    aug = BatchAugment("hvflip", "all", S, seed=0)
    p = aug.params(range(2000), epoch=0)
    for flags in (p.hflip, p.vflip):
        assert 0.45 < flags.float().mean() < 0.55
    assert torch.equal(p.hflip, p.mask_hflip) and torch.equal(p.vflip, p.mask_vflip)
    top, left, h, w = p.crop.unbind(1)
    area = h * w / S**2
    assert area.min() >= SCALE["scale"][0] - 0.05 and area.max() <= 1.0 and 0.7 < area.mean() < 0.8  # U(0.5, 1)
    assert ((top >= 0) & (left >= 0) & (top + h <= S) & (left + w <= S)).all()
    angle, tx, ty, scale = p.affine.unbind(1)
    assert angle.abs().max() <= AFFINE["degrees"] and abs(angle.mean()) < 1.0 and angle.std() > 7  # U(-15, 15): 8.7
    assert tx.abs().max() <= round(AFFINE["translate"][0] * S) and torch.equal(tx, tx.round())
    assert scale.min() >= AFFINE["scale"][0] and scale.max() <= AFFINE["scale"][1]
    b, c, s, hue = p.color.unbind(1)
    for f, key in ((b, "brightness"), (c, "contrast"), (s, "saturation")):
        assert f.min() >= 1 - COLOR[key] and f.max() <= 1 + COLOR[key] and abs(f.mean() - 1) < 0.02
    assert hue.abs().max() <= COLOR["hue"]
    assert all(sorted(o.tolist()) == [0, 1, 2, 3] for o in p.order) and len({tuple(o.tolist()) for o in p.order}) == 24


def test_independent_arm_draws_the_masks_flips_separately():
    p = BatchAugment("independent", "flip", S, seed=0).params(range(400), epoch=0)
    same = ((p.hflip == p.mask_hflip) & (p.vflip == p.mask_vflip)).float().mean()
    assert 0.15 < same < 0.35  # about 1 in 4 by chance


def test_colour_ops_against_colorsys_and_torchvision():
    import colorsys

    x = torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    x[0, :, 0, 0] = 0.5  # a grey pixel: no hue to turn
    delta = torch.tensor([0.3, -0.45])
    got = shift_hue(x, delta)
    for k in range(2):
        for (r, g, b), out in zip(x[k].reshape(3, -1).T.tolist(), got[k].reshape(3, -1).T.tolist()):
            h, s, v = colorsys.rgb_to_hsv(r, g, b)
            assert out == pytest.approx(colorsys.hsv_to_rgb((h + float(delta[k])) % 1.0, s, v), abs=1e-5)
    assert torch.allclose(shift_hue(got, -delta), x, atol=1e-5)
    # one op at a time against torchvision's functional ops on float images, per-sample factors
    from torchvision.transforms.v2 import functional as TF

    factors = torch.tensor([[1.2, 0.8, 1.3, 0.04], [0.7, 1.25, 0.75, -0.05]])
    for op, fn in enumerate((TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)):
        order = torch.tensor([[op, *[o for o in range(4) if o != op]]] * 2)
        only = torch.tensor([[1.0, 1.0, 1.0, 0.0]] * 2)
        only[:, op] = factors[:, op]
        got = color_jitter(x, only, order)
        want = torch.stack([fn(x[k], float(factors[k, op])) for k in range(2)])
        assert torch.allclose(got, want, atol=2e-5), op


def test_training_with_device_augmentation_learns_and_resumes_exactly(toy_root, tmp_path):
    from test_engine import interrupted_and_resumed

    _, history = interrupted_and_resumed(toy_root, tmp_path, ["train_loss", "val_loss", "val_dice"], epochs=3,
                                         augment="all", augment_on="device")
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert math.isfinite(history["val_dice"].iloc[-1])


def draws(**strength):
    """Per-sample parameters of 400 samples, as torchvision's make_params draws them."""
    aug = BatchAugment("none", "all", S, seed=0, **strength)
    return aug.params(list(range(400)), 0)


def test_strength_options_bound_the_drawn_parameters():
    default, mild = draws(), draws(crop_scale=0.9, affine_shift=0.02, color_strength=0.1)
    area = lambda p: (p.crop[:, 2] * p.crop[:, 3] / S**2).numpy()  # noqa: E731
    assert area(default).min() < 0.6 and area(mild).min() > 0.85  # integer crop sides: a little under 0.9
    assert default.affine[:, 1:3].abs().max() > 0.05 * S and mild.affine[:, 1:3].abs().max() <= 0.02 * S + 1e-6
    b, hue = mild.color[:, 0], mild.color[:, 3]
    assert b.min() >= 0.9 - 1e-6 and b.max() <= 1.1 + 1e-6 and hue.abs().max() <= 0.1 / 6 + 1e-6
    assert default.color[:, 0].min() < 0.8  # default brightness +-0.3
    none = draws(affine_p=0.0)
    assert torch.equal(none.affine, torch.tensor([[0.0, 0.0, 0.0, 1.0]]).expand(400, 4))
