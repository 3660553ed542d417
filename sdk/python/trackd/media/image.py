"""``trackd.Image``: an image logged as a PNG (or JPEG, BMP, GIF, WebP) file in the run's media,
with W&B's constructor, properties and JSON.

The constructor checks the input and keeps a private copy (pixels, a PIL image, or a file's
bytes); the file is encoded later, on the run's media encoder (:mod:`trackd.media.pipeline`).
Masks and boxes drawn over the image are in :mod:`trackd.media.overlays`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from trackd.media import figures, image_data
from trackd.media.base import Media, MediaOut
from trackd.media.image_data import (
    CHANNEL_MODES,
    array_pixels,
    check_file_type,
    check_mode,
    open_bytes,
    pil_copy,
    pixels_to_pil,
)
from trackd.media.overlays import BoundingBoxes2D, Classes, ImageMask
from trackd.media.pipeline import RunOut
from trackd.media.sources import read_source
from trackd.media.staging import Held

log = logging.getLogger("trackd")

_REFERENCE = re.compile(r"^(gs|s3|https?)://")


class Image(Media):
    """An image (W&B's ``wandb.Image``).

    ``data_or_path``: a NumPy array (H×W, H×W×1/3/4, or C×H×W with 1, 3 or 4 channels), a
    torch tensor (C×H×W), a PIL image, a matplotlib figure, a path to an image file (its bytes
    are kept as they are, in their own format), or another ``Image`` (its pixels and caption,
    not its masks or boxes). Arrays are scaled as W&B scales them unless ``normalize=False``:
    values all in [0, 1] are multiplied by 255, values in [-1, 1] mapped to 0..255, others
    clipped to 0..255. ``mode`` converts the pixels to that PIL mode; ``file_type`` is the
    format written (png, jpg, jpeg, bmp, gif or webp; not used for a file). ``caption``,
    ``grouping``; ``masks`` ({name: {"mask_data", "class_labels"}} or {name: {"path"}}),
    ``boxes`` ({name: {"box_data", "class_labels"}}) and ``classes`` (a :class:`Classes` or
    its list of {"id", "name"}) as W&B takes them.

    :raises ValueError: an array whose shape or dtype is not an image's (naming it), an image
        larger than :data:`~trackd.media.image_data.MAX_DIMENSION` a side or
        :data:`~trackd.media.image_data.MAX_PIXELS` in all, a file that is not an image, an
        unknown ``file_type`` or ``mode``, ``boxes`` or ``masks`` that are not dicts.
    :raises FileNotFoundError: a path (of the image or a mask) that names no file.
    :raises TypeError: masks or boxes that are not W&B's form (W&B's errors).
    """

    #: The most images of a list logged under one key that are stored (W&B's limit).
    MAX_ITEMS: ClassVar[int] = 108
    MAX_DIMENSION: ClassVar[int] = image_data.MAX_DIMENSION
    MAX_PIXELS: ClassVar[int] = image_data.MAX_PIXELS
    _log_type: ClassVar[str] = "image-file"
    _list_type: ClassVar[str | None] = "images/separated"

    def __init__(self, data_or_path: Any, mode: str | None = None, caption: str | None = None,
                 grouping: int | None = None, classes: Classes | Sequence[dict] | None = None,
                 boxes: Mapping[str, BoundingBoxes2D | dict] | None = None,
                 masks: Mapping[str, ImageMask | dict] | None = None,
                 file_type: str | None = None, normalize: bool = True) -> None:
        self._reset(caption, grouping, normalize)
        self._mode = check_mode(mode)
        if isinstance(data_or_path, Image):
            self._copy_from(data_or_path)
        elif isinstance(data_or_path, (str, os.PathLike)):
            path = os.fspath(data_or_path)
            if isinstance(path, str) and _REFERENCE.match(path):
                raise ValueError(f"Image: {path!r} is a reference to external storage; an Image "
                                 "logged to a run needs the image itself (download it first)")
            data, self.format, header = image_data.read_file(path)
            self._file = Held(data)
            self._width, self._height, self._file_mode = header.width, header.height, header.mode
        elif _is_pil(data_or_path):
            self.format = check_file_type(file_type)
            self._pil = pil_copy(data_or_path, self._mode)
            self._width, self._height = self._pil.size
        elif figures.is_matplotlib(data_or_path):  # drawn now, as it is (W&B's way)
            self.format = check_file_type(file_type)
            drawn = figures.render(figures.figure_of(data_or_path), self.format)
            self._set_bytes(drawn, "the figure")
        else:
            self.format = check_file_type(file_type)
            pixels = array_pixels(data_or_path)
            self._pixels = Held(pixels)
            self._height, self._width = (int(n) for n in pixels.shape[:2])
        self._set_overlays(classes, boxes, masks)

    def _reset(self, caption: Any, grouping: Any, normalize: bool) -> None:
        self._caption = None if caption is None else str(caption)
        self._grouping = grouping
        self._normalize = bool(normalize)
        self._mode: str | None = None
        self.format = "png"
        self._pixels: Held | None = None  # an array from array_pixels, or
        self._pil: Any = None  # a PIL image, or
        self._pil_raw: tuple[str, tuple[int, int], Any, Held] | None = None  # one staged, or
        self._file: Held | None = None  # a file's bytes
        self._file_mode = ""
        self._width = self._height = 0
        self._classes: Classes | None = None
        self._boxes: dict[str, BoundingBoxes2D] | None = None
        self._masks: dict[str, ImageMask] | None = None

    def _copy_from(self, other: Image) -> None:
        """The pixels (shared: neither changes them), format and caption of ``other``."""
        for name in ("format", "_pixels", "_pil", "_pil_raw", "_file", "_file_mode", "_width",
                     "_height", "_classes", "_normalize"):
            setattr(self, name, getattr(other, name))
        self._mode = self._mode or other._mode
        if self._caption is None:
            self._caption = other._caption
        if self._grouping is None:
            self._grouping = other._grouping

    def _set_bytes(self, data: bytes, what: str) -> None:
        im = open_bytes(data, what)
        self._file, self._width, self._height, self._file_mode = Held(data), im.width, \
            im.height, im.mode

    def _set_overlays(self, classes: Any, boxes: Any, masks: Any) -> None:
        """Masks, boxes and the class set (all their classes, as W&B gathers them)."""
        names: dict[Any, str] = {}
        if boxes:
            self._boxes = _overlays("boxes", boxes, BoundingBoxes2D)
        if masks:
            self._masks = _overlays("masks", masks, ImageMask)
        for overlay in (*(self._boxes or {}).values(), *(self._masks or {}).values()):
            names.update(overlay._class_labels or {})
        if classes is not None:
            given = classes if isinstance(classes, Classes) else Classes(classes)
            names.update({c["id"]: c["name"] for c in given._class_set})
        if names:
            self._classes = Classes([{"id": k, "name": v} for k, v in names.items()])

    # -- W&B's properties --------------------------------------------------------------------

    @property
    def image(self) -> Any:
        """The image as a PIL image (a copy: changing it does not change what is logged)."""
        import io

        from PIL import Image as PILImage

        if self._file is not None:
            im = PILImage.open(io.BytesIO(bytes(self._file.value)))
            im.load()
            return im
        if self._pixels is not None:
            return pixels_to_pil(self._pixels.value, self._normalize, self._mode)
        return self._pil_image().copy()

    @property
    def caption(self) -> str | None:
        return self._caption

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def mode(self) -> str:
        """The PIL mode of the image as stored (``L``, ``RGB``, ``RGBA``...)."""
        if self._file is not None:
            return self._file_mode
        if self._pixels is not None:
            shape = self._pixels.value.shape
            return self._mode or ("L" if len(shape) == 2 else CHANNEL_MODES[shape[-1]])
        return self._pil_image().mode

    @property
    def masks(self) -> dict[str, ImageMask] | None:
        return None if self._masks is None else dict(self._masks)

    @property
    def boxes(self) -> dict[str, BoundingBoxes2D] | None:
        return None if self._boxes is None else dict(self._boxes)

    @property
    def classes(self) -> Classes | None:
        return self._classes

    @classmethod
    def get_media_subdir(cls) -> str:
        """Where a run keeps image files (W&B's layout)."""
        return "media/images"

    def to_data_array(self) -> list[list[Any]]:
        """The pixels as rows of values (W&B's ``to_data_array``)."""
        import numpy as np

        return np.asarray(self.image).tolist()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Image):
            return False
        if (self._grouping, self._caption, self._width, self._height, self._classes) != (
                other._grouping, other._caption, other._width, other._height, other._classes):
            return False
        mine, theirs = self.image, other.image
        return mine.mode == theirs.mode and mine.tobytes() == theirs.tobytes()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<trackd.Image {self._width}x{self._height} {self.mode}>"

    # -- the encoder's side ------------------------------------------------------------------

    def _pil_image(self) -> Any:
        if self._pil is None and self._pil_raw is not None:
            from PIL import Image as PILImage

            mode, size, palette, raw = self._pil_raw
            self._pil = PILImage.frombytes(mode, size, bytes(raw.value))
            if palette is not None:
                self._pil.putpalette(palette)
        return self._pil

    def _overlays(self) -> list[Media]:
        return [*(self._masks or {}).values()]

    def _held(self) -> Sequence[Held]:
        raw = self._pil_raw[3] if self._pil_raw is not None else None
        return [held for held in (self._file, self._pixels, raw) if held is not None]

    def _raw_size(self) -> int:
        pil = self._width * self._height * 4 if self._pil is not None else 0
        return super()._raw_size() + pil + sum(m._raw_size() for m in self._overlays())

    def _spill(self, directory: str) -> None:
        if self._pil is not None:  # staged as its raw pixels (and palette)
            if self._pil_raw is None:
                im = self._pil
                raw = Held(im.tobytes())
                raw.spill(directory)
                palette = im.getpalette() if im.mode in ("P", "PA") else None
                self._pil_raw = (im.mode, im.size, palette, raw)
            self._pil = None
        super()._spill(directory)
        for overlay in self._overlays():
            overlay._spill(directory)

    def _bytes(self) -> bytes:
        """The image file's bytes (encoded now, but for a file given as it was)."""
        if self._file is not None:
            return bytes(self._file.take())
        if self._pixels is not None:
            im = pixels_to_pil(self._pixels.take(), self._normalize, self._mode)
        else:
            if self._pil_raw is not None:
                self._pil_raw[3].take()
            im = self._pil_image()
        return image_data.encode(im, self.format)

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        json = {"_type": self._log_type, **out.put("images", self.format, self._bytes()),
                "format": self.format, "width": self._width, "height": self._height}
        if self._grouping:
            json["grouping"] = self._grouping
        if self._caption is not None:
            json["caption"] = self._caption
        artifact = not isinstance(out, RunOut)
        if artifact and self._classes is not None:
            json["classes"] = self._classes._file_ref(out)
        if self._boxes:
            json["boxes"] = {k: b._encode(out, artifact) for k, b in self._boxes.items()}
        if self._masks:
            json["masks"] = {k: m._encode(out) for k, m in self._masks.items()}
        return json

    @classmethod
    def _encode_list(cls, items: Sequence[Media], out: MediaOut) -> Any:
        if len(items) > cls.MAX_ITEMS:
            log.warning("Only %i %s will be uploaded.", cls.MAX_ITEMS, cls.__name__)
            items = items[:cls.MAX_ITEMS]
        images: list[Image] = list(items)  # type: ignore[arg-type]
        jsons = [image._encode(out) for image in images]
        first = images[0]
        if any((i._width, i._height) != (first._width, first._height) for i in images):
            log.warning("Images sizes do not match. This will causes images to be display "
                        "incorrectly in the UI.")
        meta: dict[str, Any] = {
            "_type": cls._list_type, "width": first._width, "height": first._height,
            "format": jsons[0]["format"], "count": len(jsons),
            "filenames": [j["path"] for j in jsons],
        }
        if first._caption is not None:
            meta["captions"] = [i._caption for i in images]
        for field, name in (("all_masks", "masks"), ("all_boxes", "boxes")):
            groups = [j.get(name) for j in jsons]
            if any(g is not None for g in groups):
                meta[field] = groups
        return meta

    @classmethod
    def _from_json(cls, json: dict[str, Any], source: Any) -> Image:
        """The Image again from its JSON dict as read back, its files (image, masks, boxes,
        class set) read through ``source`` (see :func:`~trackd.media.sources.read_source`)."""
        data = read_source(source, json["path"])
        masks = {k: ImageMask._from_json(v, source) for k, v in (json.get("masks") or {}).items()}
        for key, mask in masks.items():
            mask._key = key
        boxes = {k: BoundingBoxes2D._from_json(v, source)
                 for k, v in (json.get("boxes") or {}).items()}
        for key, box in boxes.items():
            box._key = key
        classes = Classes._from_json(json["classes"], source) if json.get("classes") else None
        image = cls.__new__(cls)
        image._reset(json.get("caption"), json.get("grouping"), True)
        image._set_bytes(data, repr(json["path"]))
        image.format = str(json.get("format") or os.path.splitext(json["path"])[1][1:])
        image._set_overlays(classes, boxes or None, masks or None)
        return image


def _overlays(argument: str, given: Any, kind: type[Any]) -> dict[str, Any]:
    """The masks or boxes given as ``argument``: each made a ``kind`` (named by its key) unless
    it is one.

    :raises ValueError: ``given`` is not a dict (W&B's error).
    """
    if not isinstance(given, Mapping):
        raise ValueError(f'Images "{argument}" argument must be a dictionary')
    return {str(k): v if isinstance(v, kind) else kind(v, k) for k, v in given.items()}


def _is_pil(value: Any) -> bool:
    """Whether ``value`` is a PIL image (Pillow is imported only when it may be one)."""
    if not type(value).__module__.startswith("PIL."):
        return False
    from PIL import Image as PILImage

    return isinstance(value, PILImage.Image)
