"""Bayes search benchmark, run by hand: trackd's engine beside W&B's (the ``sweeps`` package,
W&B's local controller's engine) on standard test functions, sequentially (one proposal,
evaluate it, the next), the median over seeds of the best value found after 10, 20 and 30 trials.

    python tests/benchmarks/bench_sweeps.py                          # 30 trials, 20 seeds
    python tests/benchmarks/bench_sweeps.py --seeds 5 --trials 20    # quicker
    python tests/benchmarks/bench_sweeps.py --samplers tpe,tpe-s5,random --no-wandb
    python tests/benchmarks/bench_sweeps.py --first-seed 100 --seeds 10   # tuning seeds

``--samplers`` also takes the Gaussian-process candidates of ``gp_candidate.py`` (the
``bayesian-optimization`` package, installed by hand: it is not a trackd dependency).

W&B's engine runs in a venv of its own (default ``.bench/sweeps-venv``, git-ignored), made by
hand because ``sweeps`` pins old numpy releases that its code does not need:

    python3 -m venv .bench/sweeps-venv
    .bench/sweeps-venv/bin/pip install numpy scipy scikit-learn jsonschema pyyaml pydantic jsonref
    .bench/sweeps-venv/bin/pip install --no-deps sweeps

It is driven in a subprocess over JSON lines (``sweeps.next_run`` with ``SweepRun`` objects
holding ``summary_metrics``; numpy's and Python's global random state seeded from (seed,
trial)); trackd's engine runs in this process (``next_bayes_params`` with each sampler setting
of ``trackd_daemon.sweeps._bayes.SAMPLERS``). Per-proposal time is the engine call alone.

Functions: Branin (2-D, minimum 0.397887), Hartmann-6 (6-D on [0, 1]^6, minimum -3.32237), and
Branin with Gaussian noise (sd 1) added to every observation, judged on the noise-free value
at the point whose noisy observation is best (what a user would pick).

Figures (2-core VM, 30 trials, seeds 0-19; median best after 10 / 20 / 30 trials, median and
max ms per proposal; * the default, DEFAULT_SAMPLER; tpe: Optuna's TPE defaults; gp: Optuna's
GP sampler, which needs torch):

    problem      engine                         @10     @20     @30 ms med ms max
    ------------ -------------------------- ------- ------- ------- ------ ------
    branin       W&B sweeps (GP)             1.3672  0.6785  0.4264   68.7 1167.7
    branin       halton5-tpe-ei100 *         2.3854  0.7665  0.7076    3.1   22.1
    branin       tpe                         3.1754  1.8805  0.9383    2.5   35.3
    branin       random                      3.1754  2.1428  1.5126    1.0    5.6
    branin       gp (torch)                  3.1754  1.1094  0.4110   46.9 1749.0
    hartmann6    W&B sweeps (GP)            -1.1410 -2.2669 -2.7673   93.8  286.4
    hartmann6    halton5-tpe-ei100 *        -1.1860 -2.4690 -2.6260    6.2   26.6
    hartmann6    tpe                        -0.7448 -2.1601 -2.7088    7.2   48.1
    hartmann6    random                     -0.7448 -0.9800 -1.5574    2.9   67.8
    hartmann6    gp (torch)                 -0.7448 -2.1459 -2.8271  175.7 5421.0
    noisy-branin W&B sweeps (GP)             2.0429  1.1196  0.7793   66.1  468.9
    noisy-branin halton5-tpe-ei100 *         2.0076  1.1333  0.8145    3.4    9.0
    noisy-branin tpe                         3.1754  1.8257  1.2903    2.6    5.2
    noisy-branin random                      3.1754  2.3186  1.6608    1.0    1.9
    noisy-branin gp (torch)                  3.1754  1.0832  0.5446   60.2  607.9

The best Gaussian-process candidate built on a maintained package (``gp_candidate.py``,
``bo-ei-s2-noise``: bayesian-optimization's GP with a fitted white-noise term, expected
improvement, 2 Halton points first; chosen on seeds 100-109 among the settings listed there),
on seeds 0-19 (run two processes at a time, so its times are high; alone it takes 163 ms median,
574 ms max, with 100 runs and 10 parameters, where the default takes 28 and 34):

    branin       bo-ei-s2-noise              1.9466  0.5159  0.4148  325.2 2108.8
    hartmann6    bo-ei-s2-noise             -1.5032 -2.8461 -3.0368  483.4 3492.3
    noisy-branin bo-ei-s2-noise              2.0133  1.4817  0.8760  168.6 2094.8

It is ahead of W&B's engine on Hartmann-6 at every count, on Branin after 20 and 30 trials and on
the noisy Branin after 10, but behind on Branin after 10 and on the noisy Branin after 20 and
30; ahead of the default on Branin and Hartmann-6 at every count, behind it on the noisy Branin
at every count.
Other settings on seeds 100-109 (W&B: branin 1.87/0.55/0.46, hartmann6 -1.38/-2.69/-2.90,
noisy-branin 2.59/1.07/0.92; default: 3.86/1.50/0.60, -1.07/-1.60/-2.45, 3.86/1.50/0.93):
without the noise term (bo-ei-s2) 1.38/0.75/0.46, -0.93/-2.43/-3.12, 5.98/2.25/1.15; without
the L-BFGS-B polish (bo-ei-s2-r1k0) 1.39/0.85/0.48, -1.24/-2.23/-2.65, 3.80/1.66/0.81; with 2
kernel restarts instead of 5 and no polish (bo-ei-s2-fast) 1.78/1.06/0.74, -1.31/-1.55/-2.21,
1.80/1.60/1.41; upper confidence bound (bo-ucb-s2) branin 2.16/1.19/0.71.

The default is ahead of W&B's engine on Hartmann-6 after 10 and 20 trials and level with it on
the noisy Branin, but behind on Branin and on Hartmann-6 after 30 trials: a Gaussian process
fits these smooth, low-dimensional functions better than TPE. ``_bayes``'s docstring says why
the default is TPE all the same.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from trackd_daemon.sweeps import SearchRun, validate_config  # noqa: E402
from trackd_daemon.sweeps._bayes import DEFAULT_SAMPLER, SAMPLERS, next_bayes_params  # noqa: E402

try:  # the Gaussian-process candidates need the bayesian-optimization package (not a dependency)
    from gp_candidate import CANDIDATES, next_gp_params
except ImportError:
    CANDIDATES = {}

# --- test functions --------------------------------------------------------------------------


def branin(p: dict[str, float]) -> float:
    x1, x2 = p["x1"], p["x2"]
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                 [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                        [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])


def hartmann6(p: dict[str, float]) -> float:
    x = np.array([p[f"x{i}"] for i in range(1, 7)])
    return float(-np.sum(_H_ALPHA * np.exp(-np.sum(_H_A * (x - _H_P) ** 2, axis=1))))


# Noise of the size of the differences between good points (Branin is 0.4 at its minima and
# below 5 over a fifth of the square): larger noise makes every search, random included, alike.
NOISE_SD = 1.0

BRANIN_SPACE = {"x1": {"min": -5.0, "max": 10.0}, "x2": {"min": 0.0, "max": 15.0}}
HARTMANN_SPACE = {f"x{i}": {"min": 0.0, "max": 1.0} for i in range(1, 7)}
#: name → (space, noise-free function, noise sd)
PROBLEMS: dict[str, tuple[dict, Callable[[dict], float], float]] = {
    "branin": (BRANIN_SPACE, branin, 0.0),
    "hartmann6": (HARTMANN_SPACE, hartmann6, 0.0),
    "noisy-branin": (BRANIN_SPACE, branin, NOISE_SD),
}

# --- W&B's engine in its own venv ------------------------------------------------------------

_WANDB_WORKER = r"""
import json, random, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
import sweeps
for line in sys.stdin:
    job = json.loads(line)
    random.seed(job["seed"]); np.random.seed(job["seed"] % 2**32)
    runs = [sweeps.SweepRun(name=r["name"], state=r["state"], config=r["config"],
                            summary_metrics=r["summary"]) for r in job["runs"]]
    t0 = time.perf_counter()
    run = sweeps.next_run(job["config"], runs)
    seconds = time.perf_counter() - t0
    params = {k: float(v["value"]) for k, v in run.config.items()}
    print(json.dumps({"params": params, "seconds": seconds}), flush=True)
"""


class WandbEngine:
    def __init__(self, python: str) -> None:
        self.proc = subprocess.Popen([python, "-c", _WANDB_WORKER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def propose(self, config: dict, history: list[tuple[dict, float]], seed: int
                ) -> tuple[dict, float]:
        # W&B's engine draws from the global random state: seeded for each proposal.
        seed = seed * 1000 + len(history)
        runs = [{"name": f"r{i}", "state": "finished",
                 "config": {k: {"value": v} for k, v in params.items()}, "summary": {"y": y}}
                for i, (params, y) in enumerate(history)]
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"config": config, "runs": runs, "seed": seed}) + "\n")
        answer = self.proc.stdout.readline()
        if not answer:
            raise RuntimeError("W&B's engine exited (see its error above)")
        out = json.loads(answer)
        return out["params"], out["seconds"]

    def close(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait(10)


def trackd_propose(sampler: str) -> Callable:
    def propose(config: dict, history: list[tuple[dict, float]], seed: int
                ) -> tuple[dict, float]:
        # One seed for the whole search, as the controller keeps one per sweep.
        runs = [SearchRun(f"r{i}", params, "finished", {"y": y})
                for i, (params, y) in enumerate(history)]
        t0 = time.perf_counter()
        if sampler in CANDIDATES:
            params = next_gp_params(config, runs, seed, CANDIDATES[sampler])
        else:
            params = next_bayes_params(config, runs, seed, sampler=sampler)
        return params, time.perf_counter() - t0
    return propose


# --- the loop --------------------------------------------------------------------------------


def one_search(propose: Callable, problem: str, seed: int, trials: int
               ) -> tuple[list[float], list[float]]:
    """Best-so-far (noise-free, at the incumbent) after each trial, and each proposal's time."""
    space, fn, noise = PROBLEMS[problem]
    config = validate_config({"method": "bayes", "metric": {"name": "y", "goal": "minimize"},
                              "parameters": space})
    rng = np.random.default_rng([seed, 12345])
    history: list[tuple[dict, float]] = []
    best_seen, best_true, curve, times = math.inf, math.inf, [], []
    for _ in range(trials):
        params, seconds = propose(config, history, seed)
        times.append(seconds)
        true = fn(params)
        observed = true + (rng.normal(0.0, noise) if noise else 0.0)
        history.append((params, observed))
        if observed < best_seen:
            best_seen, best_true = observed, true
        curve.append(best_true)
    return curve, times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first..first+seeds-1 (tune settings on other seeds than "
                             "the figures reported)")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--samplers", default=DEFAULT_SAMPLER,
                        help="trackd sampler settings, of: "
                             f"{', '.join([*SAMPLERS, *CANDIDATES])}")
    parser.add_argument("--wandb-python", default=str(REPO / ".bench/sweeps-venv/bin/python"))
    parser.add_argument("--no-wandb", action="store_true")
    parser.add_argument("--json", help="write every curve and time here")
    args = parser.parse_args()

    engines: dict[str, Callable] = {}
    wandb = None
    if not args.no_wandb:
        if not os.path.exists(args.wandb_python):
            print(f"no W&B venv at {args.wandb_python} (see this file's docstring); "
                  "use --no-wandb to skip it", file=sys.stderr)
            return 2
        wandb = WandbEngine(args.wandb_python)
        engines["W&B sweeps (GP)"] = wandb.propose
    for name in args.samplers.split(","):
        engines[f"trackd {name}"] = trackd_propose(name)

    checkpoints = [c for c in (10, 20, 30) if c <= args.trials] or [args.trials]
    results: dict = {}
    header = ("| problem | engine | " + " | ".join(f"best@{c}" for c in checkpoints)
              + " | ms/proposal (median) | ms (max) |")
    rows = [header, "|" + "---|" * (header.count("|") - 1)]
    try:
        for problem in args.problems.split(","):
            for engine, propose in engines.items():
                curves, times = [], []
                for seed in range(args.first_seed, args.first_seed + args.seeds):
                    curve, t = one_search(propose, problem, seed, args.trials)
                    curves.append(curve)
                    times.extend(t)
                results[(problem, engine)] = {"curves": curves, "times": times}
                medians = [statistics.median(c[k - 1] for c in curves) for k in checkpoints]
                rows.append(f"| {problem} | {engine} | "
                            + " | ".join(f"{m:.4f}" for m in medians)
                            + f" | {1000 * statistics.median(times):.1f}"
                            + f" | {1000 * max(times):.1f} |")
                print(rows[-1], flush=True)
    finally:
        if wandb:
            wandb.close()
    print()
    print(f"{args.trials} sequential trials, {args.seeds} seeds, median over seeds of the best "
          f"(noise-free) value after N trials; lower is better")
    print("\n".join(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {f"{p}|{e}": v for (p, e), v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
