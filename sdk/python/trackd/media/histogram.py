"""``trackd.Histogram``: a distribution logged as counts per bin.

``run.log({"grads": trackd.Histogram(values)})`` stores W&B's ``{"_type": "histogram",
"values": [...counts], "bins": [...edges]}`` in the row: the counts are computed when the
object is made, so later changes to ``values`` do not change what is logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trackd._shared.values import histogram

#: Bins a Histogram may have (as W&B), and the default.
MAX_BINS = 512
DEFAULT_BINS = 64


class Histogram:
    """A histogram of ``sequence`` (numbers, a NumPy array or a tensor, any shape) in
    ``num_bins`` equal bins spanning its minimum and maximum, or one made already:
    ``np_histogram=(counts, edges)`` as ``numpy.histogram`` returns it. NaN and infinities in
    ``sequence`` are left out.

    ``histogram`` holds the counts and ``bins`` the edges (one more than the counts).

    :raises ValueError: neither or both of ``sequence`` and ``np_histogram``, ``num_bins``
        not in 1..512, ``np_histogram`` not a pair, or edges that are not one more than the
        counts.
    """

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
            if hasattr(sequence, "detach"):  # a torch tensor, wherever it lives
                sequence = sequence.detach().cpu().numpy()
            self.histogram, self.bins = histogram(sequence, num_bins)
        else:
            raise ValueError("Histogram: give a sequence of numbers or np_histogram=(counts, "
                             "bin edges)")
        if len(self.bins) != len(self.histogram) + 1:
            raise ValueError(f"Histogram: there must be one more bin edge than counts, got "
                             f"{len(self.histogram)} counts and {len(self.bins)} edges")

    def _trackd_json(self) -> dict[str, Any]:
        """What a row holds for this value (W&B's encoding)."""
        return {"_type": "histogram", "values": list(self.histogram), "bins": list(self.bins)}

    def __repr__(self) -> str:
        return f"<trackd.Histogram of {len(self.histogram)} bins>"


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
