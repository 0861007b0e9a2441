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
