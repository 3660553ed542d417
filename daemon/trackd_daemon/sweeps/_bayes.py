"""Bayesian search through Optuna.

Each call rebuilds an in-memory study from the sweep's runs and asks it for one trial, so the
state of the search is the runs themselves (which the store keeps) and a proposal depends only
on (runs, seed):

- finished runs with a metric are COMPLETE trials; finished runs without one and failed,
  crashed or killed runs count with the value ``metric.impute`` gives (``_runs.imputed_value``,
  W&B's rules); with nothing to impute from they are FAIL trials (which the sampler ignores);
- running runs are RUNNING trials, or COMPLETE with an imputed value when
  ``metric.impute_while_running`` is set; pending and preempted runs are RUNNING trials: the
  sampler's constant liar keeps new proposals away from them;
- runs whose parameters lie outside the space (prior runs of another space) are left out.

Parameters map onto Optuna's distributions natively where they are bounded: categorical values
by index, int_uniform as IntDistribution, uniform as FloatDistribution, q_uniform as the integer
multiplier of q, log-scale distributions as FloatDistribution(log=True) between their value
bounds (the q_ forms quantised on the way out). Unbounded ones (normal, log-normal, beta and their
q_ forms) go through their CDF onto [0, 1] (scipy's ppf/cdf).

The sampler was chosen by measurement (``tests/benchmarks/bench_sweeps.py``: 30 sequential
trials on Branin, Hartmann-6 and a noisy Branin, the median over seeds of the best value after
10, 20 and 30 trials; settings compared on seeds 100-139, so that the figures reported on seeds
0-19 are not the ones the choice was fitted to). DEFAULT_SAMPLER is multivariate TPE with a
constant liar, 100 expected-improvement candidates (Optuna's default 24 explores more than a
30-trial budget affords), whose first 5 proposals are points of a scrambled Halton sequence
(random starting points clump; Halton ones cover the space), the model taking over from the
6th. Of the TPE settings measured (start of 3, 5, 10 points, random or Halton; 24, 100 or 256
candidates) it ranked best on average over the three functions. Against W&B's engine (a
Gaussian process with expected improvement) it is ahead on Hartmann-6 after 10 and 20 trials,
level on the noisy Branin, behind on Branin and on Hartmann-6 after 30 trials; it proposes in
about 3-6 ms where W&B's takes 70-95 ms. Optuna's GP sampler does better after 30 trials, but it
needs torch, which the daemon does not depend on; CMA-ES keeps its state between proposals in
the study, which a study rebuilt from the runs does not have. A Gaussian process through the
``bayesian-optimization`` package (scikit-learn's GaussianProcessRegressor, expected improvement,
in the unit cube of the parameters; ``tests/benchmarks/gp_candidate.py``) was measured too: its
best setting is ahead of W&B's engine on Hartmann-6, and of this default on Branin and
Hartmann-6, but behind both on the noisy Branin after 20 and 30 trials and behind W&B's on
Branin after 10, and it takes about 160 ms a proposal with 100 runs where this one takes 30: not
enough to make it the default (the benchmark's docstring has the figures).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from . import _distributions as dists
from ._config import is_number
from ._grid import value_key
from ._runs import SearchRun, is_open, observed_value, worst_value
from ._space import Param, is_missing, nest, params_of, value_at

# Optuna logs every trial at INFO; the daemon's log is not the place for that.
optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass(frozen=True)
class _Axis:
    """One searched parameter as Optuna sees it."""

    param: Param
    distribution: BaseDistribution
    #: The run's value → Optuna's (None: not in the space).
    inward: Callable[[Any], Any]
    #: Optuna's value → the run's.
    outward: Callable[[Any], Any]


def _within(lo: float, hi: float, slack: float = 0.0) -> Callable[[Any], float | None]:
    def inward(v: Any) -> float | None:
        if not is_number(v) or not lo - slack <= v <= hi + slack:
            return None
        return min(max(float(v), lo), hi)
    return inward


def _axis(param: Param) -> _Axis:
    spec, dist = param.spec, param.distribution
    if dist in ("categorical", "categorical_w_probabilities"):
        values = spec["values"]
        index = {value_key(v): i for i, v in reversed(list(enumerate(values)))}
        return _Axis(param, CategoricalDistribution(tuple(range(len(values)))),
                     lambda v: index.get(value_key(v)), lambda i: values[i])
    if dist == "int_uniform":
        lo, hi = spec["min"], spec["max"]

        def int_in(v: Any) -> int | None:
            ok = is_number(v) and float(v).is_integer() and lo <= v <= hi
            return int(v) if ok else None
        return _Axis(param, IntDistribution(lo, hi), int_in, int)
    if dist == "uniform":
        lo, hi = float(spec["min"]), float(spec["max"])
        return _Axis(param, FloatDistribution(lo, hi), _within(lo, hi), float)
    if dist == "q_uniform":
        q = spec["q"]
        k_lo, k_hi = round(spec["min"] / q), round(spec["max"] / q)

        def k_in(v: Any) -> int | None:
            return round(v / q) if is_number(v) and k_lo <= round(v / q) <= k_hi else None
        return _Axis(param, IntDistribution(k_lo, k_hi), k_in,
                     lambda k: dists.quantize(k * q, q))
    if dist in dists.LOG_SCALE:
        lo, hi = dists.log_bounds(spec)
        quantised = dist.startswith("q_")
        slack = spec["q"] if quantised else hi * 1e-9
        out = (lambda x: dists.quantize(x, spec["q"])) if quantised else float
        return _Axis(param, FloatDistribution(lo, hi, log=True), _within(lo, hi, slack), out)
    if dist in dists.UNBOUNDED:
        def u_in(v: Any) -> float | None:
            return dists.cdf(spec, float(v)) if is_number(v) else None
        return _Axis(param, FloatDistribution(0.0, 1.0), u_in, lambda u: dists.ppf(spec, u))
    raise ValueError(f"no Optuna mapping for {dist}")


def _from_unit(distribution: BaseDistribution, u: float) -> Any:
    """The point of ``distribution`` at ``u`` in [0, 1) (a space-filling start)."""
    if isinstance(distribution, CategoricalDistribution):
        return distribution.choices[min(int(u * len(distribution.choices)),
                                        len(distribution.choices) - 1)]
    if isinstance(distribution, IntDistribution):
        lo, hi = distribution.low, distribution.high
        return min(lo + int(u * (hi - lo + 1)), hi)
    assert isinstance(distribution, FloatDistribution)
    lo, hi = distribution.low, distribution.high
    if distribution.log:
        return min(max(math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))), lo), hi)
    return lo + u * (hi - lo)


def _start_point(axes: list[_Axis], seed: int, index: int) -> dict[str, Any]:
    """Point ``index`` of the sweep's scrambled Halton sequence, in Optuna's terms."""
    # scipy.stats is loaded on first use (in the worker thread that proposes): importing it
    # takes about 0.6 s, which a daemon started by a user's first trackd.init() should not wait.
    qmc = importlib.import_module("scipy.stats.qmc")
    engine = qmc.Halton(len(axes), scramble=True, seed=seed)
    if index:
        engine.fast_forward(index)
    unit = engine.random(1)[0]
    return {a.param.name: _from_unit(a.distribution, float(u))
            for a, u in zip(axes, unit, strict=True)}


def _tpe(seed: int, **options: Any) -> optuna.samplers.BaseSampler:
    # multivariate: one joint model of the parameters (better than independent ones on every
    # function the benchmark measures); constant_liar: pending and running runs repel.
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True,
                                      **options)


@dataclass(frozen=True)
class SamplerSetting:
    #: The sampler for a proposal, from its seed.
    make: Callable[[int], optuna.samplers.BaseSampler]
    #: The first proposals are points of the sweep's scrambled Halton sequence (evenly spread,
    #: where random ones clump), this many, before the sampler's own.
    qmc_start: int = 0


def _tpe_setting(qmc_start: int, **options: Any) -> SamplerSetting:
    return SamplerSetting(lambda seed: _tpe(seed, **options), qmc_start)


#: Sampler settings the benchmark compares, by name. "gp" (Optuna's Gaussian process) needs
#: torch, which the daemon does not depend on: it is measured as a reference only.
SAMPLERS: dict[str, SamplerSetting] = {
    "tpe": _tpe_setting(0),
    "tpe-s5": _tpe_setting(0, n_startup_trials=5),
    "tpe-s3-ei100": _tpe_setting(0, n_startup_trials=3, n_ei_candidates=100),
    "tpe-s5-ei100": _tpe_setting(0, n_startup_trials=5, n_ei_candidates=100),
    "halton5-tpe-ei24": _tpe_setting(5, n_startup_trials=5),
    "halton5-tpe-ei100": _tpe_setting(5, n_startup_trials=5, n_ei_candidates=100),
    "halton5-tpe-ei256": _tpe_setting(5, n_startup_trials=5, n_ei_candidates=256),
    "halton10-tpe-ei100": _tpe_setting(10, n_startup_trials=10, n_ei_candidates=100),
    "random": SamplerSetting(lambda seed: optuna.samplers.RandomSampler(seed=seed)),
    "gp": SamplerSetting(lambda seed: optuna.samplers.GPSampler(seed=seed)),
}
DEFAULT_SAMPLER = "halton5-tpe-ei100"


def _trial_of(config: dict[str, Any], run: SearchRun, worst: float | None,
              axes: list[_Axis]) -> optuna.trial.FrozenTrial | None:
    params: dict[str, Any] = {}
    for axis in axes:
        value = value_at(run.params, axis.param.path)
        inner = None if is_missing(value) else axis.inward(value)
        if inner is None:
            return None
        params[axis.param.name] = inner
    distributions = {axis.param.name: axis.distribution for axis in axes}
    if is_open(config, run):
        return optuna.trial.create_trial(state=TrialState.RUNNING, params=params,
                                         distributions=distributions)
    value = observed_value(config, run, worst)
    if value is None:
        return optuna.trial.create_trial(state=TrialState.FAIL, params=params,
                                         distributions=distributions)
    return optuna.trial.create_trial(value=value, params=params, distributions=distributions)


def next_bayes_params(config: dict[str, Any], runs: list[SearchRun], seed: int,
                      sampler: str = DEFAULT_SAMPLER) -> dict[str, Any]:
    """The next parameters of a bayes sweep, nested (constants included)."""
    params = params_of(config)
    axes = [_axis(p) for p in params if p.distribution != "constant"]
    # A fresh stream for each call: the same seed with more runs gives a new proposal.
    sampler_seed = int(np.random.SeedSequence([seed, len(runs)]).generate_state(1)[0])
    direction = "maximize" if config["metric"]["goal"] == "maximize" else "minimize"
    setting = SAMPLERS[sampler]
    worst = worst_value(config, runs)
    trials = [t for run in runs if (t := _trial_of(config, run, worst, axes)) is not None]
    study = optuna.create_study(direction=direction, sampler=setting.make(sampler_seed))
    study.add_trials(trials)
    if len(runs) < setting.qmc_start:
        study.enqueue_trial(_start_point(axes, seed, len(runs)))
    trial = study.ask({axis.param.name: axis.distribution for axis in axes})
    chosen = {axis.param.path: axis.outward(trial.params[axis.param.name]) for axis in axes}
    return nest([(p.path, p.spec["value"] if p.distribution == "constant" else chosen[p.path])
                 for p in params])
