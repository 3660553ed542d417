"""Run one SDK action as another user, for the isolation tests.

    python as_user.py UID GID ACTION JSON_KWARGS     (started as root)

Python and the project may live where other users cannot read (a home directory), so this
starts as root, imports everything the actions need, then drops to ``UID``/``GID`` (no
supplementary groups) before touching the daemon: the daemon sees the new uid in the socket's
peer credentials. Prints one JSON line: ``{"ok": value}`` or ``{"error": class name, "code":
gRPC code name, "message": ...}``.
"""

from __future__ import annotations

import configparser  # noqa: F401 - imported lazily by the SDK
import importlib
import json
import os
import pkgutil
import sys
from typing import Any

import grpc

import trackd
from trackd._connection import make_stub
from trackd.v1 import daemon_service_pb2, record_service_pb2, run_pb2

for mod in pkgutil.walk_packages(trackd.__path__, "trackd."):
    if "._cli" not in mod.name:
        importlib.import_module(mod.name)


def create(entity: str, project: str, run_id: str, rows: int) -> str:
    run = trackd.init(entity=entity, project=project, id=run_id,
                      settings=trackd.Settings(silent=True))
    for i in range(rows):
        run.log({"loss": 1.0 / (i + 1)})
    run.finish()
    return run.id


def list_runs(project: str) -> list[str]:
    """Ids of the runs in ``project`` ("entity/project") the caller can see."""
    return sorted(r.id for r in trackd.Api().runs(project))


def history_rows(path: str) -> int:
    return len(trackd.Api().run(path).history(pandas=False))


def resume(entity: str, project: str, run_id: str) -> str:
    run = trackd.init(entity=entity, project=project, id=run_id, resume="allow",
                      settings=trackd.Settings(silent=True))
    run.log({"intruder": 1})
    run.finish()
    return run.id


def stream(entity: str, project: str, run_id: str) -> int:
    """Write one record to the run over a raw stream; returns the acked seq."""
    from trackd._shared.values import fill_map

    req = record_service_pb2.StreamRecordsRequest(
        run=run_pb2.RunRef(entity=entity, project=project, run_id=run_id))
    rec = req.records.add(seq=10_000)
    fill_map(rec.history.data, {"intruder": 1})
    with grpc.insecure_channel(os.environ["TRACKD_ADDRESS"]) as ch:
        call = ch.stream_stream("/trackd.v1.RecordService/StreamRecords", request_serializer=None,
                                response_deserializer=record_service_pb2.StreamRecordsResponse.FromString)
        return next(iter(call(iter([req.SerializeToString()]), timeout=10))).acked_seq


def shutdown() -> bool:
    with grpc.insecure_channel(os.environ["TRACKD_ADDRESS"]) as ch:
        stub = make_stub(ch, daemon_service_pb2, "DaemonService")
        return stub.Shutdown(daemon_service_pb2.ShutdownRequest(), timeout=10).stopping


ACTIONS = {"create": create, "list": list_runs, "history": history_rows, "resume": resume,
           "stream": stream, "shutdown": shutdown}


def main() -> None:
    uid, gid, action, kwargs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    os.chdir(os.environ["HOME"])
    out: dict[str, Any]
    try:
        out = {"ok": ACTIONS[action](**kwargs)}
    except grpc.RpcError as exc:
        out = {"error": type(exc).__name__, "code": exc.code().name, "message": exc.details()}
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out = {"error": type(exc).__name__, "code": getattr(exc, "code", ""), "message": str(exc)}
    print(json.dumps(out), flush=True)
    os._exit(0)


if __name__ == "__main__":
    main()
