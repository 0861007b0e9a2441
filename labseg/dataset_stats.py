"""What the data holds: images per split and breed, per-image sizes and trimap fractions, and the pixel accuracy of
predicting background everywhere."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image

from .data import image_path, read_mask_values, read_split, trimap_path


def split_counts(root: str | Path) -> pd.DataFrame:
    """Images per split and breed (with species), as listed in the split files."""
    rows = [{"split": split, "breed": s.breed, "species": s.species}
            for split in ("train", "val", "test") for s in read_split(root, split)]
    table = pd.crosstab([pd.Series([r["species"] for r in rows], name="species"),
                         pd.Series([r["breed"] for r in rows], name="breed")],
                        pd.Series([r["split"] for r in rows], name="split"), margins=True, margins_name="total")
    return table[[c for c in ("train", "val", "test", "total") if c in table]]


def image_stats(root: str | Path) -> pd.DataFrame:
    """Per listed image: split, breed, species, width, height, pet and boundary fraction of its trimap."""
    rows = []
    for split in ("trainval", "test"):
        for s in read_split(root, split):
            with Image.open(image_path(root, s.name)) as img:
                w, h = img.size
            tri = read_mask_values(trimap_path(root, s.name))
            rows.append({"name": s.name, "split": split, "breed": s.breed, "species": s.species, "width": w,
                         "height": h, "pet_fraction": float((tri == 1).mean()),
                         "boundary_fraction": float((tri == 3).mean())})
    return pd.DataFrame(rows)


def all_background_accuracy(per_image: pd.DataFrame) -> float:
    """Mean per-image pixel accuracy of predicting 'background' everywhere (from the confusion counts)."""
    total = per_image[["tp", "fp", "fn", "tn"]].sum(axis=1)
    return float(((per_image["fp"] + per_image["tn"]) / total).mean())
