"""The report as a document: numbered figures and tables, human-readable tables and the title block, as HTML
that notebook 05 displays and that ``labseg.report`` turns into report.html / report.pdf.

Everything here only formats what ``labseg.results`` computed; no number is made here.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from pathlib import Path

import pandas as pd

from .labels import MODEL_LABELS, label
from .results import commit_dates
from .stats import format_mean_std

SECONDS = ("train_s_per_run", "train_seconds", "train_s_typical")
_NUMBER = re.compile(r"^[-+\d.,± M—]+$")
# a command-line option with its value ("--deep-supervision 0.4"), kept on one line in a table cell (report.css
# .option): a cell breaks between options, never at the hyphens inside one
_OPTION = re.compile(r"--[a-z0-9][a-z0-9-]*(?: [^\s-]\S*)?")
# A table of more rows than this may break across printed pages (row by row, its header repeated): kept whole, it
# would leave most of a page empty where it does not fit below the text before it.
LONG_TABLE_ROWS = 10
INTEGERS = ("seeds", "epochs", "seed", "train", "val", "test", "total", "runs", "commits", "threads", "images")


class Html(str):
    """A string that Jupyter (and nbconvert) show as HTML."""

    def _repr_html_(self) -> str:
        return str(self)

    def _repr_pretty_(self, p, cycle) -> None:  # the text/plain twin: a label, not the HTML (and its images) again
        p.text(f"<HTML: {len(self)} characters>")


def short_cpu(cpu: str) -> str:
    """'Intel(R) Xeon(R) Processor (AMX)' -> 'Intel Xeon (AMX)'."""
    return re.sub(r"\s+", " ", re.sub(r"\((R|TM)\)|\bProcessor\b|\b\d+-Core\b", "", str(cpu))).strip()


def fmt_value(column: str, value) -> str:
    """One cell as text: 4 decimals for scores, whole seconds, integers as integers, '—' for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, str):
        return short_cpu(value) if column == "cpu" else value
    if column in ("parameters", "params"):
        return f"{float(value) / 1e6:.2f} M"
    if column in SECONDS:
        return f"{float(value):.0f}"
    if column in INTEGERS or column == "best_epoch" and float(value).is_integer():
        return f"{float(value):.0f}"
    if column == "best_epoch":
        return f"{float(value):.1f}"
    if column in ("train_images_per_s", "infer_images_per_s", "peak_mib", "gflops", "minutes"):
        return f"{float(value):.1f}"
    if isinstance(value, (bool,)):
        return str(value)
    return f"{float(value):.4f}"


def people_table(table: pd.DataFrame, columns: list[str] | None = None, best: str | None = "test_dice",
                 lower_is_better: bool = False) -> tuple[list[str], list[list[str]], int | None, str | None]:
    """(header, rows of text, index of the best row, CPU note) of a results table: index levels become leading
    columns, each ``X_mean``/``X_std`` pair one column 'X' shown as mean ± std, model names spelled out, NaN as
    '—'. A CPU column with one value becomes a note (for the caption). ``best``: the metric whose best mean is
    marked."""
    frame = table.reset_index() if any(n is not None for n in table.index.names) else table.reset_index(drop=True)
    if columns is not None:
        frame = frame[[c for c in frame.columns if c in columns or c.removesuffix("_mean") in columns
                       or c.removesuffix("_std") in columns or c in table.index.names]]
    cpu_note = None
    if "cpu" in frame and frame["cpu"].nunique() == 1:
        cpu_note = short_cpu(frame["cpu"].iloc[0])
        frame = frame.drop(columns="cpu")
    header, getters = [], []
    for col in frame.columns:
        if col.endswith("_std") and col.removesuffix("_std") + "_mean" in frame:
            continue
        if col.endswith("_mean"):
            base = col.removesuffix("_mean")
            std = base + "_std"
            header.append(label(base))
            getters.append(lambda r, c=col, s=std: format_mean_std(
                r[c], None if s not in r or ("seeds" in r and r["seeds"] == 1) else r[s]))
        else:
            header.append(label(col))
            getters.append(lambda r, c=col: MODEL_LABELS.get(r[c], fmt_value(c, r[c])) if isinstance(r[c], str)
                           else fmt_value(c, r[c]))
    rows = [[g(r) for g in getters] for _, r in frame.iterrows()]
    best_row = None
    key = f"{best}_mean" if best and f"{best}_mean" in frame else best if best in frame else None
    if key is not None and frame[key].notna().any() and len(frame) > 1:
        values = frame[key].astype(float)
        if "seeds" in frame:  # only rows with the most seeds compete: a single-seed screen ranks nothing
            values = values.where(frame["seeds"] == frame["seeds"].max())
        ranked = values.values.argsort() if lower_is_better else (-values.fillna(-math.inf)).values.argsort()
        best_row = int(ranked[0])
    return header, rows, best_row, cpu_note


def _cell(text: str) -> str:
    """A table cell's text as HTML, each command-line option with its value in a span that does not break."""
    return _OPTION.sub(lambda m: f'<span class="option">{m.group(0)}</span>', html.escape(text))


class Document:
    """Numbers the figures and tables of one document, in the order they are shown."""

    def __init__(self):
        self.figures = 0
        self.tables = 0

    def table(self, table: pd.DataFrame | None, caption: str, columns: list[str] | None = None,
              best: str | None = "test_dice", lower_is_better: bool = False, missing: str = "") -> Html:
        """A numbered table with its caption above; a note saying what is missing where ``table`` is None/empty."""
        if table is None or len(table) == 0:
            return note(missing or f"Not available yet: {caption}")
        header, rows, best_row, cpu = people_table(table, columns, best, lower_is_better)
        self.tables += 1
        extra = []
        if best_row is not None:
            extra.append(f"Bold: the best {label(best)}" + (" among the rows with the most seeds." if "seeds" in table
                                                              and table["seeds"].nunique() > 1 else "."))
        if cpu:
            extra.append(f"Times measured on {html.escape(cpu)}.")
        numeric = [all(_NUMBER.match(r[j]) for r in rows) for j in range(len(header))]
        cls = ["num" if n else "text" for n in numeric]
        head = "".join(f'<th class="{c}">{html.escape(h)}</th>' for c, h in zip(cls, header))
        body = "".join(
            "<tr{}>{}</tr>".format(' class="best"' if i == best_row else "",
                                   "".join(f'<td class="{c}">{_cell(v)}</td>' for c, v in zip(cls, row)))
            for i, row in enumerate(rows))
        kind = "data long" if len(rows) > LONG_TABLE_ROWS else "data"  # a long table may break across pages
        return Html(f'<table class="{kind}" id="table-{self.tables}"><caption><b>Table {self.tables}.</b> '
                    f'{_inline(caption)} {" ".join(extra)}</caption><thead><tr>{head}</tr></thead>'
                    f"<tbody>{body}</tbody></table>")

    def subsection(self, heading: str, table: pd.DataFrame | None, caption: str, missing: str,
                   columns: list[str] | None = None, figure: str | Path | None = None,
                   figure_caption: str = "") -> list[Html]:
        """A numbered-subsection heading, its table and, where the table is there, its figure (in that order)."""
        parts = [markdown(f"#### {heading}"), self.table(table, caption, columns=columns, missing=missing)]
        if figure is not None and table is not None:
            parts.append(self.figure(figure, figure_caption))
        return parts

    def figure(self, path: str | Path, caption: str, missing: str = "", tall: bool = False) -> Html:
        """A numbered figure with the PNG embedded (the document opens from disk on its own)."""
        path = Path(path)
        if not path.is_file():
            return note(missing or f"Figure not drawn yet: {path.name}.")
        self.figures += 1
        mime, raw = embedded_image(path)
        data = base64.b64encode(raw).decode()
        from PIL import Image

        from .figures import is_tall

        with Image.open(path) as im:  # a figure taller than the normal box's proportions gets the tall box
            tall = tall or is_tall(*im.size)
        cls = "figure tall" if tall else "figure"
        return Html(f'<figure class="{cls}" id="figure-{self.figures}"><img src="data:{mime};base64,{data}" '
                    f'alt="{html.escape(path.stem)}"><figcaption><b>Figure {self.figures}.</b> {_inline(caption)}'
                    "</figcaption></figure>")


# A figure is embedded as JPEG where that makes it at least this many times smaller than its PNG: photographs
# (2.2-4.8x at quality 90 on the real subset's figures), never line plots (1.4-1.6x), whose text and thin lines
# JPEG would blur. It keeps the report's HTML and PDF under 2 MB.
JPEG_GAIN = 2.0
JPEG_QUALITY = 90


def embedded_image(path: Path) -> tuple[str, bytes]:
    """(MIME type, bytes) to embed the PNG at ``path`` with: the PNG itself, or a JPEG of it (transparency
    flattened onto white) where that is :data:`JPEG_GAIN` times smaller."""
    from PIL import Image

    png = path.read_bytes()
    try:
        with Image.open(io.BytesIO(png)) as im:
            rgba = im.convert("RGBA")
    except OSError:  # not an image PIL reads: embedded as it is, as before (the browser shows it broken, not a crash)
        return "image/png", png
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    jpeg = out.getvalue()
    return ("image/jpeg", jpeg) if len(jpeg) * JPEG_GAIN <= len(png) else ("image/png", png)


def _inline(text: str) -> str:
    """Escape text for HTML, with `code` spans kept as code."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def note(text: str) -> Html:
    return Html(f'<p class="note">{_inline(text)}</p>')


def markdown(text: str) -> Html:
    """Markdown shown as HTML (generated prose: bullet lists, emphasis, code)."""
    from nbconvert.filters.markdown import markdown2html

    return Html(markdown2html(text))


def code_version() -> str:
    """The labseg commit the document is rendered with ('unknown' outside a git checkout)."""
    import subprocess

    from .paths import CHECKOUT

    try:
        out = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def newest_run_commit(*folders: str | Path) -> tuple[int, str, str] | None:
    """(commit time, commit, its date) of the newest labseg commit, by its date in git, that made a run of any of
    ``folders``; None where git knows none of them. The document's date comes from its runs, never from the clock."""
    commits = {json.loads(f.read_text()).get("git_commit") for folder in folders
               for f in Path(folder).glob("runs/*/env.json")}
    if not folders:
        return None
    dated = [(stamp, commit, day) for commit, (stamp, day) in commit_dates(commits, folders[0]).items()]
    return max(dated) if dated else None


def runs_version(*folders: str | Path) -> str:
    """The title block's line on which code made the runs (of every results folder the document reads), so that
    two renders of the same results are identical."""
    newest = newest_run_commit(*folders)
    if newest is None:
        return "labseg commits not in this checkout's git history"
    return f"runs made with labseg commits up to {newest[1]} ({newest[2]})"


def title_block(title: str, subtitle: str, facts: dict[str, str]) -> Html:
    rows = "".join(f"<div><dt>{html.escape(k)}</dt><dd>{_inline(v)}</dd></div>" for k, v in facts.items())
    return Html(f'<header class="title-block"><h1>{html.escape(title)}</h1><p class="subtitle">{_inline(subtitle)}'
                f"</p><dl>{rows}</dl></header>")


def abstract(sentences: list[str]) -> Html:
    return Html('<section class="abstract"><h2 class="unnumbered">Abstract</h2><p>'
                + " ".join(_inline(s) for s in sentences) + "</p></section>")
