"""A SearchIndex kept in a folder, one JSON file per image: it survives its process being killed.

The dispatcher's crash test runs the dispatcher in a child process against this index and kills
it with SIGKILL; the parent then reads the folder. Searches load every file into the reference
index (slow, obviously correct). ``delay_s`` slows each write so a kill lands mid-batch.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from labelhub_app.adapters.search.base import ImageDoc, IndexHits, IndexQuery
from tests.adapters.reference_index import ReferenceIndex


class FileIndex:
    def __init__(self, folder: Path, *, delay_s: float = 0.0) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.delay_s = delay_s

    def _path(self, image_id: int) -> Path:
        return self.folder / f"{image_id}.json"

    def replace_all(self, docs: Iterable[ImageDoc]) -> None:
        for path in self.folder.glob("*.json"):
            path.unlink()
        for doc in docs:
            self.upsert(doc)

    def upsert(self, doc: ImageDoc) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(doc), fh)
        os.replace(tmp, self._path(doc.image_id))

    def remove(self, image_id: int) -> None:
        self._path(image_id).unlink(missing_ok=True)

    def docs(self) -> dict[int, ImageDoc]:
        found = {}
        for path in self.folder.glob("*.json"):
            data = json.loads(path.read_text())
            data["label_ids"] = tuple(data["label_ids"])
            found[data["image_id"]] = ImageDoc(**data)
        return found

    def search(self, query: IndexQuery) -> IndexHits:
        reference = ReferenceIndex()
        reference.replace_all(self.docs().values())
        return reference.search(query)

    def __len__(self) -> int:
        return len(list(self.folder.glob("*.json")))
