"""What ``trackd.Image`` accepts, turned into what it keeps: pixels (a private NumPy copy, or a
PIL image copy) or a file's bytes, checked against the size limit; and the encoding of those
pixels into a file, as W&B does (its normalisation of values, its modes, its file types).

NumPy and Pillow are imported inside the functions (``import trackd`` stays light); tensors
are turned into arrays by :func:`trackd.media.inputs.to_numpy` (torch is never imported).
"""

from __future__ import annotations

import io
import os
import warnings
from typing import Any

from trackd.media import inputs

#: ``file_type`` values (W&B takes png, jpg, jpeg and bmp; gif and webp are what browsers show
#: besides) and the Pillow format that writes each.
FILE_TYPES = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "bmp": "BMP", "gif": "GIF",
              "webp": "WEBP"}
#: The longest side an image may have: W&B's ``Image.MAX_DIMENSION`` (JPEG cannot store more
#: than 65,535 pixels a side, and browsers refuse far smaller images).
MAX_DIMENSION = 65500
#: The most pixels an image may have: the size at which Pillow refuses to open an image as a
#: decompression bomb (twice its default ``MAX_IMAGE_PIXELS``, about 179 megapixels, 537 MB of
#: RGB). A larger image could not be opened again by Pillow (``Image.image`` on a read-back
#: copy, the dashboard), and one such image would take most of the encoder's memory bound.
MAX_PIXELS = 2 * 89_478_485
#: The channel counts an image array may have, and the PIL mode each gets.
CHANNEL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
#: The modes Pillow writes in these formats as they are (others are converted first).
_MODES = {"PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"),
          "BMP": ("1", "L", "P", "RGB", "RGBA")}


def check_file_type(file_type: str | None) -> str:
    """``file_type`` checked and lower-cased (``png`` when None).

    :raises ValueError: not one of :data:`FILE_TYPES`.
    """
    if file_type is None:
        return "png"
    if not isinstance(file_type, str) or file_type.lower() not in FILE_TYPES:
        raise ValueError(f"Image: file_type must be one of {list(FILE_TYPES)}, got {file_type!r}")
    return file_type.lower()


def check_mode(mode: str | None) -> str | None:
    """``mode`` checked as a PIL mode (``L``, ``RGB``, ``RGBA``...).

    :raises ValueError: Pillow has no such mode.
    """
    if mode is None:
        return None
    from PIL import ImageMode

    try:
        ImageMode.getmode(mode)
    except (KeyError, TypeError):
        raise ValueError(f"Image: mode must be a PIL image mode such as 'L', 'RGB' or 'RGBA', "
                         f"got {mode!r}") from None
    return mode


def check_size(width: int, height: int, what: str = "the image") -> None:
    """:raises ValueError: ``width`` × ``height`` is empty, or past :data:`MAX_DIMENSION` or
    :data:`MAX_PIXELS` (naming the size)."""
    size = f"{width}x{height} pixels"
    if width < 1 or height < 1:
        raise ValueError(f"Image: {what} is empty ({size})")
    if width > MAX_DIMENSION or height > MAX_DIMENSION:
        raise ValueError(f"Image: {what} is too large ({size}): a side may have at most "
                         f"{MAX_DIMENSION} pixels")
    if width * height > MAX_PIXELS:
        raise ValueError(f"Image: {what} is too large ({size}): an image may have at most "
                         f"{MAX_PIXELS} pixels (Pillow's decompression-bomb limit)")


def array_pixels(data: Any) -> Any:
    """A private copy of ``data`` (a NumPy array, a torch tensor or anything ``numpy.asarray``
    takes) as H×W or H×W×C pixels (C of 3 or 4), values as given (normalised when encoded).

    H×W, H×W×1/3/4 and C×H×W (C of 1, 3 or 4; the layout of torch tensors) are taken; leading
    axes of length 1 (a batch of one) are dropped.

    :raises ValueError: another shape (naming it), a dtype that is not numbers, or an image
        past the size limit.
    :raises TypeError: ``data`` is not an array of numbers at all (None, a dict...).
    """
    import numpy as np

    torch = inputs.is_torch(data)
    tensor = inputs.to_numpy(data)
    if tensor is not None:
        data = tensor
    arr = np.asarray(data)
    shape = arr.shape
    if not isinstance(data, np.ndarray) and (arr.dtype.kind not in "buif" or arr.ndim == 0):
        raise TypeError(f"Image: cannot make an image from a {type(data).__name__}: give a "
                        "NumPy array, a torch tensor, a PIL image, a matplotlib figure or the "
                        "path of an image file")
    if arr.dtype.kind not in "buif":
        raise ValueError(f"Image: an array of dtype {arr.dtype} is not an image: its values "
                         "must be numbers (uint8, or floats in [0, 1])")
    while arr.ndim > 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 3:
        first, last = arr.shape[0], arr.shape[-1]
        channels_first = first in CHANNEL_MODES and (torch or last not in CHANNEL_MODES)
        if channels_first:
            arr = np.moveaxis(arr, 0, -1)
        elif last not in CHANNEL_MODES:
            arr = None
        if arr is not None and arr.shape[-1] == 1:
            arr = arr[..., 0]
    if arr is None or arr.ndim not in (2, 3):
        raise ValueError(f"Image: an array of shape {tuple(shape)} is not an image: give H×W, "
                         "H×W×C or C×H×W with 1, 3 or 4 channels")
    check_size(int(arr.shape[1]), int(arr.shape[0]), f"an array of shape {tuple(shape)}")
    out = np.array(arr, order="C", copy=True)  # the caller may change its array after log()
    if out.dtype.kind == "b":
        out = out.view(np.uint8)
    return out


def to_uint8(arr: Any, normalize: bool) -> Any:
    """``arr`` as uint8 pixels, as W&B scales them: with ``normalize``, values all in [0, 1]
    are multiplied by 255, values in [-1, 1] mapped from -1..1 to 0..255, others clipped to
    0..255 (each then cut to an integer); without, cast as they are."""
    import numpy as np

    if arr.dtype == np.uint8 and (not normalize or arr.size == 0 or arr.max() > 1):
        return arr
    if not normalize:
        return arr.astype(np.uint8)
    if arr.dtype.kind == "f":
        arr = np.nan_to_num(arr, nan=0.0, posinf=255.0, neginf=0.0)
    low, high = arr.min(), arr.max()
    if 0 <= low and high <= 1:
        return (arr * 255).astype(np.uint8)
    if -1 <= low and high <= 1:
        return (255 * 0.5 * (arr + 1)).astype(np.uint8)
    return np.clip(arr, 0, 255).astype(np.uint8)


def pixels_to_pil(arr: Any, normalize: bool, mode: str | None) -> Any:
    """The PIL image of pixels kept by :func:`array_pixels` (converted to ``mode`` if given)."""
    from PIL import Image as PILImage

    im = PILImage.fromarray(to_uint8(arr, normalize))
    return im.convert(mode) if mode and im.mode != mode else im


def pil_copy(image: Any, mode: str | None) -> Any:
    """A private copy of the PIL image ``image`` (converted to ``mode`` if given).

    :raises ValueError: an image past the size limit.
    """
    width, height = image.size
    check_size(width, height)
    return image.convert(mode) if mode and image.mode != mode else image.copy()


def open_bytes(data: bytes, what: str) -> Any:
    """The PIL image in ``data`` (only its header read), checked against the size limit.

    :raises ValueError: ``data`` is not an image Pillow can read, or one past the size limit.
    """
    from PIL import Image as PILImage

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            im = PILImage.open(io.BytesIO(data))
    except PILImage.DecompressionBombError as exc:
        raise ValueError(f"Image: {what} is too large: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"Image: {what} is not an image file Pillow can read ({exc})") from None
    check_size(im.width, im.height, what)
    return im


def read_file(path: str) -> tuple[bytes, str, Any]:
    """A file's bytes (kept as they are), its format (its extension, as W&B names it; for a
    name without an image extension, what Pillow finds it holds) and the PIL image of its
    header (its size and mode; the pixels not decoded).

    :raises FileNotFoundError: no file at ``path``.
    :raises ValueError: a directory, not an image Pillow can read, or past the size limit.
    """
    data = inputs.read_file(path, "Image")
    im = open_bytes(data, f"the file {path!r}")
    ext = os.path.splitext(path)[1][1:].lower()
    if ext not in FILE_TYPES and ext not in ("tif", "tiff", "ico"):  # named for what it holds
        ext = {"JPEG": "jpg", "TIFF": "tiff"}.get(im.format or "", (im.format or "png").lower())
    return data, ext, im


def encode(image: Any, file_type: str) -> bytes:
    """``image`` (PIL) written as ``file_type``; modes the format cannot hold are converted
    first (JPEG has no alpha: RGBA becomes RGB, as W&B does)."""
    fmt = FILE_TYPES[file_type]
    if fmt == "JPEG" and image.mode not in ("L", "RGB", "CMYK"):
        image = image.convert("L" if image.mode in ("1", "LA", "I", "I;16", "F") else "RGB")
    elif fmt in _MODES and image.mode not in _MODES[fmt]:
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()
