"""TensorBoard events as history values, named as W&B names them.

Events come from tensorboard's ``EventFileLoader``, which turns every summary into the
tensor form (``simple_value`` into a ``scalars`` tensor, ``histo`` into a ``histograms``
tensor, ``image`` into an ``images`` tensor). A value's key is its tag, under the log
directory's namespace (``<namespace>/<tag>``); image keys have ``/`` and ``\\`` turned into
``_``, and tags ending in ``/<n>`` (one image of a batch) are gathered under their prefix. Each
event also gives ``global_step`` (namespaced). Graphs, text and other plugins' data are left
out, as W&B leaves them out.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

from trackd.media.histogram import MAX_BINS, Histogram
from trackd.media.image import Image


def namespaced(tag: str, namespace: str | None) -> str:
    return f"{namespace}/{tag}" if namespace else tag


def image_key(tag: str, namespace: str | None) -> str:
    """W&B's history key of an image tag: path separators become ``_``."""
    return namespaced(re.sub(r"[/\\]", "_", tag), namespace)


def event_values(event: Any, namespace: str | None) -> dict[str, Any]:
    """The history values of one event (empty when it holds no summary value trackd keeps)."""
    values: dict[str, Any] = {}
    for value in event.summary.value:
        if value.WhichOneof("value") != "tensor":
            continue
        plugin = value.metadata.plugin_data.plugin_name
        if plugin in ("scalars", ""):
            number = _scalar(value.tensor)
            if number is not None:
                values[namespaced(value.tag, namespace)] = number
        elif plugin == "histograms":
            histogram = _histogram(value.tensor)
            if histogram is not None:
                values[namespaced(value.tag, namespace)] = histogram
        elif plugin == "images":
            _add_images(values, value.tag, value.tensor, namespace)
    if values:
        values[namespaced("global_step", namespace)] = int(event.step)
        values["_timestamp"] = float(event.wall_time)  # when TensorBoard wrote it
    return values


def _array(tensor: Any) -> Any:
    from tensorboard.util import tensor_util

    array = tensor_util.make_ndarray(tensor)
    return None if array.dtype == object else array


def _scalar(tensor: Any) -> float | int | None:
    array = _array(tensor)
    if array is None or array.size != 1:
        return None
    item = array.reshape(()).item()
    return item if isinstance(item, (int, float)) and not isinstance(item, bool) else None


def _histogram(tensor: Any) -> Histogram | None:
    """A ``histograms`` tensor (rows of ``[left edge, right edge, count]``) as a Histogram;
    more buckets than W&B keeps (512) are merged into neighbouring groups."""
    array = _array(tensor)
    if array is None or array.ndim != 2 or array.shape[0] == 0 or array.shape[1] != 3:
        return None
    lefts, rights, counts = (array[:, i].tolist() for i in range(3))
    if not all(math.isfinite(x) for x in lefts + rights + counts):
        return None
    group = math.ceil(len(counts) / MAX_BINS)
    if group > 1:
        lefts = lefts[::group]
        rights = [rights[min(i + group, len(rights)) - 1] for i in range(0, len(rights), group)]
        counts = [sum(counts[i:i + group]) for i in range(0, len(counts), group)]
    edges = [*lefts, rights[-1]]
    if any(b < a for a, b in zip(edges, edges[1:], strict=False)):
        return None
    return Histogram(np_histogram=(counts, edges))


def _add_images(values: dict[str, Any], tag: str, tensor: Any, namespace: str | None) -> None:
    """An ``images`` tensor holds ``[width, height, encoded image...]`` as strings."""
    from PIL import Image as PILImage

    images = [Image(PILImage.open(io.BytesIO(data))) for data in tensor.string_val[2:]]
    if not images:
        return
    head, _, last = tag.rpartition("/")
    if head and last.isdigit():
        values.setdefault(image_key(head, namespace), []).extend(images)
    else:
        values[image_key(tag, namespace)] = images
