"""LabelHubClient and the plain-Python dataset against the real API served in-process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile

import pytest
from sqlmodel import Session

from labelhub_app.adapters.storage import get_store
from labelhub_app.client import (
    LabelHubApiError,
    LabelHubDetection,
    LabelHubDetectionDataset,
    RemoteBox,
)
from labelhub_app.services import annotations as ann
from labelhub_app.services import tokens
from tests.client.conftest import BOXES, Hub
from tests.factories import make_user


def test_lists_projects_and_images_with_boxes(hub: Hub, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = hub.client(tmp_path)
    projects = client.projects()
    assert [(p.id, p.name, p.bought) for p in projects] == [
        (hub.project.public_id, "Training set", 3)
    ]
    images = {i.file_name: i for i in client.images(hub.project.public_id)}
    assert set(images) == set(BOXES)
    dog = images["dog.jpg"]
    assert (dog.width, dog.height, dog.labels, dog.licence) == (320, 240, ("street",), "standard")
    assert sorted(dog.boxes, key=lambda b: b.label) == [
        RemoteBox("cat", 150, 40, 60, 60, None),
        RemoteBox("dog", 10, 20, 100, 80, None),
    ]
    assert dog.boxes[0].xyxy == (10, 20, 110, 100)
    assert images["empty.jpg"].boxes == ()


def test_downloads_are_cached_by_id_and_checked_by_size(hub: Hub, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = hub.client(tmp_path)
    image = next(i for i in client.images(hub.project.public_id) if i.file_name == "dog.jpg")
    calls: list[str] = []
    real_stream = hub.http.stream

    def counting_stream(method, url, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(url)
        return real_stream(method, url, **kwargs)

    hub.http.stream = counting_stream  # type: ignore[method-assign]
    path = client.download(image)
    assert path == tmp_path / "originals" / f"{image.id}.jpg"
    stored = next(i for i in hub.images if i.public_id == image.id)
    with get_store().open(stored.object_key) as fh:
        assert path.read_bytes() == fh.read()
    assert client.download(image) == path and len(calls) == 1  # served from the cache

    path.write_bytes(path.read_bytes()[:100])  # a cut-off file is fetched again
    client.download(image)
    assert len(calls) == 2 and path.stat().st_size > 100
    client.download(image, force=True)
    assert len(calls) == 3
    assert not list((tmp_path / "originals").glob(".part-*"))


def test_errors_come_back_as_api_errors(hub: Hub, session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    rival = make_user(session, "consumer")
    rival_token = tokens.create_token(session, actor=rival, name="rival").token
    with pytest.raises(LabelHubApiError) as caught:
        hub.client(tmp_path, rival_token).images(hub.project.public_id)
    assert caught.value.status == 404 and caught.value.code == "not_found"
    # a rival cannot fetch the originals either
    image = hub.client(tmp_path).images(hub.project.public_id)[0]
    with pytest.raises(LabelHubApiError) as caught:
        hub.client(tmp_path / "rival", rival_token).download(image)
    assert caught.value.status == 403
    assert not list((tmp_path / "rival" / "originals").iterdir())
    with pytest.raises(LabelHubApiError) as caught:
        hub.client(tmp_path, "lh_pat_not-a-token").projects()
    assert caught.value.status == 401


def test_export_and_incremental_export(hub: Hub, session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = hub.client(tmp_path)
    full = client.export(hub.project.public_id, "coco")
    assert full.file_name == "labelhub-training-set.coco.json" and full.mark.startswith("m1.")
    assert len(json.loads(full.data)["images"]) == 3
    street = next(i for i in hub.images if i.file_name == "street.jpg")
    ann.save_annotations(
        session,
        actor=hub.producer,
        image_id=street.public_id,
        base_revision=2,
        edits=[ann.BoxEdit("delete", {"id": f"{street.public_id[:8]}-0"})],
    )
    later = client.export(hub.project.public_id, "yolo", since=full.mark)
    names = zipfile.ZipFile(io.BytesIO(later.data)).namelist()
    assert [n for n in names if n.startswith("labels/")] == ["labels/street.txt"]
    assert later.mark != full.mark
    with pytest.raises(LabelHubApiError) as caught:
        client.export(hub.project.public_id, "tfrecord")
    assert caught.value.status == 422


def test_plain_python_dataset(hub: Hub, tmp_path) -> None:  # type: ignore[no-untyped-def]
    seen: list[tuple[int, int]] = []
    data = LabelHubDetection(
        hub.client(tmp_path),
        hub.project.public_id,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen[-1] == (3, 3)
    assert data.classes == ["car", "cat", "dog"] and data.num_classes == 4
    samples = {t["file_name"]: (img, t) for img, t in data.samples()}
    image, target = samples["dog.jpg"]
    assert image.size == (320, 240) and image.mode == "RGB"
    assert sorted(zip(target["labels"], target["boxes"], strict=True)) == [
        (2, [150, 40, 210, 100]),
        (3, [10, 20, 110, 100]),
    ]
    assert samples["empty.jpg"][1]["boxes"] == []
    only_dogs = LabelHubDetection(hub.client(tmp_path), hub.project.public_id, classes=["dog"])
    assert sum(len(t["labels"]) for _, t in only_dogs.samples()) == 1


def test_the_client_imports_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import labelhub_app.client as c\n"
        "from labelhub_app.client import LabelHubDetectionDataset\n"
        "assert c.LabelHubClient and LabelHubDetectionDataset\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_torch_dataset_without_torch_still_lists_and_iterates(
    hub: Hub, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "torch.utils.data", None)
    data = LabelHubDetectionDataset(hub.client(tmp_path), hub.project.public_id)
    assert len(data) == 3 and len(list(data.samples())) == 3
    with pytest.raises(ImportError, match="install torch"):
        data[0]
