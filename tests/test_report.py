"""The report as a document (labseg.report): notebook 05 executed on the committed toy study, rendered as HTML
and printed to PDF by Debian's chromium, then checked in chromium (Playwright) as a reader sees it.

Asserted in the browser: nothing wider than the page (the page, every table, every pre block), every image
loaded and inside a numbered, captioned figure, tables numbered and captioned, no error output, traceback or NaN,
every section present, and the abstract's numbers are the tables'. Also: the PDF's page count, a study with no
finished runs renders with notes saying which notebook to run, and bad input gets one line."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labseg import report

REPO = Path(__file__).resolve().parents[1]
KEY = "toy-pets-toy"
SECTIONS = ("Abstract", "1 Introduction", "2 Method", "2.1 Networks", "2.2 Loss and metrics", "2.3 Training",
            "3 Experiments", "3.1 UNet against ResNet34-UNet", "3.2 Flip ablation",
            "3.4 The original report's open questions",
            "3.5 The training recipe", "4 Discussion", "5 Reproducibility", "Appendix A")
# In the browser: what overflows, the images and their figures, the tables' captions, the text.
PAGE_FACTS = """() => {
  const over = el => el.scrollWidth > el.clientWidth + 1;
  const doc = document.documentElement;
  return {
    pageOverflow: doc.scrollWidth > doc.clientWidth + 1,
    wideBlocks: [...document.querySelectorAll('table, pre, figure, .title-block, .abstract, p, li')]
                  .filter(over).map(el => el.tagName + ': ' + el.textContent.slice(0, 60)),
    images: [...document.images].map(img => ({
      loaded: img.complete && img.naturalWidth > 0,
      caption: img.closest('figure') && img.closest('figure').querySelector('figcaption')
               ? img.closest('figure').querySelector('figcaption').textContent : null,
      inside: img.getBoundingClientRect().right <= doc.clientWidth + 1})),
    tableCaptions: [...document.querySelectorAll('table')].map(t => t.caption ? t.caption.textContent : null),
    headings: [...document.querySelectorAll('h1, h2, h3, h4')].map(h => h.textContent.trim()),
    abstract: (document.querySelector('.abstract') || {}).textContent || '',
    tablesText: [...document.querySelectorAll('table')].map(t => t.innerText).join('\\n'),
    errors: document.querySelectorAll('pre.error, pre.stderr, pre.output').length,
    text: document.body.innerText,
  };
}"""


def study_copy(tmp: Path, with_results: bool = True) -> tuple[Path, Path]:
    """results/ and figures/ of the committed toy study copied under tmp (so rendering writes nothing in the
    repository), and a toy data folder named as the study's."""
    results = tmp / "results"
    (results / KEY).mkdir(parents=True)
    if with_results:
        shutil.copytree(REPO / "results" / KEY, results / KEY, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("notebooks", "tensorboard", "*.pt"))
        shutil.copytree(REPO / "figures" / KEY, tmp / "figures" / KEY)
    return results, tmp / "data" / "toy-pets"


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if not path:
        pytest.skip("Debian's chromium is not installed (`apt-get install chromium`; .ci/run installs it)")
    return path


@pytest.fixture(scope="module")
def toy_report(tmp_path_factory, chromium) -> dict:
    tmp = tmp_path_factory.mktemp("report")
    results, data = study_copy(tmp)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("LABSEG_NOTEBOOK_OVERRIDES", raising=False)  # the notebook runs on its own parameters here
        executed = report.execute("toy", str(data), str(results))
    return report.build(executed, tmp / "report" / KEY, pages=2, log=lambda msg: None)


def page_facts(html: Path, width: int = 820) -> dict:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 1100})
            page.goto(html.resolve().as_uri(), wait_until="load")
            facts = page.evaluate(PAGE_FACTS)
            page.emulate_media(media="print")
            facts["print"] = page.evaluate(PAGE_FACTS)
        finally:
            browser.close()
    return facts


@pytest.fixture(scope="module")
def facts(toy_report) -> dict:
    return page_facts(toy_report["html"])


def test_nothing_runs_off_the_page(facts):
    for mode in (facts, facts["print"]):
        assert not mode["pageOverflow"]
        assert mode["wideBlocks"] == []
        assert all(img["inside"] for img in mode["images"])


def test_every_image_is_a_numbered_captioned_figure(facts):
    images = facts["images"]
    assert len(images) >= 4
    assert all(img["loaded"] for img in images)
    numbers = [int(re.match(r"Figure (\d+)\. \S", img["caption"]).group(1)) for img in images]
    assert numbers == list(range(1, len(images) + 1))


def test_every_table_is_numbered_and_formatted_for_people(facts):
    captions = facts["tableCaptions"]
    assert len(captions) >= 8
    assert [int(re.match(r"Table (\d+)\. \S", c).group(1)) for c in captions] == list(range(1, len(captions) + 1))
    text = facts["tablesText"]
    assert "test_dice" not in text and "_mean" not in text and "_std" not in text  # no raw column names
    assert "ResNet34-UNet" in text and "resnet34_unet" not in text
    assert re.search(r"\d\.\d{4} ± \d\.\d{4}|\d\.\d{4}", text)


def test_no_error_traceback_or_nan(facts):
    assert facts["errors"] == 0
    assert "Traceback" not in facts["text"] and "Error" not in facts["text"]
    assert not re.search(r"\bnan\b", facts["text"], re.I)


def test_every_section_is_there(facts):
    headings = facts["headings"]
    assert headings[0].startswith("Pet vs. background segmentation")
    for section in SECTIONS:
        assert any(h.startswith(section) for h in headings), section


def test_the_abstract_numbers_are_the_tables(facts):
    numbers = re.findall(r"\d\.\d{4}(?: ± \d\.\d{4})?", facts["abstract"])
    assert len(numbers) >= 4
    for number in numbers:
        assert number in facts["tablesText"], number


def test_the_pdf_is_a4_and_of_a_sensible_length(toy_report):
    assert 5 <= toy_report["pages"] <= 25
    info = subprocess.run(["pdfinfo", str(toy_report["pdf"])], capture_output=True, text=True).stdout \
        if shutil.which("pdfinfo") else ""
    if info:
        assert re.search(r"Page size:\s+59[45]\.\d+ x 841\.\d+ pts \(A4\)", info), info
    assert [p.name for p in toy_report["images"]] == ["page-1.png", "page-2.png"]
    assert all(p.stat().st_size > 10_000 for p in toy_report["images"])


def test_a_study_with_nothing_run_still_renders(tmp_path, chromium, monkeypatch):
    monkeypatch.delenv("LABSEG_NOTEBOOK_OVERRIDES", raising=False)
    results, data = study_copy(tmp_path, with_results=False)
    executed = report.execute("toy", str(data), str(results))
    html = report.render_html(executed, tmp_path / "out" / "report.html")
    facts = page_facts(html)
    assert facts["errors"] == 0 and not facts["pageOverflow"]
    assert "Not run yet for this study: notebook 06_augmentation" in facts["text"]
    assert "No network has been trained for this study yet: run notebooks 02_unet and 03_resnet_unet." in facts["text"]
    assert "No run of this study has finished yet" in facts["abstract"]
    for section in ("1 Introduction", "3 Experiments", "4 Discussion", "5 Reproducibility"):
        assert any(h.startswith(section) for h in facts["headings"])


def test_without_chromium_the_html_is_written_and_one_line_says_how_to_install(toy_report, tmp_path, monkeypatch):
    executed = Path(toy_report["html"]).parents[2] / "results" / KEY / "notebooks" / "05_report.ipynb"
    monkeypatch.setattr(report, "find_chromium", lambda: None)
    with pytest.raises(report.ReportError, match="apt-get install chromium") as err:
        report.build(executed, tmp_path / "out", log=lambda msg: None)
    assert "\n" not in str(err.value)
    assert (tmp_path / "out" / "report.html").is_file()
    assert not (tmp_path / "out" / "report.pdf").exists() and not list((tmp_path / "out").glob(".*"))


@pytest.mark.parametrize("args, message", [
    (["--profile", "huge"], "--profile huge: unknown profile"),
    (["--pages", "-1"], "--pages -1: must be 0 or more"),
    (["--data", "no/such/folder"], "--data no/such/folder: no such folder"),
    (["--no-execute", "--results", "nowhere", "--data", "."], "no executed report notebook"),
])
def test_bad_input_gets_one_line(args, message, tmp_path):
    done = subprocess.run([sys.executable, "-m", "labseg.report", *args, "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def page_texts(pdf: Path) -> list[str]:
    """The text of each page of a PDF (poppler's pdftotext, pages split at form feeds)."""
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = out.split("\f")
    while pages and not pages[-1].strip():
        pages.pop()
    return pages


def lone_headings(pages: list[str], headings: list[str]) -> list[tuple[int, str]]:
    """(page, heading) where a page's last line of text is a heading: its section starts on the next page (the
    document's last page is left out: a heading there has nothing after it anywhere)."""
    names = {re.sub(r"\s+", " ", h.replace("¶", "")).strip() for h in headings}
    found = []
    for number, text in enumerate(pages[:-1], start=1):
        lines = [re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()]
        if lines and lines[-1] in names:
            found.append((number, lines[-1]))
    return found


def test_lone_headings_are_found_and_none_is_left(toy_report, facts):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    assert lone_headings(["text\n3.4.3 Losses\n", "next"], ["3.4.3 Losses¶"]) == [(1, "3.4.3 Losses")]
    assert lone_headings(page_texts(toy_report["pdf"]), facts["headings"]) == []


def test_a_pdf_is_made_reproducible_in_place_with_its_offsets_kept(tmp_path):
    """Chromium's clock dates and its tagged table-header ids (a DOM-node counter that can start a few apart from one
    print of the same page to the next) are rewritten; every byte length stays, so the xref offsets hold."""
    from labseg.report import reproducible_pdf

    def pdf(first: int) -> bytes:
        ids = [first, first + 1, first + 46]
        return (b"%PDF-1.4\n1 0 obj\n<</Creator (x)\n/CreationDate (D:20261207093512+00'00')\n"
                b"/ModDate (D:20261207093512+00'00')>>\nendobj\n"
                + b"".join(b"<</S /TH /ID (node%08d)>>\n<</Headers [(node%08d)]>>\n" % (i, i) for i in ids)
                + b"<</Limits [(node%08d) (node%08d)]\n/Names [" % (ids[0], ids[-1])
                + b" ".join(b"(node%08d) %d 0 R" % (i, k) for k, i in enumerate(ids, 100)) + b"]>>\n%%EOF\n")

    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    a.write_bytes(pdf(50))
    b.write_bytes(pdf(53))
    for f in (a, b):
        before = f.stat().st_size
        reproducible_pdf(f, 86400)
        assert f.stat().st_size == before
    assert a.read_bytes() == b.read_bytes()
    text = a.read_bytes()
    assert b"/CreationDate (D:19700102000000+00'00')" in text and b"2026" not in text
    assert b"/Limits [(node00000001) (node00000003)]" in text
    assert b"/Names [(node00000001) 100 0 R (node00000002) 101 0 R (node00000003) 102 0 R]" in text
    assert b"/S /TH /ID (node00000003)>>\n<</Headers [(node00000003)]" in text
