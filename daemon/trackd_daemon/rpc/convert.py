"""Pure conversions between store models and ``trackd.v1`` messages."""

from __future__ import annotations

import math
from typing import Any

from trackd._shared import proxies
from trackd._shared.ids import id_problem
from trackd._shared.values import MalformedValueError, fill_map, map_to_python
from trackd.v1 import run_pb2
from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.records import metric_to_pb
from trackd_daemon.run_limits import check_config, check_fields
from trackd_daemon.store.models import (
    CRASHED,
    FAILED,
    FINISHED,
    KILLED,
    PREEMPTED,
    RUNNING,
    NewRun,
    RunInfo,
    RunKey,
)

STATE_TO_PB = {
    RUNNING: run_pb2.RUN_STATE_RUNNING,
    FINISHED: run_pb2.RUN_STATE_FINISHED,
    FAILED: run_pb2.RUN_STATE_FAILED,
    CRASHED: run_pb2.RUN_STATE_CRASHED,
    KILLED: run_pb2.RUN_STATE_KILLED,
    PREEMPTED: run_pb2.RUN_STATE_PREEMPTED,
}


def key_from_pb(ref: run_pb2.RunRef) -> RunKey:
    """Validate a RunRef. :raises InvalidArgumentError: a missing or invalid part."""
    for part in ("entity", "project", "run_id"):
        value = getattr(ref, part)
        if not value:
            raise InvalidArgumentError(f"run reference without {part}")
        if value != value.strip() or len(value) > 128:
            raise InvalidArgumentError(f"invalid {part} {value!r}")
    problem = id_problem(ref.run_id)
    if problem:
        raise InvalidArgumentError(f"invalid run id {ref.run_id!r}: {problem}")
    if "/" in ref.entity or "/" in ref.project:
        raise InvalidArgumentError("entity and project may not contain '/'")
    return RunKey(ref.entity, ref.project, ref.run_id)


def page_limit(requested: int, default: int, maximum: int, field: str) -> int:
    """A request's page size or limit: 0 means ``default``; above ``maximum``, ``maximum``.

    :raises InvalidArgumentError: a negative one (a store would read it as no limit at all).
    """
    if requested < 0:
        raise InvalidArgumentError(f"{field} must be >= 0, got {requested}", field=field)
    return min(requested or default, maximum)


def key_to_pb(key: RunKey) -> run_pb2.RunRef:
    return run_pb2.RunRef(entity=key.entity, project=key.project, run_id=key.run_id)


def new_run_from_pb(req: Any) -> NewRun:
    """CreateRunRequest -> NewRun (blocking for a large config: call it from a worker thread).

    :raises InvalidArgumentError: an invalid reference, a start time that is not a finite
        number, a malformed config map (keys and values of different lengths, a value of no
        kind, duplicate keys), or a field over its limit (``trackd._shared.run_fields``); the error's ``field`` names it.
    """
    key = key_from_pb(req.ref)
    check_fields({"name": req.name, "notes": req.notes, "tags": req.tags, "group": req.group,
                  "job_type": req.job_type, "host": req.host, "program": req.program,
                  "sweep_id": req.sweep_id, "request_id": req.request_id,
                  "writer": req.writer})
    if not math.isfinite(req.start_time):  # NaN cannot be stored; infinity is no time
        raise InvalidArgumentError(f"start_time must be Unix seconds, got {req.start_time}",
                                   field="start_time")
    config = decode_map(req.config, "config")
    check_config(config)
    http_proxy, https_proxy = proxies_from_pb(req)
    return NewRun(
        key=key, name=req.name, notes=req.notes, tags=list(req.tags),
        group=req.group, job_type=req.job_type, config=config,
        start_time=req.start_time, host=req.host, program=req.program, sweep_id=req.sweep_id,
        request_id=req.request_id, crash_grace=req.crash_grace_seconds,
        http_proxy=http_proxy, https_proxy=https_proxy, shared=req.shared,
    )


def proxies_from_pb(req: Any) -> tuple[str, str]:
    """A request's ``http_proxy`` and ``https_proxy``, checked.

    :raises InvalidArgumentError: one is not an http(s) proxy URL (its credentials redacted).
    """
    out = []
    for name in ("http_proxy", "https_proxy"):
        try:
            out.append(proxies.check(getattr(req, name)))
        except ValueError as exc:
            raise InvalidArgumentError(f"{name}: {exc}", field=name) from None
    return out[0], out[1]


def decode_map(mv: Any, field: str) -> dict[str, Any]:
    """A request's MapValue as a dict.

    :raises InvalidArgumentError: the map is malformed, naming ``field``.
    """
    try:
        return map_to_python(mv)
    except MalformedValueError as exc:
        raise InvalidArgumentError(f"malformed {field}: {exc}", field=field) from None


def run_to_pb(info: RunInfo, acked_seq: int = 0, session: Any = None) -> run_pb2.Run:
    """A stored run as a message; ``session`` (the live RunSession, if any) adds live flags."""
    run = run_pb2.Run(
        ref=key_to_pb(info.key), name=info.name, notes=info.notes, tags=info.tags,
        group=info.group, job_type=info.job_type, state=STATE_TO_PB[info.state],
        exit_code=info.exit_code, created_at=info.created_at, updated_at=info.updated_at,
        finished_at=info.finished_at, history_rows=info.history_rows, last_step=info.last_step,
        host=info.host, user=info.owner_name, program=info.program, start_time=info.start_time,
        acked_seq=max(acked_seq, info.ingested_seq), sweep_id=info.sweep_id,
        # Until the run ends (its session is retired a moment after its end is stored).
        preempting=bool(session and session.preempting and info.state == RUNNING),
        stop_requested=bool(session and session.stop_requested),
    )
    run.config.SetInParent()
    fill_map(run.config, info.config)
    run.summary.SetInParent()
    fill_map(run.summary, info.summary)
    run.metrics.extend([metric_to_pb(d) for d in info.metrics])
    if info.fork_run_id:
        run.forked_from.run_id, run.forked_from.step = info.fork_run_id, info.fork_step
    return run
