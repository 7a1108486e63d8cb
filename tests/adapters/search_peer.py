"""A second LabelHub process for the multi-process search test: reads one JSON command per line
on stdin, answers one JSON line on stdout. Settings (the same database) come from the env.

Commands: ``{"op": "relabel", "email", "image", "labels"}`` and ``{"op": "price", ...,
"price"}`` and ``{"op": "withdraw", ...}`` write through the services and answer the wall-clock
time of the commit; ``{"op": "wait", "labels", "total", "timeout"}`` polls this process's own
search until it finds ``total`` images and answers how long that took.
"""

from __future__ import annotations

import json
import sys
import time

from sqlmodel import select

from labelhub_app import db
from labelhub_app.models import User
from labelhub_app.services import images, search


def _actor(session, email):  # type: ignore[no-untyped-def]
    return session.exec(select(User).where(User.email == email)).one()


def handle(command: dict) -> dict:  # type: ignore[type-arg]
    op = command["op"]
    with db.session_scope() as session:
        if op == "search":
            page = search.search_market(
                session, query=search.MarketQuery(labels=tuple(command["labels"]))
            )
            return {"total": page.total}
        if op == "wait":
            started = time.monotonic()
            query = search.MarketQuery(labels=tuple(command["labels"]), mode="all")
            while True:
                total = search.search_market(session, query=query).total
                session.rollback()  # a fresh snapshot for the next poll
                if total == command["total"] or time.monotonic() - started > command["timeout"]:
                    return {"total": total, "elapsed": time.monotonic() - started}
                time.sleep(0.01)
        actor = _actor(session, command["email"])
        if op == "relabel":
            images.update_image(
                session, actor=actor, public_id=command["image"], labels=command["labels"]
            )
        elif op == "price":
            images.update_image(
                session, actor=actor, public_id=command["image"], price_cents=command["price"]
            )
        elif op == "withdraw":
            images.set_image_on_sale(
                session, actor=actor, public_id=command["image"], on_sale=False
            )
        else:
            return {"error": f"unknown op {op}"}
        return {"committed": time.time()}


def main() -> int:
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        sys.stdout.write(json.dumps(handle(json.loads(line))) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
