"""``trackd.Histogram``: a distribution logged as counts per bin.

``run.log({"grads": trackd.Histogram(values)})`` stores W&B's ``{"_type": "histogram",
"values": [...counts], "bins": [...edges]}`` in the row. The constructor keeps a copy of
``values`` (later changes to them do not change what is logged) and the counting runs on the
run's media encoder, off the training loop's thread; reading ``histogram`` or ``bins`` counts
at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from trackd._shared.values import histogram
from trackd.media.base import Media, MediaOut
from trackd.media.inputs import to_numpy
from trackd.media.staging import Held

#: Bins a Histogram may have (as W&B), and the default.
MAX_BINS = 512
DEFAULT_BINS = 64


class Histogram(Media):
    """A histogram of ``sequence`` (numbers, a NumPy array or a tensor, any shape) in
    ``num_bins`` equal bins spanning its minimum and maximum, or one made already:
    ``np_histogram=(counts, edges)`` as ``numpy.histogram`` returns it. NaN and infinities in
    ``sequence`` are left out.

    ``histogram`` holds the counts and ``bins`` the edges (one more than the counts).

    :raises ValueError: neither or both of ``sequence`` and ``np_histogram``, ``num_bins``
        not in 1..512, ``np_histogram`` not a pair, or edges that are not one more than the
        counts.
    """

    _log_type: ClassVar[str] = "histogram"

    def __init__(self, sequence: Any = None, np_histogram: tuple[Any, Any] | None = None,
                 num_bins: int = DEFAULT_BINS) -> None:
        if isinstance(num_bins, bool) or not isinstance(num_bins, int) \
                or not 1 <= num_bins <= MAX_BINS:
            raise ValueError(f"Histogram: num_bins must be an int from 1 to {MAX_BINS} (the "
                             f"maximum supported number of bins), got {num_bins!r}")
        if np_histogram is not None:
            if sequence is not None:
                raise ValueError("Histogram: give sequence or np_histogram, not both")
            if not isinstance(np_histogram, Sequence) or len(np_histogram) != 2:
                raise ValueError("Histogram: np_histogram must be the pair (counts, bin edges) "
                                 "that numpy.histogram returns")
            self.histogram = [_number(c, "count") for c in _flat(np_histogram[0])]
            self.bins = [float(_number(b, "bin edge")) for b in _flat(np_histogram[1])]
        elif sequence is not None:
            tensor = to_numpy(sequence)
            self._values: Held | None = Held(_numbers(sequence if tensor is None else tensor))
            self._num_bins = num_bins
            return
        else:
            raise ValueError("Histogram: give a sequence of numbers or np_histogram=(counts, "
                             "bin edges)")
        if len(self.bins) != len(self.histogram) + 1:
            raise ValueError(f"Histogram: there must be one more bin edge than counts, got "
                             f"{len(self.histogram)} counts and {len(self.bins)} edges")

    def _count(self) -> None:
        """Count the kept values into ``histogram`` and ``bins`` (once)."""
        values = self.__dict__.get("_values")
        if "histogram" not in self.__dict__ and values is not None:
            self.histogram, self.bins = histogram(values.take(), self._num_bins)
            self._values = None

    def __getattr__(self, name: str) -> Any:
        if name in ("histogram", "bins") and "_values" in self.__dict__:
            self._count()
            return self.__dict__[name]
        raise AttributeError(f"'Histogram' object has no attribute {name!r}")

    def _held(self) -> Sequence[Held]:
        values = self.__dict__.get("_values")
        return () if values is None else (values,)

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        """What a row holds for this value (W&B's encoding): inline, no file."""
        self._count()
        return {"_type": "histogram", "values": list(self.histogram), "bins": list(self.bins)}

    @classmethod
    def _from_json(cls, json: dict[str, Any], source: Any = None) -> Histogram:
        return cls(np_histogram=(json["values"], json["bins"]))

    def __repr__(self) -> str:
        bins = self._num_bins if "_values" in self.__dict__ and "histogram" not in self.__dict__ \
            else len(self.histogram)
        return f"<trackd.Histogram of {bins} bins>"


def _numbers(sequence: Any) -> Any:
    """A private copy of ``sequence`` as a NumPy array of numbers.

    :raises ValueError: it holds something that is not a number."""
    import numpy as np

    try:
        values = np.array(sequence, copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Histogram: sequence must hold numbers: {exc}") from None
    if values.dtype.kind not in "biuf":
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"Histogram: sequence must hold numbers, got values of type "
                             f"{values.dtype}") from None
    return values


def _flat(values: Any) -> list[Any]:
    if hasattr(values, "tolist"):
        values = values.tolist()
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"Histogram: np_histogram must hold two sequences, got {values!r}")
    return list(values)


def _number(value: Any, what: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"Histogram: each {what} must be a number, got {value!r}")
    return value
