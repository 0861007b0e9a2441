"""The studies' data from the official archives: ``labseg download --subset pets-3 DIR``.

Every committed real-data study used the same 598 photos of 3 breeds (Abyssinian, american_bulldog, Bengal) with
the official split lists. This module cuts exactly that subset out of the official ``images.tar.gz`` and
``annotations.tar.gz`` (their MD5 checked first, as for the full dataset), then checks each file against the SHA-256
sums committed in ``labseg/subsets/<name>.sha256`` and says whether the data is byte-identical to what the studies
used, in one line and in ``SUBSET.md`` beside the data. A file that differs is named, not turned into a failure:
the sums were made from a public copy of the subset, which could not be compared with the official archive offline.

Selection, per breed: ``images/<breed>_<n>.jpg`` and ``.mat``, ``annotations/trimaps/<breed>_<n>.png`` (not the
archive's ``._`` macOS files), ``annotations/README``, and the lines of ``list.txt``, ``trainval.txt`` and
``test.txt`` that name the breed (``list.txt`` keeps its ``#`` header).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .download import ARCHIVES, DISK_FULL, OFFICIAL_BASE_URL, fetch
from .errors import DownloadError

SUMS = Path(__file__).resolve().parent / "subsets"
SUBSETS = {"pets-3": ("Abyssinian", "american_bulldog", "Bengal")}
# The folder each subset goes to by default: its name is the study's key (results/<folder name>-<profile>/), so
# `make report PROFILE=cpu DATA=data/oxford-pet-subset` finds the committed studies.
DEFAULT_ROOT = {"pets-3": "data/oxford-pet-subset"}
SPLIT_FILES = ("annotations/list.txt", "annotations/trainval.txt", "annotations/test.txt")
RECORD = "SUBSET.md"


@dataclass
class SubsetReport:
    root: Path
    name: str
    files: int
    differ: list[str] = field(default_factory=list)  # in the subset, with other bytes than the studies'
    missing: list[str] = field(default_factory=list)  # in the studies' data, not in the archives
    extra: list[str] = field(default_factory=list)  # selected from the archives, not in the studies' data

    @property
    def identical(self) -> bool:
        return not (self.differ or self.missing or self.extra)

    def line(self) -> str:
        if self.identical:
            return (f"{self.root}: the {self.name} subset, {self.files} files, byte-identical to the data of the "
                    "committed studies")
        parts = [f"{len(v)} {k} ({', '.join(v[:5])}{', ...' if len(v) > 5 else ''})"
                 for k, v in (("differ", self.differ), ("missing", self.missing), ("extra", self.extra)) if v]
        return (f"{self.root}: the {self.name} subset, {self.files} files, NOT identical to the data of the committed "
                f"studies: {'; '.join(parts)} (every file is listed in {RECORD}); results made on it may differ")


def expected_sums(name: str) -> dict[str, str]:
    """path -> SHA-256 of every file of the studies' subset ``name``."""
    sums = {}
    for line in (SUMS / f"{name}.sha256").read_text().splitlines():
        if line.strip():
            digest, path = line.split(maxsplit=1)
            sums[path.strip().lstrip("*")] = digest
    return sums


def _breed(stem: str) -> str:
    return stem.rsplit("_", 1)[0]


def selected(member: str, breeds: tuple[str, ...]) -> bool:
    """Whether an archive member (a regular file) belongs to the subset of ``breeds``."""
    parts = member.split("/")
    leaf = parts[-1]
    if leaf.startswith("._"):
        return False
    if len(parts) == 2 and parts[0] == "images":
        return leaf.endswith((".jpg", ".mat")) and _breed(leaf.rsplit(".", 1)[0]) in breeds
    if len(parts) == 3 and parts[:2] == ["annotations", "trimaps"]:
        return leaf.endswith(".png") and _breed(leaf[:-4]) in breeds
    return member == "annotations/README" or member in SPLIT_FILES


def filter_split(data: bytes, breeds: tuple[str, ...]) -> bytes:
    """The lines of an official split list that name one of ``breeds`` (and its ``#`` header lines)."""
    keep = [line for line in data.splitlines(keepends=True)
            if line.startswith(b"#") or (line.split() and _breed(line.split()[0].decode()) in breeds)]
    return b"".join(keep)


def _extract_subset(archive: Path, dest: Path, breeds: tuple[str, ...]) -> None:
    try:
        with tarfile.open(archive) as tar:
            for m in tar:
                if not m.isfile() or not selected(m.name, breeds):
                    continue
                target = (dest / m.name).resolve()
                if not str(target).startswith(str(dest.resolve()) + os.sep):
                    raise DownloadError(f"{archive.name} holds an unsafe member {m.name!r}; refusing to extract it.")
                data = tar.extractfile(m).read()
                if m.name in SPLIT_FILES:
                    data = filter_split(data, breeds)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            raise
        raise DownloadError(f"{archive.name} is not a readable tar.gz archive ({exc}); download it again.") from exc


def compare(root: Path, name: str) -> SubsetReport:
    expected = expected_sums(name)
    got = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != RECORD):
        got[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return SubsetReport(root, name, len(got),
                        differ=sorted(p for p in got if p in expected and got[p] != expected[p]),
                        missing=sorted(p for p in expected if p not in got),
                        extra=sorted(p for p in got if p not in expected))


def write_record(report: SubsetReport, dest: Path, base_url: str, md5: dict[str, str]) -> None:
    """SUBSET.md beside the data: where it came from and how it compares with the studies' data, file by file."""
    lines = [f"# Oxford-IIIT Pet, subset {report.name}: {', '.join(SUBSETS[report.name])}", "",
             "Made by `labseg download --subset` from the official archives (Parkhi et al., CVPR 2012; CC BY-SA 4.0):",
             "", *[f"- {base_url.rstrip('/')}/{n}: MD5 {h}" for n, h in md5.items()], "",
             f"Checked against labseg/subsets/{report.name}.sha256 (SHA-256 of the data every committed study used):",
             "", report.line().replace(str(report.root), "This folder"), ""]
    for title, names in (("Files that differ", report.differ), ("Missing", report.missing),
                         ("Not in the studies' data", report.extra)):
        if names:
            lines += [f"## {title} ({len(names)})", "", *[f"- `{n}`" for n in names], ""]
    (dest / RECORD).write_text("\n".join(lines))


def download_subset(root: str | Path, name: str = "pets-3", base_url: str = OFFICIAL_BASE_URL,
                    archives: dict[str, str] | None = None, timeout: float = 60.0) -> SubsetReport:
    """Fetch the official archives into a temporary sibling of ROOT, verify their MD5, extract the subset, compare
    it with the studies' sums, write SUBSET.md, then rename the folder to ROOT. On any failure nothing stays: ROOT
    is as it was and the temporary folder is gone."""
    if name not in SUBSETS:
        raise DownloadError(f"--subset {name}: unknown subset; choose one of: {', '.join(SUBSETS)}")
    root = Path(root)
    archives = ARCHIVES if archives is None else archives
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DownloadError(f"{root} exists and is not empty; move it away or choose another folder (nothing was "
                            "changed).")
    root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{root.name}.download-", dir=root.parent))
    try:
        content = work / "content"
        content.mkdir()
        got = {}
        for archive_name, expected in archives.items():
            archive = work / archive_name
            url = f"{base_url.rstrip('/')}/{archive_name}"
            got[archive_name] = fetch(url, archive, timeout)
            if expected and got[archive_name] != expected:
                raise DownloadError(f"{url}: MD5 {got[archive_name]} does not match the official {expected}; the "
                                    "download is damaged or not the official archive. Try again later or another "
                                    "mirror.")
            _extract_subset(archive, content, SUBSETS[name])
            archive.unlink()
        report = compare(content, name)
        if not report.files:
            raise DownloadError(f"the archives at {base_url} hold no file of the {name} subset; check --base-url.")
        write_record(report, content, base_url, got)
        if root.exists():
            root.rmdir()  # empty, checked above
        os.replace(content, root)
    except OSError as exc:
        if exc.errno in DISK_FULL:
            raise DownloadError(f"the disk under {root.parent} filled up while writing the subset ({exc.strerror}); "
                                "free about 1 GB (the archives are 0.8 GB) and run the command again (nothing was "
                                "left behind).") from None
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.root = root
    return report
