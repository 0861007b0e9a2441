"""Bad input through the real command line: one clear line, a non-zero exit, nothing lost, no debris.

Each case builds its own working folder (a small toy set, a trained run, checkpoint files), runs
``python -m labseg ...`` there as a subprocess, and checks:

* the exit status is not 0, and stderr holds no traceback;
* stderr is exactly one line, and it names the file or option at fault (a regular expression per case);
* every file that existed before is byte-identical afterwards, and no file or folder appeared
  (except the outputs a case names: predict writes the images it could read).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import torch
from PIL import Image

from labseg.checkpoint import load_checkpoint, save_checkpoint
from labseg.config import profile_config
from labseg.engine import train
from labseg.models import build_model


@pytest.fixture(scope="module")
def assets(tmp_path_factory, toy_root):
    """A small finished run (trained once) and the toy set, copied into each case's folder."""
    base = tmp_path_factory.mktemp("cli-errors")
    data = base / "pets"
    shutil.copytree(toy_root, data)
    cfg = profile_config("smoke", data=str(data), out_dir=str(base / "run"), epochs=1, width=4, image_size=32,
                         train_subset=8, amp="off")
    train(cfg, progress=False, log=lambda m: None)
    return base


@dataclass
class Case:
    id: str
    args: list[str]  # "{w}" is the case's working folder
    names: str  # a regular expression the one error line must match (the file or option)
    setup: Callable[[Path], None] = lambda w: None
    allowed_new: tuple[str, ...] = ()  # paths (relative to the folder) a case may create
    exit_code: int | None = None  # None: any non-zero
    needs_run: bool = False
    skip_if: Callable[[], bool] = lambda: False
    extra: dict = field(default_factory=dict)


def _write(rel: str, content: bytes):
    def setup(w: Path):
        (w / rel).parent.mkdir(parents=True, exist_ok=True)
        (w / rel).write_bytes(content)
    return setup


def _edit_split(line: str):
    def setup(w: Path):
        f = w / "pets/annotations/trainval.txt"
        lines = f.read_text().splitlines()
        f.write_text("\n".join([lines[0], line, *lines[1:]]) + "\n")
    return setup


def _truncated_checkpoint(w: Path):
    data = (w / "run/best.pt").read_bytes()
    (w / "bad.pt").write_bytes(data[: len(data) // 3])


def _whole_model(w: Path):
    torch.save(build_model("unet", width=2), w / "bad.pt")


def _bare_state_dict(w: Path):
    torch.save(build_model("unet", width=2).state_dict(), w / "bad.pt")


def _unknown_model_checkpoint(w: Path):
    ckpt = load_checkpoint(w / "run/best.pt")
    ckpt["config"]["model"] = "transformer9000"
    save_checkpoint(w / "bad.pt", **{k: v for k, v in ckpt.items() if k != "format"})


def _wrong_weights_checkpoint(w: Path):
    ckpt = load_checkpoint(w / "run/best.pt")
    ckpt["config"]["width"] = 8
    save_checkpoint(w / "bad.pt", **{k: v for k, v in ckpt.items() if k != "format"})


def _no_trimaps(w: Path):
    shutil.rmtree(w / "pets/annotations/trimaps")
    (w / "pets/annotations/trimaps").mkdir()


def _photos(w: Path, broken: bool = True):
    (w / "photos").mkdir()
    Image.new("RGB", (61, 47), (200, 120, 40)).save(w / "photos/good.jpg")
    if broken:
        (w / "photos/broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")


def _existing_predictions(w: Path):
    _photos(w, broken=False)
    (w / "pred").mkdir()
    (w / "pred/good_mask.png").write_bytes(b"the user's own file")


def _same_stem(w: Path):
    _photos(w, broken=False)
    Image.new("RGB", (20, 20)).save(w / "photos/good.png")


def _corrupt_all_train_images(w: Path):
    for p in (w / "pets/images").glob("*.jpg"):
        p.write_bytes(b"broken")


PET = ["--data", "{w}/pets", "--profile", "smoke", "--no-progress"]
RUN_FILES = ["--out", "{w}/run"]
CASES = [
    # nonsense options
    Case("batch-size-0", ["train", *PET, "--batch-size", "0"], r"--batch-size 0"),
    Case("batch-size-1", ["train", *PET, "--batch-size", "1"], r"--batch-size 1"),
    Case("epochs-0", ["train", *PET, "--epochs", "0"], r"--epochs 0"),
    Case("epochs-negative", ["train", *PET, "--epochs", "-1"], r"--epochs -1"),
    Case("epochs-not-a-number", ["train", *PET, "--epochs", "abc"], r"--epochs.*'abc'"),
    Case("image-size-0", ["train", *PET, "--image-size", "0"], r"--image-size 0"),
    Case("lr-0", ["train", *PET, "--lr", "0"], r"--lr 0"),
    Case("weight-decay-negative", ["train", *PET, "--weight-decay", "-0.1"], r"--weight-decay -0.1"),
    Case("width-0", ["train", *PET, "--width", "0"], r"--width 0"),
    Case("seed-negative", ["train", *PET, "--seed", "-3"], r"--seed -3"),
    Case("threads-0", ["train", *PET, "--threads", "0"], r"--threads 0"),
    Case("train-subset-1", ["train", *PET, "--train-subset", "1"], r"--train-subset 1"),
    Case("unknown-model", ["train", *PET, "--model", "vit9000"], r"--model vit9000"),
    Case("unknown-profile", ["train", "--profile", "huge"], r"--profile.*'huge'"),
    Case("unknown-loss", ["train", *PET, "--loss", "hinge"], r"--loss.*'hinge'"),
    Case("unknown-augment-on", ["train", *PET, "--augment-on", "gpu"], r"--augment-on.*'gpu'"),
    Case("lr-floor-without-cosine", ["train", *PET, "--lr-floor", "0.1"], r"--lr-floor 0.1: .*--schedule cosine"),
    Case("lr-floor-1", ["train", *PET, "--schedule", "cosine", "--lr-floor", "1"], r"--lr-floor 1.0: .*\[0, 1\)"),
    Case("swa-epochs-all", ["train", *PET, "--epochs", "5", "--swa-epochs", "5"],
         r"--swa-epochs 5: .*shorter than training"),
    Case("swa-lr-without-swa", ["train", *PET, "--swa-lr", "0.5"], r"--swa-lr 0.5: .*add --swa-epochs N"),
    Case("drop-path-on-unet", ["train", *PET, "--drop-path", "0.1"], r"--drop-path 0.1: .*--model unet has none"),
    Case("drop-path-1", ["train", *PET, "--model", "resnet34_unet", "--drop-path", "1"],
         r"--drop-path 1.0: .*\[0, 1\)"),
    Case("unknown-dice-reduction", ["train", *PET, "--dice-reduction", "pixel"], r"--dice-reduction.*'pixel'"),
    Case("crop-scale-0", ["train", *PET, "--augment", "scale", "--crop-scale", "0"], r"--crop-scale 0.0: .*\(0, 1\]"),
    Case("crop-scale-without-scale", ["train", *PET, "--crop-scale", "0.3"], r"--crop-scale 0.3: .*--augment scale"),
    Case("affine-p-2", ["train", *PET, "--augment", "all", "--affine-p", "2"], r"--affine-p 2.0: .*\[0, 1\]"),
    Case("affine-shift-nan", ["train", *PET, "--augment", "rotate", "--affine-shift", "nan"], r"--affine-shift nan"),
    Case("color-strength-text", ["train", *PET, "--color-strength", "strong"], r"--color-strength.*'strong'"),
    Case("color-strength-without-color", ["train", *PET, "--augment", "rotate", "--color-strength", "0.5"],
         r"--color-strength 0.5: .*--augment color, rotate-color or all"),
    Case("unknown-decode", ["train", *PET, "--decode", "half"], r"--decode.*'half'"),
    Case("unknown-augment-source", ["train", *PET, "--augment-source", "3x"], r"--augment-source.*'3x'"),
    Case("augment-source-without-crop", ["train", *PET, "--augment-source", "2x"],
         r"--augment-source 2x: .*--augment scale, scale-rotate or all"),
    Case("unknown-select", ["train", *PET, "--select", "worst"], r"--select.*'worst'"),
    Case("unknown-device", ["train", *PET, "--device", "tpu"], r"--device tpu"),
    Case("cuda-without-gpu", ["train", *PET, "--device", "cuda"], r"--device cuda",
         skip_if=torch.cuda.is_available),
    Case("pretrained-missing", ["train", *PET, "--model", "resnet34_unet", "--pretrained", "{w}/nope.pth"],
         r"--pretrained .*nope.pth"),
    Case("pretrained-on-unet", ["train", *PET, "--pretrained", "{w}/w.pth"], r"--pretrained .*w.pth",
         setup=_write("w.pth", b"x")),
    Case("unknown-command", ["fly"], r"'fly'"),
    # wrong paths and broken data
    Case("data-missing", ["train", "--data", "{w}/nowhere", "--profile", "smoke"], r"nowhere"),
    Case("data-without-images", ["train", "--data", "{w}/empty", "--profile", "smoke"], r"empty has no images/",
         setup=lambda w: (w / "empty").mkdir()),
    Case("trainval-missing", ["train", *PET], r"trainval.txt",
         setup=lambda w: (w / "pets/annotations/trainval.txt").unlink()),
    Case("test-split-missing", ["train", *PET], r"test.txt",
         setup=lambda w: (w / "pets/annotations/test.txt").unlink()),
    Case("bad-split-line", ["train", *PET], r"trainval.txt:2", setup=_edit_split("Persian_1 cat")),
    Case("all-trimaps-missing", ["train", *PET], r"No usable samples.*pets", setup=_no_trimaps),
    Case("all-images-corrupt", ["train", *PET], r"No usable samples.*pets", setup=_corrupt_all_train_images),
    Case("strict-corrupt-image", ["train", *PET, "--strict"], r"Cannot decode image .*\.jpg",
         setup=_corrupt_all_train_images),
    # outputs that must not be lost or cannot be written
    Case("run-exists", ["train", *PET, *RUN_FILES], r"run already holds a run", needs_run=True),
    Case("overwrite-with-bad-option", ["train", *PET, *RUN_FILES, "--overwrite", "--batch-size", "0"],
         r"--batch-size 0", needs_run=True),
    Case("resume-other-settings", ["train", *PET, *RUN_FILES, "--resume", "--epochs", "3"],
         r"last.pt was trained with other settings", needs_run=True),
    Case("out-under-a-file", ["train", *PET, "--out", "{w}/afile/run"], r"--out .*afile",
         setup=_write("afile", b"a file")),
    Case("log-path-exists", ["train", *PET, "--out", "{w}/new", "--log_path", "{w}/log.csv"], r"--log_path .*log.csv",
         setup=_write("log.csv", b"epoch\n1\n")),
    Case("log-path-folder-missing", ["train", *PET, "--out", "{w}/new", "--log_path", "{w}/no/log.csv"],
         r"--log_path .*no/log.csv"),
    # checkpoints
    Case("checkpoint-missing", ["evaluate", "{w}/nope.pt"], r"nope.pt"),
    Case("checkpoint-random-bytes", ["evaluate", "{w}/bad.pt"], r"bad.pt is not a PyTorch file",
         setup=_write("bad.pt", os.urandom(4096).replace(b"P", b"Q").replace(b"\x80", b"\x81"))),
    Case("checkpoint-empty", ["evaluate", "{w}/bad.pt"], r"bad.pt is empty", setup=_write("bad.pt", b"")),
    Case("checkpoint-truncated", ["evaluate", "{w}/bad.pt"], r"bad.pt is truncated", setup=_truncated_checkpoint,
         needs_run=True),
    Case("checkpoint-whole-model", ["evaluate", "--model", "{w}/bad.pt"], r"bad.pt holds pickled Python objects",
         setup=_whole_model),
    Case("checkpoint-bare-state-dict", ["evaluate", "{w}/bad.pt"], r"bad.pt is a PyTorch file but not a labseg",
         setup=_bare_state_dict),
    Case("checkpoint-unknown-model", ["evaluate", "{w}/bad.pt"], r"bad.pt: .*transformer9000",
         setup=_unknown_model_checkpoint, needs_run=True),
    Case("checkpoint-wrong-weights", ["evaluate", "{w}/bad.pt"], r"bad.pt: its weights do not fit",
         setup=_wrong_weights_checkpoint, needs_run=True),
    Case("evaluate-no-checkpoint", ["evaluate"], r"give a checkpoint"),
    Case("evaluate-bad-split", ["evaluate", "{w}/run", "--split", "holdout"], r"split 'holdout'", needs_run=True),
    Case("evaluate-per-image-exists", ["evaluate", "{w}/run", "--per-image", "{w}/scores.csv"],
         r"--per-image .*scores.csv", setup=_write("scores.csv", b"mine"), needs_run=True),
    Case("evaluate-per-image-folder-missing", ["evaluate", "{w}/run", "--per-image", "{w}/no/scores.csv"],
         r"--per-image .*no/scores.csv", needs_run=True),
    Case("evaluate-bad-device", ["evaluate", "{w}/run", "--device", "gpu7"], r"--device gpu7", needs_run=True),
    # prediction
    Case("predict-input-missing", ["predict", "{w}/run", "{w}/ghost.jpg", "--out", "{w}/pred"], r"ghost.jpg",
         needs_run=True),
    Case("predict-broken-image", ["predict", "{w}/run", "{w}/photos", "--out", "{w}/pred"], r"broken.jpg",
         setup=_photos, needs_run=True, exit_code=1,
         allowed_new=("pred", "pred/good_mask.png", "pred/good_overlay.jpg")),
    Case("predict-outputs-exist", ["predict", "{w}/run", "{w}/photos", "--out", "{w}/pred"], r"good_mask.png",
         setup=_existing_predictions, needs_run=True),
    Case("predict-same-stem", ["predict", "{w}/run", "{w}/photos", "--out", "{w}/pred"], r"good\.(jpg|png)",
         setup=_same_stem, needs_run=True),
    Case("predict-out-under-a-file", ["predict", "{w}/run", "{w}/photos", "--out", "{w}/afile/pred"],
         r"--out .*afile", setup=lambda w: (_photos(w, broken=False), _write("afile", b"x")(w)), needs_run=True),
    Case("predict-negative-overlay-side", ["predict", "{w}/run", "{w}/photos", "--out", "{w}/pred", "--overlay-side",
                                           "-5"], r"--overlay-side -5", setup=_photos, needs_run=True),
    Case("app-auth-malformed", ["app", "--auth", "{w}/login"], r"--auth .*login: expected exactly one line",
         setup=_write("login", b"user without password")),
    Case("predict-empty-folder", ["predict", "{w}/run", "{w}/nothing", "--out", "{w}/pred"], r"nothing holds no image",
         setup=lambda w: (w / "nothing").mkdir(), needs_run=True),
    # ONNX export and prediction through it
    Case("export-target-exists", ["export", "{w}/run", "{w}/model.onnx"], r"model.onnx already exists",
         setup=_write("model.onnx", b"mine"), needs_run=True),
    Case("export-target-not-onnx", ["export", "{w}/run", "{w}/model.pt"], r"model.pt: .*\.onnx", needs_run=True),
    Case("export-bad-checkpoint", ["export", "{w}/bad.pt", "{w}/model.onnx"], r"bad.pt is empty",
         setup=_write("bad.pt", b"")),
    Case("predict-onnx-missing", ["predict", "{w}/ghost.onnx", "{w}/photos", "--out", "{w}/pred"], r"ghost.onnx",
         setup=lambda w: _photos(w, broken=False)),
    # other commands
    Case("synth-per-breed-0", ["synth", "{w}/toy", "--per-breed", "0"], r"--per-breed 0"),
    Case("synth-into-other-folder", ["synth", "{w}/mine"], r"mine exists",
         setup=_write("mine/notes.txt", b"my notes")),
    Case("download-into-nonempty", ["download", "{w}/mine", "--base-url", "http://127.0.0.1:9"], r"mine exists",
         setup=_write("mine/notes.txt", b"my notes")),
    Case("check-data-missing", ["check-data", "{w}/nowhere"], r"nowhere"),
]


def _snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under root: a hash for files, 'dir' for folders."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def test_the_table_is_large_enough():
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_one_line_and_loses_nothing(case: Case, assets, tmp_path):
    if case.skip_if():
        pytest.skip("not applicable on this machine")
    w = tmp_path / "w"
    w.mkdir()
    shutil.copytree(assets / "pets", w / "pets")
    if case.needs_run:
        shutil.copytree(assets / "run", w / "run")
    case.setup(w)
    before = _snapshot(w)
    env = {**os.environ, "LABSEG_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("LABSEG_DEBUG", None)
    args = [a.replace("{w}", str(w)) for a in case.args]
    proc = subprocess.run([sys.executable, "-m", "labseg", *args], capture_output=True, text=True, cwd=w, env=env,
                          timeout=300)
    stderr = proc.stderr.strip()
    assert proc.returncode != 0, f"exit 0 for {args}: {proc.stdout[-500:]}"
    if case.exit_code is not None:
        assert proc.returncode == case.exit_code
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(stderr.splitlines()) == 1, f"expected one line, got:\n{stderr}"
    assert re.search(case.names, stderr), f"{case.names!r} not in: {stderr}"
    after = _snapshot(w)
    changed = [k for k in before if after.get(k) != before[k]]
    assert not changed, f"changed or removed: {changed}"
    new = sorted(set(after) - set(before) - set(case.allowed_new))
    assert not new, f"left behind: {new}"


def test_predict_still_writes_every_readable_image(assets, tmp_path):
    """The broken-image case above exits 1; here: the good image's outputs are complete and correct."""
    _photos(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "labseg", "predict", str(assets / "run"), str(tmp_path / "photos"),
                           "--out", str(tmp_path / "pred")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "broken.jpg" in proc.stderr and "1 of 2" in proc.stderr
    mask = Image.open(tmp_path / "pred/good_mask.png")
    assert mask.size == (61, 47)
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == ["good_mask.png", "good_overlay.jpg"]


def test_interrupted_training_prints_the_exact_resume_command():
    from labseg.cli import resume_command

    argv = ["train", "--data", "my pets", "--profile", "cpu", "--epochs", "40", "--out", "runs/a", "--overwrite"]
    assert resume_command(argv) == "labseg train --data 'my pets' --profile cpu --epochs 40 --out runs/a --resume"
    assert resume_command(["train", "--resume"]) == "labseg train --resume"
