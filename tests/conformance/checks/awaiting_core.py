"""Checks of elements being built on the ``core`` branch of issue 15: ``setup(settings)``
reaching child processes, a script's ``sys.exit`` status as the run's state and exit code, and
``init_timeout`` bounding every wait of ``init()``. They fail until that branch is merged."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

import trackd
from tests import helpers
from tests.conformance.registry import check

BRANCH = "core"

SETUP_EXAMPLE = '''
import multiprocessing

import trackd as wandb


def run_experiment(params):
   with wandb.init(config=params):
        # Run experiment
        pass


if __name__ == "__main__":
   # Start backend and set global config
   wandb.setup(settings={"project": "my_project"})

   # Define experiment parameters
   experiment_params = [
        {"learning_rate": 0.01, "epochs": 10},
        {"learning_rate": 0.001, "epochs": 20},
   ]

   # Start multiple processes, each running a separate experiment
   processes = []
   for params in experiment_params:
        p = multiprocessing.Process(target=run_experiment, args=(params,))
        p.start()
        processes.append(p)

   # Wait for all processes to complete
   for p in processes:
        p.join()

   # Optional: Explicitly shut down the backend
   wandb.teardown()
'''


@check("wandb.setup.settings", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    script = ctx.write("setup_example.py", SETUP_EXAMPLE)
    subprocess.run([sys.executable, script], check=True, cwd=ctx.tmp, timeout=60)
    runs = trackd.Api().runs("my_project")
    lrs = sorted(r.config.get("learning_rate") for r in runs
                 if r.config.get("learning_rate") in (0.01, 0.001))
    assert lrs[-2:] == [0.001, 0.01]


@check("wandb.teardown.exit_code", "Run.finish.exit_code", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    prog = ("import sys, trackd\n"
            "run = trackd.init(project='conformance')\n"
            "print(run.path, flush=True)\n"
            "sys.exit({code})\n")
    for code, state in ((3, "failed"), (0, "finished")):
        out = subprocess.run([sys.executable, "-c", prog.format(code=code)], text=True,
                             capture_output=True, cwd=ctx.tmp).stdout.split()[-1]
        s = trackd.Api().run(out)
        assert (s.state, s.exit_code) == (state, code)


@check("Settings.init_timeout", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    prog = ("import trackd\n"
            "trackd.init(project='conformance', settings=trackd.Settings(init_timeout=3))\n")
    with helpers.own_daemon(ctx.monkeypatch) as d:
        d.proc.send_signal(signal.SIGSTOP)
        try:
            start = time.monotonic()
            # In a child process, so that a wait that ignores init_timeout costs 10 s, not 60.
            try:
                p = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                                   cwd=ctx.tmp, timeout=10)
            except subprocess.TimeoutExpired:
                pytest.fail("init(init_timeout=3) against a stopped daemon still waiting at 10 s")
            elapsed = time.monotonic() - start
        finally:
            d.proc.send_signal(signal.SIGCONT)
    assert p.returncode != 0 and "CommError" in p.stderr and "init_timeout" in p.stderr, p.stderr
    assert elapsed < 4 + 2, elapsed  # 4 s, plus the child's interpreter start and import
