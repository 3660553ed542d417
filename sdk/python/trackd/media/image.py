"""``trackd.Image``: an image logged as a PNG (or JPEG...) file in the run's media.

The constructor checks the input and keeps a private copy of the pixels; the PNG is encoded
later, on the run's media encoder (:mod:`trackd.media.pipeline`).
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

from trackd.media.base import Media, MediaOut


class Image(Media):
    """An image from a NumPy array (H×W, H×W×1/3/4, or C×H×W with 1, 3 or 4 channels; uint8,
    or floats in [0, 1] scaled by 255) or a PIL image.

    :raises ValueError: an array whose shape is not an image's (naming the shape).
    """

    _log_type: ClassVar[str] = "image-file"
    _list_type: ClassVar[str | None] = "images/separated"

    def __init__(self, data_or_path: Any, mode: str | None = None, caption: str | None = None,
                 file_type: str | None = None) -> None:
        import numpy as np

        self.caption = caption
        self.format = (file_type or "png").lower()
        self._staged: str | None = None
        if hasattr(data_or_path, "getdata") and hasattr(data_or_path, "mode"):  # a PIL image
            pixels = np.asarray(data_or_path.convert(mode) if mode else data_or_path).copy()
            self.mode = mode or data_or_path.mode
        else:
            pixels = _to_pixels(np.asarray(data_or_path))
            self.mode = mode or {2: "L", 3: {1: "L", 3: "RGB", 4: "RGBA"}}[pixels.ndim].get(
                pixels.shape[-1], "RGB") if pixels.ndim == 3 else (mode or "L")
        if pixels.ndim == 3 and pixels.shape[-1] == 1:
            pixels = pixels[..., 0]
        self._pixels: Any = pixels
        self.height, self.width = int(pixels.shape[0]), int(pixels.shape[1])

    def _raw_size(self) -> int:
        return int(self._pixels.nbytes)

    def _spill(self, directory: str) -> None:
        import numpy as np

        path = os.path.join(directory, f"{uuid.uuid4().hex}.npy")
        np.save(path, self._pixels)
        self._pixels = np.load(path, mmap_mode="r")
        self._staged = path

    def _png(self) -> bytes:
        from PIL import Image as PILImage

        im = PILImage.fromarray(self._pixels, mode=None)
        if self.mode and im.mode != self.mode:
            im = im.convert(self.mode)
        buf = io.BytesIO()
        im.save(buf, format=self.format)
        if self._staged is not None:
            os.unlink(self._staged)
            self._staged = None
        return buf.getvalue()

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        json = {"_type": self._log_type, **out.put("images", self.format, self._png()),
                "format": self.format, "width": self.width, "height": self.height}
        if self.caption is not None:
            json["caption"] = self.caption
        return json

    @classmethod
    def _encode_list(cls, items: Sequence[Media], out: MediaOut) -> Any:
        images = [item._encode(out) for item in items]
        json: dict[str, Any] = {
            "_type": cls._list_type, "count": len(images),
            "filenames": [image["path"] for image in images],
            "width": images[0]["width"], "height": images[0]["height"],
            "format": images[0]["format"],
        }
        if any("caption" in image for image in images):
            json["captions"] = [image.get("caption", "") for image in images]
        return json

    @classmethod
    def _from_json(cls, json: dict[str, Any], source: Any) -> Image:
        from PIL import Image as PILImage

        with PILImage.open(source(json["path"])) as im:
            im.load()
            return cls(im, caption=json.get("caption"))

    def __repr__(self) -> str:
        return f"<trackd.Image {self.width}x{self.height} {self.mode}>"


def _to_pixels(arr: Any) -> Any:
    """A copy of ``arr`` as H×W or H×W×C uint8 pixels."""
    import numpy as np

    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = np.moveaxis(arr, 0, -1)  # C×H×W
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (1, 3, 4)):
        raise ValueError(f"Image: an array of shape {arr.shape} is not an image (H×W, H×W×C "
                         "or C×H×W with 1, 3 or 4 channels)")
    if arr.dtype.kind == "f":
        arr = np.clip(arr * 255 if arr.size and arr.max() <= 1.0 else arr, 0, 255)
    return np.ascontiguousarray(arr, dtype=np.uint8).copy()
