"""`python -m inference_worker`: run one worker (configured like the app, LABELHUB_* settings)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m inference_worker",
        description="LabelHub's inference worker: claims auto-label and training jobs from the "
        "database queue. SIGTERM finishes the current batch, then releases or completes the job.",
    )
    parser.add_argument(
        "--kinds", default="", help="comma-separated job kinds to take (default: all)"
    )
    parser.add_argument("--max-jobs", type=int, default=None, help="stop after this many jobs")
    parser.add_argument(
        "--exit-when-idle", action="store_true", help="stop when no job is due (batch runs)"
    )
    parser.add_argument("--worker-id", default=None, help="name in the jobs table")
    parser.add_argument(
        "--batch-pause",
        type=float,
        default=0.0,
        help="seconds to wait between batches (tests and demos: time to watch a job)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run(
        kinds=[k.strip() for k in args.kinds.split(",") if k.strip()],
        max_jobs=args.max_jobs,
        exit_when_idle=args.exit_when_idle,
        worker_id=args.worker_id,
        batch_pause=args.batch_pause,
        log_level=args.log_level,
    )


def run(
    *,
    kinds: list[str] | None = None,
    max_jobs: int | None = None,
    exit_when_idle: bool = False,
    worker_id: str | None = None,
    batch_pause: float = 0.0,
    log_level: str = "INFO",
) -> int:
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from inference_worker.worker import Worker

    worker = Worker(worker_id=worker_id, kinds=kinds or None, batch_pause_s=batch_pause)
    previous = worker.install_signal_handlers()
    try:
        return worker.run(max_jobs=max_jobs, exit_when_idle=exit_when_idle)
    finally:
        for signum, handler in previous.items():  # `labelhub worker` in a longer-lived process
            signal.signal(signum, handler)


if __name__ == "__main__":
    raise SystemExit(main())
