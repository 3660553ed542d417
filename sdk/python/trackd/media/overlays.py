"""What is drawn over a ``trackd.Image``: segmentation masks (:class:`ImageMask`), bounding boxes
(:class:`BoundingBoxes2D`) and the class set they share (:class:`Classes`), as W&B's
``wandb.data_types.ImageMask``, ``BoundingBoxes2D`` and ``wandb.Classes``.

In a run, each is a file beside the image's (W&B's layout): a mask is a PNG under
``media/images/mask/`` (``{"_type": "mask", "path", "sha256", "size"}``), a set of boxes a JSON
file under ``media/metadata/boxes2D/`` (``{"_type": "boxes2D", ...}``), and the class names of
each are kept in the run's config under ``_wandb`` (``mask/class_labels``,
``bounding_box/class_labels``), where W&B's dashboard reads them. In an artifact, boxes are
inline and the image names a class set file.
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from trackd.media.base import Media, MediaOut
from trackd.media.image_data import open_bytes
from trackd.media.inputs import read_file, to_numpy
from trackd.media.sources import read_source
from trackd.media.staging import Held

#: The config keys (under ``_wandb``) that hold the class names of masks and boxes, and the
#: word W&B puts between the logged key and the mask's or boxes' name.
MASK_LABELS = "mask/class_labels"
BOX_LABELS = "bounding_box/class_labels"
DELIMITER = "_wandb_delimeter_"  # W&B's spelling: its dashboard looks for this one


def check_class_labels(labels: Any) -> dict[Any, str]:
    """A copy of ``labels`` (class id -> name).

    :raises TypeError: not a mapping of numbers to strings (W&B's error).
    """
    if not isinstance(labels, Mapping) or not all(
            isinstance(k, numbers.Number) and not isinstance(k, bool) and isinstance(v, str)
            for k, v in labels.items()):
        raise TypeError("Class labels must be a dictionary of numbers to strings, got "
                        f"{labels!r:.200}")
    return {_plain(k): v for k, v in labels.items()}


def _plain(value: Any) -> Any:
    """``value`` as plain Python (NumPy numbers and arrays made lists and numbers), copied."""
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _plain(value.tolist())
    return value


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


class ImageMask(Media):
    """A segmentation mask over an image: ``val`` is ``{"mask_data": H×W array of class ids
    (0..255), "class_labels": {id: name}}`` or ``{"path": a mask image file}``; ``key`` names
    the mask (``"predictions"``). Without ``class_labels``, each id in the mask is named
    ``class_<id>``.

    :raises TypeError: no ``mask_data``, a mask that is not 2-D (naming its shape), ids
        outside 0..255, or class labels that are not numbers to strings (W&B's errors).
    :raises FileNotFoundError: ``path`` names no file.
    """

    _log_type: ClassVar[str] = "mask"

    def __init__(self, val: Mapping[str, Any], key: str) -> None:
        if not isinstance(val, Mapping):
            raise TypeError(f"An image mask must be a dictionary, got {type(val).__name__}")
        self._key = key
        self._ext = "mask.png"
        self._mask: Held | None = None  # the ids, or
        self._file: Held | None = None  # a mask file's bytes
        if "path" in val:
            path = os.fspath(val["path"])
            data = read_file(path, f"Image mask {key!r}")
            open_bytes(data, f"the mask file {path!r}")
            self._file = Held(data)
            self._ext = os.path.splitext(path)[1][1:].lower() or "png"
            self._class_labels = (check_class_labels(val["class_labels"])
                                  if "class_labels" in val else None)
        else:
            mask = _mask_array(val)
            self._mask = Held(mask)
            self._class_labels = (check_class_labels(val["class_labels"])
                                  if "class_labels" in val else _default_labels(mask))
        self._val = {"class_labels": self._class_labels}  # W&B's attribute

    @property
    def class_labels(self) -> dict[Any, str] | None:
        return None if self._class_labels is None else dict(self._class_labels)

    @classmethod
    def type_name(cls) -> str:
        return cls._log_type

    @classmethod
    def get_media_subdir(cls) -> str:
        """Where a run keeps mask files (W&B's layout)."""
        return "media/images/mask"

    def _held(self) -> Sequence[Held]:
        return [held for held in (self._mask, self._file) if held is not None]

    def _png(self) -> bytes:
        if self._file is not None:
            return bytes(self._file.take())
        import io

        from PIL import Image as PILImage

        assert self._mask is not None
        buf = io.BytesIO()
        PILImage.fromarray(self._mask.take()).save(buf, format="PNG")
        return buf.getvalue()

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        return {"_type": self._log_type, **out.put("images/mask", self._ext, self._png())}

    @classmethod
    def _from_json(cls, json: dict[str, Any], source: Any) -> ImageMask:
        mask = cls.__new__(cls)
        mask._key = ""
        mask._mask = None
        mask._file = Held(read_source(source, json["path"]))
        name = json["path"].rsplit("/", 1)[-1]
        mask._ext = "mask.png" if name.endswith(".mask.png") else \
            (os.path.splitext(name)[1][1:] or "png")
        mask._class_labels = None
        mask._val = {"class_labels": None}
        return mask

    @property
    def mask_data(self) -> Any:
        """The mask as an H×W uint8 NumPy array (its ids)."""
        if self._mask is not None:
            return self._mask.value.copy()
        import io

        import numpy as np
        from PIL import Image as PILImage

        assert self._file is not None
        return np.asarray(PILImage.open(io.BytesIO(bytes(self._file.value))))

    def __repr__(self) -> str:
        return f"<trackd.ImageMask {self._key!r}>"


def _mask_array(val: Mapping[str, Any]) -> Any:
    """A uint8 copy of ``val["mask_data"]``, checked as W&B checks it."""
    import numpy as np

    if "mask_data" not in val:
        raise TypeError('Missing key "mask_data": An image mask requires mask data: a 2D array '
                        "representing the predictions")
    data = val["mask_data"]
    tensor = to_numpy(data)
    arr = np.asarray(data if tensor is None else tensor)
    if arr.ndim != 2:
        raise TypeError(f"mask_data must be a 2D array, got an array of shape {arr.shape}")
    if arr.dtype.kind not in "buif":
        raise TypeError(f"mask_data must hold class ids (integers), got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise TypeError("Mask data must be integers between 0 and 255")
    return np.array(arr, dtype=np.uint8, order="C", copy=True)


def _default_labels(mask: Any) -> dict[int, str]:
    import numpy as np

    return {int(c): f"class_{int(c)}" for c in np.unique(mask)}


_BOX_POSITION = ("Each box must contain a position with: middle, width, and height or "
                 "minX, maxX, minY, maxY.")


def _has_num(d: Mapping[str, Any], key: str) -> bool:
    return key in d and isinstance(d[key], numbers.Number) and not isinstance(d[key], bool)


def check_boxes(val: Mapping[str, Any]) -> None:
    """:raises TypeError: ``val`` is not W&B's boxes dict (W&B's errors)."""
    if not isinstance(val, Mapping) or "box_data" not in val:
        raise TypeError('Missing key "box_data": bounding boxes must be a dictionary with a '
                        '"box_data" list (and optional "class_labels")')
    if "class_labels" in val:
        check_class_labels(val["class_labels"])
    boxes = val["box_data"]
    if not isinstance(boxes, list):
        raise TypeError("Boxes must be a list")
    for box in boxes:
        position = box.get("position") if isinstance(box, Mapping) else None
        if not isinstance(position, Mapping):
            raise TypeError(_BOX_POSITION)
        middle = position.get("middle")
        centred = (middle is not None and hasattr(middle, "__len__") and len(middle) == 2
                   and _has_num(position, "width") and _has_num(position, "height"))
        corners = all(_has_num(position, k) for k in ("minX", "maxX", "minY", "maxY"))
        if not (centred or corners):
            raise TypeError(_BOX_POSITION)
        if "scores" in box:
            if not isinstance(box["scores"], Mapping):
                raise TypeError("Box scores must be a dictionary")
            for k, v in box["scores"].items():
                if not isinstance(k, str):
                    raise TypeError("A score key must be a string")
                if not isinstance(v, numbers.Number) or isinstance(v, bool):
                    raise TypeError("A score value must be a number")
        if "class_id" in box and (not isinstance(box["class_id"], numbers.Integral)
                                  or isinstance(box["class_id"], bool)):
            raise TypeError("A box's class_id must be an integer")
        if "box_caption" in box and not isinstance(box["box_caption"], str):
            raise TypeError("A box's caption must be a string")


class BoundingBoxes2D(Media):
    """Boxes over an image: ``val`` is ``{"box_data": [{"position": {"minX", "maxX", "minY",
    "maxY"} or {"middle": [x, y], "width", "height"}, "domain": "pixel" (else fractions of the
    image), "class_id": int, "box_caption": str, "scores": {name: number}}...], "class_labels":
    {id: name}}``; ``key`` names the set (``"predictions"``). Without ``class_labels`` each
    class id is named ``class_<id>``.

    :raises TypeError: a box without a valid position, scores that are not names to numbers,
        a class id that is not an int, a caption that is not a str (W&B's errors).
    """

    _log_type: ClassVar[str] = "boxes2D"

    def __init__(self, val: Mapping[str, Any], key: str) -> None:
        check_boxes(val)
        self._key = key
        self._file_val = _plain(val)  # what the boxes2D file holds: a private copy
        self._val = self._file_val["box_data"]  # W&B's attribute: the boxes
        if "class_labels" in val:
            self._class_labels = check_class_labels(val["class_labels"])
        else:
            ids = sorted({int(b["class_id"]) for b in self._val if "class_id" in b})
            self._class_labels = {c: f"class_{c}" for c in ids}

    @property
    def box_data(self) -> list[dict[str, Any]]:
        return _plain(self._val)

    @property
    def class_labels(self) -> dict[Any, str]:
        return dict(self._class_labels)

    @classmethod
    def type_name(cls) -> str:
        return cls._log_type

    @classmethod
    def get_media_subdir(cls) -> str:
        """Where a run keeps box files (W&B's layout)."""
        return "media/metadata/boxes2D"

    def _encode(self, out: MediaOut, artifact: bool = False) -> Any:
        if artifact:  # inline in an artifact, as W&B writes it there
            return _plain(self._val)
        data = _json_bytes(self._file_val)
        return {"_type": self._log_type, **out.put("metadata/boxes2D", "boxes2D.json", data)}

    @classmethod
    def _from_json(cls, json_value: Any, source: Any) -> BoundingBoxes2D:
        """From a run's ``{"_type": "boxes2D", "path"...}`` (its file read through ``source``)
        or an artifact's inline list of boxes."""
        if isinstance(json_value, Mapping) and "path" in json_value:
            val = json.loads(read_source(source, json_value["path"]))
            if "class_labels" in val:  # JSON keys are strings; the ids were numbers
                val["class_labels"] = {_number(k): v for k, v in val["class_labels"].items()}
            return cls(val, "")
        return cls({"box_data": list(json_value)}, "")

    def __repr__(self) -> str:
        return f"<trackd.BoundingBoxes2D {self._key!r}: {len(self._val)} boxes>"


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return float(text)


class Classes(Media):
    """A class set (W&B's ``wandb.Classes``): ``[{"id": int, "name": str}...]`` for the masks
    and boxes of images in a table or artifact.

    :raises ValueError: an entry that is not a dict with ``id`` and ``name``.
    """

    _log_type: ClassVar[str] = "classes"

    def __init__(self, class_set: Sequence[Mapping[str, Any]]) -> None:
        if isinstance(class_set, (str, bytes)) or not isinstance(class_set, Iterable):
            raise ValueError(f"Classes: class_set must be a list of {{'id', 'name'}} dicts, "
                             f"got {type(class_set).__name__}")
        checked = []
        for entry in class_set:
            if not isinstance(entry, Mapping) or "id" not in entry or "name" not in entry:
                raise ValueError(f"Classes: each class must be a dict with 'id' and 'name', "
                                 f"got {entry!r:.200}")
            checked.append(_plain(entry))
        self._class_set = checked

    def to_json(self, run_or_artifact: Any = None) -> dict[str, Any]:
        """W&B's JSON of a class set."""
        return {"_type": self._log_type, "class_set": _plain(self._class_set)}

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        return self.to_json()

    def _file_ref(self, out: MediaOut) -> dict[str, Any]:
        """The class set written as its own file (what an artifact's image names)."""
        import base64
        import hashlib

        data = _json_bytes(self.to_json())
        put = out.put("classes", "classes.json", data)
        return {"type": "classes-file", "path": put["path"],
                "digest": base64.b64encode(hashlib.md5(data).digest()).decode()}

    @classmethod
    def _from_json(cls, json_value: dict[str, Any], source: Any) -> Classes:
        if "class_set" not in json_value and "path" in json_value:  # a classes-file reference
            json_value = json.loads(read_source(source, json_value["path"]))
        return cls(json_value.get("class_set") or [])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Classes) and self._class_set == other._class_set

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<trackd.Classes {len(self._class_set)} classes>"


def class_labels_config(items: Iterable[tuple[str, Any]]) -> dict[str, dict[str, Any]]:
    """The config entries (under ``_wandb``) naming the classes of the masks and boxes of
    ``items`` (pairs of logged key and value): ``{"mask/class_labels": {"<key>_wandb_delimeter_
    <mask name>": {"type", "key", "value": {id: name}}}, "bounding_box/class_labels": ...}``."""
    found: dict[str, dict[str, Any]] = {}
    for key, item in items:
        for kind, overlays in ((MASK_LABELS, getattr(item, "_masks", None)),
                               (BOX_LABELS, getattr(item, "_boxes", None))):
            for name, overlay in (overlays or {}).items():
                labels = overlay._class_labels
                if labels is None:
                    continue
                entry = f"{key}{DELIMITER}{name}"
                found.setdefault(kind, {})[entry] = {
                    "type": kind, "key": entry, "value": {str(k): v for k, v in labels.items()}}
    return found
