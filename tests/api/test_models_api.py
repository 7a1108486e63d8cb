"""Model versions through the API (#6): list, weights and metrics downloads, permissions."""

from __future__ import annotations

from labelhub_app.adapters.storage import get_store
from labelhub_app.services import detectors
from tests.api.conftest import assert_error, user_with_token


def _version(session, scope="global", owner_id=None):  # type: ignore[no-untyped-def]
    key = f"models/{scope}/weights-{owner_id}.pt"
    get_store().put_bytes(key, b"checkpoint bytes")
    return detectors.register_version(
        session,
        job_id=None,
        scope=scope,
        owner_id=owner_id,
        project_id=None,
        arch="small",
        labels=["circle"],
        train_images=8,
        train_boxes=9,
        heldout_ids=["a", "b"],
        metrics={"ap": 0.5, "ap50": 0.8, "ap75": 0.4},
        object_key=key,
    )


def test_list_and_download_weights_and_metrics(client, session):
    producer, headers = user_with_token(session, "producer")
    own = _version(session, scope="producer", owner_id=producer.id)
    glob = _version(session)
    listed = client.get("/api/v1/models", params={"scope": "producer"}, headers=headers)
    assert listed.status_code == 200, listed.text
    [row] = listed.json()
    assert row["public_id"] == own.public_id and row["active"] and row["downloadable"]
    r = client.get(f"/api/v1/models/{own.public_id}/weights", headers=headers)
    assert r.status_code == 200 and r.content == b"checkpoint bytes"
    assert "labelhub-detector-producer-v1.pt" in r.headers["content-disposition"]
    m = client.get(f"/api/v1/models/{own.public_id}/metrics", headers=headers).json()
    assert (m["ap50"], m["heldout_image_ids"]) == (0.8, ["a", "b"])
    # the global model is the admins' to download; anonymous people get nothing
    assert_error(client.get(f"/api/v1/models/{glob.public_id}/weights", headers=headers), 403)
    assert client.get(f"/api/v1/models/{glob.public_id}/weights").status_code == 401
    assert_error(client.get("/api/v1/models/nope/metrics", headers=headers), 404)
