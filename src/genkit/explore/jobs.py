"""The explorer's one worker: every request that touches a model waits its turn here.

One thread runs one job at a time, so however many tabs click at once the CPU
runs one model computation (with torch's own threads) and the rest wait in
order. A job reports progress (``progress(done, total)``, which the samplers
and the scoring loop call) and its result or one-line error; the page asks for
its state with a long poll that answers as soon as anything changes. A job
still waiting is dropped when a newer one with the same ``slot`` arrives (a
dragged slider asks once per step; only the last position matters).
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import GenkitError

Progress = Callable[[int, int], None]
Work = Callable[[Progress], dict]


class QueueFull(GenkitError):
    """More requests are waiting than the explorer holds; the page may ask again shortly."""


@dataclass
class Job:
    id: str
    work: Work = field(repr=False)
    slot: str | None = None
    state: str = "queued"  # queued, running, done, error, superseded
    progress: tuple[int, int] | None = None
    result: dict | None = None
    error: str | None = None
    version: int = 0
    submitted: float = field(default_factory=time.perf_counter)
    started: float | None = None
    finished: float | None = None

    @property
    def over(self) -> bool:
        return self.state in ("done", "error", "superseded")


class JobQueue:
    """A FIFO of jobs run by one worker thread; its state is read from the event loop."""

    def __init__(self, limit: int = 64, keep: int = 256):
        self.limit, self.keep = limit, keep
        self._lock = threading.Condition()
        self._waiting: deque[Job] = deque()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._events: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None

    # -- life -----------------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.Thread(target=self._run, name="genkit-explore-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop taking jobs; a running one may finish within ``timeout`` (the thread is a daemon)."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the event loop's side ------------------------------------------------
    def submit(self, work: Work, slot: str | None = None) -> Job:
        job = Job(id=secrets.token_hex(8), work=work, slot=slot)
        with self._lock:
            if slot is not None:
                for old in [j for j in self._waiting if j.slot == slot]:
                    self._waiting.remove(old)
                    self._finish(old, "superseded")
            if len(self._waiting) >= self.limit:
                raise QueueFull(f"the explorer is busy: {len(self._waiting)} requests are waiting; try again shortly")
            self._waiting.append(job)
            self._jobs[job.id] = job
            self._forget_old()
            self._lock.notify_all()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def snapshot(self, job: Job) -> dict[str, Any]:
        with self._lock:
            ahead = self._ahead(job)
            state = {
                "job": job.id,
                "state": job.state,
                "version": job.version,
                "ahead": ahead,
                "progress": None if job.progress is None else {"done": job.progress[0], "total": job.progress[1]},
            }
            if job.state == "done":
                state["result"] = job.result
                state["seconds"] = round((job.finished or 0) - (job.started or 0), 4)
            if job.state == "error":
                state["error"] = job.error
            return state

    async def wait(self, job: Job, after: int, timeout: float) -> dict[str, Any]:
        """The job's state once its version passes ``after`` (or it is over), or after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while job.version <= after and not job.over:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            event = self._events.setdefault(job.id, asyncio.Event())
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                break
        return self.snapshot(job)

    def _notify(self, job_id: str) -> None:  # on the event loop
        event = self._events.pop(job_id, None)
        if event is not None:
            event.set()

    # -- the worker's side ----------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._stopping:
                    self._lock.wait()
                if self._stopping:
                    return
                job = self._waiting.popleft()
                job.state, job.started = "running", time.perf_counter()
                self._changed(job)
                for waiting in self._waiting:  # one fewer ahead of each
                    self._changed(waiting)
            try:
                result = job.work(functools.partial(self._progress, job))
            except GenkitError as exc:
                self._end(job, "error", error=str(exc))
            except Exception as exc:  # a plugin's bug ends its request, never the server
                self._end(job, "error", error=describe_unexpected(exc))
            else:
                self._end(job, "done", result=result)

    def _progress(self, job: Job, done: int, total: int) -> None:
        with self._lock:
            job.progress = (int(done), int(total))
            self._changed(job)

    def _end(self, job: Job, state: str, *, result: dict | None = None, error: str | None = None) -> None:
        with self._lock:
            job.result, job.error = result, error
            self._finish(job, state)

    # -- under the lock -------------------------------------------------------
    def _finish(self, job: Job, state: str) -> None:
        job.state, job.finished = state, time.perf_counter()
        job.work = None  # let go of what the request held
        self._changed(job)

    def _changed(self, job: Job) -> None:
        job.version += 1
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._notify, job.id)

    def _ahead(self, job: Job) -> int:
        if job.state != "queued":
            return 0
        running = any(j.state == "running" for j in self._jobs.values())
        return int(running) + next((i for i, j in enumerate(self._waiting) if j is job), 0)

    def _forget_old(self) -> None:
        while len(self._jobs) > self.keep:
            oldest = next((k for k, j in self._jobs.items() if j.over), None)
            if oldest is None:
                return
            del self._jobs[oldest]


def describe_unexpected(exc: Exception) -> str:
    """An unexpected exception as the command line words it: who raised it, and its first line."""
    from ..cli.views import blame

    if os.environ.get("GENKIT_DEBUG", "").strip() not in ("", "0"):
        import traceback

        traceback.print_exception(exc)
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return f"{blame(exc)} raised {type(exc).__name__}" + (f": {first}" if first else "")
