"""labseg.document's figures: photographs embed as JPEG (the report's HTML and PDF stay small), plots as PNG."""
from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

import labseg.document
from labseg.document import JPEG_GAIN, LONG_TABLE_ROWS, Document, embedded_image


def _plot_png(path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.5))
    x = np.linspace(0, 1, 200)
    for k in range(4):
        ax.plot(x, np.sin(6 * x + k), label=f"arm {k}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("val dice")
    ax.legend()
    fig.savefig(path, dpi=110, bbox_inches="tight")  # as labseg.figures saves, transparent-free RGBA
    plt.close(fig)


def _decoded(html: str) -> tuple[str, Image.Image]:
    mime, data = re.search(r'src="data:(image/\w+);base64,([^"]+)"', html).groups()
    return mime, Image.open(io.BytesIO(base64.b64decode(data)))


def test_a_line_plot_stays_a_png_byte_for_byte(tmp_path):
    path = tmp_path / "curves.png"
    _plot_png(path)
    assert embedded_image(path) == ("image/png", path.read_bytes())


def test_a_photograph_embeds_as_a_jpeg_close_to_it(real_root, tmp_path):
    """A real photo of the subset, saved as PNG: the JPEG is at least JPEG_GAIN times smaller and differs from the
    photo by a few grey levels on average."""
    photo = next(iter(sorted((real_root / "images").glob("*.jpg"))))
    with Image.open(photo) as im:
        pixels = im.convert("RGB")
    path = tmp_path / "photo.png"
    pixels.save(path)
    mime, raw = embedded_image(path)
    assert mime == "image/jpeg" and len(raw) * JPEG_GAIN <= path.stat().st_size
    back = np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), dtype=float)
    assert back.shape == np.asarray(pixels).shape
    assert np.abs(back - np.asarray(pixels, dtype=float)).mean() < 3.0


def test_transparency_is_flattened_onto_white(tmp_path):
    """A noisy RGBA image whose left half is transparent: JPEG (noise does not compress as PNG either, but JPEG
    wins by far), and the transparent half comes back white, not black."""
    rng = np.random.default_rng(0)
    rgba = np.zeros((128, 256, 4), np.uint8)
    rgba[:, 128:, :3] = np.clip(rng.normal(128, 20, (128, 128, 3)), 0, 255)
    rgba[:, 128:, 3] = 255
    path = tmp_path / "half.png"
    Image.fromarray(rgba, "RGBA").save(path)
    mime, raw = embedded_image(path)
    assert mime == "image/jpeg"
    back = np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), dtype=float)
    assert back[:, :120].mean() > 250  # white where it was transparent
    assert abs(back[:, 136:].mean() - 128) < 5


def test_a_document_figure_carries_the_chosen_encoding_and_its_number(tmp_path):
    doc = Document()
    path = tmp_path / "curves.png"
    _plot_png(path)
    html = str(doc.figure(path, "Validation dice per epoch."))
    mime, image = _decoded(html)
    assert mime == "image/png" and image.size == Image.open(path).size
    assert "<b>Figure 1.</b> Validation dice per epoch." in html
    assert "Figure not drawn yet: nothing.png." in str(doc.figure(tmp_path / "nothing.png", "x")) and doc.figures == 1


def test_a_file_that_is_not_an_image_is_embedded_as_it_is(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not a png")
    assert embedded_image(path) == ("image/png", b"not a png")


def _commit(repo, when: int) -> str:
    env = {"GIT_AUTHOR_DATE": f"{when} +0000", "GIT_COMMITTER_DATE": f"{when} +0000", "PATH": os.environ["PATH"]}
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "run"], check=True, env=env)
    return subprocess.run([*git, "rev-parse", "--short", "HEAD"], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def test_the_runs_date_comes_from_the_git_repository_that_holds_the_results(tmp_path):
    """A results folder in another repository than labseg's own checkout (a user's project, a test's clone): its
    runs' commits are looked up there, so the document's date does not depend on where labseg is installed."""
    from labseg.document import newest_run_commit

    repo = tmp_path / "project"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    older, newer = _commit(repo, 1_700_000_000), _commit(repo, 1_800_000_000)
    for name, commit in (("a", older), ("b", newer), ("c", "unknown")):
        (repo / "results" / "key" / "runs" / name).mkdir(parents=True)
        (repo / "results" / "key" / "runs" / name / "env.json").write_text(json.dumps({"git_commit": commit}))
    assert newest_run_commit(repo / "results" / "key") == (1_800_000_000, newer, "2027-01-15")
    outside = tmp_path / "not-a-repo" / "key"  # no git repository holds it: no date, never labseg's own history
    (outside / "runs" / "a").mkdir(parents=True)
    (outside / "runs" / "a" / "env.json").write_text(json.dumps({"git_commit": newer}))
    assert newest_run_commit(outside) is None


def test_options_in_a_table_cell_break_between_options_never_inside_one():
    doc = Document()
    table = doc.table(pd.DataFrame({"arm": ["a"], "options": ["--low-res 96 --low-res-share 0.6 --epochs 190"]}), "T.",
                      best=None)
    assert ('<td class="text"><span class="option">--low-res 96</span> <span class="option">--low-res-share 0.6'
            '</span> <span class="option">--epochs 190</span></td>') in table
    assert '<td class="text">a</td>' in doc.table(pd.DataFrame({"arm": ["a"], "x": ["ResNet34-UNet"]}), "T.",
                                                    best=None)  # text without options stays as it was
    css = (Path(labseg.document.__file__).parent / "report_template" / "report.css").read_text()
    assert "table.data span.option { white-space: nowrap; }" in css


def test_a_long_table_may_break_across_pages_and_a_short_one_not():
    """A table of more than LONG_TABLE_ROWS rows gets the class that lets the printed page break between its rows
    (report.css); a short one stays whole. Both are numbered in order."""
    doc = Document()
    short = doc.table(pd.DataFrame({"arm": ["a", "b"], "test_dice": [0.81, 0.82]}), "Two arms.")
    rows = LONG_TABLE_ROWS + 1
    long = doc.table(pd.DataFrame({"arm": [f"a{i}" for i in range(rows)], "test_dice": [0.8] * rows}), "Many.")
    assert '<table class="data" id="table-1">' in short and '<table class="data long" id="table-2">' in long
    assert long.count("<tr") == rows + 1  # the header row and every row
    css = (Path(labseg.document.__file__).parent / "report_template" / "report.css").read_text()
    assert "table.data.long { break-inside: auto; }" in css and "table.data tr { break-inside: avoid; }" in css
