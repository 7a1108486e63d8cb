"""Object-detection datasets over a bought LabelHub project: plain Python, and for torch.

:class:`LabelHubDetection` lists the project, downloads every original into the client's cache
and iterates ``(PIL image, target)`` pairs; it needs no torch. :class:`LabelHubDetectionDataset`
is the same as a ``torch.utils.data.Dataset`` in torchvision's detection format::

    image:  FloatTensor[3, H, W], values 0..1 (RGB)
    target: {"boxes": FloatTensor[N, 4] as (x1, y1, x2, y2) pixels,
             "labels": Int64Tensor[N], class indices 1..K (0 is the background),
             "image_id": int (the index in this dataset), "labelhub_id": str (LabelHub's id),
             "area": FloatTensor[N], "iscrowd": Int64Tensor[N]}

``classes`` lists the K class names (``classes[i - 1]`` is label ``i``), so a detector is built
with ``num_classes=len(dataset.classes) + 1``. By default they are the box labels used in the
project, sorted; pass ``classes=`` to fix them (boxes of other labels are then left out).

torch is imported only when a tensor is made, so this module (and ``labelhub_app.client``)
imports without it. With torch installed, a LabelHubDetectionDataset also is an instance of
``torch.utils.data.Dataset``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from PIL import Image as PILImage

from labelhub_app.client.api import LabelHubClient, RemoteImage

Target = dict[str, Any]


class LabelHubDetection:
    """The images of a bought project with their boxes, downloaded and cached (no torch)."""

    def __init__(
        self,
        client: LabelHubClient,
        project_id: str,
        *,
        classes: Sequence[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.project_id = project_id
        self.records: list[RemoteImage] = client.images(project_id)
        used = sorted({b.label for r in self.records for b in r.boxes})
        self.classes: list[str] = list(classes) if classes is not None else used
        self._index = {name: i for i, name in enumerate(self.classes, start=1)}
        self.paths: list[Path] = client.download_all(self.records, progress)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def num_classes(self) -> int:
        """Classes plus the background, as torchvision's detectors count them."""
        return len(self.classes) + 1

    def image(self, index: int) -> PILImage.Image:
        with PILImage.open(self.paths[index]) as opened:
            return opened.convert("RGB")

    def plain_target(self, index: int) -> Target:
        """The target with plain lists: boxes ``[[x1, y1, x2, y2], ...]``, labels 1..K."""
        record = self.records[index]
        kept = [b for b in record.boxes if b.label in self._index]
        return {
            "boxes": [list(b.xyxy) for b in kept],
            "labels": [self._index[b.label] for b in kept],
            "image_id": index,
            "labelhub_id": record.id,
            "file_name": record.file_name,
            "tags": list(record.labels),
        }

    def samples(self) -> Iterator[tuple[PILImage.Image, Target]]:
        """``(PIL image, target)`` for every image, in listing order (plain Python)."""
        for index in range(len(self)):
            yield self.image(index), self.plain_target(index)

    def __iter__(self) -> Iterator[Any]:
        for index in range(len(self)):
            yield self[index]

    def __getitem__(self, index: int) -> Any:
        return self.image(index), self.plain_target(index)


def _torch() -> Any:
    try:
        import torch  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "LabelHubDetectionDataset makes torch tensors: install torch (and torchvision for "
            "the detectors), or use LabelHubDetection for plain Python samples."
        ) from exc
    return torch


_with_torch_base: dict[type, type] = {}


def _rebuild(cls: type, state: dict[str, Any]) -> Any:
    obj: Any = object.__new__(cls)
    obj.__dict__.update(state)
    return obj


class LabelHubDetectionDataset(LabelHubDetection):
    """A torch dataset in torchvision's detection format (see the module docstring).

    ``transforms(image, target) -> (image, target)`` runs on the tensors, as in torchvision's
    detection references. Use :func:`collate` as the DataLoader's ``collate_fn``.
    """

    def __new__(cls, *_args: Any, **_kwargs: Any) -> LabelHubDetectionDataset:
        # With torch installed, instances also derive from torch.utils.data.Dataset; the class
        # itself is defined without importing torch.
        try:
            from torch.utils.data import Dataset  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            return super().__new__(cls)
        if cls not in _with_torch_base:
            _with_torch_base[cls] = type(cls.__name__, (cls, Dataset), {"__module__": __name__})
        return super().__new__(_with_torch_base[cls])

    def __init__(
        self,
        client: LabelHubClient,
        project_id: str,
        *,
        classes: Sequence[str] | None = None,
        transforms: Callable[[Any, Target], tuple[Any, Target]] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        super().__init__(client, project_id, classes=classes, progress=progress)
        self.transforms = transforms

    def __reduce__(self) -> tuple[Any, ...]:
        # picklable for DataLoader workers (the torch-based subclass is made at run time)
        return _rebuild, (LabelHubDetectionDataset, dict(self.__dict__))

    def __getitem__(self, index: int) -> tuple[Any, Target]:
        import numpy as np

        torch = _torch()
        pixels = np.array(self.image(index), dtype=np.uint8)  # a writable copy for torch
        image = torch.from_numpy(pixels).permute(2, 0, 1).contiguous().float().div(255)
        plain = self.plain_target(index)
        boxes = torch.tensor(plain["boxes"], dtype=torch.float32).reshape(-1, 4)
        target: Target = {
            "boxes": boxes,
            "labels": torch.tensor(plain["labels"], dtype=torch.int64),
            "image_id": index,
            "labelhub_id": plain["labelhub_id"],
            "area": (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]),
            "iscrowd": torch.zeros(len(plain["labels"]), dtype=torch.int64),
        }
        if self.transforms is not None:
            image, target = self.transforms(image, target)
        return image, target


def collate(batch: list[tuple[Any, Target]]) -> tuple[tuple[Any, ...], tuple[Target, ...]]:
    """A DataLoader ``collate_fn`` for detection: images and targets as tuples (sizes differ)."""
    images, targets = zip(*batch, strict=True)
    return images, targets
