"""2.1 ``agent``, 2.2 ``controller``, 2.8 ``sweep``: a sweep stored in the daemon, an agent
running its function once per proposal, a controller of it, as the seed documents them."""

from __future__ import annotations

import os

import pytest

import trackd
from tests.conformance.registry import check

CONFIG = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
          "parameters": {"lr": {"values": [0.1, 0.2]}}}


def _clean_env(ctx) -> None:  # type: ignore[no-untyped-def]
    for prefix in ("TRACKD_", "WANDB_"):
        for name in ("SWEEP_ID", "SWEEP_PARAM_PATH", "RUN_ID"):
            ctx.monkeypatch.delenv(prefix + name, raising=False)


@check("wandb.sweep", "wandb.sweep.sweep", "wandb.sweep.entity", "wandb.sweep.project",
       "wandb.sweep.prior_runs")
def _(ctx):  # type: ignore[no-untyped-def]
    with ctx.init(config={"lr": 0.1}) as prior:
        prior.log({"loss": 1.0})
    entity = prior.entity
    # A callable returning the configuration; the id comes back as a string.
    sweep_id = trackd.sweep(lambda: CONFIG, entity=entity, project=ctx.project,
                            prior_runs=[prior.id])
    assert isinstance(sweep_id, str) and sweep_id
    stored = ctx.api().sweep(f"{entity}/{ctx.project}/{sweep_id}")
    assert (stored.entity, stored.project) == (entity, ctx.project)
    assert [r.id for r in stored.runs] == [prior.id]  # the prior run counts for the sweep
    with pytest.raises(trackd.errors.SweepConfigError):
        trackd.sweep({"method": "nope"}, project=ctx.project)


@check("wandb.agent", "wandb.agent.sweep_id", "wandb.agent.function", "wandb.agent.entity",
       "wandb.agent.project", "wandb.agent.count")
def _(ctx):  # type: ignore[no-untyped-def]
    _clean_env(ctx)
    sweep_id = trackd.sweep(CONFIG, project=ctx.project)
    seen = []

    def train() -> None:
        run = trackd.init()
        seen.append((run.sweep_id, run.config.lr))
        run.log({"loss": run.config.lr})

    entity = ctx.api().sweep(sweep_id).entity
    trackd.agent(sweep_id, function=train, entity=entity, project=ctx.project, count=1)
    assert len(seen) == 1 and seen[0][0] == sweep_id  # count: one trial
    trackd.agent(sweep_id, function=train, entity=entity, project=ctx.project)
    assert sorted(lr for _, lr in seen) == [0.1, 0.2]  # the rest of the grid, then done
    assert "WANDB_SWEEP_ID" not in os.environ


@check("wandb.controller", "wandb.controller.sweep_id_or_config", "wandb.controller.entity",
       "wandb.controller.project")
def _(ctx):  # type: ignore[no-untyped-def]
    tuner = trackd.controller(dict(CONFIG), project=ctx.project)
    assert tuner.sweep_id is None and tuner.sweep_config["method"] == "grid"
    tuner.configure_search("random")
    sweep_id = tuner.create()
    assert tuner.sweep_id == sweep_id and tuner.sweep_config["method"] == "random"
    again = trackd.controller(sweep_id, entity=ctx.api().sweep(sweep_id).entity,
                              project=ctx.project)
    assert again.sweep_config["parameters"]["lr"]["values"] == [0.1, 0.2] and not again.done()
