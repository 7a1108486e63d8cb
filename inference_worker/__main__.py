"""`python -m inference_worker`: placeholder entry point until the job queue exists."""

from __future__ import annotations

import sys


def main() -> int:
    sys.stderr.write(
        "The inference worker arrives with the auto-labelling issue; nothing to run yet.\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
