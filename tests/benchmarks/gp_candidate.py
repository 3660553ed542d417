"""A candidate bayes search measured by ``bench_sweeps.py`` and not adopted (see the figures
there): a Gaussian process through the ``bayesian-optimization`` package (a scikit-learn
GaussianProcessRegressor, Matern 5/2 kernel, normalised targets, 5 restarts of the kernel's
fit; its acquisition maximised over random points, the best polished by L-BFGS-B) on the unit
cube of the parameters. The package is not a trackd dependency: install it by hand to measure
(``.venv/bin/pip install bayesian-optimization``).

Every parameter is searched as ``u`` in [0, 1], the point of its distribution that
``_distributions.ppf`` turns into a value (a categorical's values, an integer's, are cells of
[0, 1]; a run's value maps back to its cell's middle), so log-scale and unbounded distributions
are searched where their values are dense, as W&B's engine does.

A proposal is rebuilt from the runs on each call, like trackd's Optuna search: runs with a value
(``_runs.observed_value``) are registered with it (negated when the goal is to minimise: the
package maximises; runs at the same point with their mean), open runs (``_runs.is_open``) with
the mean of the values (a constant liar). The first proposals are points of the sweep's
scrambled Halton sequence.
"""

from __future__ import annotations

import importlib
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from bayes_opt import BayesianOptimization, acquisition
from sklearn.gaussian_process.kernels import Matern, WhiteKernel

from trackd_daemon.sweeps import _distributions as dists
from trackd_daemon.sweeps._grid import value_key
from trackd_daemon.sweeps._runs import SearchRun, is_open, observed_value, worst_value
from trackd_daemon.sweeps._space import Param, is_missing, nest, params_of, value_at


@dataclass(frozen=True)
class GPSetting:
    #: Proposals taken from the sweep's Halton sequence before the model's (at least 1: the
    #: model needs a point).
    start: int = 3
    #: Expected improvement's margin (in units of the normalised metric); None: upper
    #: confidence bound with ``kappa``.
    xi: float | None = 0.01
    kappa: float = 2.576
    #: Random points the acquisition is evaluated at, and the best of them polished by L-BFGS-B.
    n_random: int = 1000
    n_smart: int = 2
    #: Fit a noise level (a white-noise kernel) rather than a fixed 1e-6 jitter.
    noise: bool = False
    #: The Matern kernel's smoothness (the package's default: 2.5).
    nu: float = 2.5
    #: Restarts of the kernel's fit from random length scales (the package's default: 5).
    restarts: int = 5


def _acquisition(setting: GPSetting) -> acquisition.AcquisitionFunction:
    base = (acquisition.ExpectedImprovement if setting.xi is not None
            else acquisition.UpperConfidenceBound)

    class Bounded(base):  # type: ignore[misc, valid-type]
        """The package's acquisition with this setting's share of random points and
        polished ones (its defaults, 10 000 and 10, are several times slower with 100 runs)."""

        def suggest(self, gp: Any, target_space: Any, n_random: int = 0, n_smart: int = 0,
                    fit_gp: bool = True, random_state: Any = None) -> Any:
            return super().suggest(gp, target_space, n_random=setting.n_random,
                                   n_smart=setting.n_smart, fit_gp=fit_gp,
                                   random_state=random_state)

    if setting.xi is not None:
        return Bounded(xi=setting.xi)
    return Bounded(kappa=setting.kappa)


def _unit_of(param: Param, value: Any) -> float | None:
    """Where ``value`` lies in [0, 1], the inverse of ``ppf``; None for a value the parameter
    cannot take (a run of another space)."""
    spec, dist = param.spec, param.distribution
    if dist in ("categorical", "categorical_w_probabilities"):
        keys = [value_key(v) for v in spec["values"]]
        if value_key(value) not in keys:
            return None
        i = keys.index(value_key(value))
        if dist == "categorical":
            return (i + 0.5) / len(keys)
        return sum(spec["probabilities"][:i]) + spec["probabilities"][i] / 2
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if dist == "int_uniform":
        lo, hi = spec["min"], spec["max"]
        if not float(value).is_integer() or not lo <= value <= hi:
            return None
        return (value - lo + 0.5) / (hi - lo + 1)
    if dist in ("uniform", "q_uniform"):
        lo, hi = spec["min"], spec["max"]
        slack = spec["q"] / 2 if dist == "q_uniform" else (hi - lo) * 1e-9
        if not lo - slack <= value <= hi + slack:
            return None
        return min(max((value - lo) / (hi - lo), 0.0), 1.0)
    if dist in dists.LOG_SCALE:
        lo, hi = dists.log_bounds(spec)
        slack = spec["q"] / 2 if dist.startswith("q_") else hi * 1e-9
        if value <= 0 or not lo - slack <= value <= hi + slack:
            return None
        return min(max(math.log(value / lo) / math.log(hi / lo), 0.0), 1.0)
    return dists.cdf(spec, float(value))


def _halton(dim: int, seed: int, index: int) -> np.ndarray:
    # scipy.stats is loaded on first use (in the worker thread that proposes): importing it
    # takes about 0.6 s, which a daemon started by a user's first trackd.init() should not wait.
    qmc = importlib.import_module("scipy.stats.qmc")
    engine = qmc.Halton(dim, scramble=True, seed=seed)
    if index:
        engine.fast_forward(index)
    return engine.random(1)[0]


def _points(config: dict[str, Any], runs: list[SearchRun], searched: list[Param]
            ) -> tuple[list[tuple[float, ...]], list[float | None]]:
    """Each usable run's point in the unit cube and its value (None: open)."""
    worst = worst_value(config, runs)
    points, values = [], []
    for run in runs:
        point = []
        for param in searched:
            raw = value_at(run.params, param.path)
            u = None if is_missing(raw) else _unit_of(param, raw)
            if u is None:
                break
            point.append(round(u, 12))
        else:
            if is_open(config, run):
                points.append(tuple(point))
                values.append(None)
            elif (value := observed_value(config, run, worst)) is not None:
                points.append(tuple(point))
                values.append(value)
    return points, values


def next_gp_params(config: dict[str, Any], runs: list[SearchRun], seed: int,
                   setting: GPSetting) -> dict[str, Any]:
    """The next parameters of a bayes sweep, nested (constants included)."""
    params = params_of(config)
    searched = [p for p in params if p.distribution != "constant"]
    if not searched:
        return nest([(p.path, p.spec["value"]) for p in params])
    names = [f"u{i}" for i in range(len(searched))]
    points, values = _points(config, runs, searched)
    known = [v for v in values if v is not None]
    # A fresh stream for each call: the same seed with more runs gives a new proposal.
    call_seed = int(np.random.SeedSequence([seed, len(runs)]).generate_state(1)[0])
    if len(runs) < setting.start or not known:
        unit = _halton(len(searched), seed, len(runs))
    else:
        sign = 1.0 if config["metric"]["goal"] == "maximize" else -1.0
        liar = float(np.mean(known))
        by_point: dict[tuple[float, ...], list[float]] = {}
        for point, value in zip(points, values, strict=True):
            by_point.setdefault(point, []).append(liar if value is None else value)
        optimizer = BayesianOptimization(
            f=None, pbounds={n: (0.0, 1.0) for n in names}, verbose=0,
            acquisition_function=_acquisition(setting),
            random_state=np.random.RandomState(call_seed % 2**32))
        optimizer.set_gp_params(n_restarts_optimizer=setting.restarts)
        if setting.noise:
            optimizer.set_gp_params(kernel=Matern(nu=setting.nu) + WhiteKernel(1e-3, (1e-6, 1.0)))
        elif setting.nu != 2.5:
            optimizer.set_gp_params(kernel=Matern(nu=setting.nu))
        for point, vals in by_point.items():
            optimizer.register(dict(zip(names, point, strict=True)),
                               sign * float(np.mean(vals)))
        with warnings.catch_warnings():
            # sklearn warns when a kernel parameter ends at its bound: not the user's concern.
            warnings.simplefilter("ignore")
            suggestion = optimizer.suggest()
        unit = np.array([suggestion[n] for n in names])
    chosen = {p.path: dists.ppf(p.spec, float(u)) for p, u in zip(searched, unit, strict=True)}
    return nest([(p.path, p.spec["value"] if p.distribution == "constant" else chosen[p.path])
                 for p in params])


#: Settings measured (on seeds 100-109 while exploring; "bo-ei-s2-noise" on seeds 0-19 too).
CANDIDATES: dict[str, GPSetting] = {
    "bo-ei-s2": GPSetting(start=2),
    "bo-ei-s2-r1k0": GPSetting(start=2, n_smart=0),
    "bo-ei-s2-noise": GPSetting(start=2, noise=True),
    "bo-ei-s2-noise-r10k0": GPSetting(start=2, noise=True, n_random=10000, n_smart=0),
    "bo-ei.05-s2": GPSetting(start=2, xi=0.05),
    "bo-ucb-s2": GPSetting(start=2, xi=None),
    "bo-ei-s2-fast": GPSetting(start=2, n_smart=0, restarts=2),
    "bo-ei-s2-fast-nu15": GPSetting(start=2, n_smart=0, restarts=2, nu=1.5),
    "bo-ei0-s2-fast": GPSetting(start=2, n_smart=0, restarts=2, xi=0.0),
}
