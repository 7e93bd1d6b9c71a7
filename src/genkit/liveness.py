"""One writer per run, and telling a live run from a dead one.

- :class:`RunLock`: ``train`` and ``train --resume`` hold an exclusive lock on ``RUN/.lock``
  (``flock``, which the kernel releases when the process ends, however it ends: a lock left by
  a dead process is never in the way). A second writer is refused in one line naming the
  process that holds the run.
- :class:`StatusWriter`: ``RUN/status.json`` says what the run is doing, with the writer's
  process id, host and a heartbeat renewed every :data:`HEARTBEAT_SECONDS` by a background
  thread while it runs.
- :func:`run_status`: what a reader (``genkit runs``, the report) should call a run. A run
  whose status says ``running`` but whose process is gone (killed, out of memory, a power cut)
  is ``stopped``; one that raised is ``crashed`` (the writer records it).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .errors import GenkitError
from .files import host_tag, pid_alive, write_text_atomic

#: How often a running training renews its heartbeat in status.json.
HEARTBEAT_SECONDS = 30.0
#: A heartbeat older than this means the writer is gone (used where its process cannot be asked:
#: another host). Long enough for a slow disk; the thread beats during validation and sampling too.
STALE_SECONDS = 10 * HEARTBEAT_SECONDS
LOCK_FILE = ".lock"


class RunLockedError(GenkitError):
    """Another process is writing the run."""


class RunLock:
    """The exclusive lock of one run directory, held by this process until :meth:`release`."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        try:
            import fcntl
        except ImportError:  # no flock (Windows): runs are not locked there
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_json(self.path)
            os.close(fd)
            raise RunLockedError(
                f"{self.path.parent} is being written by another genkit process ({_describe_holder(holder)}); one "
                "run has one writer: wait for it to end, stop it (kill -TERM PID saves a checkpoint first), or "
                "train into another --out"
            ) from None
        except OSError:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(_identity()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        import fcntl

        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


_HELD: dict[Path, RunLock] = {}


def lock_run(run_dir: str | Path) -> RunLock:
    """Lock a run directory for writing (a no-op if this process holds it already)."""
    key = Path(run_dir).resolve()
    if key not in _HELD:
        _HELD[key] = RunLock(key).acquire()
    return _HELD[key]


def held_runs() -> set[Path]:
    return set(_HELD)


def unlock_runs(keep: set[Path] | None = None) -> None:
    """Release every run lock this process holds except those in ``keep``."""
    for key in list(_HELD):
        if keep is None or key not in keep:
            _HELD.pop(key).release()


def _identity() -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "host_tag": host_tag(),
        "since": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "command": " ".join(["genkit", *sys.argv[1:]])[:300],
    }


def _describe_holder(holder: dict[str, Any]) -> str:
    if not holder.get("pid"):
        return "its details unreadable"
    where = "" if holder.get("host_tag") == host_tag() else f" on {holder.get('host', 'another host')}"
    return f"pid {holder['pid']}{where}, since {holder.get('since', '?')}"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class StatusWriter:
    """Writes ``RUN/status.json``: the status, where training stands, and while running, a heartbeat.

    ``where()`` returns the fields that say where training stands (epoch, step); the heartbeat
    thread calls it too, so a reader sees progress between epochs. Writes never raise from the
    heartbeat thread (a full disk must not kill training; the trainer reports its own writes).
    """

    def __init__(self, run_dir: Path, where):
        self.path = Path(run_dir) / "status.json"
        self.where = where
        self._state: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = time.strftime("%Y-%m-%dT%H:%M:%S")

    def set(self, status: str, **extra: Any) -> None:
        with self._lock:
            self._state = {"status": status, **extra}
            self._write()
        if status == "running" and self._thread is None:
            self._thread = threading.Thread(target=self._beat, name="genkit-heartbeat", daemon=True)
            self._thread.start()
        elif status != "running":
            self.stop()

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with self._lock:
                if self._state.get("status") != "running":
                    return
                try:
                    self._write()
                except Exception:  # the next beat tries again
                    pass

    def _write(self) -> None:
        now = time.time()
        data = {
            **self._state,
            **self.where(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "host_tag": host_tag(),
            "started": self._started,
            "heartbeat": round(now, 3),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)),
        }
        write_text_atomic(self.path, json.dumps(data, indent=2, default=str) + "\n")


def run_status(state: dict[str, Any], now: float | None = None) -> str:
    """What to call a run with this status.json content: its recorded status, except that a run
    recorded as running whose writer is gone is ``stopped``."""
    status = str(state.get("status", "unknown"))
    if status != "running":
        return status
    return "running" if writer_alive(state, now) else "stopped"


def writer_alive(state: dict[str, Any], now: float | None = None) -> bool:
    """Whether the process that wrote a running status still runs: asked directly on this host,
    judged by the heartbeat's age elsewhere (and for a status without a process id)."""
    pid = state.get("pid")
    if isinstance(pid, int) and not isinstance(pid, bool) and state.get("host_tag") == host_tag():
        return pid_alive(pid)
    beat = state.get("heartbeat")
    if isinstance(beat, (int, float)) and not isinstance(beat, bool):
        return (now or time.time()) - beat < STALE_SECONDS
    return True  # an older genkit's status: nothing says otherwise
