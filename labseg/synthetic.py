"""The embedded default data: "toy pets", a deterministic synthetic set in the official layout.

Textured four-legged animals (two cat breeds with pointed ears and long tails, one dog breed with
floppy ears and a short tail) stand upright on cluttered, textured backgrounds, facing left or
right, at varied sizes and positions. Pets and clutter draw their colours from one palette, so no
colour threshold separates them: a model must learn shape and texture. Horizontal flips give
natural images; vertical flips (upside-down animals) do not.
"""
from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# (breed name, class id, species 1=cat 2=dog, breed id, pattern)
BREEDS = (
    ("Stripecat", 1, 1, 1, "stripes"),
    ("Spotcat", 2, 1, 2, "spots"),
    ("patch_hound", 3, 2, 1, "patches"),
)
PALETTE = np.array([
    (176, 120, 64), (120, 84, 48), (210, 180, 140), (90, 90, 90), (230, 220, 200),
    (60, 50, 40), (150, 150, 140), (200, 150, 90), (100, 120, 70), (70, 90, 120),
], dtype=np.float32)
HEADER = ("#Image CLASS-ID SPECIES BREED ID\n#ID: 1:37 Class ids\n#SPECIES: 1:Cat 2:Dog\n"
          "#BREED ID: 1-25:Cat 1:12:Dog\n#All images with 1st letter as captial are cat images\n"
          "#images with small first letter are dog images\n")


def _texture(rng: np.random.Generator, h: int, w: int, pattern: str) -> np.ndarray:
    """An (h, w, 3) float texture: two palette colours mixed by a breed's pattern, plus grain."""
    c1, c2 = PALETTE[rng.choice(len(PALETTE), 2, replace=False)]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if pattern == "stripes":
        angle = rng.uniform(0, math.pi)
        period = rng.uniform(6, 14)
        t = (np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period) > 0).astype(np.float32)
    elif pattern == "spots":
        t = np.zeros((h, w), np.float32)
        for _ in range(int(h * w / 250)):
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2, 5)
            t[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = 1
    elif pattern == "patches":
        t = np.zeros((h, w), np.float32)
        for _ in range(4):
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.15, 0.35) * min(h, w)
            t[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = 1
    else:  # clutter: smooth blobs
        t = (np.sin(xx / rng.uniform(5, 30) + rng.uniform(0, 6)) * np.cos(yy / rng.uniform(5, 30)) > 0)
        t = t.astype(np.float32)
    tex = c1 * t[..., None] + c2 * (1 - t[..., None])
    return tex + rng.normal(0, 12, (h, w, 1)).astype(np.float32)


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    bg = _texture(rng, h, w, "clutter")
    img = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.integers(6, 14)):
        colour = tuple(int(c) for c in PALETTE[rng.integers(len(PALETTE))])
        x0, y0 = rng.uniform(-0.1, 1.0) * w, rng.uniform(-0.1, 1.0) * h
        x1, y1 = x0 + rng.uniform(0.05, 0.4) * w, y0 + rng.uniform(0.05, 0.4) * h
        kind = rng.integers(3)
        if kind == 0:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        elif kind == 1:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        else:
            draw.line([x0, y0, x1, y1], fill=colour, width=int(rng.integers(2, 8)))
    return np.asarray(img, dtype=np.float32)


def _animal_mask(rng: np.random.Generator, h: int, w: int, species: int) -> Image.Image:
    """The silhouette ('L', 255 inside) of an upright animal facing left or right."""
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    bw = rng.uniform(0.35, 0.6) * w  # body width
    bh = bw * rng.uniform(0.35, 0.5)
    leg = bh * rng.uniform(0.6, 1.0)
    head = bh * rng.uniform(0.55, 0.75)
    total_h = bh + leg + head * 0.9
    scale = min(1.0, 0.9 * h / total_h)
    bw, bh, leg, head = bw * scale, bh * scale, leg * scale, head * scale
    x0 = rng.uniform(0.05 * w + head * 0.6, w - bw - 0.05 * w - head * 0.6)
    y0 = rng.uniform(head * 0.9, max(head * 0.9 + 1, h - bh - leg - 2))
    face = rng.choice([-1, 1])  # -1 faces left, +1 faces right
    d.ellipse([x0, y0, x0 + bw, y0 + bh], fill=255)
    lw = bw * 0.1
    for fx in (0.12, 0.3, 0.65, 0.83):
        lx = x0 + fx * bw
        d.rectangle([lx, y0 + bh * 0.6, lx + lw, y0 + bh + leg], fill=255)
    hx = x0 + bw - head * 0.3 if face > 0 else x0 - head * 0.7
    hy = y0 - head * 0.55
    d.ellipse([hx, hy, hx + head, hy + head], fill=255)
    # snout on the facing side
    sx = hx + head * 0.75 if face > 0 else hx - head * 0.25
    d.ellipse([sx, hy + head * 0.45, sx + head * 0.5, hy + head * 0.85], fill=255)
    if species == 1:  # cat: pointed ears, long raised tail
        for ex in (0.15, 0.6):
            bx = hx + ex * head
            d.polygon([(bx, hy + head * 0.25), (bx + head * 0.25, hy - head * 0.35),
                       (bx + head * 0.4, hy + head * 0.2)], fill=255)
        tx = x0 if face > 0 else x0 + bw
        d.line([(tx, y0 + bh * 0.3), (tx - face * bw * 0.25, y0 - bh * 0.4), (tx - face * bw * 0.3, y0 - bh * 0.8)],
               fill=255, width=max(2, int(lw * 0.7)), joint="curve")
    else:  # dog: floppy ears hanging down, short tail
        for ex in (0.05, 0.55):
            bx = hx + ex * head
            d.ellipse([bx, hy + head * 0.1, bx + head * 0.35, hy + head * 0.8], fill=255)
        tx = x0 if face > 0 else x0 + bw
        d.line([(tx, y0 + bh * 0.3), (tx - face * bw * 0.15, y0 + bh * 0.05)], fill=255, width=max(2, int(lw * 0.8)))
    return mask


def make_sample(seed: int, species: int, pattern: str) -> tuple[Image.Image, Image.Image]:
    """One (RGB image, trimap) pair; a pure function of its arguments."""
    rng = np.random.default_rng(seed)
    w, h = int(rng.integers(160, 321)), int(rng.integers(120, 281))
    bg = _background(rng, h, w)
    shape = _animal_mask(rng, h, w, species)
    soft = np.asarray(shape.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.float32)[..., None] / 255.0
    pet = _texture(rng, h, w, pattern) * rng.uniform(0.8, 1.2)
    img = bg * (1 - soft) + pet * soft
    # light and noise over the whole photo
    img = img * rng.uniform(0.75, 1.15) + rng.normal(0, 6, img.shape)
    image = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.5))
    inner = np.asarray(shape.filter(ImageFilter.MinFilter(3))) > 127
    outer = np.asarray(shape.filter(ImageFilter.MaxFilter(3))) > 127
    trimap = np.full((h, w), 2, np.uint8)
    trimap[outer] = 3
    trimap[inner] = 1
    return image, Image.fromarray(trimap, mode="L")


def _chmod_by_umask(folder: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)


def write_toy_pets(root: str | Path, per_breed: int = 100, seed: int = 0, overwrite: bool = False) -> Path:
    """Write the toy-pets set to ROOT (official layout). Half of each breed is trainval, half test.

    The folder is built in a temporary sibling and renamed into place, so ROOT is never left
    half-written. An existing ROOT is kept unless ``overwrite=True``.
    """
    root = Path(root)
    if root.exists() and not overwrite:
        if (root / "annotations" / "trainval.txt").is_file():
            return root
        raise FileExistsError(f"{root} exists and is not a toy-pets set; choose another folder "
                              "(nothing was written) or pass --overwrite.")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        (tmp / "images").mkdir()
        (tmp / "annotations" / "trimaps").mkdir(parents=True)
        trainval, test = [], []
        for b, (breed, class_id, species, breed_id, pattern) in enumerate(BREEDS):
            for i in range(1, per_breed + 1):
                name = f"{breed}_{i}"
                image, trimap = make_sample(seed * 1_000_003 + b * 10_007 + i, species, pattern)
                image.save(tmp / "images" / f"{name}.jpg", quality=90)
                trimap.save(tmp / "annotations" / "trimaps" / f"{name}.png")
                (trainval if i % 2 else test).append(f"{name} {class_id} {species} {breed_id}")
        ann = tmp / "annotations"
        (ann / "trainval.txt").write_text("\n".join(trainval) + "\n")
        (ann / "test.txt").write_text("\n".join(test) + "\n")
        (ann / "list.txt").write_text(HEADER + "\n".join(sorted(trainval + test)) + "\n")
        (ann / "README").write_text(f"Synthetic toy pets written by labseg (seed={seed}, {per_breed} per breed).\n"
                                    "Trimaps: 1 pet, 2 background, 3 boundary, as in Oxford-IIIT Pet.\n")
        _chmod_by_umask(tmp)  # mkdtemp makes a private (700) folder; the set gets the user's usual mode
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root
