"""A sweep with runs for the dashboard's tests: made through the daemon's SweepService as an
agent speaks to it (NextRun), each proposal run with ``trackd.init`` in this process under the
sweep's id, with its parameters as config and a metric of them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import grpc

import trackd
from tests.helpers import DaemonProcess
from trackd._transport.connection import make_stub
from trackd.v1 import sweep_service_pb2 as pb

ENTITY = "sweeper"
CONFIG = {
    "method": "random",
    "name": "lr-search",
    "metric": {"name": "val/loss", "goal": "minimize"},
    "parameters": {
        "lr": {"distribution": "log_uniform_values", "min": 0.0001, "max": 0.1},
        "optimizer": {"values": ["adam", "sgd"]},
        "model": {"parameters": {"layers": {"values": [2, 4, 8]}}},
    },
}


def loss_of(params: dict[str, Any]) -> float:
    """The metric each run reports: the optimizer matters most, then the learning rate."""
    return (0.2 if params["optimizer"] == "adam" else 0.8) + params["lr"] * 2


@dataclass
class SweepRuns:
    sweep_id: str
    project: str
    #: run id -> parameters, in the order proposed.
    proposals: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: run id -> the metric it reported.
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/{ENTITY}/{self.project}/sweeps/{self.sweep_id}"

    @property
    def api(self) -> str:
        return f"/api/v1/sweeps/{ENTITY}/{self.project}/{self.sweep_id}"


class SweepClient:
    """SweepService of a daemon, over its socket."""

    def __init__(self, daemon: DaemonProcess) -> None:
        self.channel = grpc.insecure_channel(f"unix:{daemon.dirs.socket}")
        self.stub: Any = make_stub(self.channel, pb, "SweepService")

    def close(self) -> None:
        self.channel.close()

    def ref(self, sweep: SweepRuns) -> pb.SweepRef:
        return pb.SweepRef(entity=ENTITY, project=sweep.project, sweep_id=sweep.sweep_id)

    def create(self, project: str, config: dict[str, Any] | None = None) -> SweepRuns:
        sweep = self.stub.CreateSweep(pb.CreateSweepRequest(
            entity=ENTITY, project=project, config_json=json.dumps(config or CONFIG)),
            timeout=30).sweep
        return SweepRuns(sweep.ref.sweep_id, project)

    def propose(self, sweep: SweepRuns, agent: str = "agent-1",
                wait: float = 10.0) -> pb.NextRunResponse:
        return self.stub.NextRun(pb.NextRunRequest(
            ref=self.ref(sweep), agent_id=agent, request_id=uuid.uuid4().hex,
            wait_seconds=wait), timeout=wait + 30)

    def get(self, sweep: SweepRuns) -> pb.Sweep:
        return self.stub.GetSweep(pb.GetSweepRequest(ref=self.ref(sweep)), timeout=30).sweep

    def run(self, sweep: SweepRuns, steps: int = 5) -> str:
        """Take the next proposal and run it to the end; returns its run id."""
        proposal = self.propose(sweep)
        assert proposal.run_id, proposal
        params = json.loads(proposal.params_json)
        sweep.proposals[proposal.run_id] = params
        run = trackd.init(entity=ENTITY, project=sweep.project, id=proposal.run_id,
                          config=params, settings=trackd.Settings(sweep_id=sweep.sweep_id))
        loss = loss_of(params)
        for i in range(steps):
            run.log({"val/loss": loss + (steps - 1 - i) * 0.1})
        run.finish()
        sweep.metrics[proposal.run_id] = loss
        return proposal.run_id

    def leave_pending(self, sweep: SweepRuns) -> str:
        """Take a proposal and never start it."""
        proposal = self.propose(sweep)
        sweep.proposals[proposal.run_id] = json.loads(proposal.params_json)
        return proposal.run_id

    def stop_early(self, sweep: SweepRuns, run_id: str) -> None:
        self.stub.StopSweepRuns(pb.StopSweepRunsRequest(ref=self.ref(sweep), run_ids=[run_id]),
                                timeout=30)


def make_sweep(daemon: DaemonProcess, project: str, runs: int = 4) -> SweepRuns:
    """A sweep of ``CONFIG`` with ``runs`` finished runs, one proposal never started and then
    stopped early."""
    client = SweepClient(daemon)
    try:
        sweep = client.create(project)
        for _ in range(runs):
            client.run(sweep)
        pending = client.leave_pending(sweep)
        client.stop_early(sweep, pending)
    finally:
        client.close()
    return sweep
