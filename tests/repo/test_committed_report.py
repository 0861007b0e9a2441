"""The committed real-data report as printed: no heading alone at a page's foot."""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

from test_report import lone_headings, page_texts

REPO = Path(__file__).resolve().parents[2]


def test_the_real_report_has_no_lone_heading():
    """The committed real-data report: no heading alone at a page's foot (the headings read from its own HTML)."""
    pdf, html_file = (REPO / "report" / "oxford-pet-subset-cpu" / "report.pdf",
                      REPO / "report" / "oxford-pet-subset-cpu" / "report.html")
    if not (shutil.which("pdftotext") and pdf.is_file()):
        pytest.skip("needs pdftotext and the committed report")
    headings = re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", html_file.read_text(), re.S)
    headings = [html.unescape(re.sub(r"<[^>]+>", "", h)) for h in headings]
    assert lone_headings(page_texts(pdf), headings) == []


def page_fill(pdf: Path) -> list[float]:
    """Per page, the share of its height down to the lowest printed pixel (pdftoppm at 20 dpi, grey < 250)."""
    import subprocess
    import tempfile

    import numpy as np
    from PIL import Image

    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["pdftoppm", "-r", "20", "-gray", "-png", str(pdf), f"{work}/p"], check=True)
        fills = []
        for page in sorted(Path(work).glob("p-*.png")):
            ink = np.asarray(Image.open(page).convert("L")) < 250
            rows = np.flatnonzero(ink.any(axis=1))
            fills.append(float(rows[-1] + 1) / ink.shape[0] if len(rows) else 0.0)
    return fills


def half_empty_pages(fills: list[float], texts: list[str]) -> list[int]:
    """Pages (1-based) less than half full whose next page does not open with a section or appendix heading
    ("3.3 Where ...", "4 Discussion", "Appendix B: ..."); the last page may end anywhere."""
    opens_section = [bool(re.match(r"(\d+(\.\d+)* [A-Z]|Appendix [A-Z])", t.strip())) for t in texts]
    return [i + 1 for i, fill in enumerate(fills[:-1]) if fill < 0.5 and not opens_section[i + 1]]


def test_the_half_empty_page_finder_finds_one():
    assert half_empty_pages([0.9, 0.3, 0.9, 0.2], ["a", "b", "c", "d"]) == [2]
    assert half_empty_pages([0.9, 0.3, 0.9, 0.2], ["a", "b", "4 Discussion", "d"]) == []


def test_the_real_report_has_no_half_empty_page_inside_a_section():
    pdf = REPO / "report" / "oxford-pet-subset-cpu" / "report.pdf"
    if not (shutil.which("pdftoppm") and shutil.which("pdftotext") and pdf.is_file()):
        pytest.skip("needs poppler-utils and the committed report")
    fills, texts = page_fill(pdf), page_texts(pdf)
    assert len(fills) == len(texts)
    assert half_empty_pages(fills, texts) == [], [round(f, 2) for f in fills]
