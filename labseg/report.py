"""The report as a document: notebook 05, executed on a study's results, rendered as a self-contained HTML page
(code hidden, figures embedded) and printed to an A4 PDF by headless Chromium, with PNGs of its first pages.

    python -m labseg.report --profile cpu --data ../shared/data/oxford-pet-subset
        executes notebooks/05_report.ipynb on results/<data>-<profile>/ and writes report/<data>-<profile>/
        report.html, report.pdf and pages/page-N.png (``make report`` does this after running every notebook)

Bad input (an unknown profile, a missing executed notebook, no Chromium) gets one line and a non-zero exit;
files are written through temporary names, so a failed render leaves the previous report as it was.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .config import PROFILES, TOY_DATA
from .paths import CHECKOUT

REPO = CHECKOUT
TEMPLATE = Path(__file__).resolve().parent / "report_template"
# Cells the notebook needs and the document does not show: its title and parameters, papermill's injected
# parameters, the note on where published outputs come from.
SKIP_TAGS = ("report-skip", "parameters", "injected-parameters", "published-from")
TITLE = "labseg: pet vs. background segmentation with UNet and ResNet34-UNet"
PAGES_SHOWN = 3
INSTALL_CHROMIUM = "apt-get install chromium (Debian/Ubuntu; any Chromium or Chrome on PATH works)"


class ReportError(Exception):
    """One line for the user: what is missing and what to do."""


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_html(executed: Path, html_path: Path, title: str = TITLE) -> Path:
    """The executed notebook as one self-contained HTML page: no code, no notebook-only cells."""
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    if not executed.is_file():
        raise ReportError(f"{executed}: no executed report notebook; "
                          "run `make report` (or python -m labseg.report) first")
    nb = nbformat.read(executed, as_version=4)
    remove = TagRemovePreprocessor(remove_cell_tags=set(SKIP_TAGS), enabled=True)
    nb, _ = remove.preprocess(nb, {})
    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATE.parent)], template_name=TEMPLATE.name,
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"report_title": title,
                                                          "report_css": (TEMPLATE / "report.css").read_text()})
    _write_atomic(html_path, body.encode())
    return html_path


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html_path: Path, pdf_path: Path, timeout: float = 180) -> Path:
    """Print the HTML to an A4 PDF (the page size is the CSS's @page) with headless Chromium."""
    chromium = find_chromium()
    if chromium is None:
        raise ReportError(f"no Chromium found, so {pdf_path.name} was not printed ({html_path} was written): "
                          f"install it with `{INSTALL_CHROMIUM}` and run the command again")
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="labseg-chromium-") as profile_dir:
        tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-pdf-header-footer",
               f"--user-data-dir={profile_dir}", f"--print-to-pdf={tmp}", html_path.resolve().as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            tmp.unlink(missing_ok=True)
            raise ReportError(f"{chromium} did not print {html_path} within {timeout:.0f} s") from None
        if done.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            tmp.unlink(missing_ok=True)
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise ReportError(f"{chromium} could not print {html_path} (exit {done.returncode}): {last}")
        os.replace(tmp, pdf_path)
    return pdf_path


PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}[^)]*\)")
PDF_NODE_ID = re.compile(rb"\(node(\d{8})\)")


def reproducible_pdf(pdf_path: Path, epoch: int) -> None:
    """Make Chromium's PDF a function of the page alone, in place, every byte length kept (so the file's
    cross-reference offsets stay valid):

    - its CreationDate and ModDate (the clock's) become ``epoch`` (UTC);
    - the ids of its tagged table headers ("(node00000053)", in /ID, /Headers and the /IDTree) become their rank
      among them (node00000001, ...). Chromium numbers them from a counter of the page's DOM nodes, which can start
      a few apart from one print to the next of the same page; renumbering in order keeps the /IDTree sorted."""
    import datetime

    stamp = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y%m%d%H%M%S").encode()

    def same_length(m: re.Match) -> bytes:
        new = b"/" + m.group(1) + b" (D:" + stamp + b"+00'00')"
        return new if len(new) == len(m.group(0)) else m.group(0)

    data = PDF_DATE.sub(same_length, pdf_path.read_bytes())
    rank = {n: b"(node%08d)" % i for i, n in enumerate(sorted({int(m) for m in PDF_NODE_ID.findall(data)}), 1)}
    _write_atomic(pdf_path, PDF_NODE_ID.sub(lambda m: rank[int(m.group(1))], data))


def source_date(results: Path | None) -> int:
    """The date a document states: SOURCE_DATE_EPOCH where set (the reproducible-builds convention), else the date
    of the newest commit that made a run of ``results`` or of the same study in a sibling results folder (runs made
    on another machine: ``results/amd-epyc/<key>``), as the title block says, else 0."""
    from .document import newest_run_commit
    from .results import study_folders

    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return int(os.environ["SOURCE_DATE_EPOCH"])
    if results is None:
        return 0
    newest = newest_run_commit(*study_folders(results).values())
    return newest[0] if newest else 0


def page_count(pdf_path: Path) -> int:
    """Pages of a PDF: pdfinfo's count where poppler-utils is installed, else the page objects counted."""
    if shutil.which("pdfinfo"):
        out = subprocess.run(["pdfinfo", str(pdf_path)], capture_output=True, text=True).stdout
        found = re.search(r"^Pages:\s+(\d+)", out, re.M)
        if found:
            return int(found.group(1))
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf_path.read_bytes()))


def page_images(pdf_path: Path, pages_dir: Path, pages: int = PAGES_SHOWN, dpi: int = 60) -> list[Path]:
    """PNGs of the first pages (pages/page-1.png ...) for reviewers, made with poppler's pdftoppm."""
    if not shutil.which("pdftoppm"):
        raise ReportError(f"pdftoppm not found, so no page images were made for {pdf_path}: install it with "
                          "`apt-get install poppler-utils`")
    pages_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=pages_dir, prefix=".tmp-") as tmp:
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", str(pages), str(pdf_path),
                        str(Path(tmp) / "page")], check=True, capture_output=True)
        made = sorted(Path(tmp).glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        for old in pages_dir.glob("page-*.png"):
            old.unlink()
        out = []
        for p in made:
            target = pages_dir / f"page-{int(p.stem.rsplit('-', 1)[1])}.png"
            os.replace(p, target)
            out.append(target)
    return out


def execute(profile: str, data: str, results_root: str = "results") -> Path:
    """Run notebook 05 alone (papermill) on a study's results; the executed copy goes where the pipeline puts it."""
    import papermill as pm

    from .study import study_key

    executed = Path(results_root) / study_key(data, profile) / "notebooks" / "05_report.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(REPO / "notebooks" / "05_report.ipynb", executed, cwd=str(REPO), progress_bar=False,
                        kernel_name="python3",
                        parameters={"profile": profile, "data": str(data), "out_dir": str(results_root)})
    return executed


def build(executed: Path, out_dir: Path, pages: int = PAGES_SHOWN, log=print, results: Path | None = None) -> dict:
    """report.html, then report.pdf and its page images, from an executed report notebook. The HTML is written
    even where printing fails (the error says why). The PDF's dates are :func:`source_date`'s (``results``: the
    study's results folder, default the executed notebook's), so the same results render to the same bytes."""
    html_path = render_html(executed, out_dir / "report.html")
    log(f"report: {html_path}")
    pdf_path = print_pdf(html_path, out_dir / "report.pdf")
    reproducible_pdf(pdf_path, source_date(results or Path(executed).parent.parent))
    n = page_count(pdf_path)
    log(f"report: {pdf_path} ({n} pages, A4)")
    shown = page_images(pdf_path, out_dir / "pages", pages) if pages else []
    if shown:
        log(f"report: first {len(shown)} pages as PNG in {out_dir / 'pages'}")
    return {"html": html_path, "pdf": pdf_path, "pages": n, "images": shown}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m labseg.report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="toy")
    p.add_argument("--data", default=TOY_DATA)
    p.add_argument("--results", default="results", help="results root (default: results)")
    p.add_argument("--out", default="report", help="documents root; the report goes to OUT/<data>-<profile>/")
    p.add_argument("--no-execute", action="store_true",
                   help="render the executed notebook the pipeline left (results/<key>/notebooks/05_report.ipynb)")
    p.add_argument("--pages", type=int, default=PAGES_SHOWN, help="first pages saved as PNG (0: none)")
    args = p.parse_args(argv)
    try:
        if args.profile not in PROFILES:
            raise ReportError(f"--profile {args.profile}: unknown profile; choose one of: {', '.join(PROFILES)}")
        if args.pages < 0:
            raise ReportError(f"--pages {args.pages}: must be 0 or more")
        from .study import study_key

        key = study_key(args.data, args.profile)
        if not Path(args.data).exists() and not (Path(args.results) / key).is_dir():
            raise ReportError(f"--data {args.data}: no such folder and no results for it under {args.results}/; "
                              "give the data folder the study was run on")
        executed = Path(args.results) / key / "notebooks" / "05_report.ipynb"
        if not args.no_execute:
            executed = execute(args.profile, args.data, args.results)
        build(executed, Path(args.out) / key, args.pages)
    except ReportError as exc:
        print(f"labseg report: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
