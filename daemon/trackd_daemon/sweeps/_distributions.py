"""The distributions a sweep parameter may follow: which keys each takes, their defaults, and
how a point ``u`` of [0, 1) becomes a value (the inverse CDF, so that random search draws
``u`` uniformly) and back (the CDF, for values the search did not propose itself).

A parameter's spec here is always a validated one (``_config.validate_config``): it has its
``distribution`` and every default filled in.

Exponent forms (W&B's first versions): ``log_uniform``, ``inv_log_uniform`` and
``q_log_uniform`` take ``min``/``max`` as natural-log exponents; the ``*_values`` forms take
the values themselves. ``inv_log_uniform`` is the value ``exp(-x)`` for ``x`` uniform in
[min, max]; ``inv_log_uniform_values`` is ``1/x`` for ``log(x)`` uniform between the logs of
``1/max`` and ``1/min``: both are log-uniform between their bounds.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

#: Keys (other than ``distribution``) each distribution takes, with their defaults (``...``:
#: required, no default).
KEYS: dict[str, dict[str, Any]] = {
    "constant": {"value": ...},
    "categorical": {"values": ...},
    "categorical_w_probabilities": {"values": ..., "probabilities": ...},
    "int_uniform": {"min": ..., "max": ...},
    "uniform": {"min": ..., "max": ...},
    "q_uniform": {"min": ..., "max": ..., "q": 1.0},
    "log_uniform": {"min": ..., "max": ...},
    "log_uniform_values": {"min": ..., "max": ...},
    "inv_log_uniform": {"min": ..., "max": ...},
    "inv_log_uniform_values": {"min": ..., "max": ...},
    "q_log_uniform": {"min": ..., "max": ..., "q": 1.0},
    "q_log_uniform_values": {"min": ..., "max": ..., "q": 1.0},
    "normal": {"mu": 0.0, "sigma": 1.0},
    "q_normal": {"mu": 0.0, "sigma": 1.0, "q": 1.0},
    "log_normal": {"mu": 0.0, "sigma": 1.0},
    "q_log_normal": {"mu": 0.0, "sigma": 1.0, "q": 1.0},
    "beta": {"a": 1.0, "b": 1.0},
    "q_beta": {"a": 1.0, "b": 1.0, "q": 1.0},
}

#: Distributions a grid can enumerate.
GRID_DISTRIBUTIONS = ("constant", "categorical", "int_uniform", "q_uniform")
#: Distributions whose ``min`` must be positive (bounds are values on a log scale).
POSITIVE_MIN = ("log_uniform_values", "inv_log_uniform_values", "q_log_uniform_values")
#: Distributions whose values are drawn on a log scale between two bounds.
LOG_SCALE = ("log_uniform", "log_uniform_values", "inv_log_uniform", "inv_log_uniform_values",
             "q_log_uniform", "q_log_uniform_values")
#: Distributions without bounds: a search maps them through their CDF.
UNBOUNDED = ("normal", "q_normal", "log_normal", "q_log_normal", "beta", "q_beta")

# ppf(0) of a normal is -inf: points are kept this far inside (0, 1).
_EDGE = 1e-9


def log_bounds(spec: dict[str, Any]) -> tuple[float, float]:
    """The (low, high) values of a log-scale distribution."""
    dist, lo, hi = spec["distribution"], spec["min"], spec["max"]
    if dist in ("log_uniform", "q_log_uniform"):
        return math.exp(lo), math.exp(hi)
    if dist == "inv_log_uniform":
        return math.exp(-hi), math.exp(-lo)
    return float(lo), float(hi)


def quantize(value: float, q: float) -> int | float:
    """``value`` rounded to a multiple of ``q``; an int when ``q`` is one (as W&B does)."""
    k = round(value / q)
    if isinstance(q, int):
        return int(k * q)
    # k*q in binary floating point: 3*0.1 is 0.30000000000000004; 12 significant digits
    # give back the decimal the user meant.
    return float(f"{k * q:.12g}")


def grid_values(spec: dict[str, Any]) -> list[Any]:
    """Every value of a grid parameter (constant, categorical, int_uniform, q_uniform).

    A q_uniform's values are the multiples of q that its draws can take: ``round(x/q)*q`` for
    x in [min, max], so both ends are included when they are multiples of q.
    """
    dist = spec["distribution"]
    if dist == "constant":
        return [spec["value"]]
    if dist == "categorical":
        return list(spec["values"])
    if dist == "int_uniform":
        return list(range(spec["min"], spec["max"] + 1))
    if dist == "q_uniform":
        q = spec["q"]
        first, last = round(spec["min"] / q), round(spec["max"] / q)
        return [quantize(k * q, q) for k in range(first, last + 1)]
    raise ValueError(f"a grid cannot enumerate a {dist} parameter")


def ppf(spec: dict[str, Any], u: float) -> Any:
    """The value at quantile ``u`` (0 <= u <= 1) of the parameter's distribution."""
    dist = spec["distribution"]
    u = min(max(u, _EDGE), 1.0 - _EDGE)
    if dist == "constant":
        return spec["value"]
    if dist == "categorical":
        values = spec["values"]
        return values[min(int(u * len(values)), len(values) - 1)]
    if dist == "categorical_w_probabilities":
        total = 0.0
        for value, p in zip(spec["values"], spec["probabilities"], strict=True):
            total += p
            if u < total:
                return value
        return spec["values"][-1]
    if dist == "int_uniform":
        lo, hi = spec["min"], spec["max"]
        return min(lo + int(u * (hi - lo + 1)), hi)
    if dist in ("uniform", "q_uniform"):
        x = spec["min"] + u * (spec["max"] - spec["min"])
        return float(x) if dist == "uniform" else quantize(x, spec["q"])
    if dist in LOG_SCALE:
        lo, hi = log_bounds(spec)
        x = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        return quantize(x, spec["q"]) if dist.startswith("q_") else x
    # scipy.special's functions, not scipy.stats' distribution objects: the same values at a
    # hundredth of the cost (a bayes proposal maps every run's parameters).
    special = _special()
    if dist in ("normal", "q_normal"):
        x = spec["mu"] + spec["sigma"] * float(special.ndtri(u))
    elif dist in ("log_normal", "q_log_normal"):
        x = math.exp(spec["mu"] + spec["sigma"] * float(special.ndtri(u)))
    elif dist in ("beta", "q_beta"):
        x = float(special.betaincinv(spec["a"], spec["b"], u))
    else:
        raise ValueError(f"unknown distribution {dist!r}")
    return quantize(x, spec["q"]) if dist.startswith("q_") else x


def cdf(spec: dict[str, Any], value: float) -> float:
    """The quantile of ``value`` in an unbounded distribution (normal, log-normal, beta and
    their quantised forms), kept inside (0, 1)."""
    dist = spec["distribution"]
    special = _special()
    if dist in ("normal", "q_normal"):
        u = special.ndtr((value - spec["mu"]) / spec["sigma"])
    elif dist in ("log_normal", "q_log_normal"):
        if value <= 0:
            return _EDGE
        u = special.ndtr((math.log(value) - spec["mu"]) / spec["sigma"])
    elif dist in ("beta", "q_beta"):
        u = special.betainc(spec["a"], spec["b"], min(max(value, 0.0), 1.0))
    else:
        raise ValueError(f"{dist} is not mapped through its CDF")
    return min(max(float(u), _EDGE), 1.0 - _EDGE)


def _special() -> Any:
    """``scipy.special``, loaded on first use: SciPy is tens of MiB that a daemon running no
    sweep with an unbounded distribution never needs (its memory is measured against W&B's)."""
    return importlib.import_module("scipy.special")
