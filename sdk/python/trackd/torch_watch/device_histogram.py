"""A tensor's histogram counted where the tensor lives (W&B's 64 bins between its finite
minimum and maximum). On an accelerator only the counts and the range come back to the host:
one copy of 67 numbers per tensor, the one point where the device is waited for. On the CPU,
where nothing is copied, two passes over the tensor: its range, then ``torch.histc``.

NaN and infinities are left out (as W&B does, which has no way to show them); a tensor with no
finite value gives no histogram; one whose finite values are all equal gives W&B's single bin
``[count]`` over ``[value, value]``. A sparse tensor is counted as W&B counts it: its stored
values and the zeros it does not store.
"""

from __future__ import annotations

import math
from typing import Any

import torch

#: Bins of a histogram (W&B's).
NUM_BINS = 64


def device_histogram(tensor: Any) -> tuple[list[float], list[float]] | None:
    """``(counts, edges)`` of ``tensor``'s finite values, or None when it has none."""
    weights = None
    t = tensor.detach()
    if t.is_sparse:
        t = t.coalesce()
        values = t.values().reshape(-1)
        unstored = t.numel() - values.numel()
        if unstored > 0:  # the zeros a sparse tensor does not store count as W&B counts them
            values = torch.cat([values, values.new_zeros(1)])
            weights = torch.ones(values.numel(), dtype=torch.int64, device=values.device)
            weights[-1] = unstored
        flat = values
    else:
        flat = t.reshape(-1)
    if flat.numel() == 0:
        return None
    if flat.dtype not in (torch.float32, torch.float64):
        flat = flat.float()  # half, bfloat16 and integers are counted as float32
    if flat.device.type == "cpu" and weights is None:
        return _host_histogram(flat)
    return _device_histogram(flat, weights)


def _device_histogram(flat: Any, weights: Any) -> tuple[list[float], list[float]] | None:
    """Counted on ``flat``'s device; one copy of the counts and the range comes back."""
    packed = _count(flat, weights)
    out = packed.cpu().tolist()  # the one copy back: NUM_BINS + 1 counts, minimum, maximum
    counts, lo, hi = out[:NUM_BINS], out[NUM_BINS + 1], out[NUM_BINS + 2]
    total = sum(counts)
    if total == 0:
        return None  # no finite value
    if lo == hi:
        return [float(total)], [lo, hi]
    step = (hi - lo) / NUM_BINS
    return [float(c) for c in counts], [lo + i * step for i in range(NUM_BINS)] + [hi]


def _host_histogram(flat: Any) -> tuple[list[float], list[float]] | None:
    """Counted on the CPU as W&B counts (``torch.histc`` between the finite extremes)."""
    lo_t, hi_t = torch.aminmax(flat)  # NaN or an infinity among the values shows here
    lo, hi = float(lo_t), float(hi_t)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        flat = flat[torch.isfinite(flat)]
        if flat.numel() == 0:
            return None
        lo_t, hi_t = torch.aminmax(flat)
        lo, hi = float(lo_t), float(hi_t)
    if lo == hi:
        return [float(flat.numel())], [lo, hi]
    counts = torch.histc(flat, bins=NUM_BINS, min=lo, max=hi).tolist()
    step = (hi - lo) / NUM_BINS
    return [float(c) for c in counts], [lo + i * step for i in range(NUM_BINS)] + [hi]


def _count(flat: Any, weights: Any) -> Any:
    """On ``flat``'s device: the counts of its finite values in NUM_BINS equal bins between
    their minimum and maximum, one more slot where the others go, then minimum and maximum."""
    finite = torch.isfinite(flat)
    lo = torch.where(finite, flat, torch.inf).min()
    hi = torch.where(finite, flat, -torch.inf).max()
    # all values equal (a span of 0) or none finite: NaN positions, made 0 (the caller takes
    # such a histogram's count, not its bins)
    position = torch.nan_to_num((flat - lo) * (NUM_BINS / (hi - lo)), nan=0.0,
                                posinf=float(NUM_BINS - 1), neginf=0.0)
    index = position.floor().clamp_(0, NUM_BINS - 1).long()
    index = torch.where(finite, index, NUM_BINS)  # not finite: the slot dropped
    counts = torch.zeros(NUM_BINS + 1, dtype=torch.int64, device=flat.device)
    ones = weights if weights is not None else \
        torch.ones(1, dtype=torch.int64, device=flat.device).expand(index.numel())
    counts.scatter_add_(0, index, ones)
    wide = torch.float32 if flat.device.type == "mps" else torch.float64  # mps has no float64
    return torch.cat([counts.to(wide), lo.reshape(1).to(wide), hi.reshape(1).to(wide)])
