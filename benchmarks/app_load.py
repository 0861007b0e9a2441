"""`labseg app` under load and abuse, over HTTP with gradio_client: N clients for S seconds, then the abuse cases.

    python benchmarks/app_load.py --clients 8 --seconds 180 --out benchmarks/app-load-<cpu>-<commit>

starts `labseg app` on a free loopback port (its temp folder under a folder of this run), drives it with
``--clients`` threads (each its own gradio_client session) sending a mix of real photos, 12-megapixel JPEGs and
bad files, samples the server's RSS and temp folder every 0.5 s, then sends the abuse cases (a 300 MB upload, 50
requests without waiting, a hostile file name, decompression bombs, file routes outside the app) and checks that
one photo still gives `labseg predict`'s mask. Writes ``OUT.json`` (every figure) and ``OUT.txt`` (a summary).
``tests/test_app_load.py`` runs a short version (4 clients, 30 s) and asserts the same criteria.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "oxford-pet-subset"
PATTERN = ["real"] * 7 + ["12mp", "bad", "real", "bad"]  # each client walks this mix, from its own offset


def bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, the words its message must hold): the six cases the app was built for."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    (folder / "notes.jpg").write_text("not an image at all")
    files["not an image"] = (folder / "notes.jpg", "not an image")
    good = folder / "whole.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(good)
    (folder / "truncated.jpg").write_bytes(good.read_bytes()[:2000])
    files["truncated"] = (folder / "truncated.jpg", "Cannot decode")
    Image.new("RGB", (1, 1), (10, 20, 30)).save(folder / "dot.png")
    files["1x1"] = (folder / "dot.png", "too small")
    Image.new("1", (20000, 20000)).save(folder / "bomb.png")
    files["20000x20000"] = (folder / "bomb.png", "megapixels")
    frames = [Image.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    files["animated GIF"] = (folder / "anim.gif", "animation (2 frames)")
    Image.fromarray(np.full((30, 40), 40000, np.uint16)).save(folder / "deep.png")
    files["16-bit PNG"] = (folder / "deep.png", "16-bit")
    return files


def bomb_files(folder: Path, side: int = 30000) -> dict[str, Path]:
    """format -> a file of a few hundred bytes whose header declares ``side`` x ``side`` pixels (900 MP), in each
    format the app accepts: a 16 x 16 image saved by PIL, its size fields rewritten (WebP's field is 14 bits:
    16383 x 16383, 268 MP)."""
    import struct

    folder.mkdir(parents=True, exist_ok=True)
    small = Image.new("RGB", (16, 16), (90, 120, 60))
    out = {}
    for fmt in ("JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF"):
        path = folder / f"bomb.{fmt.lower()}"
        small.save(path, format=fmt)
        data = bytearray(path.read_bytes())
        if fmt == "JPEG":  # SOF0: FF C0, length (2), precision (1), height (2), width (2)
            at = data.index(b"\xff\xc0") + 5
            data[at:at + 4] = struct.pack(">HH", side, side)
        elif fmt == "PNG":  # IHDR right after the signature; its CRC is rewritten too
            import zlib

            data[16:24] = struct.pack(">II", side, side)
            data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
        elif fmt == "GIF":  # logical screen, then the image descriptor after the colour table
            data[6:10] = struct.pack("<HH", side, side)
            at = data.index(b"\x2c", 13)
            data[at + 5:at + 9] = struct.pack("<HH", side, side)
        elif fmt == "BMP":  # BITMAPINFOHEADER: width, height at 18
            data[18:26] = struct.pack("<ii", side, side)
        elif fmt == "WEBP":  # lossy VP8: 14-bit width/height after the start code 9D 01 2A
            at = data.index(b"\x9d\x01\x2a") + 3
            data[at:at + 4] = struct.pack("<HH", 16383, 16383)
        else:  # TIFF: rewrite the ImageWidth (256) and ImageLength (257) entries in place
            data = _tiff_with_size(data, side)
        path.write_bytes(bytes(data))
        out[fmt] = path
    return out


def _tiff_with_size(data: bytearray, side: int) -> bytearray:
    import struct

    endian = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack(endian + "I", data[4:8])[0]
    count = struct.unpack(endian + "H", data[ifd:ifd + 2])[0]
    for k in range(count):
        at = ifd + 2 + 12 * k
        tag, kind = struct.unpack(endian + "HH", data[at:at + 4])
        if tag in (256, 257):
            data[at + 2:at + 12] = struct.pack(endian + "HII", 4, 1, side)  # LONG, one value
    return data


def make_inputs(folder: Path, real: Path = REAL, big: int = 2) -> dict[str, list[tuple[Path, str]]]:
    """kind -> [(file, the words its answer must hold)]: real test photos (the toy pets where the subset is
    absent), 12-megapixel JPEGs (real photos upscaled to 4000 x 3000, with a camera's grain: 3-4 MB each), and the
    bad files."""
    from labseg.data import image_path, read_split

    if not (real / "annotations" / "test.txt").is_file():
        from labseg.synthetic import write_toy_pets

        real = write_toy_pets(folder / "toy-pets", per_breed=4)
    photos = [image_path(real, s.name) for s in read_split(real, "test")]
    photos = photos[::max(1, len(photos) // 40)][:40]
    (folder / "12mp").mkdir(parents=True, exist_ok=True)
    bigs = []
    for k in range(big):
        path = folder / "12mp" / f"big{k}_{photos[k].stem}.jpg"
        up = np.asarray(Image.open(photos[k]).convert("RGB").resize((4000, 3000), Image.BICUBIC), np.int16)
        grain = np.random.default_rng(k).integers(-6, 7, up.shape, dtype=np.int16)
        Image.fromarray((up + grain).clip(0, 255).astype(np.uint8)).save(path, quality=92)
        bigs.append(path)
    bad = list(bad_files(folder / "bad").values())
    return {"real": [(p, "pixels") for p in photos], "12mp": [(p, "pixels") for p in bigs], "bad": bad}


def answered_right(kind: str, words: str, result) -> bool:
    """A photo: the status gives its size and the mask file came; a bad file: the message names the problem."""
    status = result[3]
    if kind == "bad":
        return "Cannot segment this file" in status and words in status and result[2] is None
    return "pixels" in status and "Cannot" not in status and result[2] is not None


def start_app(work: Path, args: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str, Path]:
    """`labseg app` on a free loopback port, its TMPDIR under ``work``: (process, url, temp folder)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = work / "server-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp), "GRADIO_ANALYTICS_ENABLED": "False",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    log = open(work / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "labseg", "app", "--port", str(port), *args], env=env,
                            stdout=log, stderr=subprocess.STDOUT, cwd=work)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url, tmp
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"labseg app did not start: {(work / 'app.log').read_text()[-2000:]}")


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Monitor:
    """Samples the server's RSS (MB) and its temp folder's size (MB) every ``every_s`` seconds."""

    def __init__(self, pid: int, tmp: Path, every_s: float = 0.5):
        self.pid, self.tmp, self.every_s = pid, tmp, every_s
        self.samples: list[tuple[float, float, float]] = []  # (time, rss MB, temp MB)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from labseg.app import folder_bytes

        while not self.stop.is_set():
            try:
                rss = next(int(line.split()[1]) for line in open(f"/proc/{self.pid}/status")
                           if line.startswith("VmRSS")) / 1024
            except (OSError, StopIteration):
                rss = float("nan")
            self.samples.append((time.time(), rss, folder_bytes(self.tmp) / 2**20))
            self.stop.wait(self.every_s)

    def peak(self, since: float = 0.0, until: float = float("inf")) -> tuple[float, float]:
        """(peak RSS, peak temp MB) over samples in [since, until]."""
        window = [s for s in self.samples if since <= s[0] <= until] or self.samples
        return max(s[1] for s in window), max(s[2] for s in window)


def client_loop(url: str, inputs: dict, offset: int, deadline: float, records: list) -> None:
    """One client: send the mix until ``deadline``; append (kind, name, seconds, right, status) per request."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, download_files=False)
    k = offset
    while time.time() < deadline:
        kind = PATTERN[k % len(PATTERN)]
        path, words = inputs[kind][(k // len(PATTERN) + offset) % len(inputs[kind])]
        k += 1
        t0 = time.perf_counter()
        try:
            result = client.predict(handle_file(str(path)), 0.5, False, api_name="/segment")
            right, status = answered_right(kind, words, result), result[3]
        except Exception as exc:  # noqa: BLE001 - recorded: a wrong answer, whatever it was
            right, status = False, f"{type(exc).__name__}: {exc}"
        records.append((kind, path.name, time.perf_counter() - t0, right, status))


def warm_up(url: str, inputs: dict) -> None:
    """One request of each kind (a 12-MP photo included), one after another; each must be answered right."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, download_files=False)
    for kind, items in inputs.items():
        path, words = items[0]
        if not answered_right(kind, words, client.predict(handle_file(str(path)), 0.5, False, api_name="/segment")):
            raise RuntimeError(f"warm-up: {path.name} was not answered right")


def load(url: str, inputs: dict, clients: int, seconds: float) -> tuple[list, float, float]:
    """(records, start time, end time) of ``clients`` threads for ``seconds``."""
    records: list = []
    t0 = time.time()
    threads = [threading.Thread(target=client_loop, args=(url, inputs, i, t0 + seconds, records))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return records, t0, time.time()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def summarise(records: list, t0: float, t1: float) -> dict:
    out = {"requests": len(records), "wrong": [r for r in records if not r[3]][:10],
           "requests_per_s": len(records) / (t1 - t0), "seconds": t1 - t0}
    for kind in ("real", "12mp", "bad"):
        times = [r[2] for r in records if r[0] == kind]
        out[kind] = {"requests": len(times), "median_s": percentile(times, 50), "p95_s": percentile(times, 95),
                     "right": sum(r[3] for r in records if r[0] == kind)}
    return out


def multipart_head(boundary: str, filename: str) -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()


def big_upload(url: str, tmp: Path, megabytes: int = 300, declare: bool = False) -> dict:
    """POST ``megabytes`` of zeros to the upload route (chunked, or with its Content-Length declared), watching
    the temp folder meanwhile: {status, seconds, temp MB before, peak temp MB while it streamed, body}."""
    from labseg.app import folder_bytes

    host, port = url.split("//")[1].split(":")
    boundary = "labsegloadboundary"
    head, tail = multipart_head(boundary, "huge.jpg"), f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if declare:
        headers["Content-Length"] = str(len(head) + megabytes * 2**20 + len(tail))
    else:
        headers["Transfer-Encoding"] = "chunked"
    before, peak, t0 = folder_bytes(tmp) / 2**20, 0.0, time.perf_counter()
    chunk = b"\0" * 2**20

    def frame(b: bytes) -> bytes:
        return b if declare else f"{len(b):x}\r\n".encode() + b + b"\r\n"

    try:
        conn.putrequest("POST", "/gradio_api/upload", skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        conn.send(frame(head))
        for i in range(megabytes):
            conn.send(frame(chunk))
            if i % 8 == 0:
                peak = max(peak, folder_bytes(tmp) / 2**20)
        conn.send(frame(tail) + (b"" if declare else b"0\r\n\r\n"))
    except OSError:  # the server stopped reading: its answer is what counts
        pass
    response = conn.getresponse()
    body = response.read().decode(errors="replace")[:300]
    conn.close()
    return {"status": response.status, "seconds": time.perf_counter() - t0, "temp_before_mb": before,
            "peak_temp_mb": peak, "body": body}


def burst(url: str, photo: Path, n: int = 50, upload_each: bool = True) -> dict:
    """``n`` requests submitted at once from one session, none waited for, each uploading ``photo`` (or, without
    ``upload_each``, all naming one copy uploaded before: the queue's answer alone is timed): how many were
    answered with a mask, how many told "busy" (and how soon), anything else."""
    from gradio_client import Client, handle_file

    # httpx's own 5 s timeout would count a slow answer on a busy machine as a failure; 60 s tells a hang apart
    client = Client(url, verbose=False, download_files=False, max_workers=n, httpx_kwargs={"timeout": 60})
    sent = handle_file(str(photo)) if upload_each else {"path": upload(url, photo), "meta": {"_type":
                                                                                                "gradio.FileData"}}
    t0 = time.perf_counter()
    jobs = [client.submit(sent, 0.5, False, api_name="/segment") for _ in range(n)]
    done_at: dict[int, float] = {}
    for k, job in enumerate(jobs):
        job.future.add_done_callback(lambda _, k=k: done_at.setdefault(k, time.perf_counter() - t0))
    answered, busy, lost, other, busy_after = 0, 0, 0, [], []
    for k, job in enumerate(jobs):
        try:
            result = job.result(timeout=600)
            answered += answered_right("real", "pixels", result)
        except concurrent.futures.CancelledError:  # gradio_client ended the session's one event stream under it
            lost += 1
        except Exception as exc:  # noqa: BLE001 - sorted below
            if any(w in str(exc) for w in ("Queue is full", "busy with other uploads", "503")):
                busy += 1
                busy_after.append(done_at.get(k, time.perf_counter() - t0))
            else:
                other.append(f"{type(exc).__name__}: {exc}")
    return {"sent": n, "answered": answered, "busy": busy, "lost_by_the_client": lost, "other": other[:5],
            "busy_reply_median_s": percentile(busy_after, 50),
            "busy_reply_max_s": max(busy_after, default=float("nan")),
            "seconds": time.perf_counter() - t0}


def upload(url: str, photo: Path, name: str | None = None) -> str:
    """POST ``photo`` to the upload route under ``name`` (its own by default): the server's path for it."""
    host, port = url.split("//")[1].split(":")
    boundary = "labsegloadboundary"
    body = multipart_head(boundary, name or photo.name) + photo.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("POST", "/gradio_api/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    response = conn.getresponse()
    saved = json.loads(response.read())
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"upload of {photo} answered {response.status}: {saved}")
    return saved[0]


def queue_full_reply(url: str, photo: Path, n: int = 20) -> dict:
    """``n`` raw joins of the queue (no client library between) naming one upload of ``photo`` (a 12-MP JPEG:
    the queue stays full while they arrive): their HTTP statuses, and how long the "busy" ones took."""
    config = json.loads(urllib.request.urlopen(url + "/config", timeout=30).read())
    fn = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "segment")
    data = [{"path": upload(url, photo), "meta": {"_type": "gradio.FileData"}}, 0.5, False]
    statuses, busy_s = [], []
    for k in range(n):
        body = json.dumps({"data": data, "fn_index": fn, "session_hash": f"raw{k}", "event_data": None,
                           "trigger_id": None}).encode()
        request = urllib.request.Request(url + "/gradio_api/queue/join", body, {"Content-Type": "application/json"})
        t0 = time.perf_counter()
        try:
            statuses.append(urllib.request.urlopen(request, timeout=30).status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)
            busy_s.append(time.perf_counter() - t0)
    return {"statuses": statuses, "busy_reply_max_s": max(busy_s, default=float("nan"))}


def hostile_name(url: str, photo: Path, work: Path) -> dict:
    """A real photo sent as a raw upload named ``../../<shell metacharacters>.jpg``, then segmented: where Gradio
    put it, that nothing landed outside the temp folder, and the answer."""
    from gradio_client import Client

    saved = upload(url, photo, "../../x; rm -rf ~ $(touch PWNED) `id` | & > y' \"z.jpg")
    client = Client(url, verbose=False, download_files=False)
    result = client.predict({"path": saved, "meta": {"_type": "gradio.FileData"}}, 0.5, False, api_name="/segment")
    strays = [p.name for p in (work, work.parent, Path.cwd()) for p in p.iterdir() if "PWNED" in p.name]
    temp = work / "server-tmp"
    inside = "<temp>/" + Path(saved).relative_to(temp).as_posix() if saved.startswith(str(temp)) else saved
    return {"saved_as": inside, "answer": result[3], "strays": strays}


def bombs(url: str, folder: Path) -> dict:
    """format -> the app's message for a small file declaring a huge image."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, download_files=False)
    return {fmt: client.predict(handle_file(str(path)), 0.5, False, api_name="/segment")[3]
            for fmt, path in bomb_files(folder).items()}


def file_routes(url: str) -> dict:
    """path asked -> HTTP status, for files outside the app."""
    asked = ["/gradio_api/file=/etc/passwd", "/gradio_api/file=../../../../etc/passwd",
             "/gradio_api/file=..%2F..%2F..%2F..%2Fetc%2Fpasswd", f"/gradio_api/file={REPO / 'pyproject.toml'}",
             f"/gradio_api/file={REPO / 'labseg' / 'app.py'}"]
    out = {}
    for path in asked:
        shown = path.replace(str(REPO), "<repo>")  # no machine's path in a committed file
        try:
            out[shown] = urllib.request.urlopen(url + path, timeout=10).status
        except urllib.error.HTTPError as exc:
            out[shown] = exc.code
    return out


def same_mask_as_predict(url: str, photo: Path, work: Path) -> bool:
    """The mask the app offers for ``photo`` equals `labseg predict`'s, array for array."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False, download_files=False)
    result = client.predict(handle_file(str(photo)), 0.5, False, api_name="/segment")
    got = work / "app_mask.png"
    got.write_bytes(urllib.request.urlopen(result[2]["url"], timeout=30).read())
    expected = work / "predicted"
    subprocess.run([sys.executable, "-m", "labseg", "predict", str(photo), "--out", str(expected), "--no-overlay",
                    "--overwrite"], check=True, capture_output=True, cwd=work,
                   env={**os.environ, "PYTHONPATH": str(REPO)})
    want = np.array(Image.open(expected / f"{photo.stem}_mask.png").convert("L"))
    return np.array_equal(np.array(Image.open(got).convert("L")), want)


def abuse(url: str, tmp: Path, work: Path, photo: Path) -> dict:
    """Every abuse case, then one more photo: the server must still answer it."""
    from gradio_client import Client, handle_file

    out = {"upload_300mb_streamed": big_upload(url, tmp, 300),
           "upload_300mb_declared": big_upload(url, tmp, 300, declare=True),
           "burst_50": burst(url, photo), "burst_30_one_upload": burst(url, photo, 30, upload_each=False),
           "hostile_name": hostile_name(url, photo, work),
           "bombs": bombs(url, work / "bombs"), "file_routes": file_routes(url)}
    result = Client(url, verbose=False, download_files=False).predict(handle_file(str(photo)), 0.5, False,
                                                                       api_name="/segment")
    out["still_answering"] = answered_right("real", "pixels", result)
    return out


def cpu_name() -> str:
    from labseg.device import cpu_name as named

    return named()


def run(clients: int, seconds: float, work: Path, warmup_s: float = 20.0) -> dict:
    """The whole benchmark in ``work``: load, then abuse, then the mask check; every figure in one dict. The RSS
    baseline is the peak over the warm-up: one request of each kind, then the load's first ``warmup_s`` s."""
    inputs = make_inputs(work / "inputs")
    proc, url, tmp = start_app(work)
    monitor = Monitor(proc.pid, tmp)
    monitor.thread.start()
    try:
        w0 = time.time()
        warm_up(url, inputs)
        records, t0, t1 = load(url, inputs, clients, seconds)
        rss_warm, _ = monitor.peak(w0, t0 + warmup_s)
        rss_end, _ = monitor.peak(t1 - max(warmup_s, (t1 - t0) / 3), t1)
        rss_peak, temp_peak = monitor.peak(t0, t1)
        result = {"clients": clients, "load": summarise(records, t0, t1), "rss_after_warmup_mb": rss_warm,
                  "rss_end_mb": rss_end, "rss_growth_mb": rss_end - rss_warm, "rss_peak_mb": rss_peak,
                  "temp_peak_mb": temp_peak, "warmup_s": warmup_s}
        photo = inputs["real"][0][0]
        result["abuse"] = abuse(url, tmp, work, photo)
        streamed = [result["abuse"][k]["peak_temp_mb"] for k in ("upload_300mb_streamed", "upload_300mb_declared")]
        result["temp_peak_with_abuse_mb"] = max(monitor.peak()[1], *streamed)  # a refused upload lives < 0.5 s
        result["same_mask_as_predict"] = same_mask_as_predict(url, photo, work)
        # last: it leaves the queue full of 12-MP photos, dropped when the app stops
        result["abuse"]["queue_full_raw"] = queue_full_reply(url, inputs["12mp"][0][0])
    finally:
        monitor.stop.set()
        stop_app(proc)
    result["temp_left_after_stop"] = sorted(p.name for p in tmp.iterdir())
    return result


def commit() -> str:
    proc = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() or "unknown"


def report(result: dict, label: str) -> str:
    """The summary file's text."""
    load_ = result["load"]
    lines = [f"# python benchmarks/app_load.py --clients {result['clients']} --seconds {result['seconds_asked']:.0f}"
             f"   ({time.strftime('%Y-%m-%d')}, labseg {commit()}, {label})",
             f"machine: {result['cpu']}, {os.cpu_count()} cores; labseg app with the shipped UNet on the CPU",
             f"load: {result['clients']} gradio_client sessions for {load_['seconds']:.0f} s, mix per client "
             f"{'/'.join(PATTERN)}: {load_['requests']} requests, {load_['requests_per_s']:.2f} requests/s held, "
             f"{len(load_['wrong'])} wrong answers"]
    for kind, words in (("real", "real test photos (0.1-0.5 MP)"), ("12mp", "12-MP JPEGs (4000 x 3000)"),
                        ("bad", "bad files (the six cases)")):
        k = load_[kind]
        lines.append(f"  {words}: {k['requests']} requests, {k['right']} right, median {k['median_s']:.2f} s, "
                     f"p95 {k['p95_s']:.2f} s (upload + queue + answer, seen by the client)")
    lines += [f"server RSS: {result['rss_after_warmup_mb']:.0f} MB at the warm-up's peak (one request of each kind, "
              f"then the load's first {result['warmup_s']:.0f} s), {result['rss_end_mb']:.0f} MB at the peak of the "
              "load's last third: growth "
              f"{result['rss_growth_mb']:+.0f} MB; peak {result['rss_peak_mb']:.0f} MB (sampled every 0.5 s)",
              f"temp folder: peak {result['temp_peak_mb']:.1f} MB under load, {result['temp_peak_with_abuse_mb']:.1f}"
              f" MB with the abuse cases; left after stop: {result['temp_left_after_stop'] or 'nothing'}",
              f"abuse: {json.dumps(result['abuse'], default=str)}",
              f"after the load, the app's mask equals labseg predict's: {result['same_mask_as_predict']}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=180)
    p.add_argument("--warmup", type=float, default=20, help="seconds of load before the RSS baseline is taken")
    p.add_argument("--out", required=True, help="writes OUT.json and OUT.txt")
    p.add_argument("--label", default="busy machine: another training job and other engineers' work on the cores",
                   help="what else the machine was doing, written into the summary")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="app-load-") as work:
        result = run(args.clients, args.seconds, Path(work), args.warmup)
    result.update(cpu=cpu_name(), seconds_asked=args.seconds, commit=commit(), label=args.label)
    Path(f"{args.out}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    Path(f"{args.out}.txt").write_text(report(result, args.label))
    print(Path(f"{args.out}.txt").read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
