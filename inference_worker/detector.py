"""Build, save, load and run torchvision Faster R-CNN detectors.

Architectures (``LABELHUB_DETECTOR_ARCH``):
- ``small``: a 7-convolution, stride-8 backbone (about 2.3 M parameters in all) that learns from
  scratch on a CPU in minutes; the default, since no pretrained weights can be downloaded here.
- ``mobilenet``: fasterrcnn_mobilenet_v3_large_fpn; ``resnet50``: fasterrcnn_resnet50_fpn_v2.
  Both are for a GPU, ideally started from a checkpoint (``LABELHUB_DETECTOR_WEIGHTS``, e.g.
  torchvision's COCO weights copied in by an operator): matching layers are loaded, the class
  head is sized for LabelHub's labels.

The device is CUDA when present (batched, fp16 autocast), else the CPU.
"""

from __future__ import annotations

import io
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import nn
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.ops import MultiScaleRoIAlign
from torchvision.transforms.functional import pil_to_tensor

log = logging.getLogger("inference_worker.detector")

ARCHS = ("small", "mobilenet", "resnet50")
FORMAT_VERSION = 1


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SmallBackbone(nn.Sequential):
    """Seven 3x3 convolutions, stride 8, 128 channels out."""

    def __init__(self) -> None:
        super().__init__(
            _conv(3, 32, 2),
            _conv(32, 32),
            _conv(32, 64, 2),
            _conv(64, 64),
            _conv(64, 128, 2),
            _conv(128, 128),
            _conv(128, 128),
        )
        self.out_channels = 128


def build_model(arch: str, num_classes: int, *, image_size: int = 320) -> FasterRCNN:
    """A detector for ``num_classes`` classes (background included), random weights."""
    if arch == "small":
        anchors = AnchorGenerator(sizes=((16, 32, 64, 128),), aspect_ratios=((0.5, 1.0, 2.0),))
        pooler = MultiScaleRoIAlign(featmap_names=["0"], output_size=7, sampling_ratio=1)
        backbone = SmallBackbone()
        return FasterRCNN(
            backbone,
            num_classes=None,
            rpn_anchor_generator=anchors,
            box_roi_pool=pooler,
            box_head=TwoMLPHead(backbone.out_channels * 7 * 7, 256),
            box_predictor=FastRCNNPredictor(256, num_classes),
            min_size=image_size,
            max_size=image_size,
            rpn_pre_nms_top_n_train=600,
            rpn_post_nms_top_n_train=300,
            rpn_pre_nms_top_n_test=300,
            rpn_post_nms_top_n_test=100,
            rpn_batch_size_per_image=128,
            box_batch_size_per_image=32,
            box_detections_per_img=50,
            image_mean=[0.5, 0.5, 0.5],
            image_std=[0.25, 0.25, 0.25],
        )
    from torchvision.models import detection

    if arch == "mobilenet":
        return detection.fasterrcnn_mobilenet_v3_large_fpn(
            weights=None,
            weights_backbone=None,
            num_classes=num_classes,
            min_size=image_size,
            max_size=max(image_size, 640),
        )
    if arch == "resnet50":
        return detection.fasterrcnn_resnet50_fpn_v2(
            weights=None,
            weights_backbone=None,
            num_classes=num_classes,
            min_size=image_size,
            max_size=max(image_size, 1333),
        )
    raise ValueError(f"unknown detector architecture {arch!r}; use one of {', '.join(ARCHS)}")


def load_matching(model: nn.Module, state: dict[str, torch.Tensor]) -> tuple[int, int]:
    """Copy the tensors of ``state`` whose name and shape match (a checkpoint with other classes).

    Returns (copied, skipped).
    """
    own = model.state_dict()
    take = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(take, strict=False)
    return len(take), len(state) - len(take)


def load_checkpoint_file(model: nn.Module, path: Path) -> None:
    """Start from an operator's weights file (state dict, LabelHub or torchvision checkpoint)."""
    raw = torch.load(path, map_location="cpu", weights_only=True)
    state = raw.get("state_dict", raw.get("model", raw)) if isinstance(raw, dict) else raw
    copied, skipped = load_matching(model, state)
    log.info("started from %s: %d tensors loaded, %d skipped (other shape)", path, copied, skipped)


@dataclass
class Detector:
    """A trained model with its label names; ``predict`` works in original-image pixels."""

    model: FasterRCNN
    arch: str
    labels: list[str]  # class i+1 is labels[i]
    image_size: int

    def to(self, dev: torch.device) -> Detector:
        self.model.to(dev)
        return self

    # -- serialisation --
    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        torch.save(
            {
                "format": FORMAT_VERSION,
                "arch": self.arch,
                "labels": self.labels,
                "image_size": self.image_size,
                "state_dict": OrderedDict(
                    (k, v.detach().cpu()) for k, v in self.model.state_dict().items()
                ),
            },
            out,
        )
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Detector:
        raw: dict[str, Any] = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        model = build_model(raw["arch"], len(raw["labels"]) + 1, image_size=raw["image_size"])
        model.load_state_dict(raw["state_dict"])
        model.eval()
        return cls(model, raw["arch"], list(raw["labels"]), int(raw["image_size"]))

    @classmethod
    def new(
        cls, arch: str, labels: list[str], *, image_size: int, weights: Path | None = None
    ) -> Detector:
        model = build_model(arch, len(labels) + 1, image_size=image_size)
        if weights is not None:
            load_checkpoint_file(model, weights)
        return cls(model, arch, list(labels), image_size)

    # -- inference --
    def prepare(self, image: Image.Image) -> tuple[torch.Tensor, float]:
        """The image as a float tensor, shrunk so its longest side is ``image_size``; the scale."""
        image = image.convert("RGB")
        scale = min(1.0, self.image_size / max(image.size))
        if scale < 1.0:
            image = image.resize(
                (max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                Image.Resampling.BILINEAR,
            )
        return pil_to_tensor(image).float().div_(255.0), scale

    @torch.inference_mode()
    def predict(
        self, images: list[Image.Image], *, min_score: float = 0.0, batch_size: int = 8
    ) -> list[list[dict[str, Any]]]:
        """Detections per image: dicts with label, x, y, w, h (original pixels) and score."""
        self.model.eval()
        dev = next(self.model.parameters()).device
        results: list[list[dict[str, Any]]] = []
        for start in range(0, len(images), batch_size):
            prepared = [self.prepare(im) for im in images[start : start + batch_size]]
            tensors = [t.to(dev, non_blocking=True) for t, _ in prepared]
            with torch.autocast(dev.type, dtype=torch.float16, enabled=dev.type == "cuda"):
                outputs = self.model(tensors)
            for (_, scale), out in zip(prepared, outputs, strict=True):
                dets = []
                for box, label, score in zip(
                    out["boxes"].float().cpu().tolist(),
                    out["labels"].cpu().tolist(),
                    out["scores"].float().cpu().tolist(),
                    strict=True,
                ):
                    if score < min_score or not 1 <= label <= len(self.labels):
                        continue
                    x0, y0, x1, y1 = (v / scale for v in box)
                    dets.append(
                        {
                            "label": self.labels[label - 1],
                            "x": x0,
                            "y": y0,
                            "w": x1 - x0,
                            "h": y1 - y0,
                            "score": float(score),
                        }
                    )
                results.append(dets)
        return results


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
