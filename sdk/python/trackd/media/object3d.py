"""``trackd.Object3D``: a 3D mesh or point cloud logged as a file in the run's media
(``media/object3D/…``).

Mesh and scene files (obj, gltf, glb, babylon, stl, pts.json) are stored byte for byte. A
NumPy point cloud (N×3 xyz, N×4 xyz + category, N×6 xyz + rgb) and a ``lidar/beta`` scene
(points with 3D boxes and vectors, :meth:`Object3D.from_point_cloud`) are written as W&B's
``pts.json`` on the run's media encoder. :func:`box3d` makes a box from its centre, size and
orientation.
"""

from __future__ import annotations

import io
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from trackd.media.base import Media, MediaOut
from trackd.media.inputs import file_path, read_file, read_stream, to_numpy
from trackd.media.sources import read_source
from trackd.media.staging import Held

#: File types an Object3D stores (W&B's ``Object3D.SUPPORTED_TYPES``).
SUPPORTED_TYPES = frozenset({"obj", "gltf", "glb", "babylon", "stl", "pts.json"})
SUPPORTED_POINT_CLOUD_TYPES = frozenset({"lidar/beta"})
_SHAPES = ("N×3 (x, y, z), N×4 (x, y, z, category) or N×6 (x, y, z, r, g, b)")


class Object3D(Media):
    """A 3D object: a file (a path, or a file object; one without a name needs
    ``file_type=``) of a type in :data:`SUPPORTED_TYPES`, a NumPy point cloud (N×3, N×4 or
    N×6), or a ``{"type": "lidar/beta", "points": ..., "boxes": ..., "vectors": ...}``
    scene.

    :raises ValueError: an unsupported file type, a directory, a stream without
        ``file_type``, an array whose shape is not a point cloud's (naming it), or a scene
        whose boxes or vectors are malformed.
    :raises FileNotFoundError: no file at the path given.
    """

    _log_type: ClassVar[str] = "object3D-file"
    _list_type: ClassVar[str | None] = "object3D"
    SUPPORTED_TYPES: ClassVar[frozenset[str]] = SUPPORTED_TYPES
    SUPPORTED_POINT_CLOUD_TYPES: ClassVar[frozenset[str]] = SUPPORTED_POINT_CLOUD_TYPES

    def __init__(self, data_or_path: Any, caption: str | None = None, **kwargs: Any) -> None:
        file_type = kwargs.pop("file_type", None)
        if kwargs:
            raise TypeError(f"Object3D got unexpected keyword arguments {sorted(kwargs)}")
        self.caption = caption
        self._file: Held | None = None
        self._points: Held | None = None
        self._scene: dict[str, Any] | None = None
        path = file_path(data_or_path)
        if path is not None:
            self.file_type = _type_of(path) or _check_type(file_type, path)
            self._file = Held(read_file(path, "Object3D"))
        elif hasattr(data_or_path, "read"):
            if file_type is None:
                raise ValueError("Object3D: give file_type= (one of "
                                 f"{', '.join(sorted(SUPPORTED_TYPES))}) for a stream")
            self.file_type = _check_type(file_type, "the stream")
            self._file = Held(read_stream(data_or_path))
        elif isinstance(data_or_path, Mapping) and "type" in data_or_path:
            self.file_type = "pts.json"
            self._scene = _scene(data_or_path)
            self._points = Held(self._scene.pop("points"))
        else:
            points = to_numpy(data_or_path)
            if points is None:
                raise ValueError("Object3D: data must be a NumPy array, a dict or a file "
                                 f"(got {type(data_or_path).__name__})")
            self.file_type = "pts.json"
            self._points = Held(_copy_points(points))

    @classmethod
    def from_file(cls, data_or_path: Any, file_type: str | None = None) -> Object3D:
        """An Object3D from a path or a file object (``file_type`` is needed for a stream
        without a name; a path's type is its extension)."""
        return cls(data_or_path, file_type=file_type)

    @classmethod
    def from_numpy(cls, data: Any) -> Object3D:
        """An Object3D from a NumPy point cloud: N×3, N×4 or N×6 (see the class).

        :raises ValueError: ``data`` is not a NumPy array, or not of one of those shapes.
        """
        if to_numpy(data) is None:
            raise ValueError("Object3D.from_numpy: `data` must be a numpy array")
        return cls(data)

    @classmethod
    def from_point_cloud(cls, points: Any, boxes: Sequence[Mapping[str, Any]],
                         vectors: Sequence[Mapping[str, Any]] | None = None,
                         point_cloud_type: str = "lidar/beta") -> Object3D:
        """A point cloud scene: ``points`` (N×3, N×4 or N×6), 3D ``boxes`` (each with 8
        ``corners``, an rgb ``color``, optional ``label`` and ``score``; see
        :func:`box3d`) and ``vectors`` (each with ``start`` and ``end`` points).

        :raises ValueError: a point cloud type other than ``lidar/beta``, or malformed
            points, boxes or vectors.
        """
        if point_cloud_type not in SUPPORTED_POINT_CLOUD_TYPES:
            raise ValueError(f"Object3D: point cloud type {point_cloud_type!r} is not "
                             "supported (only 'lidar/beta')")
        return cls({"type": point_cloud_type, "points": points, "boxes": boxes,
                    "vectors": vectors if vectors is not None else []})

    def _held(self) -> Sequence[Held]:
        return [held for held in (self._file, self._points) if held is not None]

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        if self._file is not None:
            data = bytes(self._file.take())
        else:
            assert self._points is not None
            points = self._points.take().tolist()
            body: Any = points if self._scene is None else {**self._scene, "points": points}
            data = json.dumps(body, separators=(",", ":"), sort_keys=True, indent=4,
                              allow_nan=False).encode("utf-8")
        json_dict = {"_type": self._log_type, **out.put("object3D", self.file_type, data)}
        if self.caption:
            json_dict["caption"] = self.caption
        return json_dict

    @classmethod
    def _encode_list(cls, items: Sequence[Media], out: MediaOut) -> Any:
        objects = [item._encode(out) for item in items]
        return {"_type": cls._list_type,
                "filenames": [o["path"].removeprefix("media/object3D/") for o in objects],
                "count": len(objects), "objects": objects}

    @classmethod
    def get_media_subdir(cls) -> str:
        """Where a run keeps 3D files (W&B's layout)."""
        return "media/object3D"

    @classmethod
    def _from_json(cls, json: dict[str, Any], source: Any) -> Object3D:
        """The Object3D again from its JSON dict as read back, its file read through
        ``source`` (see :func:`~trackd.media.sources.read_source`)."""
        data = read_source(source, json["path"])
        return cls(io.BytesIO(data), caption=json.get("caption"),
                   file_type=_type_of(json["path"]))

    def __repr__(self) -> str:
        return f"<trackd.Object3D {self.file_type}>"


def box3d(*, center: Any, size: Any, orientation: Any, color: Sequence[float],
          label: str | None = None, score: float | None = None) -> dict[str, Any]:
    """A 3D box for :meth:`Object3D.from_point_cloud` (W&B's ``wandb.box3d``).

    :param center: the box's centre (x, y, z).
    :param size: its extent along its own x, y and z axes.
    :param orientation: its rotation as a quaternion (r, x, y, z), not zero.
    :param color: its colour (r, g, b).
    :raises ValueError: an argument of the wrong length, or a zero quaternion.
    """
    c = _vector(center, 3, "box3d: center")
    s = _vector(size, 3, "box3d: size")
    q = _vector(orientation, 4, "box3d: orientation")
    norm = math.sqrt(sum(v * v for v in q))
    if norm == 0 or not math.isfinite(norm):
        raise ValueError(f"box3d: orientation {tuple(q)} is not a rotation (a zero quaternion)")
    w, x, y, z = (v / norm for v in q)
    rotation = ((1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)),
                (2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)),
                (2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)))
    corners = []
    for signs in itertools.product((-1, 1), repeat=3):
        local = [sign * extent / 2 for sign, extent in zip(signs, s, strict=True)]
        corners.append([c[i] + sum(rotation[i][j] * local[j] for j in range(3))
                        for i in range(3)])
    _vector(color, 3, "box3d: color")
    return {"corners": corners, "color": [_plain(v) for v in color], "label": label,
            "score": score}


def _type_of(path: str) -> str | None:
    name = path.lower()
    return next((t for t in sorted(SUPPORTED_TYPES, key=len, reverse=True)
                 if name.endswith("." + t)), None)


def _check_type(file_type: Any, what: str) -> str:
    if not isinstance(file_type, str) or file_type.lower().lstrip(".") not in SUPPORTED_TYPES:
        raise ValueError(f"Object3D: {what!r} is not compatible with Object3D: supported types "
                         f"are {', '.join(sorted(SUPPORTED_TYPES))}")
    return file_type.lower().lstrip(".")


def _copy_points(points: Any, what: str = "Object3D") -> Any:
    import numpy as np

    if points.ndim != 2 or points.shape[1] not in (3, 4, 6) or points.dtype.kind not in "fiub":
        raise ValueError(f"{what}: an array of shape {points.shape} (dtype {points.dtype}) is "
                         f"not a point cloud: give numbers of shape {_SHAPES}")
    if points.dtype.kind == "f" and not np.isfinite(points).all():
        raise ValueError(f"{what}: the point cloud holds NaN or infinite values")
    return np.array(points, copy=True)


def _scene(data: Mapping[str, Any]) -> dict[str, Any]:
    """A checked copy of a ``lidar/beta`` scene: points as an array, boxes and vectors as
    plain JSON lists and dicts."""
    import numpy as np

    if data["type"] not in SUPPORTED_POINT_CLOUD_TYPES:
        raise ValueError(f"Object3D: type {data['type']!r} is not supported, only 'lidar/beta'")
    raw = data.get("points", [])
    points = to_numpy(raw)
    points = np.asarray(raw if points is None else points)
    if points.size == 0:
        points = np.zeros((0, 3))
    points = _copy_points(points, "Object3D.from_point_cloud")
    boxes = [_box(b, i) for i, b in enumerate(_items(data.get("boxes"), "boxes"))]
    vectors = [_vector_item(v, i) for i, v in enumerate(_items(data.get("vectors"), "vectors"))]
    return {"type": data["type"], "points": points, "boxes": boxes, "vectors": vectors}


def _items(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise ValueError(f"Object3D.from_point_cloud: {what} must be a list (got "
                         f"{type(value).__name__})")
    return list(value)


def _box(box: Any, i: int) -> dict[str, Any]:
    if not isinstance(box, Mapping) or "corners" not in box or "color" not in box:
        raise ValueError(f"Object3D.from_point_cloud: boxes[{i}] must be a dict with corners "
                         "and color (see trackd.box3d)")
    import numpy as np

    corners = np.asarray(box["corners"], dtype=float)
    if corners.shape != (8, 3):
        raise ValueError(f"Object3D.from_point_cloud: boxes[{i}] has corners of shape "
                         f"{corners.shape}, not (8, 3)")
    _vector(box["color"], 3, f"Object3D.from_point_cloud: boxes[{i}].color")
    out = {"corners": corners.tolist(), "color": [_plain(c) for c in box["color"]]}
    for key in ("label", "score"):
        if key in box:
            out[key] = _plain(box[key])
    return out


def _vector_item(vector: Any, i: int) -> dict[str, Any]:
    if not isinstance(vector, Mapping) or "start" not in vector or "end" not in vector:
        raise ValueError(f"Object3D.from_point_cloud: vectors[{i}] must be a dict with start "
                         "and end")
    where = f"Object3D.from_point_cloud: vectors[{i}]"
    return {"start": _vector(vector["start"], 3, f"{where}.start"),
            "end": _vector(vector["end"], 3, f"{where}.end")}


def _vector(value: Any, n: int, what: str) -> list[float]:
    try:
        out = [float(v) for v in value]
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be {n} numbers, got {value!r}") from None
    if len(out) != n:
        raise ValueError(f"{what} must be {n} numbers, got {len(out)}")
    return out


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value JSON can hold."""
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value
