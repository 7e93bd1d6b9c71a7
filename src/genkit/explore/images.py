"""Images in and out of the page: uploads decoded safely in memory, tensors to PNG data URLs.

An upload is untrusted bytes. It is read into memory up to a size limit (the
app stops reading past it), identified by Pillow from its content, never by
its name or declared type, accepted only in a few still-image formats, and
refused before decoding when its header announces more pixels than a limit
(a small file can announce a huge image). Only the first frame is decoded.
"""

from __future__ import annotations

import base64
import io
import warnings

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import GenkitError

#: Formats an upload may be in, as Pillow names them.
FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
#: The largest image an upload may announce, in pixels (a 2,048 x 2,048 photo is well inside).
MAX_PIXELS = 4096 * 4096
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}


class UploadError(GenkitError):
    """An upload that is not an image genkit can read; the message is one line for the page."""


def decode_upload(data: bytes) -> Image.Image:
    """The first frame of an uploaded image, decoded in memory; one-line :class:`UploadError` otherwise."""
    if not data:
        raise UploadError("the upload is empty; send an image file (PNG, JPEG, GIF, WebP or BMP)")
    try:
        with warnings.catch_warnings():  # Pillow warns of a huge announced size; it is refused below either way
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError:
        raise UploadError("the upload is not an image genkit reads (PNG, JPEG, GIF, WebP or BMP)") from None
    except Image.DecompressionBombError:
        raise UploadError(f"the image announces a huge size; at most {MAX_PIXELS:,} pixels are accepted") from None
    except (OSError, ValueError) as exc:
        raise UploadError(f"the upload cannot be read as an image ({_first_line(exc)})") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise UploadError(f"the image is {width}x{height} pixels; at most {MAX_PIXELS:,} pixels are accepted")
    try:
        image.seek(0)
        image.load()  # decodes now, inside this try, rather than on first use
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise UploadError(f"the image is damaged ({_first_line(exc)})") from None
    return image


def fit_image(image: Image.Image, shape: tuple[int, int, int]) -> torch.Tensor:
    """An image as a model's input: ``uint8 [1, C, H, W]`` of ``shape`` (channels converted, resized)."""
    channels, height, width = shape
    if channels not in _MODES:
        raise UploadError(f"cannot turn an image into {channels} channels")
    converted = image.convert(_MODES[channels])
    if converted.size != (width, height):
        converted = converted.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=3.0)
    array = np.asarray(converted, dtype=np.uint8).reshape(height, width, channels)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0)


def png_data_url(image: torch.Tensor) -> str:
    """One image ``[C, H, W]`` with values in [0, 1] as a ``data:image/png`` URL."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def png_data_urls(images: torch.Tensor) -> list[str]:
    """Each image of ``[N, C, H, W]`` in [0, 1] as a PNG data URL."""
    return [png_data_url(im) for im in images.detach().float().cpu()]


def png_bytes(image: torch.Tensor) -> bytes:
    array = image.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).cpu()
    channels = array.shape[0]
    pixels = array[0].numpy() if channels == 1 else array.permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def bytes_data_url(data: bytes, kind: str = "image/png") -> str:
    return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
