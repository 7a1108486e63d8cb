"""Consolidation of several labellers' answers (pure functions, real crowd-kit)."""

from __future__ import annotations

import numpy as np
import pytest

from labelhub_app.services import consensus
from labelhub_app.services.consensus import Vote


def _simulate(
    n_items: int, accuracies: dict[str, float], seed: int = 7
) -> tuple[list[Vote], dict[int, bool]]:
    rng = np.random.default_rng(seed)
    truth = {i: bool(rng.random() < 0.4) for i in range(n_items)}
    votes = [
        Vote(i, who, truth[i] if rng.random() < acc else not truth[i])
        for i in range(n_items)
        for who, acc in accuracies.items()
    ]
    return votes, truth


def _accuracy(result: consensus.Consolidation, truth: dict[int, bool]) -> float:
    return sum(result.items[i].present == t for i, t in truth.items()) / len(truth)


def test_majority_vote_shares_agreement_and_ties() -> None:
    votes = [
        Vote("a", "x", True),
        Vote("a", "y", True),
        Vote("a", "z", False),
        Vote("b", "x", True),
        Vote("b", "y", False),
    ]
    result = consensus.consolidate_votes(votes)
    assert result.method == consensus.METHOD_MAJORITY  # too few answers for Dawid-Skene
    assert result.items["a"].present is True
    assert result.items["a"].agreement == pytest.approx(2 / 3)
    assert result.items["a"].answers == 3
    assert result.items["b"].present is False  # a tie is "no"
    assert result.items["b"].agreement == pytest.approx(0.5)
    assert result.labellers["x"] == pytest.approx(0.5)  # agreed on a, not on b
    assert result.labellers["y"] == pytest.approx(1.0)
    assert result.labellers["z"] == pytest.approx(0.0)


def test_dawid_skene_beats_majority_with_an_adversary() -> None:
    votes, truth = _simulate(300, {"good": 0.95, "sloppy1": 0.65, "sloppy2": 0.65, "bad": 0.1})
    ds = consensus.consolidate_votes(votes)
    mv = consensus.consolidate_votes(votes, method="majority")
    assert ds.method == consensus.METHOD_DS and mv.method == consensus.METHOD_MAJORITY
    assert _accuracy(ds, truth) >= 0.9
    assert _accuracy(ds, truth) > _accuracy(mv, truth)
    # the labellers' agreement with the result ranks them as they are
    assert ds.labellers["good"] > ds.labellers["sloppy1"] > ds.labellers["bad"]


def test_falls_back_to_majority_when_dawid_skene_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    votes, truth = _simulate(50, {"a": 0.9, "b": 0.9, "c": 0.9})

    def broken(*args: object, **kwargs: object) -> dict:
        raise ValueError("did not converge")

    monkeypatch.setattr(consensus, "dawid_skene", broken)
    result = consensus.consolidate_votes(votes)
    assert result.method == consensus.METHOD_MAJORITY
    assert _accuracy(result, truth) > 0.9


def test_one_answer_per_item_or_one_value_uses_majority() -> None:
    one_each = [Vote(i, f"w{i % 3}", i % 2 == 0) for i in range(40)]
    assert consensus.consolidate_votes(one_each).method == consensus.METHOD_MAJORITY
    all_yes = [Vote(i // 3, f"w{i % 3}", True) for i in range(60)]
    result = consensus.consolidate_votes(all_yes)
    assert result.method == consensus.METHOD_MAJORITY
    assert all(r.present and r.agreement == 1.0 for r in result.items.values())
    assert consensus.consolidate_votes([]).items == {}


def test_iou() -> None:
    a = {"x": 0, "y": 0, "w": 10, "h": 10}
    assert consensus.iou(a, a) == 1.0
    assert consensus.iou(a, {"x": 5, "y": 0, "w": 10, "h": 10}) == pytest.approx(50 / 150)
    assert consensus.iou(a, {"x": 20, "y": 20, "w": 5, "h": 5}) == 0.0


def test_boxes_are_matched_fused_and_outliers_dropped() -> None:
    dog = {"label": "dog", "x": 10, "y": 10, "w": 100, "h": 80}
    cat = {"label": "cat", "x": 200, "y": 50, "w": 60, "h": 60}
    answers = {
        1: [dog, cat],
        2: [{**dog, "x": 14, "w": 100}, {**cat, "y": 54}],
        3: [{**dog, "x": 12}, cat, {"label": "dog", "x": 300, "y": 150, "w": 10, "h": 10}],
    }
    result = consensus.consolidate_boxes(answers)
    assert [(b["label"], b["support"]) for b in result.boxes] == [("cat", 3), ("dog", 3)]
    fused_dog = next(b for b in result.boxes if b["label"] == "dog")
    assert fused_dog["x"] == pytest.approx(12.0) and fused_dog["w"] == pytest.approx(100.0)
    assert result.agreement == pytest.approx(7 / 9)  # three objects: drawn by 3, 3 and 1 of 3
    assert result.labellers[1] == 1.0 and result.labellers[3] == pytest.approx(2 / 3)
    assert result.answers == 3


def test_boxes_of_another_label_do_not_match_and_a_lone_box_needs_half() -> None:
    box = {"label": "dog", "x": 0, "y": 0, "w": 50, "h": 50}
    result = consensus.consolidate_boxes({1: [box], 2: [{**box, "label": "cat"}]})
    # two labellers: a box drawn by one of them has half the votes and is kept
    assert sorted(b["label"] for b in result.boxes) == ["cat", "dog"]
    assert result.agreement == pytest.approx(0.5)
    empty = consensus.consolidate_boxes({1: [], 2: []})
    assert empty.boxes == [] and empty.agreement == 1.0 and empty.labellers == {1: 1.0, 2: 1.0}
