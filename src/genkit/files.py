"""Writing files so that no reader ever sees half of one, and cleaning up after writers that died.

Every file genkit writes (checkpoints, run JSON, metrics, pictures) is written to a temporary
file in the target's directory, flushed to disk, and renamed into place: a reader sees the old
file or the new one, never a torn one. A temporary file's name carries its writer's process id
and host (``.NAME.PID-HOST.RANDOM.tmp``), so the next writer or reader of a run can tell the
leftovers of a killed process from a write in progress and remove them. A write that fails (a
full disk, a read-only directory) is one :class:`WriteError` line naming the file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from .errors import GenkitError

#: Temporary files without a writer's process id (written by an older genkit) count as
#: leftovers once they are this old.
UNTAGGED_STALE_SECONDS = 3600
# mkstemp makes files only their owner can read; a written file gets the mode open() would give it.
_UMASK = os.umask(0)
os.umask(_UMASK)
_TAGGED = re.compile(r"^\..+\.(\d+)-([0-9a-f]{8})\.[^.]+\.tmp$")
_UNTAGGED = re.compile(r"^\..+\.tmp(\.png)?$")


class WriteError(GenkitError, OSError):
    """A file could not be written (disk full, read-only, no permission); ``path`` names it.
    An ``OSError`` too, so code that caught the OS's own error still catches it."""

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"could not write {path}: {reason}")


def host_tag() -> str:
    """Eight hex digits naming this machine (temporary files and run locks record it)."""
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file beside ``path``, then rename it into place.

    The temporary file is removed if anything fails; an OS error (or a library's report of
    one, such as safetensors' "I/O error: No space left on device") is a :class:`WriteError`.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-{host_tag()}.", suffix=".tmp")
        try:
            os.fchmod(fd, 0o666 & ~_UMASK)
        finally:
            os.close(fd)
    except OSError as exc:
        raise WriteError(path, _reason(exc)) from None
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except Exception as exc:
        reason = _reason(exc)
        if reason is None:
            raise
        raise WriteError(path, reason) from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError:
            pass  # a read-only directory that let mkstemp through cannot lose the file either
    return path


@contextmanager
def exclusive(lock_file: str | Path, for_path: str | Path):
    """Hold an exclusive ``flock`` on ``lock_file`` (created if missing) for a read-modify-write of
    ``for_path``, so two processes appending to one file both get their line in. Where there is no
    flock (Windows) it only runs the block; a lock file that cannot be made is a WriteError of ``for_path``."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
    except OSError as exc:
        raise WriteError(for_path, _reason(exc) or str(exc)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_text_atomic(path: str | Path, text: str) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    return atomic_write(path, write)


def _reason(exc: BaseException) -> str | None:
    """What an OS-level failure was, in words; None for an exception that is not one."""
    if isinstance(exc, OSError):
        return exc.strerror or os.strerror(exc.errno or 0) or type(exc).__name__
    text = str(exc)
    for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO):
        if os.strerror(code) in text:
            return os.strerror(code)
    return None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine and has not exited (a zombie has)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def remove_stale_temps(directory: str | Path) -> list[Path]:
    """Remove the temporary files under ``directory`` (one level deep) left by writers that died.

    A tagged file is removed when its writer ran on this machine and is gone; an untagged one
    (an older genkit's) when it is over an hour old. Files that cannot be removed are left.
    """
    directory = Path(directory)
    removed = []
    me = host_tag()
    for folder in (directory, *(d for d in _subdirs(directory))):
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            tagged = _TAGGED.match(name)
            if tagged:
                stale = tagged.group(2) == me and not pid_alive(int(tagged.group(1)))
            elif _UNTAGGED.match(name):
                try:
                    stale = time.time() - entry.stat().st_mtime > UNTAGGED_STALE_SECONDS
                except OSError:
                    stale = False
            else:
                continue
            if stale and entry.is_file():
                try:
                    entry.unlink()
                    removed.append(entry)
                except OSError:
                    pass
    return removed


def _subdirs(directory: Path) -> list[Path]:
    try:
        return [d for d in directory.iterdir() if d.is_dir() and not d.name.startswith(".")]
    except OSError:
        return []
