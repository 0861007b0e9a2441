"""The recipe study's factors (10_recipe): each option does what it says, against an independent computation,
and leaves the committed runs' arithmetic unchanged at its default."""
import numpy as np
import pytest
import torch
from PIL import Image

from labseg.batch_augment import BatchAugment
from labseg.config import RunConfig, profile_config
from labseg.data import load_split_arrays, sample_generator
from labseg.losses import SegmentationLoss, bce_loss, soft_dice_loss
from labseg.transforms import build_train_transform
from test_batch_augment import S, blobs  # the same synthetic blob images


def per_sample(transform, images, masks, seed=0, epoch=0):
    out = [transform(images[k], masks[k], sample_generator(seed, epoch, k)) for k in range(len(images))]
    return torch.stack([o[0] for o in out]), torch.stack([o[1] for o in out])


# ----------------------------------------------------------------------------- dice over the batch

def test_batch_dice_is_one_region_over_the_whole_batch():
    torch.manual_seed(0)
    logits = torch.randn(3, 1, 8, 8)
    target = (torch.rand(3, 1, 8, 8) > 0.6).to(torch.uint8)
    target[0, 0, :2] = 255  # ignored pixels count neither way
    target[2] = 0  # an image without pet: the per-image mean and the batch region differ most here
    p = 1 / (1 + np.exp(-logits.numpy().astype(np.float64)))
    t = target.numpy().astype(np.float64)
    valid = t != 255
    p, t = p * valid, np.where(valid, t, 0)
    batch = 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)
    per_image = np.mean([1 - (2 * (p[i] * t[i]).sum() + 1) / (p[i].sum() + t[i].sum() + 1) for i in range(3)])
    assert soft_dice_loss(logits, target, reduction="batch").item() == pytest.approx(batch, rel=1e-6)
    assert soft_dice_loss(logits, target).item() == pytest.approx(per_image, rel=1e-6)
    assert abs(batch - per_image) > 0.02
    combined = SegmentationLoss("bce_dice", dice_reduction="batch")(logits, target)
    assert combined.item() == pytest.approx((bce_loss(logits, target)).item() + batch, rel=1e-6)
    with pytest.raises(ValueError, match="--dice-reduction pixel"):
        SegmentationLoss("bce_dice", dice_reduction="pixel")


# ----------------------------------------------------------------------------- augmentation strength

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


def test_batch_path_with_affine_p_draws_what_the_per_sample_path_draws():
    images, masks = blobs(24, seed=5)
    ref_x, ref_y = per_sample(build_train_transform("hflip", "rotate", S, affine_p=0.5), images, masks, 0, 2)
    x, y = BatchAugment("hflip", "rotate", S, seed=0, affine_p=0.5)(images, masks, list(range(24)), 2)
    agree = (y == ref_y).float().mean(dim=(1, 2, 3))
    assert agree.min() > 0.97, agree
    assert (x - ref_x.float() / 255).abs().mean() < 0.02


# ----------------------------------------------------------------------------- decode, schedule floor, select

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


def test_cosine_decays_to_the_floor():
    from labseg.optim import make_scheduler

    def lrs(**kw):
        cfg = profile_config("smoke", schedule="cosine", warmup_epochs=1.0, epochs=5, lr=1e-2, **kw)
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=cfg.lr)
        sched, out = make_scheduler(opt, cfg, 10), []
        for _ in range(50):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return np.array(out + [opt.param_groups[0]["lr"]])

    plain, floor = lrs(), lrs(lr_floor=0.1)
    assert np.array_equal(plain[:10], floor[:10])  # the warm-up is the same
    assert plain[-1] == pytest.approx(0, abs=1e-12) and floor[-1] == pytest.approx(1e-3)
    np.testing.assert_allclose(floor[10:], 1e-3 + 0.9 * plain[10:], rtol=1e-9)


def test_options_refuse_bad_values_in_one_line():
    for kw, msg in ((dict(lr_floor=0.1), "--schedule cosine"), (dict(crop_scale=0.0, augment="scale"), r"\(0, 1\]"),
                    (dict(affine_p=True, augment="all"), "--affine-p True"),
                    (dict(affine_shift=0.05), "--augment rotate, rotate-color, scale-rotate or all"),
                    (dict(crop_scale=0.9, augment="rotate-color"),
                     "--augment scale, scale-rotate or all; this run uses --augment rotate-color"),
                    (dict(decode="half"), "--decode half"),
                    (dict(select="worst"), "--select worst"), (dict(dice_reduction="pixel"), "--dice-reduction"),
                    (dict(augment_source="3x", augment="all"), "--augment-source 3x"),
                    (dict(augment_source="2x"), "--augment scale, scale-rotate or all"),
                    (dict(augment_source="2x", augment="scale", augment_on="device"), "--augment-on loader")):
        with pytest.raises(ValueError, match=msg):
            RunConfig(**kw).validate()


def test_augment_source_2x_crops_from_a_cache_at_twice_the_size(toy_root, tmp_path):
    """--augment-source 2x: the training images are cached at twice the size and every sample leaves the crop at
    the training size; with the crop kept whole (scale 1, aspect 1) it is the 2x image resized down, antialiased,
    which is sharper than the image-size cache resized up. Val keeps the image-size path."""
    import torch
    from torchvision.transforms import v2

    from labseg.batches import load_datasets
    from labseg.transforms import SCALE

    cfg = profile_config("smoke", data=str(toy_root), image_size=40, augment="scale", augment_source="2x",
                         cache_dir=str(tmp_path / "cache"))
    ds = load_datasets(cfg)
    assert ds["train"].arrays.images.shape[1:3] == (80, 80) and ds["val"].arrays.images.shape[1:3] == (40, 40)
    image, mask, _ = ds["train"][0]
    assert image.shape == (3, 40, 40) and mask.shape == (1, 40, 40)
    assert set(mask.unique().tolist()) <= {0, 1, 255}
    small = load_split_arrays(toy_root, "train", 40, cache_dir=tmp_path / "cache")
    big = torch.from_numpy(ds["train"].arrays.images[0]).permute(2, 0, 1)
    down = v2.functional.resize(big, [40, 40], antialias=True)
    assert (down.float() - torch.from_numpy(small.images[0]).permute(2, 0, 1).float()).abs().mean() < 6
    assert SCALE["scale"] == (0.5, 1.0)  # the crop the two sources share


@pytest.mark.slow
def test_select_last_scores_the_last_epoch(toy_root, tmp_path):
    from labseg.batches import load_datasets
    from labseg.checkpoint import load_checkpoint, model_from_checkpoint
    from labseg.engine import evaluate, train

    cfg = profile_config("smoke", data=str(toy_root), out_dir=str(tmp_path / "run"), image_size=40, epochs=3, width=4,
                         batch_size=6, train_subset=14, amp="off", select="last")
    metrics = train(cfg, progress=False, log=lambda m: None)
    history = np.loadtxt(tmp_path / "run" / "history.csv", delimiter=",", skiprows=1, usecols=3)
    assert metrics["selected"] == "last" and metrics["selected_epoch"] == 3
    assert metrics["best_epoch"] == int(np.argmax(history)) + 1
    model, _ = model_from_checkpoint(load_checkpoint(tmp_path / "run" / "last.pt"), "last.pt")
    summary, _ = evaluate(model, load_datasets(cfg, ("test",))["test"], cfg)
    assert metrics["test_dice"] == pytest.approx(summary["dice"], rel=1e-9)


@pytest.mark.slow
def test_the_last_epoch_scores_of_a_study_run_are_those_of_select_last(toy_root, tmp_path, monkeypatch):
    """study.last_epoch_run scores a run's last.pt, plain and with flip TTA, without training it again: the plain
    figure is the test dice of the same run trained with --select last; an older cache without the TTA figure is
    completed, not trusted."""
    import json

    from labseg import study
    from labseg.batches import load_datasets
    from labseg.checkpoint import load_checkpoint, model_from_checkpoint
    from labseg.engine import evaluate, train

    monkeypatch.delenv("LABSEG_NOTEBOOK_OVERRIDES", raising=False)  # this study's own parameters, not nbval's
    small = dict(image_size=40, epochs=3, width=4, batch_size=6, train_subset=14, amp="off")
    S = study.setup(profile="smoke", data=str(toy_root), out_dir=str(tmp_path / "results"), **small)
    last = study.last_epoch_run(S)
    cfg = profile_config("smoke", data=str(toy_root), out_dir=str(tmp_path / "again"), select="last", **small)
    assert last["last_test_dice"] == pytest.approx(train(cfg, progress=False, log=lambda m: None)["test_dice"],
                                                   rel=1e-9)
    assert last["last_epoch"] == 3 and last["test_dice"] == study.run(S)["test_dice"]
    path = S.run_dir(last["run"]) / "last.pt"
    model, run_cfg = model_from_checkpoint(load_checkpoint(path), path)
    tta, _ = evaluate(model, load_datasets(run_cfg, ("test",))["test"], run_cfg, tta=True)
    assert last["last_tta_test_dice"] == pytest.approx(tta["dice"], rel=1e-9) != last["last_test_dice"]
    # a chosen recipe's run scored as its select says (10's fresh seeds and other CPU family)
    scored = study.recipe_scores(False, S, "last")
    assert scored == {"run": last["run"], "test_dice": last["last_test_dice"],
                      "tta_test_dice": last["last_tta_test_dice"]}
    best = study.recipe_scores(False, S)
    assert best["test_dice"] == last["test_dice"] and best["tta_test_dice"] == study.tta_run(S)["tta_test_dice"]
    assert study.recipe_scores(False, S, seed=7) is None and not S.run_dir(study.name(S, seed=7)).exists()
    cache = path.parent / "metrics_last.json"
    old = {k: v for k, v in last.items() if not k.startswith("last_tta")}
    cache.write_text(json.dumps({**old, "last_test_dice": 0.5}))  # a cache of an earlier version: completed, its
    assert study.last_epoch_run(S) == {**last, "last_test_dice": 0.5} == json.loads(cache.read_text())  # figures kept
    # train=False never trains: without checkpoints (a fresh clone) and caches it gives {} and changes no file
    folder = path.parent
    for f in ("metrics_last.json", "metrics_tta.json", "best.pt", "last.pt"):
        (folder / f).unlink(missing_ok=True)
    before = {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()}
    assert study.last_epoch_run(S, train=False) == {} and study.tta_run(S, train=False) == {}
    assert (np.isnan(study.recipe_scores(False, S, "last")["test_dice"])
            and np.isnan(study.recipe_scores(False, S)["tta_test_dice"]))
    assert {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()} == before
