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


REAL_HTML = REPO / "report" / "oxford-pet-subset-cpu" / "report.html"


def html_tables(text: str) -> list[tuple[str, list[tuple[str, ...]]]]:
    """Each data table of a report's HTML: its caption (as text) and its body rows (cell texts)."""
    def plain(cell: str) -> str:
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())

    tables = []
    for body in re.findall(r'<table class="data[^"]*".*?</table>', text, re.S):
        caption = plain(m.group(1)) if (m := re.search(r"<caption>(.*?)</caption>", body, re.S)) else ""
        rows = [tuple(plain(c) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S))
                for row in re.findall(r"<tr>(.*?)</tr>", body.split("</thead>")[-1], re.S)]
        tables.append((caption, [r for r in rows if r]))
    return tables


def repeated_tables(tables: list[tuple[str, list[tuple[str, ...]]]]) -> list[tuple[str, str]]:
    """Pairs of tables (their captions' first words) where every body row of the first is a row of the second:
    the same table twice, or one inside another, which should refer back instead."""
    def name(caption: str) -> str:
        return caption.split(".")[0]

    found = []
    for i, (cap_a, rows_a) in enumerate(tables):
        for j, (cap_b, rows_b) in enumerate(tables):
            if i != j and rows_a and set(rows_a) <= set(rows_b) and (len(rows_a) < len(rows_b) or i < j):
                found.append((name(cap_a), name(cap_b)))
    return found


def test_the_repeated_table_finder_finds_a_copy_and_a_table_inside_another():
    a = ("Table 1. a", [("unet", "0.82"), ("resnet", "0.80")])
    b = ("Table 2. b", [("unet", "0.82"), ("resnet", "0.80"), ("vgg", "0.81")])
    c = ("Table 3. c", [("unet", "0.83")])
    assert repeated_tables([a, b, c]) == [("Table 1", "Table 2")]
    assert repeated_tables([a, a]) == [("Table 1", "Table 1")]
    assert repeated_tables([a, c]) == []


def test_no_table_of_the_real_report_repeats_another():
    if not REAL_HTML.is_file():
        pytest.skip("needs the committed report")
    tables = html_tables(REAL_HTML.read_text())
    assert len(tables) > 20
    assert repeated_tables(tables) == []


def glossary_gaps(text: str, arms: set[str]) -> list[str]:
    """The arm names of ``arms`` that a report's text or tables use, alone or inside a chained name ("crop-2x +
    mild-affine" uses both), but none of its glossary tables lists."""
    tables = html_tables(text)
    listed = {row[0] for caption, rows in tables if "Glossary" in caption for row in rows}
    body = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())
    used = {a for a in arms if re.search(rf"(?<![\w-]){re.escape(a)}(?![\w-])", body)}
    return sorted(used - listed)


def test_the_glossary_check_finds_an_arm_used_and_not_listed():
    page = ('<table class="data"><caption>Table 1. Glossary of arms</caption><thead></thead><tr><td>crop-2x</td>'
            '<td>x</td></tr></table><p>crop-2x and wide-crop; crop-2x + mild-affine</p>')
    assert glossary_gaps(page, {"crop-2x", "wide-crop", "mild-affine", "warmup-5"}) == ["mild-affine",
                                                                                         "wide-crop"]


def test_every_recipe_arm_the_real_report_uses_is_in_its_glossary():
    from labseg.study import glossary

    if not REAL_HTML.is_file():
        pytest.skip("needs the committed report")
    arms = {r["arm"] for r in glossary() if r["study"] == "recipe"}
    assert glossary_gaps(REAL_HTML.read_text(), arms) == []
