"""The datasets a run trains on (labseg.batches): --augment-source 2x crops from a cache at twice the size."""
from labseg.config import profile_config
from labseg.data import load_split_arrays


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


def test_low_res_trains_the_first_share_of_epochs_on_crops_resized_to_the_lower_size(toy_root, tmp_path):
    """--low-res 32 --low-res-share 0.6 over 5 epochs: epochs 0-2 give 32-px batches, epochs 3-4 and val the image
    size; an early sample is the late path's crop (same generator draws) resized to 32 px, not another crop."""
    import torch
    from torchvision.transforms import v2

    from labseg.batches import load_datasets, low_res_epochs, train_batches

    cfg = profile_config("smoke", data=str(toy_root), image_size=48, epochs=5, augment="scale", flip="none",
                         low_res=32, low_res_share=0.6, channels_last=False, cache_dir=str(tmp_path / "cache"))
    ds = load_datasets(cfg)
    assert low_res_epochs(cfg) == 3 and low_res_epochs(cfg.replace(low_res=0)) == 0
    sizes = [next(train_batches(cfg, ds["train"], e, torch.device("cpu"), None, ds["train_low_res"]))[0].shape[-1]
             for e in range(5)]
    assert sizes == [32, 32, 32, 48, 48]
    assert ds["val"][0][0].shape[-1] == 48
    for epoch in (0, 4):  # the low-res sample is the same crop as the full-size one, resized
        ds["train"].set_epoch(epoch), ds["train_low_res"].set_epoch(epoch)
        big, mask_big, _ = ds["train"][1]
        small, mask_small, _ = ds["train_low_res"][1]
        assert small.shape == (3, 32, 32) and mask_small.shape == (1, 32, 32)
        down = v2.functional.resize(big, [32, 32], antialias=True)
        assert (down.float() - small.float()).abs().mean() < 8
        # nearest on the 48-px mask is not the crop's own nearest, but most pixels agree
        assert (v2.functional.resize(mask_big, [32, 32], interpolation=v2.InterpolationMode.NEAREST)
                == mask_small).float().mean() > 0.9
