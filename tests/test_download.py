import functools
import hashlib
import http.server
import tarfile
import threading

import pytest

from labseg.data import read_split
from labseg.download import DownloadError, download_pets


@pytest.fixture
def mirror(tmp_path, toy_root):
    """The toy set packed as the two official archives, served on 127.0.0.1."""
    site = tmp_path / "site"
    site.mkdir()
    with tarfile.open(site / "images.tar.gz", "w:gz") as tar:
        tar.add(toy_root / "images", arcname="images")
    with tarfile.open(site / "annotations.tar.gz", "w:gz") as tar:
        tar.add(toy_root / "annotations", arcname="annotations")
    md5 = {n: hashlib.md5((site / n).read_bytes()).hexdigest() for n in ("images.tar.gz", "annotations.tar.gz")}
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", md5
    server.shutdown()
    server.server_close()


def test_download_verifies_and_extracts(mirror, tmp_path):
    url, md5 = mirror
    root = download_pets(tmp_path / "pets", base_url=url, archives=md5, timeout=10)
    assert len(read_split(root, "test")) == 30
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".pets")] == []


def test_bad_checksum_leaves_nothing_behind(mirror, tmp_path):
    url, md5 = mirror
    bad = dict(md5, **{"annotations.tar.gz": "0" * 32})
    with pytest.raises(DownloadError, match="MD5"):
        download_pets(tmp_path / "pets", base_url=url, archives=bad, timeout=10)
    assert not (tmp_path / "pets").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".pets")] == []


def test_missing_archive_is_a_clear_error(mirror, tmp_path):
    url, _ = mirror
    with pytest.raises(DownloadError, match="Could not download .*nothing.tar.gz"):
        download_pets(tmp_path / "pets", base_url=url, archives={"nothing.tar.gz": ""}, timeout=10)
    assert not (tmp_path / "pets").exists()


def test_a_non_empty_folder_is_not_touched(mirror, tmp_path):
    url, md5 = mirror
    root = tmp_path / "pets"
    root.mkdir()
    (root / "mine.txt").write_text("keep")
    with pytest.raises(DownloadError, match="not empty"):
        download_pets(root, base_url=url, archives=md5, timeout=10)
    assert (root / "mine.txt").read_text() == "keep"
