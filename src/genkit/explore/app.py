"""The explorer's web application (Starlette): the page, its assets and a small JSON API.

    GET  /                    the page
    GET  /assets/NAME         its script and style (from memory; NAME is looked up, never opened)
    GET  /api/runs            what each served run offers (and why not, where it does not)
    POST /api/images          an image as the request body; answers an id for later requests
    POST /api/jobs            {"action": ..., "run": ..., ...}: checked at once, then queued
    GET  /api/jobs/ID?after=V the job's state once it changes past version V (a long poll)

Every error is JSON ``{"error": "one line"}`` with a status that says whose it
is (400 a bad parameter, 404 an unknown run or job, 413 too large, 415 not an
image body, 503 the queue is full), and no error stops the server. Requests
must name this server as their host (so a page elsewhere cannot reach it
through a rebound DNS name) and must not come from another origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from importlib import resources

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import GenkitError
from .actions import Explorer
from .images import decode_upload
from .jobs import JobQueue, QueueFull, describe_unexpected
from .requests import RequestError, UnknownRun, parse_request

#: Largest image upload, in bytes.
MAX_UPLOAD = 2 * 1024 * 1024
#: Largest JSON request, in bytes.
MAX_JSON = 64 * 1024
#: Longest a poll of a job waits for a change, in seconds.
POLL_SECONDS = 15.0
#: Bodies up to this size are read to their end before a 413, so the browser sees the answer.
_DRAIN_LIMIT = 32 * 1024 * 1024
_ASSETS = {"explore.js": "text/javascript; charset=utf-8", "explore.css": "text/css; charset=utf-8"}
_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class TooLarge(GenkitError):
    pass


def create_app(explorer: Explorer, queue: JobQueue, allowed_hosts: set[str] | None = None) -> Starlette:
    """The application serving ``explorer``'s runs through ``queue``.

    ``allowed_hosts``: the host names requests may address (None: any, for ``--host``).
    """
    page = _read_page()

    async def index(request: Request) -> Response:
        return Response(page["index.html"], media_type="text/html; charset=utf-8")

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _ASSETS:
            return _error(f"no asset {name[:80]!r}", 404)
        return Response(page[name], media_type=_ASSETS[name])

    async def runs(request: Request) -> Response:
        return JSONResponse({"runs": explorer.describe(), "limits": {"upload_bytes": MAX_UPLOAD}})

    async def upload(request: Request) -> Response:
        _require_body_type(request, json_body=False)
        data = await _read_body(request, MAX_UPLOAD, "an image")

        def decode(progress) -> dict:
            image = decode_upload(data)
            upload_id = secrets.token_hex(16)
            explorer.keep_upload(upload_id, image)
            return {"image": upload_id, "width": image.size[0], "height": image.size[1]}

        job = queue.submit(decode)  # decoding is CPU work: it waits its turn like the rest
        while not job.over:
            await queue.wait(job, job.version, POLL_SECONDS)
        state = queue.snapshot(job)
        if state["state"] == "error":
            return _error(state["error"], 400)
        return JSONResponse(state["result"])

    async def submit(request: Request) -> Response:
        _require_body_type(request, json_body=True)
        body = await _read_body(request, MAX_JSON, "a request")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise RequestError("the request body is not JSON") from None
        parsed = parse_request(data)
        work = explorer.prepare(parsed)
        job = queue.submit(work, slot=parsed.slot)
        return JSONResponse(queue.snapshot(job), status_code=202)

    async def poll(request: Request) -> Response:
        job = queue.get(request.path_params["job"])
        if job is None:
            return _error("no such job (it may be long finished)", 404)
        try:
            after = int(request.query_params.get("after", "-1"))
        except ValueError:
            raise RequestError("parameter 'after' must be a whole number") from None
        return JSONResponse(await queue.wait(job, after, POLL_SECONDS))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        queue.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            queue.stop()

    routes = [
        Route("/", _answering(index)),
        Route("/assets/{name}", _answering(asset)),
        Route("/api/runs", _answering(runs)),
        Route("/api/images", _answering(upload), methods=["POST"]),
        Route("/api/jobs", _answering(submit), methods=["POST"]),
        Route("/api/jobs/{job}", _answering(poll)),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(Guard, allowed_hosts=allowed_hosts)
    return app


def _answering(handler):
    """``handler`` with every failure answered as one JSON line (the server keeps serving)."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except TooLarge as exc:
            return _error(str(exc), 413)
        except _WrongBody as exc:
            return _error(str(exc), 415)
        except QueueFull as exc:
            return _error(str(exc), 503)
        except UnknownRun as exc:
            return _error(str(exc), 404)
        except GenkitError as exc:
            return _error(str(exc), 400)
        except Exception as exc:  # a bug answers its request, never ends the server
            return _error(describe_unexpected(exc), 500)

    return wrapped


class _WrongBody(GenkitError):
    pass


def _require_body_type(request: Request, json_body: bool) -> None:
    """JSON requests must say so and images must not pretend to be a form: neither can then be sent
    by a plain form or script of another site without the browser asking this server first."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if json_body and kind != "application/json":
        raise _WrongBody("send the request as JSON (Content-Type: application/json)")
    if not json_body and kind in ("", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        raise _WrongBody("send the image file itself as the body (Content-Type: application/octet-stream)")


async def _read_body(request: Request, limit: int, what: str) -> bytes:
    declared = request.headers.get("content-length")
    too_large = TooLarge(f"{what} may be at most {limit // 1024} KiB")
    if declared is not None and declared.isdigit() and int(declared) > _DRAIN_LIMIT:
        raise too_large
    body = bytearray()
    over = False
    async for chunk in request.stream():
        if not over:
            body += chunk
            over = len(body) > limit
    if over:  # read to the end (bounded above), so the browser gets this answer rather than a reset
        raise too_large
    return bytes(body)


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _read_page() -> dict[str, bytes]:
    folder = resources.files(__package__) / "page"
    return {name: (folder / name).read_bytes() for name in ("index.html", *_ASSETS)}


class Guard:
    """Refuses requests that address another host name or come from another origin, and adds
    headers that keep the page from being framed, sniffed or given a referrer."""

    def __init__(self, app, allowed_hosts: set[str] | None = None):
        self.app, self.allowed_hosts = app, allowed_hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        problem = self._problem(scope["method"], headers)
        if problem:
            return await _error(problem, 403)(scope, receive, send)
        is_page = scope["path"] == "/"

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["X-Content-Type-Options"] = "nosniff"
                out["Referrer-Policy"] = "no-referrer"
                out["X-Frame-Options"] = "DENY"
                out["Cache-Control"] = "no-store"
                if is_page:
                    out["Content-Security-Policy"] = _PAGE_POLICY
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _problem(self, method: str, headers: Headers) -> str | None:
        host = headers.get("host", "")
        if self.allowed_hosts is not None and _hostname(host) not in self.allowed_hosts:
            return f"this server answers only to {', '.join(sorted(self.allowed_hosts))}"
        if method not in ("GET", "HEAD"):
            origin = headers.get("origin")
            if origin is not None and origin != f"http://{host}":
                return "requests from another origin are refused"
            if headers.get("sec-fetch-site") == "cross-site":
                return "requests from another site are refused"
        return None


def _hostname(host: str) -> str:
    if host.startswith("["):  # [::1]:8000
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
