"""Background jobs of the API (indexing uploads): ``POST /v1/kbs/{kb}/documents`` starts one and
``GET /v1/jobs/{id}`` follows it, with its progress and, at the end, its report or its error.

Jobs run on one worker thread, one at a time: an index has one writer anyway (its lock), and
the embedding model's threads would only compete. The last ``KEEP`` jobs are remembered.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from ragchat.errors import RagchatError

LOG = logging.getLogger("ragchat.serve")
KEEP = 200

State = Literal["queued", "running", "done", "failed"]
Progress = Callable[[float, str], None]


@dataclass
class Job:
    """One job: its state, progress (0..1 and a message), and its result or error."""

    id: str
    kind: str
    kb: str
    state: State = "queued"
    progress: float = 0.0
    message: str = "queued"
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "object": "job", "kind": self.kind, "kb": self.kb, "state": self.state,
                "progress": round(self.progress, 3), "message": self.message, "result": self.result,
                "error": self.error, "created": int(self.created),
                "finished": int(self.finished) if self.finished else None}


class Jobs:
    """Runs jobs one at a time in a worker thread and keeps their state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragchat-job")

    def submit(self, kind: str, kb: str, work: Callable[[Progress], dict[str, Any]],
               cleanup: Callable[[], None] | None = None) -> Job:
        """Queue ``work`` (called with a progress callback; returns the result) and return its job."""
        job = Job(id="job-" + uuid.uuid4().hex, kind=kind, kb=kb)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP:
                self._jobs.popitem(last=False)
        self._worker.submit(self._run, job, work, cleanup)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: Job, work: Callable[[Progress], dict[str, Any]], cleanup: Callable[[], None] | None) -> None:
        def progress(fraction: float, message: str) -> None:
            job.progress, job.message = max(0.0, min(1.0, fraction)), message

        job.state, job.message = "running", "started"
        try:
            job.result = work(progress)
            job.state, job.progress, job.message = "done", 1.0, "done"
        except RagchatError as exc:
            job.error = {"type": type(exc).__name__, "message": str(exc)}
            job.state, job.message = "failed", str(exc)
        except Exception:  # a bug: logged with its traceback, reported without it
            LOG.exception("job %s failed", job.id)
            job.error = {"type": "internal_error", "message": "internal error; see the server log"}
            job.state, job.message = "failed", job.error["message"]
        finally:
            job.finished = time.time()
            if cleanup is not None:
                cleanup()
