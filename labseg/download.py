"""Fetch the official Oxford-IIIT Pet archives, verify their MD5 and extract them atomically."""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .errors import DownloadError  # noqa: F401 - raised here, caught by the CLI

OFFICIAL_BASE_URL = "https://www.robots.ox.ac.uk/~vgg/data/pets/data"
# MD5 of the official archives (the same pins as torchvision's OxfordIIITPet).
ARCHIVES = {
    "images.tar.gz": "5c4f3ee8e5d25df40f4fd59a7f44e54c",
    "annotations.tar.gz": "95a8c909bbe2e81eed6a22bccdf3f68f",
}


DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def fetch(url: str, dest: Path, timeout: float) -> str:
    """Stream ``url`` into ``dest``; return its MD5. A full disk is raised as it is (the caller says so)."""
    md5 = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as fh:
            while chunk := resp.read(1 << 20):
                md5.update(chunk)
                fh.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        if getattr(exc, "errno", None) in DISK_FULL:
            raise
        raise DownloadError(f"Could not download {url} ({exc}). "
                            "Check the connection or pass --base-url MIRROR.") from exc
    return md5.hexdigest()


def _extract(archive: Path, dest: Path) -> None:
    try:
        with tarfile.open(archive) as tar:
            for m in tar.getmembers():
                target = (dest / m.name).resolve()
                if not str(target).startswith(str(dest.resolve())) or m.issym() or m.islnk():
                    raise DownloadError(f"{archive.name} holds an unsafe member {m.name!r}; refusing to extract it.")
            tar.extractall(dest)
    except tarfile.TarError as exc:
        raise DownloadError(f"{archive.name} is not a readable tar.gz archive ({exc}).") from exc


def download_pets(root: str | Path, base_url: str = OFFICIAL_BASE_URL, archives: dict[str, str] | None = None,
                  timeout: float = 60.0) -> Path:
    """Download, verify and extract into ROOT (ROOT/images, ROOT/annotations).

    Everything happens in a temporary sibling folder that is renamed to ROOT only when every
    archive has been verified and extracted; on any failure it is removed and ROOT is untouched.
    A ROOT that already holds the dataset is kept as it is.
    """
    root = Path(root)
    archives = ARCHIVES if archives is None else archives
    if (root / "images").is_dir() and (root / "annotations" / "trainval.txt").is_file():
        return root
    if root.exists() and any(root.iterdir()):
        raise DownloadError(f"{root} exists and is not empty; "
                            "move it away or choose another folder (nothing was changed).")
    root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{root.name}.download-", dir=root.parent))
    try:
        content = work / "content"
        content.mkdir()
        for name, expected in archives.items():
            archive = work / name
            url = f"{base_url.rstrip('/')}/{name}"
            got = fetch(url, archive, timeout)
            if expected and got != expected:
                raise DownloadError(f"{url}: MD5 {got} does not match the expected {expected}; the download is "
                                    "damaged or not the official archive. Try again later or another mirror.")
            _extract(archive, content)
            archive.unlink()
        if not (content / "images").is_dir() or not (content / "annotations").is_dir():
            raise DownloadError("The archives did not contain images/ and annotations/ folders.")
        if root.exists():
            root.rmdir()  # empty, checked above
        os.replace(content, root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return root
