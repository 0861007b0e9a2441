"""`make report` reads back: a copy of the repository's tracked files regenerates the committed toy study, figures,
tables and report.html / report.pdf included, byte for byte, without training; two renders are identical."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KEY = "toy-pets-toy"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("pdftoppm")),
                                 reason="needs chromium and poppler-utils (apt-get install chromium poppler-utils)")]


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """The working tree's tracked files (as they are now, committed or not) in a fresh repository: what a clone
    holds. Its history is the one commit; runs' commits are looked up in this repository's own history."""
    target = tmp_path_factory.mktemp("clone") / "labseg"
    for rel in _git(REPO, "ls-files", "-z").split("\0"):
        if rel and (REPO / rel).is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, target / rel)
    _git(target, "init", "-q")
    _git(target, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    _git(target, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clone")
    objects = REPO / ".git" / "objects"  # the runs' commits and their dates, as a real clone has them
    (target / ".git" / "objects" / "info" / "alternates").write_text(f"{objects}\n")
    return target


def _user_env(clone: Path) -> dict:
    """The environment a user's command runs in: the clone's labseg; not under the notebook tests' smoke overrides,
    nor a retrain mode left by another test."""
    env = {**os.environ, "PYTHONPATH": str(clone), "LABSEG_CACHE_DIR": os.environ.get("LABSEG_CACHE_DIR", "")}
    return {k: v for k, v in env.items() if v and k not in ("LABSEG_NOTEBOOK_OVERRIDES", "LABSEG_RETRAIN",
                                                            "LABSEG_RETRAIN_SINCE")}


def test_toy_report_reads_back_byte_for_byte(clone):
    done = subprocess.run([sys.executable, "-m", "labseg.pipeline"], cwd=clone, env=_user_env(clone),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not list((clone / "results" / KEY / "runs").glob("*/best.pt")), "read-back trained a run"
    assert "WARNING" not in done.stderr and "triton" not in done.stderr, done.stderr[-2000:]
    changed = _git(clone, "status", "--porcelain")
    assert changed == "", f"read-back changed tracked files:\n{changed}"


def test_two_renders_are_identical(clone, tmp_path):
    """The report of the same results renders to the same bytes (no clock in the HTML, the PDF or its metadata):
    `python -m labseg.report --no-execute` twice in the clone, as a user runs it, and the committed report."""
    if not (clone / "results" / KEY / "notebooks" / "05_report.ipynb").is_file():
        pytest.skip("the read-back test did not leave an executed report notebook")
    for out in ("a", "b"):
        done = subprocess.run([sys.executable, "-m", "labseg.report", "--no-execute", "--pages", "1",
                               "--out", str(tmp_path / out)], cwd=clone, env=_user_env(clone), capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    for name in ("report.html", "report.pdf", "pages/page-1.png"):
        assert same_bytes(tmp_path / "a" / KEY / name, tmp_path / "b" / KEY / name)
    assert same_bytes(tmp_path / "a" / KEY / "report.pdf", clone / "report" / KEY / "report.pdf")


def same_bytes(a: Path, b: Path) -> bool:
    """True where the files are equal; else an AssertionError naming the sizes and the first differing bytes with
    their neighbourhood (a PDF's date, a font, an image), not a dump of two half-megabyte files."""
    x, y = a.read_bytes(), b.read_bytes()
    if x == y:
        return True
    at = next((i for i, (p, q) in enumerate(zip(x, y)) if p != q), min(len(x), len(y)))
    raise AssertionError(f"{a} ({len(x)} bytes) and {b} ({len(y)} bytes) first differ at byte {at}: "
                         f"{x[max(0, at - 80):at + 80]!r} against {y[max(0, at - 80):at + 80]!r}")
