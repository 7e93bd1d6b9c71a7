"""``genkit explore``: load the named runs once, then serve the page with uvicorn until Ctrl-C.

The server listens on 127.0.0.1 (a free port unless ``--port`` names one) and
answers only requests addressed to the loopback names; ``--host`` serves on
another address, with a warning, since anyone who reaches it can then use the
models and the machine's CPU. The URL is printed once the server accepts
connections; a browser opens only with ``--open``.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Callable

from ..errors import GenkitError
from . import require_extra

LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}


def serve(
    targets: list[str],
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    open_browser: bool = False,
    device: str = "auto",
    dataset: str | None = None,
    data_dir: str | None = None,
    limit: int = 500,
    samples: int | None = None,
    say: Callable[[str], None] = print,
    warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
) -> None:
    """Serve ``targets`` (run directories, checkpoints or model names) until interrupted.

    Args:
        dataset, data_dir: where the test images come from (default: each run's own dataset).
        limit: how many test images to pick from, score against and encode for latent directions.
        samples: importance or dequantization samples per score (default: the model's own).
        say, warn: where the URL and progress go, and where warnings go.
    """
    require_extra()
    if limit < 1:
        raise GenkitError("--limit must be at least 1")
    loopback = _is_loopback(host)
    sock = _bind(host, port)  # before loading, so a busy port is said at once
    try:
        explorer = load_explorer(targets, device, dataset, data_dir, limit, samples, warn)
        _run(explorer, sock, host, loopback, open_browser, say, warn)
    finally:
        sock.close()


def load_explorer(targets, device, dataset, data_dir, limit, samples, warn):
    """Each named run loaded once (a run named twice is served once), with its test images."""
    from ..api.loading import load
    from .actions import Explorer
    from .session import ExploredRun, load_test_images

    runs, seen, datasets = [], set(), {}
    for target in targets:
        lm = load(target, device)
        if lm.checkpoint.resolve() in seen:
            continue
        seen.add(lm.checkpoint.resolve())
        key = _unique(lm.run.path.name, {r.key for r in runs})
        warn(f"loaded {key} ({lm.name}, {lm.checkpoint.name})")
        test, problem = load_test_images(lm, dataset, data_dir, limit, datasets)
        if problem:
            warn(f"note: {key}: {problem}")
        runs.append(ExploredRun(key, lm, test, problem, samples))
    return Explorer(runs)


def _run(explorer, sock, host: str, loopback: bool, open_browser: bool, say, warn) -> None:
    import uvicorn

    from .app import create_app
    from .jobs import JobQueue

    port = sock.getsockname()[1]
    url = f"http://{_url_host(host)}:{port}/"
    warning = host_warning(host)
    if warning:
        warn(warning)
    allowed = (LOOPBACK_NAMES | {host}) if loopback else None
    app = create_app(explorer, JobQueue(), allowed_hosts=allowed)
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2, server_header=False
    )
    server = _server(config, lambda: _started(url, len(explorer.runs), open_browser, say))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl-C, then raises it again for the caller
        pass
    if not server.started:
        raise GenkitError(f"the explorer could not start on {url}")
    say("stopped")


def _server(config, on_started):
    """uvicorn's server, calling ``on_started`` once it accepts connections."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if self.started:
                on_started()

    return Server(config)


def _started(url: str, count: int, open_browser: bool, say) -> None:
    say(f"serving {count} run{'s' if count != 1 else ''} at {url} (Ctrl-C to stop)")
    sys.stdout.flush()
    if open_browser:
        import webbrowser

        webbrowser.open(url)


def _bind(host: str, port: int | None) -> socket.socket:
    """A listening socket on ``host``: ``port``, or a free port when None."""
    try:
        infos = socket.getaddrinfo(host, port or 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise GenkitError(f"--host {host}: not an address this machine can serve on ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if port and exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise GenkitError(
                f"port {port} on {host} is in use; choose another --port, or leave it out for a free one"
            ) from None
        raise GenkitError(f"cannot serve on {host}:{port or 0} ({exc.strerror or exc})") from None
    sock.setblocking(False)
    return sock


def host_warning(host: str) -> str | None:
    """What to say when serving on ``host``: nothing for loopback, a warning for anything else."""
    if _is_loopback(host):
        return None
    return (
        f"warning: serving on {host}: anyone who can reach this address can use these models and this "
        "machine's CPU; leave out --host to serve on 127.0.0.1 only"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _unique(name: str, taken: set[str]) -> str:
    key, i = name, 2
    while key in taken:
        key, i = f"{name}-{i}", i + 1
    return key
