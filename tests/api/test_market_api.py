"""Search, projects, buying, the bought images, exports and the wallet through the API."""

from __future__ import annotations

import json

from labelhub_app.services import ledger, market
from tests.api.conftest import assert_error, bearer, user_with_token
from tests.factories import make_image, make_project, make_user


def test_search_walks_every_match_once_with_facets_and_total(client, session):
    producer = make_user(session, "producer")
    dogs = {
        make_image(session, producer, labels=("dog",), price_cents=100 + i).public_id
        for i in range(5)
    }
    make_image(session, producer, labels=("cat",), price_cents=50)
    seen, cursor = [], None
    while True:
        params = {
            "labels": "dog",
            "limit": 2,
            "sort": "price_asc",
            **({"cursor": cursor} if cursor else {}),
        }
        page = client.get("/api/v1/search", params=params).json()
        assert page["total"] == 5 and page["facets"] == [{"label": "dog", "count": 5}]
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and set(seen) == dogs
    prices = [client.get(f"/api/v1/images/{i}").json()["price_cents"] for i in seen]
    assert prices == sorted(prices)
    both = client.get("/api/v1/search", params={"labels": "dog,cat", "mode": "any"}).json()
    assert both["total"] == 6 and both["next_cursor"] is None
    assert client.get("/api/v1/search", params={"labels": "unicorn"}).json()["unknown_labels"] == [
        "unicorn"
    ]
    cheap = client.get("/api/v1/search", params={"max_price": 60}).json()
    assert [i["file_name"] for i in cheap["items"]] and cheap["total"] == 1
    r = client.get("/api/v1/search", params={"min_price": 9, "max_price": 1})
    assert "minimum price" in assert_error(r, 422)["message"]
    assert_error(client.get("/api/v1/search", params={"sort": "random"}), 422)


def test_projects_items_buy_and_bought_images(client, session):
    producer = make_user(session, "producer")
    pics = [make_image(session, producer, labels=("cat",), price_cents=300) for _ in range(3)]
    buyer, headers = user_with_token(session, "consumer")

    r = client.post("/api/v1/projects", json={"name": "Cats"}, headers=headers)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert_error(client.post("/api/v1/projects", json={"name": "Cats"}, headers=headers), 409)

    r = client.post(
        f"/api/v1/projects/{pid}/items",
        json={"image_ids": [p.public_id for p in pics]},
        headers=headers,
    )
    assert r.json() == {"added": 3}
    detail = client.get(f"/api/v1/projects/{pid}", headers=headers).json()
    assert len(detail["items"]) == 3 and detail["to_buy_cents"] == 900

    buy = {"image_ids": [pics[0].public_id, pics[1].public_id]}
    assert (
        "idempotency key"
        in assert_error(client.post(f"/api/v1/projects/{pid}/buy", json=buy, headers=headers), 422)[
            "message"
        ]
    )
    first = client.post(
        f"/api/v1/projects/{pid}/buy", json=buy, headers={**headers, "Idempotency-Key": "order-1"}
    )
    assert first.status_code == 200, first.text
    assert [p["image_id"] for p in first.json()["purchases"]] == buy["image_ids"]
    balance = first.json()["balance_cents"]
    retry = client.post(
        f"/api/v1/projects/{pid}/buy", json={**buy, "idempotency_key": "order-1"}, headers=headers
    )
    assert retry.json()["purchases"] == first.json()["purchases"]
    assert retry.json()["balance_cents"] == balance == ledger.balance(session, user=buyer)
    r = client.post(
        f"/api/v1/projects/{pid}/buy",
        json={**buy, "idempotency_key": "a"},
        headers={**headers, "Idempotency-Key": "b"},
    )
    assert_error(r, 422)

    # the bought images, with what the dataset client needs
    seen, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/api/v1/projects/{pid}/images", params=params, headers=headers).json()
        assert page["total"] == 2
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(i["id"] for i in seen) == sorted(buy["image_ids"])
    item = seen[0]
    assert (item["width"], item["height"], item["labels"], item["boxes"]) == (320, 240, ["cat"], [])
    assert item["licence"] == "standard" and item["original_url"].endswith(
        f"/api/v1/images/{item['id']}/original"
    )
    original = client.get(item["original_url"], headers=headers)
    assert original.status_code == 200 and original.content[:2] == b"\xff\xd8"

    r = client.patch(
        f"/api/v1/projects/{pid}", json={"name": "Felines", "archived": True}, headers=headers
    )
    assert r.json()["name"] == "Felines" and r.json()["archived"] is True
    listed = client.get("/api/v1/projects", headers=headers).json()
    assert listed["items"] == []
    listed = client.get("/api/v1/projects", params={"include_archived": True}, headers=headers)
    [summary] = listed.json()["items"]
    assert summary["bought"] == 2 and summary["spent_cents"] == 600
    assert_error(client.patch(f"/api/v1/projects/{pid}", json={}, headers=headers), 422)


def test_project_permissions(client, session):
    owner = make_user(session, "consumer")
    project = make_project(session, owner)
    _, other = user_with_token(session, "consumer")
    _, producer = user_with_token(session, "producer")
    url = f"/api/v1/projects/{project.public_id}"
    for path in ("", "/images", "/export"):
        assert_error(client.get(url + path), 401)
        assert_error(client.get(url + path, headers=other), 404)
        assert_error(client.get(url + path, headers=producer), 403)
    assert_error(
        client.post(f"{url}/buy", json={"image_ids": ["x"], "idempotency_key": "k"}, headers=other),
        404,
    )
    assert_error(client.patch(url, json={"name": "mine now"}, headers=other), 404)
    assert_error(client.get("/api/v1/projects", headers=producer), 403)


def test_export_streams_a_format_with_a_mark_for_next_time(client, session):
    producer = make_user(session, "producer")
    pics = [make_image(session, producer, labels=("dog",)) for _ in range(2)]
    buyer, headers = user_with_token(session, "consumer")
    project = make_project(session, buyer)
    url = f"/api/v1/projects/{project.public_id}/export"
    assert_error(client.get(url, params={"format": "coco"}, headers=headers), 422)
    market.buy_images(
        session,
        buyer=buyer,
        project_id=project.public_id,
        image_ids=[p.public_id for p in pics],
        idempotency_key="k",
    )
    r = client.get(url, params={"format": "coco"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert "attachment" in r.headers["content-disposition"]
    mark = r.headers["labelhub-export-mark"]
    assert mark and len(json.loads(r.content)["images"]) == 2
    r = client.get(url, params={"format": "manifest", "since": mark}, headers=headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["labelhub-export-mark"]
    assert_error(client.get(url, params={"format": "tiff"}, headers=headers), 422)
    assert_error(client.get(url, params={"since": "garbage"}, headers=headers), 422)
    r = client.get(url, params={"format": "yolo"}, headers=headers)
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_wallet_and_topups(client, session):
    buyer, headers = user_with_token(session, "consumer")
    start = client.get("/api/v1/wallet", headers=headers).json()
    assert start["balance_cents"] == ledger.balance(session, user=buyer)
    body = {"amount_cents": 500, "idempotency_key": "t-1"}
    r = client.post("/api/v1/wallet/topup", json=body, headers=headers)
    assert r.json()["balance_cents"] == start["balance_cents"] + 500
    r = client.post("/api/v1/wallet/topup", json=body, headers=headers)  # a retry adds once
    assert r.json()["balance_cents"] == start["balance_cents"] + 500
    r = client.post(
        "/api/v1/wallet/topup",
        json={"amount_cents": 100},
        headers={**headers, "Idempotency-Key": "t-2"},
    )
    assert r.json()["balance_cents"] == start["balance_cents"] + 600
    assert_error(
        client.post("/api/v1/wallet/topup", json={"amount_cents": 100}, headers=headers), 422
    )
    assert_error(
        client.post(
            "/api/v1/wallet/topup",
            json={"amount_cents": 10**9, "idempotency_key": "x"},
            headers=headers,
        ),
        422,
    )
    producer_headers = bearer(session, make_user(session, "producer"))
    assert_error(client.post("/api/v1/wallet/topup", json=body, headers=producer_headers), 403)
    assert_error(client.get("/api/v1/wallet"), 401)
