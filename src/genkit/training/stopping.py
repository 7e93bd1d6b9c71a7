"""Stop requests from outside the process: Ctrl-C, SIGTERM (what schedulers, containers and
systemd send before a kill) and SIGUSR1 (a scheduler's warning). Each only sets a flag that the
training loop reads at its next step boundary, where it saves a resumable checkpoint; a second
Ctrl-C stops at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def stop_requests(
    stopping: Callable[[], bool], request_stop: Callable[[str], None], say: Callable[[str], None]
) -> Iterator[None]:
    """While inside, the signals above call ``request_stop(name)`` (once: later ones are ignored
    while ``stopping()``, except a second Ctrl-C, which raises KeyboardInterrupt). Outside the main
    thread, where Python delivers no signals, nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        name = signal.Signals(signum).name
        if stopping():
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return  # already stopping
        request_stop(name)
        again = " (Ctrl-C again to abort)" if signum == signal.SIGINT else ""
        say(f"{name}: stopping after this step and saving a checkpoint{again}...")

    wanted = [signal.SIGINT, signal.SIGTERM] + ([signal.SIGUSR1] if hasattr(signal, "SIGUSR1") else [])
    previous = {sig: signal.signal(sig, handler) for sig in wanted}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
