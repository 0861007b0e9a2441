"""`labseg app` in a real browser (Debian's chromium driven by Playwright): three photos uploaded, the mask the
page offers equals `labseg predict`'s pixel for pixel; bad files get their message in the page and the server
keeps answering; nothing is left on disk when it stops."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labseg.app import MAX_PIXELS, MAX_UPLOAD_MB, check_upload
from labseg.data import DataError
from servers import free_port, wait_until_serving

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from app_load import bad_files  # noqa: E402 - the six bad files, shared with the load benchmark


def test_uploads_are_checked_before_anything_decodes_them(tmp_path):
    for name, (path, words) in bad_files(tmp_path).items():
        if name == "truncated":  # the header is fine: decoding finds it (labseg.data: "Cannot decode")
            assert check_upload(path) == []
            continue
        with pytest.raises(DataError, match=re.escape(words)):
            check_upload(path)
    Image.new("CMYK", (50, 40)).save(tmp_path / "print.jpg")
    assert "CMYK" in check_upload(tmp_path / "print.jpg")[0]
    assert MAX_PIXELS < 20000 * 20000


@pytest.fixture
def app(tmp_path):
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (`apt-get install chromium`; .ci/run installs it)")
    pytest.importorskip("gradio")
    pytest.importorskip("playwright.sync_api")
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp_path / "server-tmp"), "GRADIO_ANALYTICS_ENABLED": "False"}
    (tmp_path / "server-tmp").mkdir()
    log = open(tmp_path / "app.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "labseg", "app", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, server, tmp_path / "app.log", seconds=120)
        yield url, tmp_path
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert not list((tmp_path / "server-tmp").iterdir()), "the app left files in its temp folder"


def upload(page, path: Path, timeout_s: float = 60) -> tuple[str, float]:
    """Send ``path`` through the page's file input; (the status text once it changed, seconds it took)."""
    status = page.locator("#status")
    before = status.inner_text()
    page.locator("#photo input[type=file]").set_input_files(str(path))
    t0 = time.perf_counter()
    deadline = t0 + timeout_s
    while time.perf_counter() < deadline:
        text = status.inner_text()
        if text != before and ("pixels" in text or "Cannot segment" in text):
            return text, time.perf_counter() - t0
        time.sleep(0.05)
    pytest.fail(f"{path.name}: the page did not answer within {timeout_s} s")


def clear(page):
    page.locator("#photo button[aria-label='Clear']").first.click()
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('Drop a photo')")


@pytest.mark.slow
def test_the_app_in_a_browser_gives_predicts_masks_and_survives_bad_files(app, toy_root, real_root_or_none,
                                                                          tmp_path):
    from playwright.sync_api import sync_playwright

    url, _ = app
    photos = tmp_path / "photos"
    photos.mkdir()
    picks = [toy_root / "images" / sorted(os.listdir(toy_root / "images"))[0]]
    if real_root_or_none is not None:
        first = (real_root_or_none / "annotations" / "test.txt").read_text().split()[0]
        picks.append(real_root_or_none / "images" / f"{first}.jpg")
    odd = photos / "odd.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (41, 333, 3), dtype=np.uint8)).save(odd)
    picks.append(odd)
    big = photos / "big12mp.jpg"
    yy, xx = np.mgrid[:3000, :4000]
    Image.fromarray(np.stack([(xx // 9) % 255, (yy // 5) % 255, (xx + yy) % 255], -1).astype(np.uint8)).save(big)
    expected = tmp_path / "expected"
    subprocess.run([sys.executable, "-m", "labseg", "predict", *map(str, picks), "--out", str(expected),
                    "--no-overlay"], check=True, capture_output=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 1100})
        page.goto(url)
        page.wait_for_selector("#photo input[type=file]", state="attached", timeout=60_000)
        for photo in picks:
            text, seconds = upload(page, photo)
            assert "pixels" in text and "Cannot" not in text, text
            link = page.locator("#mask-file a").first
            link.wait_for(timeout=30_000)
            body = page.request.get(link.get_attribute("href")).body()
            (tmp_path / "got.png").write_bytes(body)
            got = np.array(Image.open(tmp_path / "got.png").convert("L"))
            want = np.array(Image.open(expected / f"{photo.stem}_mask.png").convert("L"))
            assert got.shape == want.shape and np.array_equal(got, want), photo.name
            if photo == picks[1]:
                page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
                if os.environ.get("LABSEG_SCREENSHOT_DIR"):
                    shutil.copy(tmp_path / "app.png", Path(os.environ["LABSEG_SCREENSHOT_DIR"]) / "app.png")
            clear(page)
        text, seconds = upload(page, big)
        print(f"labseg app: a 12-megapixel JPEG answered in {seconds:.2f} s ({text})")
        clear(page)
        for name, (path, words) in bad_files(tmp_path / "bad").items():
            text, _ = upload(page, path)
            assert "Cannot segment this file" in text and words in text, (name, text)
            clear(page)
        huge = tmp_path / "huge.jpg"  # over the upload limit: refused in the page, before a byte is sent
        with open(huge, "wb") as f:
            f.truncate((MAX_UPLOAD_MB + 8) * 2**20)
        page.locator("#photo input[type=file]").set_input_files(str(huge))
        toast = page.locator("[data-testid='toast-body']").first
        toast.wait_for(timeout=30_000)
        assert f"maximum allowed size of {MAX_UPLOAD_MB:.1f}" in toast.inner_text() and "huge.jpg" in toast.inner_text()
        assert "Drop a photo" in page.locator("#status").inner_text()
        text, _ = upload(page, picks[0])  # still serving
        assert "pixels" in text
        browser.close()
    assert urllib.request.urlopen(url, timeout=5).status == 200
