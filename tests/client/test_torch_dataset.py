"""The torch dataset trains a torchvision detector for one step (skipped without torch).

torch and torchvision are the inference worker's install (inference_worker/requirements.txt),
not the app's; this test runs where they are installed.
"""

from __future__ import annotations

import math
import pickle

import pytest

from tests.client.conftest import Hub

torch = pytest.importorskip("torch", reason="torch is not installed (the worker's requirements)")
torchvision = pytest.importorskip("torchvision", reason="torchvision is not installed")


def test_targets_are_in_torchvision_detection_format(hub: Hub, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from labelhub_app.client import LabelHubDetectionDataset

    data = LabelHubDetectionDataset(hub.client(tmp_path), hub.project.public_id)
    assert isinstance(data, torch.utils.data.Dataset)
    assert isinstance(data, LabelHubDetectionDataset)
    by_name = {data.records[i].file_name: data[i] for i in range(len(data))}
    image, target = by_name["dog.jpg"]
    assert image.shape == (3, 240, 320) and image.dtype == torch.float32
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    assert target["boxes"].dtype == torch.float32 and target["boxes"].shape == (2, 4)
    assert target["labels"].dtype == torch.int64
    pairs = sorted(zip(target["labels"].tolist(), target["boxes"].tolist(), strict=True))
    assert pairs == [(2, [150.0, 40.0, 210.0, 100.0]), (3, [10.0, 20.0, 110.0, 100.0])]
    assert isinstance(target["image_id"], int) and target["labelhub_id"]
    empty = by_name["empty.jpg"][1]
    assert empty["boxes"].shape == (0, 4) and empty["labels"].shape == (0,)
    again = pickle.loads(pickle.dumps(data))  # DataLoader workers may pickle it
    assert len(again) == 3 and torch.equal(again[0][0], data[0][0])


def test_one_training_step_of_a_tiny_detector(hub: Hub, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

    from labelhub_app.client import LabelHubDetectionDataset, collate

    torch.manual_seed(0)
    data = LabelHubDetectionDataset(hub.client(tmp_path), hub.project.public_id)
    loader = torch.utils.data.DataLoader(data, batch_size=3, shuffle=False, collate_fn=collate)
    model = fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, num_classes=len(data.classes) + 1
    )
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    images, targets = next(iter(loader))
    targets = [{k: v for k, v in t.items() if k in ("boxes", "labels")} for t in targets]
    losses = model(list(images), targets)
    loss = sum(losses.values())
    assert math.isfinite(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"} <= set(losses)
