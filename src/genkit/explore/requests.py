"""What the page may ask for: one pydantic model per action, checked before any work is queued.

Every parameter is a number, a choice among fixed words, a run's key (looked up
among the served runs), a sampler's name (looked up among registered samplers),
a test image's index or an upload's random id: nothing a request says is ever
used as a path. Unknown parameters are refused by name, so a mistyped or
injected field never silently does nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from ..errors import GenkitError

#: Largest sample grid one request may ask for.
MAX_SAMPLES = 64
Seed = Annotated[int, Field(ge=0, le=2**31 - 1)]
Count = Annotated[int, Field(ge=1, le=MAX_SAMPLES)]
Index = Annotated[int, Field(ge=0, le=MAX_SAMPLES - 1)]


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _exactly_one(model: BaseModel, names: tuple[str, ...], what: str) -> None:
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        raise ValueError(f"{what} needs exactly one of {', '.join(names)}")


class ImageRef(Params):
    """A test image of the run (by index) or an image uploaded before (by the id the upload returned)."""

    test: int | None = Field(None, ge=0)
    upload: str | None = Field(None, pattern=r"^[0-9a-f]{32}$")

    @model_validator(mode="after")
    def _one(self):
        _exactly_one(self, ("test", "upload"), "an image")
        return self


class GridSample(Params):
    """Sample ``index`` of the grid of ``n`` samples drawn with ``seed`` (and ``temperature``)."""

    seed: Seed
    n: Count
    temperature: float | None = Field(None, ge=0, le=100)
    index: Index

    @model_validator(mode="after")
    def _in_grid(self):
        if self.index >= self.n:
            raise ValueError(f"sample {self.index} is not in a grid of {self.n}")
        return self


class Point(Params):
    """A point of the manifold picture with ``side`` tiles a side, as fractions from its top left."""

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    side: int = Field(ge=2, le=40)


class Base(Params):
    """Where the latent sliders start: the mean code of the test images, a grid sample, an
    encoded image, or a point of the manifold."""

    mean: Literal[True] | None = None
    sample: GridSample | None = None
    image: ImageRef | None = None
    point: Point | None = None

    @model_validator(mode="after")
    def _one(self):
        _exactly_one(self, ("mean", "sample", "image", "point"), "a base")
        return self


class SamplePair(Params):
    seed: Seed
    n: Count
    temperature: float | None = Field(None, ge=0, le=100)
    first: Index
    second: Index

    @model_validator(mode="after")
    def _in_grid(self):
        if max(self.first, self.second) >= self.n:
            raise ValueError(f"both samples must be in the grid of {self.n}")
        if self.first == self.second:
            raise ValueError("pick two different samples")
        return self


class ClassPair(Params):
    first: int | None = Field(None, ge=0, le=100_000)
    second: int | None = Field(None, ge=0, le=100_000)
    seed: Seed = 0


class Request(Params):
    run: str = Field(max_length=200)
    #: Requests with the same slot replace each other while they wait (a dragged slider).
    slot: str | None = Field(None, max_length=120, pattern=r"^[A-Za-z0-9:_.-]+$")


class SampleRequest(Request):
    action: Literal["sample"]
    seed: Seed = 0
    n: Count = 16
    sampler: str | None = Field(None, max_length=100)
    temperature: float | None = Field(None, ge=0, le=100)
    steps: int | None = Field(None, ge=1, le=10_000)
    guidance: float | None = Field(None, ge=0, le=100)
    label: int | None = Field(None, ge=0, le=100_000)

    @property
    def options(self) -> dict:
        return {"temperature": self.temperature, "steps": self.steps, "guidance": self.guidance}


class InterpolateRequest(Request):
    action: Literal["interpolate"]
    method: Literal["linear", "spherical"] = "linear"
    steps: int = Field(7, ge=1, le=30)
    samples: SamplePair | None = None
    classes: ClassPair | None = None

    @model_validator(mode="after")
    def _one(self):
        _exactly_one(self, ("samples", "classes"), "an interpolation")
        return self


class DirectionsRequest(Request):
    action: Literal["directions"]


class MoveRequest(Request):
    action: Literal["move"]
    base: Base
    offsets: list[Annotated[float, Field(ge=-5, le=5)]] = Field(default_factory=list, max_length=16)


class ManifoldRequest(Request):
    action: Literal["manifold"]
    side: int = Field(16, ge=2, le=40)


class ScoreRequest(Request):
    action: Literal["score"]
    image: ImageRef


class CompleteRequest(Request):
    action: Literal["complete"]
    image: ImageRef
    k: int = Field(5, ge=1, le=12)
    seed: Seed = 0


class TestImagesRequest(Request):
    action: Literal["test_images"]
    n: int = Field(12, ge=1, le=48)
    seed: Seed = 0


AnyRequest = Annotated[
    SampleRequest
    | InterpolateRequest
    | DirectionsRequest
    | MoveRequest
    | ManifoldRequest
    | ScoreRequest
    | CompleteRequest
    | TestImagesRequest,
    Field(discriminator="action"),
]
ACTIONS = (
    "sample",
    "interpolate",
    "directions",
    "move",
    "manifold",
    "score",
    "complete",
    "test_images",
)
_ADAPTER = TypeAdapter(AnyRequest)


class RequestError(GenkitError):
    """A request the page (or anyone) sent that cannot be served; one line."""


class UnknownRun(RequestError):
    """A request for a run this server does not serve."""


def parse_request(data) -> Request:
    """A validated request, or a one-line :class:`RequestError` naming the first bad parameter."""
    if not isinstance(data, dict):
        raise RequestError("a request is a JSON object with an 'action' and a 'run'")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise RequestError(describe_error(exc)) from None


def describe_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"] if not _is_union_tag(part))
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown parameter '{where}'"
    if kind == "union_tag_not_found":
        return f"parameter 'action' is missing (one of: {', '.join(ACTIONS)})"
    if kind == "union_tag_invalid":
        return f"unknown action {str(error.get('ctx', {}).get('tag'))[:60]!r} (one of: {', '.join(ACTIONS)})"
    message = error["msg"].removeprefix("Value error, ")
    return f"parameter '{where}': {message}" if where else message


def _is_union_tag(part) -> bool:
    return isinstance(part, str) and part in ACTIONS
