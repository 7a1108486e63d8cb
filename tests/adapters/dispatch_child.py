"""A dispatcher in its own process, for the crash test: ``python -m tests.adapters.dispatch_child
FOLDER BATCH DELAY_S MODE`` (MODE: ``forever`` or ``caught-up``). Settings come from the env."""

from __future__ import annotations

import sys
from pathlib import Path

from labelhub_app import db
from labelhub_app.services.search_dispatch import OutboxDispatcher
from tests.adapters.file_index import FileIndex


def main() -> int:
    folder, batch, delay, mode = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    dispatcher = OutboxDispatcher(
        FileIndex(Path(folder), delay_s=delay), name="file-index", batch_size=batch
    )
    dispatcher.run(db.session_scope, poll_s=0.05, until_caught_up=mode == "caught-up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
