"""`labseg app`: try the network on a photo in the browser (Gradio, the optional extra ``labseg[app]``).

Drop or pick an image; the page shows the overlay and the mask, computed at the image's own size by the code path
of ``labseg predict`` (:func:`labseg.inference.decode_for_predict` and :func:`labseg.inference.mask_at`, the metric's
threshold rule at the slider's value), offers the mask as a PNG (the same 1-bit file ``labseg predict`` writes)
and shows the model card. It serves on 127.0.0.1 unless ``--host`` names another interface (``--auth`` puts a login
in front). Files a visitor sends are checked before they are decoded (what they are, their pixel count, frames, bit
depth); a bad one gets a message in the page and the app keeps serving.

Bounded by design: an upload over :data:`MAX_UPLOAD_MB` is refused while it streams (Gradio's ``max_file_size``;
one declaring more is refused before a byte is read), at most :data:`UPLOAD_SLOTS` uploads stream at once, the
queue runs :data:`QUEUE_CONCURRENCY` request at a time and holds at most :data:`QUEUE_MAX` (one more is told at
once that the app is busy), and :class:`TempSweeper` keeps the temporary folder small: every file older than
:data:`KEEP_S` goes, and past :data:`SWEEP_TARGET_MB` the oldest go first. The folder is removed when the app stops.
"""
from __future__ import annotations

import asyncio
import atexit
import ipaddress
import json
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

from .data import DataError

MAX_PIXELS = 40_000_000  # refused before decoding: a 20000 x 20000 "photo" is a decompression bomb, not a pet
MIN_SIDE = 8
PREVIEW_SIDE = 2048  # the page shows images up to this side at their own size, larger ones scaled (the PNG is full)
ALLOWED_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "YCbCr")
# 32 MB holds a 40-megapixel photo as a camera writes it (JPEG or WebP: 10-25 MB at that size) and a PNG photo up to
# about 12 MP; an uncompressed 40 MP BMP or TIFF (120 MB) is refused by size and its message says what to send.
MAX_UPLOAD_MB = 32
UPLOAD_SLOTS = 2  # uploads streaming at once; one more waits up to UPLOAD_WAIT_S, then is told the app is busy
UPLOAD_WAIT_S = 3
QUEUE_CONCURRENCY = 1  # one photo at a time: the network has every core but the web server's
QUEUE_MAX = 16  # requests waiting; one more is told at once that the app is busy
KEEP_S = 300  # an upload and its answer stay this long (moving the slider re-runs on the same upload)
SWEEP_TARGET_MB = 24  # past this, the oldest finished files go first, whatever their age
SWEEP_EVERY_S = 2


def check_upload(path: str | Path, max_pixels: int = MAX_PIXELS) -> list[str]:
    """Raise DataError (one sentence a visitor can act on) for a file the app will not segment; otherwise the
    notes to show beside the result (e.g. a CMYK image converted). Reads the header only: nothing is decoded."""
    path = Path(path)
    name = path.name
    try:
        with Image.open(path) as img:
            width, height, mode = img.width, img.height, img.mode
            frames = getattr(img, "n_frames", 1)
    except Image.DecompressionBombError:
        raise DataError(f"{name} has too many pixels to be a photo (over {max_pixels / 1e6:.0f} megapixels); "
                        "send a smaller image.") from None
    except Exception:  # noqa: BLE001 - PIL cannot even read the header
        raise DataError(f"{name} is not an image PIL can read (JPEG, PNG, GIF, BMP, WebP or TIFF); "
                        "send a photo.") from None
    if width * height > max_pixels:
        raise DataError(f"{name} is {width} x {height} = {width * height / 1e6:.0f} megapixels, over the app's limit "
                        f"of {max_pixels / 1e6:.0f}; send a smaller image.")
    if min(width, height) < MIN_SIDE:
        raise DataError(f"{name} is {width} x {height} pixels: too small to show a pet; send a photo at least "
                        f"{MIN_SIDE} pixels on each side.")
    if frames > 1:
        raise DataError(f"{name} is an animation ({frames} frames); save the frame you want as a PNG or JPEG.")
    if mode not in ALLOWED_MODES:
        raise DataError(f"{name} is a {mode} image (16-bit or floating-point pixels); save it as an 8-bit PNG or "
                        "JPEG.")
    return [f"{name} is a CMYK image: converted to RGB."] if mode == "CMYK" else []


def model_card(checkpoint: str | Path | None) -> tuple[str, dict]:
    """Markdown describing the model, and the facts behind it."""
    from .checkpoint import load_checkpoint, model_from_checkpoint

    if checkpoint is not None and str(checkpoint).lower().endswith(".onnx"):
        from .onnx_export import OnnxPredictor

        onnx = OnnxPredictor(checkpoint)
        return (f"**Model**: the ONNX export `{Path(checkpoint).name}`, run by onnxruntime on the CPU at "
                f"{onnx.image_size} px (the mask is sigmoid(logit) > threshold, 0.5 as the metric)"), {
                    "source": str(checkpoint), "image_size": onnx.image_size}
    if checkpoint is None:
        from .shipped import load_shipped

        ckpt = load_shipped()
        facts = dict(ckpt.get("provenance", {}))
        facts["source"] = "the model that ships with labseg"
    else:
        ckpt = load_checkpoint(checkpoint)
        cfg = ckpt["config"]
        facts = {"source": str(checkpoint), "model_name": cfg["model"], "data": Path(cfg["data"]).name,
                 "image_size": cfg["image_size"], "epochs": cfg["epochs"]}
        metrics = (Path(checkpoint).parent / "metrics.json" if Path(checkpoint).is_file()
                   else Path(checkpoint) / "metrics.json")
        if metrics.is_file():
            facts["test_dice"] = json.loads(metrics.read_text())["test_dice"]
    model, _ = model_from_checkpoint(ckpt, checkpoint or "the shipped model")
    facts["parameters"] = sum(p.numel() for p in model.parameters())
    dice = f"{facts['test_dice']:.4f}" if "test_dice" in facts else "not recorded"
    if facts.get("fullsize_test_dice"):
        dice += f" at {facts.get('image_size', '?')} px, {facts['fullsize_test_dice']:.4f} at each photo's own size"
    lines = [f"**Model**: {facts.get('model_name', '?')}, {facts['parameters']:,} parameters ({facts['source']})",
             f"**Trained on**: {facts.get('data', '?')} (Oxford-IIIT Pet, 3 breeds) "
             f"at {facts.get('image_size', '?')} px, "
             f"{facts.get('epochs', '?')} epochs, from scratch",
             f"**Test dice**: {dice} (the test split; the mask is sigmoid(logit) > threshold, 0.5 as the metric)"]
    if "checkpoint" in facts:  # the shipped model: which epoch's weights (best by val dice, or the last)
        lines.append(f"**Weights**: {facts['checkpoint']}")
    if "run" in facts:
        lines.append(f"**Run**: `{facts['run']}` (labseg {facts.get('commit', '?')}, {facts.get('cpu', '?')})")
    if "fp16_test_dice" in facts:
        lines.append(f"**Stored in fp16**: test dice {facts['fp16_test_dice']:.4f}; "
                     f"{100 * facts['fp16_mask_pixels_differing']:.4f} % of test mask pixels differ from the fp32 "
                     "weights'")
    return "\n\n".join(lines), facts


class Segmenter:
    """The app's one function, apart from Gradio: path -> (overlay, mask, mask PNG path, message)."""

    def __init__(self, checkpoint: str | Path | None, work: Path, device: str = "cpu", predictor=None):
        from .inference import load_predictor

        self.predictor = predictor or load_predictor(checkpoint, device, log=lambda m: None)
        self.work = work

    def __call__(self, path: str | None, threshold: float = 0.5, tta: bool = False):
        from .inference import decode_for_predict, mask_at
        from .predict import mask_image, overlay

        if not path:
            return None, None, None, "Drop a photo, or pick an example below."
        if not Path(path).is_file():  # swept: older than KEEP_S, or the folder was full while it waited
            return None, None, None, (f"**Cannot segment this file**: {Path(path).name} is no longer on the server "
                                      f"(uploads are kept {KEEP_S // 60} minutes, less when many arrive); drop it "
                                      "again.")
        t0 = time.perf_counter()
        try:
            notes = check_upload(path)
            small, image, own = decode_for_predict(path, self.predictor.image_size)
        except DataError as exc:
            return None, None, None, f"**Cannot segment this file**: {exc}"
        self.predictor.tta = bool(tta)
        mask = mask_at(self.predictor, small, own, threshold)
        answer = Path(tempfile.mkdtemp(prefix="answer-", dir=self.work))  # Gradio serves its copy; swept after
        mask_png = answer / f"{safe_stem(path)}_mask.png"
        mask_image(mask).save(mask_png, format="PNG", compress_level=1)
        shown, shown_mask = overlay(image, mask), mask_image(mask).convert("L")
        if max(own) > PREVIEW_SIDE:  # a browser scales it down anyway; sending 12 MP twice costs seconds
            scale = PREVIEW_SIDE / max(own)
            size = (max(1, round(own[0] * scale)), max(1, round(own[1] * scale)))
            shown, shown_mask = shown.resize(size, Image.BILINEAR), shown_mask.resize(size, Image.NEAREST)
            notes.append(f"Shown at {size[0]} x {size[1]}; the mask PNG is at the photo's size.")
        seconds = time.perf_counter() - t0
        message = (f"{own[0]} x {own[1]} pixels, {100 * mask.mean():.1f} % pet at threshold {threshold:.2f}"
                   f"{', flip TTA' if tta else ''}; {seconds:.2f} s")
        return shown, shown_mask, str(mask_png), " ".join([message, *notes])


def safe_stem(path: str | Path) -> str:
    """The file's name without suffix, reduced to letters, digits, '-' and '_' (a visitor names the file)."""
    return re.sub(r"[^\w-]", "_", Path(path).stem)[:80] or "photo"


class TempSweeper:
    """Keeps the app's temporary folder small while it serves: files older than ``keep_s`` go, and while the
    finished files (those unchanged for 2 s: not an upload still streaming) hold more than ``target_mb``, the
    oldest go first. Files that were there before :meth:`start` (the examples) stay."""

    def __init__(self, root: Path, keep_s: float = KEEP_S, target_mb: float = SWEEP_TARGET_MB,
                 every_s: float = SWEEP_EVERY_S):
        self.root, self.keep_s, self.target, self.every_s = root, keep_s, target_mb * 2**20, every_s
        self.lock, self.stop, self.kept = threading.Lock(), threading.Event(), set()

    def start(self) -> "TempSweeper":
        self.kept = {p for p in self.root.rglob("*") if p.is_file()}
        threading.Thread(target=self._run, name="temp-sweeper", daemon=True).start()
        return self

    def _run(self) -> None:
        while not self.stop.wait(self.every_s):
            self.sweep()

    def sweep(self) -> None:
        with self.lock:
            now, files = time.time(), []
            for p in self.root.rglob("*"):
                try:
                    if p.is_file() and p not in self.kept:
                        st = p.stat()
                        files.append((st.st_mtime, st.st_size, p))
                except OSError:  # gone meanwhile
                    continue
            files.sort()
            total = sum(size for mtime, size, _ in files if now - mtime > 2)
            for mtime, size, p in files:
                if now - mtime <= 2 or (now - mtime <= self.keep_s and total <= self.target):
                    continue
                p.unlink(missing_ok=True)
                total -= size
            self._remove_empty_folders()

    def _remove_empty_folders(self) -> None:
        for d in sorted((p for p in self.root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            if d != self.root and not any(d.iterdir()) and time.time() - d.stat().st_mtime > 2:
                try:
                    d.rmdir()
                except OSError:
                    continue


def folder_bytes(root: Path) -> int:
    """Bytes in the files under ``root`` (files removed meanwhile count as 0)."""
    total = 0
    for p in root.rglob("*"):
        try:
            total += p.stat().st_size if p.is_file() else 0
        except OSError:
            continue
    return total


class UploadGate:
    """ASGI middleware in front of Gradio's upload route: a body that declares more than ``max_bytes`` is refused
    before a byte is read (413), at most ``slots`` uploads stream at once (one more waits ``wait_s``, then gets 503,
    "busy"), and the sweeper makes room before each one streams."""

    def __init__(self, app, max_bytes: int, slots: int = UPLOAD_SLOTS, wait_s: float = UPLOAD_WAIT_S,
                 sweeper: TempSweeper | None = None):
        self.app, self.max_bytes, self.wait_s, self.sweeper = app, max_bytes, wait_s, sweeper
        self.slots = asyncio.Semaphore(slots)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].rstrip("/").endswith("/upload"):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes + 2**20:  # the multipart envelope: under 1 MB
            return await _refuse(send, 413, f"The file is over the app's upload limit of {MAX_UPLOAD_MB} MB; send a "
                                            "JPEG or PNG photo under that size.")
        try:
            await asyncio.wait_for(self.slots.acquire(), self.wait_s)
        except (asyncio.TimeoutError, TimeoutError):
            return await _refuse(send, 503, "The app is busy with other uploads; try again in a moment.")
        try:
            if self.sweeper is not None:
                await asyncio.to_thread(self.sweeper.sweep)
            return await self.app(scope, receive, send)
        finally:
            self.slots.release()


async def _refuse(send, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def examples(work: Path) -> list[str]:
    """A few bundled toy pets (written into ``work``) and, where the real subset is beside the repository, a few
    of its test photos."""
    from .data import image_path, read_split
    from .synthetic import write_toy_pets

    toy = write_toy_pets(work / "toy-pets", per_breed=2)
    picks = [str(image_path(toy, s.name)) for s in read_split(toy, "test")[:2]]
    from .paths import SHARED_SUBSET as real

    if (real / "annotations" / "test.txt").is_file():
        picks += [str(image_path(real, s.name)) for s in read_split(real, "test")[::100][:3]]
    return picks


def build_app(checkpoint: str | Path | None, work: Path, device: str = "cpu", predictor=None):
    """The Gradio page; ``predictor``: the checkpoint already loaded (``labseg app`` checks it first)."""
    import gradio as gr

    segment = Segmenter(checkpoint, work, device, predictor)
    card, _ = model_card(checkpoint)
    with gr.Blocks(title="labseg: pet segmentation") as demo:
        gr.Markdown("# labseg: which pixels are pet?\nDrop a photo of a cat or a dog (or pick an example). The network "
                    "runs at its training size; the mask is resized back to the photo's own size.")
        with gr.Row():
            # a file, not gr.Image: the app checks what a visitor sent before anything decodes it
            source = gr.File(type="filepath", label="photo (drop it here, or click)", elem_id="photo")
            with gr.Column():
                threshold = gr.Slider(0.05, 0.95, value=0.5, step=0.05, label="threshold (0.5: the metric's rule)",
                                      elem_id="threshold")
                tta = gr.Checkbox(False, label="flip test-time augmentation", elem_id="tta")
                status = gr.Markdown("Drop a photo, or pick an example below.", elem_id="status")
                download = gr.File(label="mask PNG (1-bit, the photo's size)", elem_id="mask-file")
        with gr.Row():
            shown = gr.Image(label="overlay", elem_id="overlay", format="jpeg")
            mask = gr.Image(label="mask", elem_id="mask", format="png", image_mode="L")
        gr.Examples(examples(work), inputs=source)
        gr.Markdown(card, elem_id="card")
        for event, name in ((source.change, "segment"), (threshold.release, False), (tta.change, False)):
            event(segment, [source, threshold, tta], [shown, mask, download, status], api_name=name)
    return demo


def read_auth(path: str | Path) -> tuple[str, str]:
    """(user, password) from a file holding one line ``user:password``; ValueError (one line naming the file and
    the fix) for a missing, unreadable or malformed one. The password never appears in a message."""
    fix = "write one line user:password in it (e.g. `printf 'me:%s' \"$(openssl rand -hex 12)\" > FILE`)"
    path = Path(path)
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        raise ValueError(f"--auth {path}: no such file; {fix}.") from None
    except IsADirectoryError:
        raise ValueError(f"--auth {path}: that is a folder; name the file, and {fix}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ValueError(f"--auth {path}: cannot read it ({reason}); {fix}.") from None
    user, sep, password = lines[0].partition(":") if len(lines) == 1 else ("", "", "")
    if len(lines) != 1 or not sep or not user.strip() or not password:
        raise ValueError(f"--auth {path}: expected exactly one line user:password (both non-empty); {fix}.")
    return user.strip(), password


def is_loopback(host: str) -> bool:
    """Whether ``host`` serves this machine only (127.x.x.x, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def return_freed_memory_to_the_os() -> None:
    """glibc only: blocks of 1 MB and more (a 12-MP photo's arrays) are mapped apart and unmapped when freed, in at
    most 2 arenas, so that the server's RSS returns to its level after each large photo instead of creeping up
    with the fragments of per-thread heaps. Elsewhere a no-op."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, 2**20)  # M_MMAP_THRESHOLD: fixed at 1 MB (no longer raised by each large free)
        libc.mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        return


def serve(checkpoint: str | Path | None = None, host: str = "127.0.0.1", port: int = 7860, device: str = "cpu",
          log=print, predictor=None, auth: tuple[str, str] | None = None) -> None:
    """Build the app and serve it until interrupted; the temporary folder goes with it."""
    import signal
    import sys

    from starlette.middleware import Middleware

    # SIGTERM (a service manager, a test) ends the app as Ctrl+C does: the temporary folder is removed either way
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return_freed_memory_to_the_os()
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) - 1))  # one core stays with the web server (uploads, queue)
    work = Path(tempfile.mkdtemp(prefix="labseg-app-"))
    # again at exit, after Python has joined the worker threads: one still computing a queued photo when the app
    # was told to stop writes its answer after the first removal below
    atexit.register(shutil.rmtree, work, True)
    os.environ["GRADIO_TEMP_DIR"] = str(work / "uploads")  # Gradio's own copies of uploads land here too
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        demo = build_app(checkpoint, work, device, predictor)
        sweeper = TempSweeper(work).start()
        gate = Middleware(UploadGate, max_bytes=MAX_UPLOAD_MB * 2**20, sweeper=sweeper)
        log(f"labseg app on http://{host}:{port} (Ctrl+C stops it; temporary files in {work}, removed then)")
        if not is_loopback(host):
            log(f"--host {host}: the page is reachable by others who can reach this machine"
                f"{'' if auth else ' (no login: add --auth FILE to require one)'}")
        demo.queue(default_concurrency_limit=QUEUE_CONCURRENCY, max_size=QUEUE_MAX)
        demo.launch(server_name=host, server_port=port, show_error=False, quiet=True, auth=auth,
                    max_file_size=f"{MAX_UPLOAD_MB}mb", app_kwargs={"middleware": [gate]})
    finally:
        shutil.rmtree(work, ignore_errors=True)
