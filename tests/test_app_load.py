"""`labseg app` bounded by design: upload limit, temp-folder sweep, queue limits, bombs in every format, --auth and
--host; and a short run of the load benchmark (benchmarks/app_load.py) against the real server over HTTP."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from labseg.app import MAX_UPLOAD_MB, TempSweeper, check_upload, is_loopback, read_auth
from labseg.data import DataError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import app_load  # noqa: E402 - the benchmark, a program beside the package


def test_a_small_file_declaring_a_huge_image_is_refused_from_its_header_in_every_format(tmp_path):
    bombs = app_load.bomb_files(tmp_path)
    assert sorted(bombs) == ["BMP", "GIF", "JPEG", "PNG", "TIFF", "WEBP"]
    for fmt, path in bombs.items():
        assert path.stat().st_size < 2000, fmt  # small on disk, 268-900 MP declared
        with pytest.raises(DataError, match="megapixels"):
            check_upload(path)


def _aged(path: Path, size: int, age_s: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_the_sweeper_removes_old_files_then_the_oldest_past_its_target_and_keeps_the_examples(tmp_path):
    example = _aged(tmp_path / "toy-pets" / "a.jpg", 1000, 5000)
    sweeper = TempSweeper(tmp_path, keep_s=60, target_mb=1, every_s=3600).start()
    stale = _aged(tmp_path / "uploads" / "h1" / "stale.jpg", 100, 120)
    oldest = _aged(tmp_path / "uploads" / "h2" / "oldest.jpg", 600_000, 30)
    older = _aged(tmp_path / "uploads" / "h3" / "older.jpg", 600_000, 20)
    streaming = _aged(tmp_path / "uploads" / "tmpupload", 2_000_000, 0)  # changed just now: still arriving
    sweeper.sweep()
    assert example.exists() and older.exists() and streaming.exists()
    assert not stale.exists() and not oldest.exists()  # too old; then the oldest, to get under 1 MB
    assert (tmp_path / "uploads" / "h2").is_dir()  # emptied just now: Gradio may be about to write into it
    os.utime(tmp_path / "uploads" / "h2", (time.time() - 10, time.time() - 10))
    sweeper.sweep()
    assert not (tmp_path / "uploads" / "h2").exists() and (tmp_path / "uploads" / "h3").is_dir()
    sweeper.stop.set()


def test_the_auth_file_is_read_and_every_bad_one_named(tmp_path):
    good = tmp_path / "auth"
    good.write_text("ann: s3cret:with:colons\n")
    assert read_auth(good) == ("ann", " s3cret:with:colons")
    cases = {"missing": (tmp_path / "nope", "no such file"), "folder": (tmp_path, "that is a folder")}
    for name, text in (("empty", ""), ("no colon", "annsecret"), ("no password", "ann:"),
                       ("two lines", "a:b\nc:d"), ("no user", ":pw")):
        (tmp_path / name).write_text(text)
        cases[name] = (tmp_path / name, "exactly one line user:password")
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00a:b")
    cases["binary"] = (tmp_path / "binary", "cannot read it")
    for name, (path, words) in cases.items():
        with pytest.raises(ValueError, match=words):
            read_auth(path)


def test_labseg_app_with_an_unreadable_or_malformed_auth_file_says_so_in_one_line(tmp_path):
    pytest.importorskip("gradio")
    (tmp_path / "binary").write_bytes(b"\xff\xfeann:hunter2")
    (tmp_path / "bad").write_text("ann hunter2")
    cases = ((tmp_path / "binary", "cannot read it (not UTF-8 text)"), (tmp_path / "bad", "exactly one line"),
             (tmp_path / "gone", "no such file"), (tmp_path, "that is a folder"))
    for path, words in cases:
        proc = subprocess.run([sys.executable, "-m", "labseg", "app", "--auth", str(path), "--port", "1"],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"labseg app: error: --auth {path}:"), proc.stderr
        assert words in lines[0] and "hunter2" not in lines[0]


def test_loopback_hosts_are_told_apart_from_the_others():
    assert all(map(is_loopback, ["127.0.0.1", "127.0.0.2", "::1", "localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "192.168.1.20", "::", "example.org"]))


@pytest.fixture
def served(tmp_path):
    """A folder for a run against the real server (gradio_client drives it)."""
    pytest.importorskip("gradio")
    pytest.importorskip("gradio_client")
    return tmp_path


@pytest.mark.slow
def test_a_short_load_and_the_abuse_cases_leave_the_app_answering_within_its_bounds(served):
    result = app_load.run(clients=4, seconds=30, work=served, warmup_s=8)
    load = result["load"]
    print(app_load.report({**result, "cpu": app_load.cpu_name(), "seconds_asked": 30}, "pytest"))
    assert load["requests"] >= 20 and load["wrong"] == [], load["wrong"]
    assert load["real"]["requests"] and load["12mp"]["requests"] and load["bad"]["requests"]
    # The 100 MB bound on memory growth is the 3-minute benchmark's (benchmarks/app-load-*.txt: +6 MB). After 8 s of
    # warm-up the server has not reached its steady state: a CI run on a busy machine grew by 109 MB, so this short
    # run allows 200 MB, which still catches a leak of an upload or an answer per request (4 MB and more each).
    assert result["rss_growth_mb"] < 200 and result["temp_peak_mb"] < 50
    abuse = result["abuse"]
    streamed, declared = abuse["upload_300mb_streamed"], abuse["upload_300mb_declared"]
    assert streamed["status"] == 413 and "maximum allowed size" in streamed["body"]
    assert streamed["peak_temp_mb"] - streamed["temp_before_mb"] < MAX_UPLOAD_MB + 1  # refused while streaming
    assert declared["status"] == 413 and f"{MAX_UPLOAD_MB} MB" in declared["body"] and declared["seconds"] < 5
    # 50 (and 30) requests at once: each one answered or told "busy", none wrong, none hanging; how many are busy
    # depends on how fast the queue drains (the raw joins below fill it for certain). "lost": a job whose answer
    # gradio_client's shared event stream dropped (client side: 1 of 50 in one run)
    for burst, n in ((abuse["burst_50"], 50), (abuse["burst_30_one_upload"], 30)):
        assert burst["answered"] + burst["busy"] + burst["lost_by_the_client"] == n and burst["other"] == []
        assert burst["lost_by_the_client"] <= 2 and (not burst["busy"] or burst["busy_reply_max_s"] < 15)
    hostile = abuse["hostile_name"]  # sent as ../../x; rm -rf ~ $(touch PWNED) ...: stays a file name
    assert hostile["saved_as"].startswith("<temp>/labseg-app-") and "/uploads/" in hostile["saved_as"]
    assert "/../" not in hostile["saved_as"] and hostile["strays"] == []
    assert "pixels" in hostile["answer"] and "Cannot" not in hostile["answer"]
    assert all("megapixels" in message for message in abuse["bombs"].values()) and len(abuse["bombs"]) == 6
    assert set(abuse["file_routes"].values()) == {403} and len(abuse["file_routes"]) == 5
    assert abuse["still_answering"] and result["same_mask_as_predict"]
    raw = abuse["queue_full_raw"]  # without a client library: "busy" at once
    assert raw["statuses"][:17] == [200] * 17 and set(raw["statuses"][17:]) == {503} and raw["busy_reply_max_s"] < 1
    assert result["temp_peak_with_abuse_mb"] < 100 and result["temp_left_after_stop"] == []


@pytest.mark.slow
def test_auth_puts_a_login_in_front_of_the_page(served):
    from gradio_client import Client, handle_file

    (served / "auth").write_text("ann:correct-horse\n")
    proc, url, _ = app_load.start_app(served, ("--auth", str(served / "auth")))
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "/config", timeout=10)
        assert refused.value.code == 401
        with pytest.raises(Exception):  # noqa: B017 - the client cannot even read the page's config
            Client(url, verbose=False)
        photo = app_load.bad_files(served / "bad")["1x1"][0]
        client = Client(url, verbose=False, auth=("ann", "correct-horse"), download_files=False)
        assert "too small" in client.predict(handle_file(str(photo)), 0.5, False, api_name="/segment")[3]
    finally:
        app_load.stop_app(proc)
    log = (served / "app.log").read_text()
    assert "correct-horse" not in log and "reachable by others" not in log
