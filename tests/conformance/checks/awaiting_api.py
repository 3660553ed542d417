"""Checks of elements being built on the ``api`` branch of issue 15: ``init()``'s full
signature (its argument checks in ``test_conformance.py`` also fail until then), ``force`` and
``anonymous``, ``allow_val_change`` in notebooks, ``config=absl FLAGS``, ``Run.config_static``,
``PublicRun.sample_history`` (the ``Artifact.history_step`` example) and ``run.url`` read back
through ``Api()``. They fail until that branch is merged."""

from __future__ import annotations

import sys
import types

import pytest

import trackd
from tests.conformance.registry import check

BRANCH = "api"


@check("wandb.init.force", "wandb.init.anonymous", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    with trackd.init(project=ctx.project, force=False, anonymous="allow") as run:
        run.log({"a": 1})
    assert ctx.stored(run).state == "finished"
    with pytest.raises((trackd.errors.UsageError, ValueError)):
        trackd.init(project=ctx.project, anonymous="sometimes")


@check("wandb.init.allow_val_change", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    class ZMQInteractiveShell:  # what a Jupyter kernel's IPython shell is called
        pass

    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: ZMQInteractiveShell()  # type: ignore[attr-defined]
    ctx.monkeypatch.setitem(sys.modules, "IPython", fake)
    with trackd.init(project=ctx.project, config={"lr": 1}) as run:
        run.config.update({"lr": 2})  # True by default in a notebook
    assert ctx.stored(run).config == {"lr": 2}


@check("wandb.init.config", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    from absl import flags

    fv = flags.FlagValues()
    flags.DEFINE_float("learning_rate", 0.01, "lr", flag_values=fv)
    flags.DEFINE_integer("epochs", 3, "epochs", flag_values=fv)
    fv(["prog", "--epochs=5"])
    with trackd.init(project=ctx.project, config=fv) as run:
        pass
    cfg = ctx.stored(run).config
    assert cfg["learning_rate"] == 0.01 and cfg["epochs"] == 5


@check("Run.config_static", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(config={"lr": 0.1}) as run:
        static = run.config_static
        assert static.lr == 0.1
        with pytest.raises(Exception):  # noqa: B017 - static: not writable
            static.lr = 0.2


@check("Artifact.history_step", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    artifact = ctx.artifact()
    run = artifact.logged_by()
    assert run and artifact.history_step is not None
    history = run.sample_history(min_step=artifact.history_step,
                                 max_step=artifact.history_step + 1, keys=["m"])
    rows = list(history.to_dict("records") if hasattr(history, "to_dict") else history)
    assert [r["m"] for r in rows] == [1]


@check("Run.url", awaiting=BRANCH)
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init() as run:
        url = run.url
    assert ctx.stored(run).url == url
