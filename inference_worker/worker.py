"""The worker loop: claim a job, run it with a heartbeat, complete, fail or release it.

One ``Worker`` runs one job at a time. While a job runs, a heartbeat thread renews its lease
every third of the lease (and records progress); when the heartbeat is refused (the job was
cancelled, or the lease was lost to another worker) the job stops at its next check. SIGTERM
(and Ctrl-C) ask the worker to stop: the current batch finishes, then the job is completed if
that was its last batch or released to the queue (not counted as an attempt), and the process
exits 0. Idle, it polls with a backoff that doubles up to ``LABELHUB_WORKER_IDLE_MAX_S``, and
now and then queues global training when enough corrections piled up.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labelhub_app.adapters.storage import get_store
from labelhub_app.config import Settings, get_settings
from labelhub_app.db import session_scope
from labelhub_app.errors import LabelHubError
from labelhub_app.models.jobs import Job
from labelhub_app.services import detectors, jobs

log = logging.getLogger("inference_worker")

SCHEDULE_EVERY_S = 30.0


class JobStopped(Exception):
    """The job must stop now: ``reason`` is "shutdown", "cancelled" or "lost"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class JobContext:
    """What a job handler gets: its job, progress reporting and the stop check."""

    job: Job
    worker: Worker
    _progress: float = 0.0
    _message: str = ""
    lost: threading.Event = field(default_factory=threading.Event)

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload

    def progress(self, fraction: float, message: str) -> None:
        """Record progress now (one small UPDATE) and check whether to stop."""
        self._progress, self._message = fraction, message
        self.worker.beat(self)

    def should_stop(self) -> bool:
        return self.lost.is_set() or self.worker.stopping.is_set()

    def check(self) -> None:
        """Raise JobStopped if the job was cancelled, taken over, or the worker is stopping."""
        if self.lost.is_set():
            with session_scope() as session:
                cancelled = jobs.is_cancelled(session, job_id=self.job.id)  # type: ignore[arg-type]
            raise JobStopped("cancelled" if cancelled else "lost")
        if self.worker.stopping.is_set():
            raise JobStopped("shutdown")


Handler = Callable[[JobContext], dict[str, Any]]


class Worker:
    def __init__(
        self,
        *,
        worker_id: str | None = None,
        kinds: list[str] | None = None,
        settings: Settings | None = None,
        batch_pause_s: float = 0.0,
    ) -> None:
        self.settings = settings or get_settings()
        self.worker_id = worker_id or new_worker_id()
        self.kinds = kinds or None
        self.stopping = threading.Event()
        self.batch_pause_s = batch_pause_s  # tests and demos: time to watch (or kill) a job
        self._detectors: OrderedDict[str, Any] = OrderedDict()
        self._last_schedule = 0.0
        self.jobs_done = 0
        from inference_worker import handlers

        self.handlers: dict[str, Handler] = {
            "autolabel": handlers.autolabel,
            "train": handlers.train,
            "baseline_train": handlers.train,
        }

    # -- signals --
    def install_signal_handlers(self) -> dict[int, Any]:
        """SIGTERM and SIGINT stop the worker after its batch; returns the previous handlers."""

        def stop(signum: int, _frame: Any) -> None:
            log.info(
                "%s received: finishing the current batch, then stopping",
                signal.Signals(signum).name,
            )
            self.stopping.set()

        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        return previous

    # -- the loop --
    def run(self, *, max_jobs: int | None = None, exit_when_idle: bool = False) -> int:
        """Work until stopped, ``max_jobs`` are done, or (``exit_when_idle``) nothing is due."""
        log.info(
            "worker %s started (kinds: %s, database: %s)",
            self.worker_id,
            ", ".join(self.kinds or ["all"]),
            self.settings.resolved_database_url.split("@")[-1],
        )
        idle = 0.1
        while not self.stopping.is_set():
            if max_jobs is not None and self.jobs_done >= max_jobs:
                break
            try:
                with session_scope() as session:
                    job = jobs.claim_next(
                        session,
                        worker_id=self.worker_id,
                        kinds=self.kinds,
                        lease_s=self.settings.job_lease_s,
                    )
                claim_failed = False
            except Exception:  # the database is away or busy: wait and poll again
                log.exception("could not claim a job; trying again in %.1f s", idle)
                job, claim_failed = None, True
            if job is None:
                if exit_when_idle and not claim_failed:
                    break
                self._maybe_schedule()
                self.stopping.wait(idle)
                idle = min(idle * 2, self.settings.worker_idle_max_s)
                continue
            idle = 0.1
            try:
                self.run_job(job)
            except Exception:  # its outcome was not recorded: the lease expires, it runs again
                log.exception("job %s: could not record its outcome", job.public_id)
            self.jobs_done += 1
        log.info("worker %s stopped after %d jobs", self.worker_id, self.jobs_done)
        return 0

    def _maybe_schedule(self) -> None:
        now = time.monotonic()
        if now - self._last_schedule < SCHEDULE_EVERY_S:
            return
        self._last_schedule = now
        try:
            with session_scope() as session:
                job = detectors.maybe_schedule_training(session)
            if job is not None:
                log.info("queued training job %s: %s", job.public_id, job.payload.get("reason"))
        except Exception:  # scheduling must never stop the worker
            log.exception("could not check whether to retrain")

    # -- one job --
    def beat(self, ctx: JobContext) -> None:
        with session_scope() as session:
            ok = jobs.heartbeat(
                session,
                job_id=ctx.job.id,  # type: ignore[arg-type]
                worker_id=self.worker_id,
                progress=ctx._progress,
                message=ctx._message or None,
                lease_s=self.settings.job_lease_s,
            )
        if not ok:
            ctx.lost.set()

    def _heartbeat_loop(self, ctx: JobContext, done: threading.Event) -> None:
        every = max(0.5, self.settings.job_lease_s / 3)
        while not done.wait(every):
            try:
                self.beat(ctx)
            except Exception:  # a missed beat is retried; the lease has slack
                log.exception("heartbeat failed for job %s", ctx.job.public_id)

    def run_job(self, job: Job) -> None:
        log.info(
            "job %s (%s) claimed, attempt %d of %d",
            job.public_id,
            job.kind,
            job.attempts,
            job.max_attempts,
        )
        ctx = JobContext(job, self)
        done = threading.Event()
        beater = threading.Thread(target=self._heartbeat_loop, args=(ctx, done), daemon=True)
        beater.start()
        started = time.monotonic()
        try:
            handler = self.handlers.get(job.kind)
            if handler is None:
                raise LabelHubError(f"This worker cannot run {job.kind!r} jobs.")
            result = handler(ctx)
        except JobStopped as stop:
            done.set()
            if stop.reason == "shutdown":
                with session_scope() as session:
                    jobs.release(session, job_id=job.id, worker_id=self.worker_id)  # type: ignore[arg-type]
                log.info("job %s released: the worker is stopping", job.public_id)
            else:
                log.info("job %s stopped: %s", job.public_id, stop.reason)
            return
        except LabelHubError as exc:  # the job itself is wrong: retrying cannot help
            done.set()
            with session_scope() as session:
                jobs.fail(
                    session,
                    job_id=job.id,
                    worker_id=self.worker_id,
                    error=exc.message,
                    permanent=True,
                )  # type: ignore[arg-type]
            log.warning("job %s failed for good: %s", job.public_id, exc.message)
            return
        except Exception as exc:  # any other failure is retried with backoff
            done.set()
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            with session_scope() as session:
                status = jobs.fail(session, job_id=job.id, worker_id=self.worker_id, error=detail)  # type: ignore[arg-type]
            log.exception("job %s failed (%s)", job.public_id, status)
            return
        finally:
            done.set()
        with session_scope() as session:
            jobs.complete(session, job_id=job.id, worker_id=self.worker_id, result=result)  # type: ignore[arg-type]
        log.info(
            "job %s done in %.1f s: %s",
            job.public_id,
            time.monotonic() - started,
            result.get("summary", ""),
        )

    # -- shared by handlers --
    def detector(self, version_public_id: str, object_key: str):  # type: ignore[no-untyped-def]
        """A model version's detector, loaded once and kept (the two most recent)."""
        from inference_worker.detector import Detector, device

        if version_public_id in self._detectors:
            self._detectors.move_to_end(version_public_id)
            return self._detectors[version_public_id]
        with get_store().open(object_key) as fh:
            det = Detector.from_bytes(fh.read()).to(device())
        self._detectors[version_public_id] = det
        while len(self._detectors) > 2:
            self._detectors.popitem(last=False)
        return det


def open_image(key: str):  # type: ignore[no-untyped-def]
    from PIL import Image

    with get_store().open(key) as fh:
        image = Image.open(io.BytesIO(fh.read()))
        image.load()
    return image.convert("RGB")
