"""Validation of a sweep configuration (W&B's schema), collecting every violation with the
path of its field, and filling in the defaults."""

from __future__ import annotations

import copy
import math
import re
from numbers import Real
from typing import Any

from trackd_daemon.errors import SweepConfigError

from . import _distributions as dists

METHODS = ("grid", "random", "bayes", "custom")
GOALS = ("minimize", "maximize")
IMPUTES = ("latest", "best", "worst")
SCHEDULER_ENGINES = {"wandb": ("grid", "random", "bayes"), "optuna": ("custom",),
                     "ax": ("custom",)}
# Top-level keys whose value is a string.
_STRING_KEYS = ("program", "name", "description", "project", "entity", "job", "image_uri",
                "apiVersion")
TOP_LEVEL_KEYS = frozenset((*_STRING_KEYS, "method", "metric", "metrics", "parameters",
                            "early_terminate", "command", "controller", "run_cap", "scheduler",
                            "kind"))
_METRIC_KEYS = ("name", "goal", "target", "impute", "impute_while_running")
_HYPERBAND_KEYS = ("type", "min_iter", "max_iter", "s", "eta", "strict")
_SCHEDULER_KEYS = ("engine", "source", "optimizer", "search_space")
# W&B's pattern for parameter names.
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def is_number(x: object) -> bool:
    """A finite int or float (bool is not a number here)."""
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(x)


def is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _type_name(x: object) -> str:
    return "null" if x is None else type(x).__name__


def validate_config(raw: object) -> dict[str, Any]:
    """The configuration with its defaults filled in (a new dict), or SweepConfigError naming
    every violation."""
    out: list[str] = []
    if not isinstance(raw, dict):
        raise SweepConfigError([f"config: must be a mapping (got {_type_name(raw)})"])
    config = copy.deepcopy(raw)
    for key in config:
        if key not in TOP_LEVEL_KEYS:
            out.append(f"{key}: unknown key")
    method = config.get("method")
    if "method" not in config:
        out.append("method: is required")
    elif method not in METHODS:
        out.append(f"method: must be one of {', '.join(METHODS)} (got {method!r})")
    for key in _STRING_KEYS:
        if key in config and not isinstance(config[key], str):
            out.append(f"{key}: must be a string (got {_type_name(config[key])})")
    if "kind" in config and config["kind"] != "sweep":
        out.append(f"kind: must be 'sweep' (got {config['kind']!r})")
    if "run_cap" in config and not (is_int(config["run_cap"]) and config["run_cap"] > 0):
        out.append(f"run_cap: must be a positive integer (got {config['run_cap']!r})")
    if "command" in config:
        _check_command(config["command"], out)
    if "controller" in config:
        _check_controller(config["controller"], out)
    if "scheduler" in config:
        _check_scheduler(config, out)

    if "metric" in config:
        if "metrics" in config:
            out.append("metrics: cannot be set together with metric")
        config["metric"] = _check_metric(config["metric"], "metric", out)
    elif method == "bayes":
        out.append("metric: is required when method is bayes")
    elif "early_terminate" in config:
        out.append("metric: is required when early_terminate is set")
    if "metrics" in config:
        _check_metrics(config, out)

    if "early_terminate" in config:
        config["early_terminate"] = _check_hyperband(config["early_terminate"], out)

    search_space = isinstance(config.get("scheduler"), dict) and config["scheduler"].get(
        "search_space")
    if "parameters" in config:
        config["parameters"] = _check_parameters(config["parameters"], "parameters", out)
        if isinstance(config["parameters"], dict):
            _check_method_fits(config, method, out)
    elif not search_space:
        out.append("parameters: is required")
    if out:
        raise SweepConfigError(out)
    return config


def _check_command(command: object, out: list[str]) -> None:
    if not isinstance(command, list):
        out.append(f"command: must be a list of strings (got {_type_name(command)})")
        return
    for i, item in enumerate(command):
        if not isinstance(item, str):
            out.append(f"command[{i}]: must be a string (got {_type_name(item)})")


def _check_controller(controller: object, out: list[str]) -> None:
    if not isinstance(controller, dict):
        out.append(f"controller: must be a mapping (got {_type_name(controller)})")
        return
    if "type" not in controller:
        out.append("controller.type: is required")
    elif controller["type"] not in ("local", "cloud"):
        out.append(f"controller.type: must be one of local, cloud (got {controller['type']!r})")


def _check_scheduler(config: dict[str, Any], out: list[str]) -> None:
    scheduler = config["scheduler"]
    if not isinstance(scheduler, dict):
        out.append(f"scheduler: must be a mapping (got {_type_name(scheduler)})")
        return
    for key in scheduler:
        if key not in _SCHEDULER_KEYS:
            out.append(f"scheduler.{key}: unknown key")
    engine = scheduler.get("engine")
    if "engine" not in scheduler:
        out.append("scheduler.engine: is required")
    elif engine not in SCHEDULER_ENGINES:
        out.append(f"scheduler.engine: must be one of {', '.join(SCHEDULER_ENGINES)} "
                   f"(got {engine!r})")
    elif config.get("method") in METHODS and config["method"] not in SCHEDULER_ENGINES[engine]:
        out.append(f"scheduler.engine: {engine} does not support method {config['method']} "
                   f"(it supports {', '.join(SCHEDULER_ENGINES[engine])})")
    for key in ("source", "optimizer", "search_space"):
        if key in scheduler and not isinstance(scheduler[key], str):
            out.append(f"scheduler.{key}: must be a string (got {_type_name(scheduler[key])})")
    for key in ("optimizer", "search_space"):
        if key in scheduler and "source" not in scheduler:
            out.append(f"scheduler.source: is required when scheduler.{key} is set")
    if "early_terminate" in config:
        out.append("early_terminate: cannot be used together with scheduler")
    controller = config.get("controller")
    if isinstance(controller, dict) and controller.get("type") == "local":
        out.append("controller: a local controller cannot be used together with scheduler")


def _check_metric(metric: object, path: str, out: list[str]) -> object:
    if not isinstance(metric, dict):
        out.append(f"{path}: must be a mapping (got {_type_name(metric)})")
        return metric
    for key in metric:
        if key not in _METRIC_KEYS:
            out.append(f"{path}.{key}: unknown key")
    if "name" not in metric:
        out.append(f"{path}.name: is required")
    elif not isinstance(metric["name"], str) or not metric["name"]:
        out.append(f"{path}.name: must be a non-empty string (got {metric['name']!r})")
    metric.setdefault("goal", "minimize")
    if metric["goal"] not in GOALS:
        out.append(f"{path}.goal: must be one of {', '.join(GOALS)} (got {metric['goal']!r})")
    if "target" in metric and not is_number(metric["target"]):
        out.append(f"{path}.target: must be a number (got {metric['target']!r})")
    metric.setdefault("impute", "worst")
    if metric["impute"] not in IMPUTES:
        out.append(f"{path}.impute: must be one of {', '.join(IMPUTES)} "
                   f"(got {metric['impute']!r})")
    # "false" (W&B's default): a running run counts as running, not with an imputed value.
    if metric.setdefault("impute_while_running", "false") is False:
        metric["impute_while_running"] = "false"
    if metric["impute_while_running"] not in (*IMPUTES, "false"):
        out.append(f"{path}.impute_while_running: must be one of {', '.join(IMPUTES)}, false "
                   f"(got {metric['impute_while_running']!r})")
    return metric


def _check_metrics(config: dict[str, Any], out: list[str]) -> None:
    metrics = config["metrics"]
    if not isinstance(metrics, list) or len(metrics) < 2:
        out.append("metrics: must be a list of at least 2 metrics")
        return
    if config.get("method") in METHODS and config["method"] != "custom":
        out.append(f"metrics: requires method custom (got {config['method']})")
    config["metrics"] = [_check_metric(m, f"metrics[{i}]", out) for i, m in enumerate(metrics)]


def _check_hyperband(et: object, out: list[str]) -> object:
    path = "early_terminate"
    if not isinstance(et, dict):
        out.append(f"{path}: must be a mapping (got {_type_name(et)})")
        return et
    for key in et:
        if key not in _HYPERBAND_KEYS:
            out.append(f"{path}.{key}: unknown key")
    if "type" not in et:
        out.append(f"{path}.type: is required")
    elif et["type"] != "hyperband":
        out.append(f"{path}.type: must be hyperband (got {et['type']!r})")
    et.setdefault("eta", 3)
    eta_ok = is_number(et["eta"]) and et["eta"] > 1
    if not eta_ok:
        out.append(f"{path}.eta: must be a number greater than 1 (got {et['eta']!r})")
    et.setdefault("strict", True)
    if not isinstance(et["strict"], bool):
        out.append(f"{path}.strict: must be true or false (got {et['strict']!r})")
    if "min_iter" in et:
        if not (is_int(et["min_iter"]) and et["min_iter"] >= 1):
            out.append(f"{path}.min_iter: must be an integer of at least 1 "
                       f"(got {et['min_iter']!r})")
    elif "max_iter" in et or "s" in et:
        ok = True
        for key in ("max_iter", "s"):
            if key not in et:
                out.append(f"{path}.{key}: is required with "
                           f"{'s' if key == 'max_iter' else 'max_iter'}")
                ok = False
            elif not (is_int(et[key]) and et[key] >= 1):
                out.append(f"{path}.{key}: must be an integer of at least 1 (got {et[key]!r})")
                ok = False
        if ok and eta_ok and et["max_iter"] / et["eta"] < 1:
            out.append(f"{path}.max_iter: leaves no band (max_iter/eta < 1: "
                       f"{et['max_iter']}/{et['eta']})")
    else:
        out.append(f"{path}: needs min_iter, or max_iter and s")
    return et


def _check_parameters(params: object, path: str, out: list[str]) -> object:
    if not isinstance(params, dict):
        out.append(f"{path}: must be a mapping of parameter names to specs "
                   f"(got {_type_name(params)})")
        return params
    if not params:
        out.append(f"{path}: must name at least one parameter")
    filled: dict[str, Any] = {}
    for name, spec in params.items():
        where = f"{path}.{name}"
        if not isinstance(name, str) or not _PARAM_NAME.match(name):
            out.append(f"{where}: is not a valid parameter name (letters, digits, _ . -; "
                       "not starting with a digit)")
        if isinstance(spec, dict) and "parameters" in spec:
            for key in spec:
                if key != "parameters":
                    out.append(f"{where}.{key}: unknown key (a nested group holds only "
                               "parameters)")
            filled[name] = {"parameters": _check_parameters(spec["parameters"],
                                                            f"{where}.parameters", out)}
        else:
            filled[name] = _check_parameter(spec, where, out)
    return filled


def _infer_distribution(spec: dict[str, Any], path: str, out: list[str]) -> str | None:
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical_w_probabilities" if "probabilities" in spec else "categorical"
    if "min" in spec and "max" in spec:
        lo, hi = spec["min"], spec["max"]
        if is_int(lo) and is_int(hi):
            return "int_uniform"
        if is_number(lo) and is_number(hi):
            return "uniform"
        out.append(f"{path}: min and max must be numbers (got {lo!r} and {hi!r})")
        return None
    out.append(f"{path}: cannot tell its distribution: give value, values, min and max, or "
               "distribution")
    return None


def _check_parameter(spec: object, path: str, out: list[str]) -> object:
    if not isinstance(spec, dict):
        out.append(f"{path}: must be a mapping (got {_type_name(spec)})")
        return spec
    dist = spec.get("distribution")
    if dist is None:
        dist = _infer_distribution(spec, path, out)
        if dist is None:
            return spec
    elif dist not in dists.KEYS:
        out.append(f"{path}.distribution: unknown distribution {dist!r}")
        return spec
    allowed = dists.KEYS[dist]
    filled: dict[str, Any] = {"distribution": dist}
    for key in spec:
        if key != "distribution" and key not in allowed:
            out.append(f"{path}.{key}: unknown key for distribution {dist}")
    for key, default in allowed.items():
        if key in spec:
            filled[key] = spec[key]
        elif default is ...:
            out.append(f"{path}.{key}: is required for distribution {dist}")
        else:
            filled[key] = default
    _check_values(filled, path, out)
    return filled


def _check_values(spec: dict[str, Any], path: str, out: list[str]) -> None:
    dist = spec["distribution"]
    if "values" in spec:
        values = spec["values"]
        if not isinstance(values, list) or not values:
            out.append(f"{path}.values: must be a non-empty list (got {values!r})")
        elif "probabilities" in spec:
            probs = spec["probabilities"]
            if not isinstance(probs, list) or not all(is_number(p) and p >= 0 for p in probs):
                out.append(f"{path}.probabilities: must be a list of numbers >= 0")
            elif len(probs) != len(values):
                out.append(f"{path}.probabilities: must have as many items as values "
                           f"({len(probs)} != {len(values)})")
            elif not math.isclose(sum(probs), 1.0, abs_tol=1e-8):
                out.append(f"{path}.probabilities: must sum to 1 (got {sum(probs):g})")
    bounds_ok = True
    for key in ("min", "max"):
        if key not in spec:
            bounds_ok = False
            continue
        value = spec[key]
        if dist == "int_uniform" and not is_int(value):
            out.append(f"{path}.{key}: must be an integer (got {value!r})")
            bounds_ok = False
        elif not is_number(value):
            out.append(f"{path}.{key}: must be a number (got {value!r})")
            bounds_ok = False
    if bounds_ok:
        lo, hi = spec["min"], spec["max"]
        if lo >= hi:
            out.append(f"{path}.min: must be less than max (got {lo} >= {hi})")
        if dist in dists.POSITIVE_MIN and lo <= 0:
            out.append(f"{path}.min: must be greater than 0 for {dist} (got {lo})")
    for key in ("q", "sigma", "a", "b"):
        if key in spec and not (is_number(spec[key]) and spec[key] > 0):
            out.append(f"{path}.{key}: must be a number greater than 0 (got {spec[key]!r})")
    if "mu" in spec and not is_number(spec["mu"]):
        out.append(f"{path}.mu: must be a number (got {spec['mu']!r})")


def _check_method_fits(config: dict[str, Any], method: object, out: list[str]) -> None:
    from_params = list(_leaf_specs(config["parameters"], "parameters"))
    if method == "grid":
        for path, spec in from_params:
            dist = spec.get("distribution")
            if dist in dists.KEYS and dist not in dists.GRID_DISTRIBUTIONS:
                out.append(f"{path}: a grid needs constant, categorical, int_uniform or "
                           f"q_uniform parameters (got {dist})")
    if method == "bayes" and from_params and all(
            spec.get("distribution") == "constant" for _, spec in from_params):
        out.append("parameters: bayes needs at least one parameter that is not constant")


def _leaf_specs(params: dict[str, Any], path: str):
    for name, spec in params.items():
        if not isinstance(spec, dict):
            continue
        if "parameters" in spec and isinstance(spec["parameters"], dict):
            yield from _leaf_specs(spec["parameters"], f"{path}.{name}.parameters")
        else:
            yield f"{path}.{name}", spec
