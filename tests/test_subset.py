"""`labseg download --subset pets-3`: the studies' data cut out of archives laid out like the official ones, built
from the real subset plus a decoy breed and macOS `._` files, served on 127.0.0.1."""
import functools
import hashlib
import http.server
import io
import os
import resource
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from labseg.download import DownloadError
from labseg.subset import RECORD, download_subset, expected_sums

SUBSET = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "oxford-pet-subset"
pytestmark = pytest.mark.skipif(not (SUBSET / "annotations" / "test.txt").is_file(),
                                reason="the real subset (../shared/data/oxford-pet-subset) is not here")
DECOY = b"Beagle_1 13 2 3\nBeagle_2 13 2 3\n"


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _splice(data: bytes) -> bytes:
    """An official-looking list: the subset's lines with a decoy breed's lines among them."""
    lines = data.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if not line.startswith(b"#")) + 3
    return b"".join(lines[:at]) + DECOY + b"".join(lines[at:]) + DECOY


def build_site(site: Path, change: str | None = None) -> dict[str, str]:
    """images.tar.gz and annotations.tar.gz in the official layout; ``change``: a subset file given other bytes."""
    site.mkdir(parents=True, exist_ok=True)
    photo = (SUBSET / "images" / "Bengal_1.jpg").read_bytes()
    trimap = (SUBSET / "annotations" / "trimaps" / "Bengal_1.png").read_bytes()
    with tarfile.open(site / "images.tar.gz", "w:gz", compresslevel=1) as tar:
        for path in sorted((SUBSET / "images").iterdir()):
            _add(tar, f"images/{path.name}", path.read_bytes())
        _add(tar, "images/Beagle_1.jpg", photo)
    with tarfile.open(site / "annotations.tar.gz", "w:gz", compresslevel=1) as tar:
        for path in sorted((SUBSET / "annotations" / "trimaps").iterdir()):
            data = path.read_bytes()
            name = f"annotations/trimaps/{path.name}"
            _add(tar, name, data + b"\0" if name == change else data)
            _add(tar, f"annotations/trimaps/._{path.name}", b"\0\5\26\7 macOS resource fork")
        _add(tar, "annotations/trimaps/Beagle_1.png", trimap)
        _add(tar, "annotations/xmls/Bengal_1.xml", b"<annotation/>")
        _add(tar, "annotations/README", (SUBSET / "annotations" / "README").read_bytes())
        for split in ("list.txt", "trainval.txt", "test.txt"):
            _add(tar, f"annotations/{split}", _splice((SUBSET / "annotations" / split).read_bytes()))
    return {n: hashlib.md5((site / n).read_bytes()).hexdigest() for n in ("images.tar.gz", "annotations.tar.gz")}


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    md5 = {"good": build_site(site / "good"),
           "changed": build_site(site / "changed", change="annotations/trimaps/Abyssinian_10.png")}
    damaged = site / "damaged"
    damaged.mkdir()
    (damaged / "images.tar.gz").write_bytes((site / "good" / "images.tar.gz").read_bytes()[:200_000])
    (damaged / "annotations.tar.gz").write_bytes((site / "good" / "annotations.tar.gz").read_bytes())
    md5["damaged"] = {n: hashlib.md5((damaged / n).read_bytes()).hexdigest() for n in md5["good"]}
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", md5
    server.shutdown()
    server.server_close()


def _debris(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


def test_subset_is_byte_identical_and_says_so(mirror, tmp_path):
    url, md5 = mirror
    report = download_subset(tmp_path / "pets-3", base_url=f"{url}/good", archives=md5["good"], timeout=30)
    assert report.identical and report.files == 1207
    assert "byte-identical" in report.line()
    for rel, digest in expected_sums("pets-3").items():  # every file, against the shared copy's own bytes
        assert hashlib.sha256((tmp_path / "pets-3" / rel).read_bytes()).hexdigest() == digest
        assert (tmp_path / "pets-3" / rel).read_bytes() == (SUBSET / rel).read_bytes()
    assert not list((tmp_path / "pets-3").rglob("Beagle*")) and not list((tmp_path / "pets-3").rglob("._*"))
    assert "byte-identical" in (tmp_path / "pets-3" / RECORD).read_text()
    assert _debris(tmp_path) == []


def test_a_changed_file_is_named(mirror, tmp_path):
    url, md5 = mirror
    report = download_subset(tmp_path / "pets-3", base_url=f"{url}/changed", archives=md5["changed"], timeout=30)
    assert report.differ == ["annotations/trimaps/Abyssinian_10.png"] and not report.missing and not report.extra
    assert "NOT identical" in report.line() and "Abyssinian_10.png" in report.line()
    assert "`annotations/trimaps/Abyssinian_10.png`" in (tmp_path / "pets-3" / RECORD).read_text()


@pytest.mark.parametrize("case, match", [("damaged", "not a readable tar.gz"), ("md5", "does not match the official")])
def test_bad_archives_leave_nothing(mirror, tmp_path, case, match):
    url, md5 = mirror
    site, sums = ("damaged", md5["damaged"]) if case == "damaged" else ("good", dict(md5["good"], **{
        "annotations.tar.gz": "0" * 32}))
    with pytest.raises(DownloadError, match=match):
        download_subset(tmp_path / "pets-3", base_url=f"{url}/{site}", archives=sums, timeout=30)
    assert list(tmp_path.iterdir()) == []


def _cli(*args, limit: int | None = None):
    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run([sys.executable, "-m", "labseg", "download", *args], capture_output=True, text=True,
                          timeout=300, preexec_fn=small_files if limit else None,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_cli_refuses_a_non_empty_folder(mirror, tmp_path):
    url, md5 = mirror
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    done = _cli(str(tmp_path / "mine"), "--subset", "pets-3", "--base-url", f"{url}/good")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "not empty" in done.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep" and _debris(tmp_path) == []


def test_cli_says_the_official_md5_does_not_match(mirror, tmp_path):
    url, _ = mirror
    done = _cli(str(tmp_path / "pets-3"), "--subset", "pets-3", "--base-url", f"{url}/good")
    assert done.returncode == 2 and "does not match the official" in done.stderr
    assert "Traceback" not in done.stderr and list(tmp_path.iterdir()) == []


def test_cli_fetches_the_subset_from_a_mirror(mirror, tmp_path):
    url, md5 = mirror
    pins = [f"--archive-md5={n}={h}" for n, h in md5["good"].items()]
    done = _cli(str(tmp_path / "pets-3"), "--subset", "pets-3", "--base-url", f"{url}/good", *pins)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("byte-identical to the data of the committed studies")


def test_cli_disk_full_half_way(mirror, tmp_path):
    """Files may grow to 20 MB here (RLIMIT_FSIZE): the 60 MB images archive stops half-way, as on a full disk."""
    url, md5 = mirror
    pins = [f"--archive-md5={n}={h}" for n, h in md5["good"].items()]
    done = _cli(str(tmp_path / "pets-3"), "--subset", "pets-3", "--base-url", f"{url}/good", *pins, limit=20 << 20)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "filled up" in done.stderr and list(tmp_path.iterdir()) == []
