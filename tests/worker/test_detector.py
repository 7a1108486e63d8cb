"""The detector's building blocks: checkpoints, predictions in original pixels, COCO metrics."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from inference_worker import synthetic  # noqa: E402
from inference_worker.detector import Detector, load_matching, parameter_count  # noqa: E402
from inference_worker.evaluate import coco_metrics  # noqa: E402


def test_small_detector_round_trips_and_predicts_in_original_pixels():
    torch.manual_seed(0)
    detector = Detector.new("small", ["circle", "square"], image_size=64)
    assert 2_000_000 < parameter_count(detector.model) < 2_600_000
    again = Detector.from_bytes(detector.to_bytes())
    assert (again.arch, again.labels, again.image_size) == ("small", ["circle", "square"], 64)
    sample = synthetic.make_sample(3, size=128)  # twice the detector's size: scaled back up
    [a] = detector.predict([sample.image])
    [b] = again.predict([sample.image])
    assert a == b and a  # untrained, it still proposes boxes with scores
    for det in a:
        assert det["label"] in ("circle", "square") and 0 <= det["score"] <= 1
        assert det["x"] >= -1 and det["x"] + det["w"] <= 129 and det["w"] > 0


def test_a_checkpoint_with_other_classes_loads_its_matching_layers():
    three = Detector.new("small", ["a", "b", "c"], image_size=64)
    two = Detector.new("small", ["a", "b"], image_size=64)
    copied, skipped = load_matching(two.model, three.model.state_dict())
    assert copied > 0 and skipped == 4  # class scores and box deltas: weights and biases


def test_coco_metrics():
    truth = [[("circle", 10, 10, 20, 20)], [("square", 0, 0, 30, 30), ("circle", 40, 40, 10, 10)]]
    perfect = [
        [{"label": "circle", "x": 10, "y": 10, "w": 20, "h": 20, "score": 0.9}],
        [
            {"label": "square", "x": 0, "y": 0, "w": 30, "h": 30, "score": 0.8},
            {"label": "circle", "x": 40, "y": 40, "w": 10, "h": 10, "score": 0.7},
        ],
    ]
    assert coco_metrics(truth, perfect) == {"ap": 1.0, "ap50": 1.0, "ap75": 1.0}
    shifted = [[{**d, "x": d["x"] + 5} for d in dets] for dets in perfect]
    worse = coco_metrics(truth, shifted)
    assert worse["ap75"] < worse["ap50"] <= 1.0
    assert coco_metrics(truth, [[], []]) == {"ap": 0.0, "ap50": 0.0, "ap75": 0.0}


def test_synthetic_samples_are_deterministic_and_boxed():
    a, b = synthetic.make_sample(5, size=96), synthetic.make_sample(5, size=96)
    assert a.png() == b.png() and a.boxes == b.boxes
    for label, x, y, w, h in a.boxes:
        assert label in synthetic.CLASSES and x >= 0 and x + w <= 96 and y >= 0 and y + h <= 96
