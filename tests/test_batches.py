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
