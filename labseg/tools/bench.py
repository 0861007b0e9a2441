"""Benchmark: model throughput beside the smp reference, and the end-to-end data pipeline.

    python -m labseg.tools.bench                      # everything, on this machine
    python -m labseg.tools.bench --sizes 128 --min-seconds 2 --quality-seeds 0   # a quicker look

Prints, per model and image size: parameters, forward GFLOPs per image (counted by
torch.utils.flop_counter), training images/s (forward + loss + backward + Adam step), inference
images/s, achieved GFLOP/s and peak memory; then a large-matmul peak, the end-to-end epoch of
labseg's pipeline against the original report's naive one, and one ``ratio <name>: <value>``
line per headline ratio. Each model is measured in a fresh subprocess so that its peak memory
(RSS on the CPU, allocator peak on CUDA) is its own. Nothing here asserts a time.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from ..config import AUGMENT_PRESETS
from ..cost import SMP_REFERENCES, build, forward_flops, matmul_peak, measure
from ..device import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    cpu_name,
    prepare_batch,
    resolve_device,
    use_bf16,
)
from ..engine import train_step
from ..losses import SegmentationLoss
from ..optim import make_optimizer
from ..paths import CHECKOUT, SHARED_SUBSET


def report_unet(width: int) -> torch.nn.Module:
    """The report's UNet: labseg's network with the library ``nn.ConvTranspose2d`` as its upsampling op
    (labseg computes the same transposed conv as a matmul on the CPU; see ``labseg.models.parts.UpConv2x2``)."""
    from ..models import build_model

    model = build_model("unet", width=width)
    for block in (model.up1, model.up2, model.up3, model.up4):
        library = torch.nn.ConvTranspose2d(block.up.in_channels, block.up.out_channels, kernel_size=2, stride=2)
        library.load_state_dict(block.up.state_dict())
        block.up = library
    return model


def naive_epoch(root: Path, names: list[str], size: int, batch: int, model, device) -> tuple[float, float]:
    """The original report's pipeline: PIL decode + resize every sample every epoch, fp32, NCHW.
    Returns (epoch s, of which preparing the batches s)."""
    import numpy as np
    from PIL import Image

    from ..data import image_path, trimap_path, trimap_to_mask

    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = SegmentationLoss("bce_dice")
    model.train()
    data = 0.0
    t0 = time.perf_counter()
    for i in range(0, len(names) - batch + 1, batch):
        t_data = time.perf_counter()
        xs, ys = [], []
        for name in names[i:i + batch]:
            img = Image.open(image_path(root, name)).convert("RGB").resize((size, size), Image.BILINEAR)
            tri = np.asarray(Image.open(trimap_path(root, name)).resize((size, size), Image.NEAREST))
            xs.append((torch.from_numpy(np.array(img)).permute(2, 0, 1).float() / 255 - mean) / std)
            ys.append(torch.from_numpy(trimap_to_mask(tri)).unsqueeze(0))
        x, y = torch.stack(xs).to(device), torch.stack(ys).to(device)
        data += time.perf_counter() - t_data
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    return time.perf_counter() - t0, data


def labseg_epoch(root: Path, names: list[str], size: int, batch: int, model, device, amp: str) -> tuple[float, float]:
    """labseg's pipeline (cached arrays, joint flips, channels_last, bf16 where fast): (epoch s, data-wait s)."""
    from torch.utils.data import DataLoader

    from ..data import PetDataset, load_split_arrays
    from ..transforms import build_train_transform

    arrays = load_split_arrays(root, "train", size)  # cached after the first call
    wanted = set(names)
    arrays = arrays.subset([i for i, s in enumerate(arrays.samples) if s.name in wanted])
    loader = DataLoader(PetDataset(arrays, build_train_transform("hflip")), batch_size=batch, drop_last=True,
                        shuffle=True, pin_memory=device.type == "cuda")
    model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model, 1e-4, device=device)
    loss_fn = SegmentationLoss("bce_dice")
    bf16 = use_bf16(amp, device)
    model.train()
    wait = 0.0
    t0 = time.perf_counter()
    t_data = time.perf_counter()
    for images, masks, _ in loader:
        x, y = prepare_batch(images, masks, device, True)
        wait += time.perf_counter() - t_data
        train_step(model, opt, loss_fn, x, y, device, bf16)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t_data = time.perf_counter()
    return time.perf_counter() - t0, wait


def end_to_end(root: Path, size: int, batch: int, images: int, width: int, device, amp: str,
               repeats: int = 2) -> dict:
    """Epochs of the naive and of labseg's pipeline, alternated ``repeats`` times, each from a fresh model
    (same initial weights); the fastest epoch of each pipeline is its figure, every epoch is kept."""
    from ..data import load_split_arrays, read_split
    from ..models import build_model

    names = [s.name for s in read_split(root, "train")][:images]
    load_split_arrays(root, "train", size)  # build the cache once, outside the timed epoch
    naive, naive_data, ours, wait = [], [], [], []
    for _ in range(repeats):
        torch.manual_seed(0)
        t, d = naive_epoch(root, names, size, batch, report_unet(width).to(device), device)
        naive.append(t)
        naive_data.append(d)
        torch.manual_seed(0)
        t, w = labseg_epoch(root, names, size, batch, build_model("unet", width=width).to(device), device, amp)
        ours.append(t)
        wait.append(w)
    best_naive, best_ours = naive.index(min(naive)), ours.index(min(ours))
    trained = len(names) // batch * batch  # both loops drop the last partial batch
    return {"naive_s": naive[best_naive], "naive_data_s": naive_data[best_naive],
            "labseg_s": ours[best_ours], "data_wait_s": wait[best_ours], "naive_all_s": naive, "labseg_all_s": ours,
            "images": len(names), "trained_images": trained,
            "train_gflops": 3 * forward_flops(build_model("unet", width=width), size) * trained / 1e9}


def loader_throughput(size: int, augment: str, where: str, device, batch: int = 32, images: int = 256,
                      min_seconds: float = 2.0) -> float:
    """Images/s of the training input pipeline alone, up to a normalised batch on ``device``: ``where="loader"``
    is the per-sample torchvision path in the DataLoader, ``"device"`` the loader gathering uint8 rows and
    :class:`labseg.batch_augment.BatchAugment` transforming whole batches on ``device``. Random uint8 arrays
    (the pixels do not change the cost); hflip plus the preset ``augment``."""
    import numpy as np
    from torch.utils.data import DataLoader

    from ..batch_augment import BatchAugment
    from ..data import PetDataset, SplitArrays
    from ..transforms import build_train_transform

    rng = np.random.default_rng(0)
    arrays = SplitArrays(samples=[None] * images, images=rng.integers(0, 256, (images, size, size, 3), dtype=np.uint8),
                         masks=rng.integers(0, 2, (images, size, size), dtype=np.uint8), skipped=[])
    on_loader = where == "loader"
    ds = PetDataset(arrays, build_train_transform("hflip", augment, size) if on_loader else None)
    batch_aug = None if on_loader else BatchAugment("hflip", augment, size, seed=0)
    loader = DataLoader(ds, batch_size=batch, shuffle=True, drop_last=True, pin_memory=device.type == "cuda")
    done, epoch, t0 = 0, 0, time.perf_counter()
    while True:
        ds.set_epoch(epoch)
        order = torch.randperm(images).tolist()
        for x, y, idx in loader if on_loader else ds.batches(order, batch, pin_memory=device.type == "cuda"):
            if batch_aug is not None:
                x, y = batch_aug(x.to(device, non_blocking=True), y.to(device, non_blocking=True), idx.tolist(), epoch)
            x, y = prepare_batch(x, y, device, True)
            done += len(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        epoch += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds and epoch >= 2:
            return done / elapsed


def shown_path(root: Path) -> str:
    """A data folder as the logs name it: relative to the repository (../shared/... for the real subset), or by
    its name alone where it lies elsewhere (a temp folder): no machine's absolute path in a committed log."""
    rel = os.path.relpath(Path(root).resolve(), CHECKOUT)
    return rel if not rel.startswith(os.path.join("..", "..")) else f"{Path(root).name} (a temporary folder)"


def naive_predict(ckpt: Path, files: list[Path], out: Path, threads: int | None = None) -> None:
    """What a first script does for a folder: per image, decode for the network and again for the overlay, one
    forward at batch 1 (torch's own thread count, or ``threads``), resize and threshold, two PNGs at PIL's default
    compression, one after another."""
    import numpy as np
    import torch.nn.functional as F
    from PIL import Image

    from ..checkpoint import load_checkpoint, model_from_checkpoint
    from ..data import load_image, load_resized_image
    from ..inference import TorchPredictor

    model, cfg = model_from_checkpoint(load_checkpoint(ckpt), ckpt)
    predictor = TorchPredictor(model, cfg, torch.device("cpu"))
    if threads is not None:
        torch.set_num_threads(threads)
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        small, image = load_resized_image(f, cfg.image_size), load_image(f)
        logits = predictor(torch.from_numpy(small).permute(2, 0, 1)[None])
        logits = F.interpolate(logits, size=(image.height, image.width), mode="bilinear", align_corners=False)
        mask = (torch.sigmoid(logits) > 0.5)[0, 0].numpy()
        Image.fromarray(mask.astype(np.uint8) * 255).save(out / f"{f.stem}_mask.png")
        arr = np.asarray(image, dtype=np.float32).copy()
        arr[mask] = arr[mask] * 0.55 + np.array((255, 40, 40), np.float32) * 0.45
        Image.fromarray(arr.astype(np.uint8)).save(out / f"{f.stem}_overlay.png")


def predict_speed(files: list[Path], size: int, width: int, work: Path, big: int = 3) -> dict:
    """`labseg predict` (its defaults: JPEG overlays at most 2048 px, the network on the cores its pipeline leaves;
    then PNG overlays at full size, and masks only) against :func:`naive_predict` (torch's threads, and one thread)
    on ``files`` and on ``big`` synthesised 12-megapixel JPEGs, with an untrained UNet (the speed does not depend
    on the weights): images/s, and the bytes written."""
    import numpy as np
    from PIL import Image

    from ..checkpoint import save_checkpoint
    from ..config import profile_config
    from ..predict import predict

    cfg = profile_config("cpu", image_size=size, width=width)
    torch.manual_seed(0)
    ckpt = work / "unet.pt"
    save_checkpoint(ckpt, model=build("unet", width).state_dict(), config=cfg.to_dict(), epoch=0)
    yy, xx = np.mgrid[:3000, :4000]
    photos = work / "12mp"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for k in range(big):
        pattern = np.stack([(xx // (7 + k)) % 255, (yy // 5) % 255, ((xx + yy) // 11) % 255], -1)
        noisy = pattern + rng.integers(0, 24, pattern.shape)
        Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(photos / f"photo{k}.jpg", quality=90)
    big_files = sorted(photos.iterdir())
    out = {"images": len(files), "size": size, "width": width}
    for label, batch in (("folder", files), ("12mp", big_files)) if big_files else (("folder", files),):
        for name, run in (("naive", lambda o: naive_predict(ckpt, batch, o)),
                          ("naive_1_thread", lambda o: naive_predict(ckpt, batch, o, threads=1)),
                          ("labseg", lambda o: predict(ckpt, batch, o, device="cpu", log=lambda m: None,
                                                       progress=False)),
                          ("labseg_png_overlay", lambda o: predict(ckpt, batch, o, device="cpu", log=lambda m: None,
                                                                   progress=False, overlay_format="png",
                                                                   overlay_side=0)),
                          ("labseg_masks_only", lambda o: predict(ckpt, batch, o, device="cpu", log=lambda m: None,
                                                                  progress=False, overlays=False))):
            target = work / f"{label}-{name}"
            threads, t0 = torch.get_num_threads(), time.perf_counter()
            run(target)
            seconds = time.perf_counter() - t0
            torch.set_num_threads(threads)  # each run starts from torch's own choice
            out[f"{label}_{name}_images_per_s"] = len(batch) / seconds
            out[f"{label}_{name}_bytes"] = sum(p.stat().st_size for p in target.iterdir())
    if big_files:  # `labseg app`'s handler on one 12-MP photo (decode, network, full-size mask, overlay, mask PNG)
        from ..app import Segmenter

        (work / "app").mkdir()
        segment = Segmenter(ckpt, work / "app")
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            segment(str(big_files[0]))
            times.append(time.perf_counter() - t0)
        out["app_12mp_seconds"] = min(times)
    return out


def amp_quality(data: Path, seeds: list[int], work: Path) -> dict[str, list[float]]:
    """Test dice of the toy-profile UNet trained with fp32 and with bf16 autocast, per seed."""
    from ..config import profile_config
    from ..engine import train

    out: dict[str, list[float]] = {"off": [], "bf16": []}
    for amp in out:
        for seed in seeds:
            cfg = profile_config("toy", data=str(data), amp=amp, seed=seed, out_dir=str(work / f"{amp}-{seed}"))
            out[amp].append(train(cfg, overwrite=True, progress=False, log=lambda m: None)["test_dice"])
    return out


def parser() -> argparse.ArgumentParser:
    """The benchmark's command line."""
    p = argparse.ArgumentParser(prog="python -m labseg.tools.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    p.add_argument("--models", nargs="*", default=["unet", "resnet34_unet", "smp_unet_resnet34", "vgg16_bn_unet",
                                                   "smp_unet_vgg16_bn"],
                   help="models of the throughput table (none: skip it)")
    p.add_argument("--no-onnx", dest="onnx", action="store_false",
                   help="skip the fp32 PyTorch vs onnxruntime inference columns")
    p.add_argument("--no-e2e", dest="e2e", action="store_false", help="skip the end-to-end epoch")
    p.add_argument("--width", type=int, default=64, help="UNet width for the model table (default 64, the paper's)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--iters", type=int, default=2, help="at least this many timed steps ...")
    p.add_argument("--min-seconds", dest="min_seconds", type=float, default=8.0, help="... and at least this long")
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", default="auto", choices=["auto", "bf16", "off"])
    p.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    p.add_argument("--data", default=None, help="dataset for the end-to-end epoch (default: the real subset if "
                                                "present, else data/toy-pets)")
    p.add_argument("--e2e-images", type=int, default=270, help="training images in the timed epoch")
    p.add_argument("--e2e-size", type=int, default=128)
    p.add_argument("--e2e-width", type=int, default=16)
    p.add_argument("--e2e-repeats", dest="e2e_repeats", type=int, default=2,
                   help="epochs of each pipeline, alternated; the fastest of each is reported")
    p.add_argument("--quality-seeds", dest="quality_seeds", type=int, default=3,
                   help="seeds of the fp32-vs-bf16 final-dice check on the toy pets (0 skips it)")
    p.add_argument("--no-loader", dest="loader", action="store_false",
                   help="skip the input-pipeline lines (per-sample vs batch-level augmentation)")
    p.add_argument("--loader-augment", dest="loader_augment", nargs="+", default=list(AUGMENT_PRESETS),
                   choices=list(AUGMENT_PRESETS), help="augmentation presets of the input-pipeline lines (all)")
    p.add_argument("--loader-batch", dest="loader_batch", type=int, default=32)
    p.add_argument("--loader-seconds", dest="loader_seconds", type=float, default=2.0)
    p.add_argument("--no-predict", dest="predict", action="store_false",
                   help="skip `labseg predict` against a naive per-image loop")
    p.add_argument("--predict-images", dest="predict_images", type=int, default=298,
                   help="photos in the timed predict folder: the real subset's test photos if present, else the toy "
                        "pets (default 298: all real test photos)")
    p.add_argument("--predict-big", dest="predict_big", type=int, default=3,
                   help="synthesised 12-megapixel JPEGs timed apart (default 3)")
    p.add_argument("--json", help="also write all figures to this JSON file")
    return p


def print_machine(args: argparse.Namespace, device: torch.device) -> None:
    """Print the machine and the settings every timing runs with."""
    print(f"machine: {cpu_name()}, {torch.get_num_threads()} threads, device {device}, "
          f"torch {torch.__version__}, amp={args.amp} (bf16 used: {use_bf16(args.amp, device)}), "
          f"channels_last={args.channels_last}, batch {args.batch}, "
          f"timed >= {args.iters} steps and >= {args.min_seconds}s")


def model_table(args: argparse.Namespace) -> list[dict]:
    """Measure and print the throughput table: one row per image size and model."""
    rows = []
    header = (f"{'model':20s} {'size':>4s} {'params':>11s} {'GFLOPs/img':>10s} {'train img/s':>11s} "
              f"{'infer img/s':>11s} {'train GFLOP/s':>13s} {'infer GFLOP/s':>13s} {'peak MiB':>9s} "
              f"{'fp32 infer':>10s} {'ORT infer':>9s}")
    print(header)
    print("(infer img/s: labseg's defaults above; fp32 infer: PyTorch fp32 NCHW; ORT infer: the ONNX export in "
          "onnxruntime, fp32, same batch; -: not measured)")
    for size in args.sizes:
        for name in args.models:
            r = measure(name, size, width=args.width, batch=args.batch, iters=args.iters, device=args.device,
                        amp=args.amp, channels_last=args.channels_last, min_seconds=args.min_seconds, onnx=args.onnx)
            rows.append({"model": name, "size": size, **r})
            fp32 = r.get("infer_fp32_images_per_s")
            ort_ = r.get("infer_onnxruntime_images_per_s")
            print(f"{name:20s} {size:4d} {r['params']:11,d} {r['gflops']:10.2f} {r['train_images_per_s']:11.2f} "
                  f"{r['infer_images_per_s']:11.2f} {r['train_gflops_per_s']:13.1f} {r['infer_gflops_per_s']:13.1f} "
                  f"{r['peak_mib']:9.0f} {f'{fp32:.2f}' if fp32 else '-':>10s} {f'{ort_:.2f}' if ort_ else '-':>9s}",
                  flush=True)
    return rows


def matmul_peaks(device: torch.device, amp: str = "auto") -> tuple[float | None, float]:
    """Measure and print the large-matmul peak: (bf16, fp32) GFLOP/s. bf16 is measured where the device computes it
    natively or ``amp`` asks for it; elsewhere (a CPU without AMX or AVX512-BF16: bf16 emulated, minutes for one
    product) it is None and said so."""
    measure_bf16 = use_bf16("auto", device) or use_bf16(amp, device)
    peak_bf16 = matmul_peak(device, torch.bfloat16) if measure_bf16 else None
    peak_fp32 = matmul_peak(device, torch.float32)
    bf16_words = f"{peak_bf16:.0f} GFLOP/s" if peak_bf16 is not None else "not native here, not measured"
    print(f"matmul peak (2048^3, best of 5 timings): bf16 {bf16_words}, fp32 {peak_fp32:.0f} GFLOP/s")
    return peak_bf16, peak_fp32


def epoch_lines(args: argparse.Namespace, device: torch.device, peak: float) -> tuple[dict, float]:
    """Time and print the end-to-end epoch of both pipelines and its compute floor at ``peak`` GFLOP/s:
    (the figures of :func:`end_to_end`, the floor in seconds)."""
    root = Path(args.data) if args.data else None
    if root is None:
        root = SHARED_SUBSET if SHARED_SUBSET.is_dir() else Path("data/toy-pets")
    e2e = end_to_end(root, args.e2e_size, args.batch, args.e2e_images, args.e2e_width, device, args.amp,
                     repeats=args.e2e_repeats)
    floor = e2e["train_gflops"] / peak
    shown = shown_path(root)
    print(f"end-to-end epoch on {shown} ({e2e['images']} images, {args.e2e_size}px, UNet width {args.e2e_width}, "
          f"batch {args.batch}, fastest of {args.e2e_repeats}): naive {e2e['naive_s']:.1f}s (decoding and batching "
          f"{e2e['naive_data_s']:.2f}s), labseg {e2e['labseg_s']:.1f}s "
          f"(waiting for data {e2e['data_wait_s']:.2f}s); "
          f"all epochs: naive {[round(t, 2) for t in e2e['naive_all_s']]}, "
          f"labseg {[round(t, 2) for t in e2e['labseg_all_s']]}")
    print(f"compute floor of that epoch: {e2e['train_gflops']:.0f} GFLOP of training at the matmul peak "
          f"({peak:.0f} GFLOP/s) = {floor:.2f}s, so no pipeline on this device beats naive/floor = "
          f"{e2e['naive_s'] / floor:.2f}x")
    return e2e, floor


def loader_lines(args: argparse.Namespace, device: torch.device) -> list[dict]:
    """Time and print the input pipeline alone, per image size and augmentation preset: one row each."""
    loader = []
    print(f"input pipeline alone (uint8 arrays -> augmented, normalised batch of {args.loader_batch} on {device}; "
          f"hflip + preset): per-sample = torchvision v2 in the DataLoader, batch = --augment-on device")
    for size in args.sizes:
        for augment in args.loader_augment:
            row = {"size": size, "augment": augment, **{
                f"{where}_images_per_s": loader_throughput(size, augment, where, device, args.loader_batch,
                                                           min_seconds=args.loader_seconds)
                for where in ("loader", "device")}}
            loader.append(row)
            print(f"loader {size:4d}px {augment:6s}: per-sample {row['loader_images_per_s']:9.0f} img/s, "
                  f"batch {row['device_images_per_s']:9.0f} img/s", flush=True)
    return loader


def predict_lines(args: argparse.Namespace) -> dict:
    """Time and print `labseg predict` against the naive loop (:func:`predict_speed`): its figures."""
    import tempfile

    from ..data import image_path, read_split

    real = SHARED_SUBSET
    if args.data:
        root = Path(args.data)
    else:
        from ..synthetic import write_toy_pets

        root = real if real.is_dir() else write_toy_pets("data/toy-pets")
    files = [image_path(root, s.name) for s in read_split(root, "test")][:args.predict_images]
    shown = shown_path(root)
    with tempfile.TemporaryDirectory() as work:
        pr = predict_speed(files, args.e2e_size, args.e2e_width, Path(work), args.predict_big)
    print(f"predict, {len(files)} test photos of {shown} ({args.e2e_size}px UNet width {args.e2e_width}, "
          f"untrained): naive (mask + overlay PNGs) {pr['folder_naive_images_per_s']:.1f} img/s, naive at 1 "
          f"thread {pr['folder_naive_1_thread_images_per_s']:.1f} img/s, labseg (defaults: mask PNG + JPEG "
          f"overlay) {pr['folder_labseg_images_per_s']:.1f} img/s, PNG overlays "
          f"{pr['folder_labseg_png_overlay_images_per_s']:.1f} img/s, masks only "
          f"{pr['folder_labseg_masks_only_images_per_s']:.1f} img/s; bytes labseg/naive "
          f"{pr['folder_labseg_bytes'] / pr['folder_naive_bytes']:.2f}", flush=True)
    if args.predict_big:
        print(f"predict, {args.predict_big} synthesised 12-megapixel JPEGs: naive "
              f"{1 / pr['12mp_naive_images_per_s']:.2f} s/img, naive at 1 thread "
              f"{1 / pr['12mp_naive_1_thread_images_per_s']:.2f} s/img, labseg "
              f"{1 / pr['12mp_labseg_images_per_s']:.2f} s/img, PNG overlays "
              f"{1 / pr['12mp_labseg_png_overlay_images_per_s']:.2f} s/img, masks only "
              f"{1 / pr['12mp_labseg_masks_only_images_per_s']:.2f} s/img; bytes labseg/naive "
              f"{pr['12mp_labseg_bytes'] / pr['12mp_naive_bytes']:.2f}; labseg app's handler "
              f"{pr['app_12mp_seconds']:.2f} s (best of 3)", flush=True)
    return pr


def quality_lines(args: argparse.Namespace) -> dict[str, list[float]]:
    """Train and print the fp32-vs-bf16 check (:func:`amp_quality`) on the toy pets: test dice per amp and seed."""
    import tempfile

    from ..synthetic import write_toy_pets

    toy = write_toy_pets("data/toy-pets")
    with tempfile.TemporaryDirectory() as work:
        quality = amp_quality(toy, list(range(args.quality_seeds)), Path(work))
    for amp, dice in quality.items():
        t = torch.tensor(dice)
        print(f"final test dice, toy profile UNet, amp={amp}: {t.mean():.4f} +- {t.std() if len(t) > 1 else 0:.4f} "
              f"over seeds {list(range(args.quality_seeds))}: {[round(d, 4) for d in dice]}")
    return quality


def model_ratios(sizes: list[int], rows: list[dict], peak_bf16: float | None, peak_fp32: float) -> dict[str, float]:
    """The throughput table's ratios: labseg's models against their smp references and the matmul peak, and
    onnxruntime against PyTorch fp32, per image size."""
    ratios = {}
    for size in sizes:
        by = {r["model"]: r for r in rows if r["size"] == size}
        for ref_name, (encoder, ours_name) in SMP_REFERENCES.items():
            if ours_name not in by or ref_name not in by:
                continue
            ours, ref = by[ours_name], by[ref_name]
            # resnet34 keeps the ratio names of earlier benchmark files; other encoders carry their name
            tag = "" if encoder == "resnet34" else f"{encoder}_"
            ratios[f"train_gflops_vs_smp_{tag}{size}"] = ours["train_gflops_per_s"] / ref["train_gflops_per_s"]
            ratios[f"train_images_vs_smp_{tag}{size}"] = ours["train_images_per_s"] / ref["train_images_per_s"]
            ratios[f"infer_images_vs_smp_{tag}{size}"] = ours["infer_images_per_s"] / ref["infer_images_per_s"]
            ratios[f"train_gflops_vs_matmul_peak_{tag}{size}"] = ours["train_gflops_per_s"] / (
                peak_bf16 if ours["bf16"] else peak_fp32)
        for name, r in by.items():
            if r.get("infer_onnxruntime_images_per_s"):
                ratios[f"onnxruntime_vs_torch_fp32_infer_{name}_{size}"] = (
                    r["infer_onnxruntime_images_per_s"] / r["infer_fp32_images_per_s"])
    return ratios


def pipeline_ratios(loader: list[dict], predicted: dict | None, e2e: dict | None,
                    floor: float | None) -> dict[str, float]:
    """The ratios of the input-pipeline lines, the predict lines and the end-to-end epoch (where measured)."""
    ratios = {}
    for row in loader:
        ratios[f"loader_batch_vs_per_sample_{row['augment']}_{row['size']}"] = (
            row["device_images_per_s"] / row["loader_images_per_s"])
    if predicted is not None:
        size = predicted["size"]
        ratios[f"predict_images_vs_naive_{size}"] = (predicted["folder_labseg_images_per_s"]
                                                     / predicted["folder_naive_images_per_s"])
        ratios[f"predict_png_overlay_vs_naive_{size}"] = (predicted["folder_labseg_png_overlay_images_per_s"]
                                                          / predicted["folder_naive_images_per_s"])
        ratios[f"predict_images_vs_naive_1_thread_{size}"] = (predicted["folder_labseg_images_per_s"]
                                                              / predicted["folder_naive_1_thread_images_per_s"])
        ratios[f"predict_masks_only_vs_naive_{size}"] = (predicted["folder_labseg_masks_only_images_per_s"]
                                                         / predicted["folder_naive_images_per_s"])
        if "12mp_naive_images_per_s" in predicted:
            ratios["predict_12mp_vs_naive"] = (predicted["12mp_labseg_images_per_s"]
                                               / predicted["12mp_naive_images_per_s"])
    if e2e is not None:
        ratios["epoch_speedup_vs_naive"] = e2e["naive_s"] / e2e["labseg_s"]
        ratios["epoch_speedup_bound_at_matmul_peak"] = e2e["naive_s"] / floor
        ratios["data_wait_fraction"] = e2e["data_wait_s"] / e2e["labseg_s"]
    return ratios


def print_ratios(ratios: dict[str, float]) -> None:
    """One ``ratio <name>: <value>`` line per headline ratio."""
    for k, v in ratios.items():
        print(f"ratio {k}: {v:.3f}")


def write_figures(path: str, rows: list[dict], peak_bf16: float | None, peak_fp32: float, e2e: dict | None,
                  loader: list[dict], quality: dict | None, predicted: dict | None, ratios: dict[str, float]) -> None:
    """Every figure of the run, in one JSON file."""
    Path(path).write_text(json.dumps({"rows": rows,
                                      "matmul_peak_gflops": {"bf16": peak_bf16, "fp32": peak_fp32},
                                      "end_to_end": e2e, "loader": loader, "amp_quality": quality,
                                      "predict": predicted,
                                      "ratios": ratios},
                                     indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark's sections in order (each one its command line leaves on); 0."""
    args = parser().parse_args(argv)
    device = resolve_device(args.device)
    print_machine(args, device)
    rows = model_table(args)
    peak_bf16, peak_fp32 = matmul_peaks(device, args.amp)
    peak = peak_bf16 if use_bf16(args.amp, device) else peak_fp32
    e2e, floor = epoch_lines(args, device, peak) if args.e2e else (None, None)
    loader = loader_lines(args, device) if args.loader else []
    predicted = predict_lines(args) if args.predict else None
    quality = quality_lines(args) if args.quality_seeds else None
    ratios = {**model_ratios(args.sizes, rows, peak_bf16, peak_fp32), **pipeline_ratios(loader, predicted, e2e, floor)}
    print_ratios(ratios)
    if args.json:
        write_figures(args.json, rows, peak_bf16, peak_fp32, e2e, loader, quality, predicted, ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
