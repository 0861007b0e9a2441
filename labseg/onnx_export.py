"""ONNX export of a labseg checkpoint, and prediction through onnxruntime.

The exported graph takes what a user has, not what the network was trained on:

* input ``image``: float32 (N, 3, H, W), RGB values 0-255 (not normalised), any N, H, W (H, W >= 32);
  the ImageNet normalisation labseg trains with is folded into the graph;
* output ``logits``: float32 (N, 1, H, W); a pixel is pet where ``logits > 0`` (probability > 0.5).

The network sees its best at the size it was trained at: the file's metadata holds it
(``labseg_image_size``), and ``labseg predict model.onnx ...`` resizes to it, exactly as with the
checkpoint. Opset 17 with the TorchScript exporter: dynamic batch, height and width, and every
operator runs on onnxruntime's CPU provider. (torch 2.14's default torch.export-based exporter was
tried: 13-19 s per model instead of 1-3 s, and the UNet's exported graph failed at sizes other than
the traced one; the TorchScript exporter is deprecated upstream but present in the pinned torch.)
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkpoint import load_checkpoint, model_from_checkpoint
from .config import RunConfig
from .device import IMAGENET_MEAN, IMAGENET_STD
from .outputs import check_new_file

OPSET = 17
INPUT_NAME, OUTPUT_NAME = "image", "logits"
NOT_EXPORTABLE = {"resnet34_unet_seed": "the original report's network builds new random projection layers on every "
                                        "call (its bug), so it has no fixed function to export"}


class OnnxError(ValueError):
    """An ONNX file that cannot be used; the message names the file and what to do."""


class Normalised(nn.Module):
    """RGB 0-255 in, logits out: the network with labseg's input normalisation in front of it."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model((image - self.mean) / self.std)


def _require(module: str):
    try:
        return __import__(module)
    except ImportError:
        raise OnnxError(f"{module} is not installed; "
                        "`pip install 'labseg[onnx]'` (onnx, onnxruntime) adds it.") from None


def export_onnx(checkpoint: str | Path, target: str | Path, overwrite: bool = False, check_size: int = 64) -> Path:
    """Export ``checkpoint`` (a .pt file or run folder) to ``target`` (.onnx), then check it with onnxruntime.

    The file is written atomically; an existing target is kept unless ``overwrite``.
    """
    target = Path(target)
    if target.suffix.lower() != ".onnx":
        raise ValueError(f"{target}: the export target must end in .onnx.")
    check_new_file(str(target), "export target", overwrite)
    ckpt = load_checkpoint(checkpoint)
    model, cfg = model_from_checkpoint(ckpt, checkpoint)
    if cfg.model in NOT_EXPORTABLE:
        raise ValueError(f"{checkpoint}: {cfg.model} cannot be exported: {NOT_EXPORTABLE[cfg.model]}.")
    onnx = _require("onnx")
    _require("onnxruntime")
    net = Normalised(model).eval()
    example = torch.full((1, 3, check_size, check_size), 128.0)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter: chosen, see above
            torch.onnx.export(net, (example,), str(tmp), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              dynamic_axes={INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                                            OUTPUT_NAME: {0: "batch", 2: "height", 3: "width"}},
                              opset_version=OPSET, dynamo=False)
        proto = onnx.load(str(tmp))
        meta = {"labseg_model": cfg.model, "labseg_image_size": str(cfg.image_size),
                "labseg_config": json.dumps(cfg.to_dict()), "labseg_input": "float32 RGB 0-255, (N, 3, H, W)",
                "labseg_output": "logits (N, 1, H, W); pet where logits > 0"}
        for key, value in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(proto)
        onnx.save(proto, str(tmp))
        runner = OnnxPredictor(tmp)
        with torch.no_grad():
            expected = net(example).numpy()
        got = runner.logits(example.numpy())
        if not np.allclose(got, expected, atol=1e-3, rtol=1e-3):
            raise RuntimeError(f"onnxruntime's output differs from PyTorch's by {np.abs(got - expected).max():.3g}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


class OnnxPredictor:
    """A labseg ONNX export run by onnxruntime (CPU provider)."""

    def __init__(self, path: str | Path, threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise OnnxError(f"ONNX file not found: {self.path}. Make one with `labseg export CHECKPOINT {self.path}`.")
        ort = _require("onnxruntime")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - any load failure means: not a usable ONNX file
            raise OnnxError(f"{self.path} is not a readable ONNX model ({type(exc).__name__}); "
                            "export it again with `labseg export`.") from None
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        shape = inputs[0].shape if inputs else []
        if ([i.name for i in inputs] != [INPUT_NAME] or [o.name for o in outputs] != [OUTPUT_NAME]
                or len(shape) != 4 or shape[1] != 3):
            raise OnnxError(f"{self.path} is not a labseg export: it takes {[(i.name, i.shape) for i in inputs]} "
                            f"and gives {[o.name for o in outputs]}, where labseg exports take '{INPUT_NAME}' "
                            f"(N, 3, H, W) and give '{OUTPUT_NAME}'. Export it with `labseg export`.")
        meta = self.session.get_modelmeta().custom_metadata_map
        if "labseg_image_size" not in meta:
            raise OnnxError(f"{self.path} has a labseg-like signature but no labseg metadata (labseg_image_size); "
                            "export it with `labseg export`.")
        self.image_size = int(meta["labseg_image_size"])
        self.model_name = meta.get("labseg_model", "?")
        self.config = RunConfig.from_dict(json.loads(meta["labseg_config"])) if "labseg_config" in meta else None

    def logits(self, images: np.ndarray) -> np.ndarray:
        """float32 RGB 0-255 (N, 3, H, W) -> logits (N, 1, H, W)."""
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(images, dtype=np.float32)})[0]
