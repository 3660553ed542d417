"""Run one SDK action as another user, for the isolation tests.

    python as_user.py UID GID ACTION JSON_KWARGS     (started as root)

Python and the project may live where other users cannot read (a home directory), so this
starts as root, imports everything the actions need, then drops to ``UID``/``GID`` (no
supplementary groups) before touching the daemon: the daemon sees the new uid in the socket's
peer credentials. Prints one JSON line: ``{"ok": value}`` or ``{"error": class name, "code":
gRPC code name, "message": ...}``.
"""

from __future__ import annotations

import argparse
import configparser  # noqa: F401 - imported lazily by the SDK
import contextlib
import io
import json
import os
import sys
from typing import Any

import grpc
from sdk_modules import import_sdk_modules  # beside this script (sys.path[0])

import trackd
import trackd._shared.paths  # noqa: F401 - imported lazily by `trackd ui`
import trackd._transport.daemon  # noqa: F401 - imported lazily by `trackd ui`
from trackd._cli.ui import ui
from trackd._transport.connection import make_stub
from trackd.v1 import daemon_service_pb2, record_service_pb2, run_pb2

import_sdk_modules()


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


def list_projects(entity: str) -> dict[str, int]:
    """The projects of ``entity`` the caller sees, with how many runs it sees in each."""
    return {p.name: p.run_count for p in trackd.Api().projects(entity)}


def who(project: str) -> dict[str, list[str]]:
    """The runs of ``project`` the caller can see: id -> [their user, their host]."""
    return {r.id: [r.user.username, r.host] for r in trackd.Api().runs(project)}


def log_text(entity: str, project: str, run_id: str, name: str, text: str) -> str:
    """Log an artifact holding one file, ``a.txt``, from a new run; returns its version."""
    run = trackd.init(entity=entity, project=project, id=run_id,
                      settings=trackd.Settings(silent=True))
    art = trackd.Artifact(name, "dataset")
    with art.new_file("a.txt") as f:
        f.write(text)
    run.log_artifact(art).wait()
    run.finish()
    return art.version


def read_text(name: str) -> str:
    """``a.txt`` of the artifact version ``name``, downloaded."""
    from pathlib import Path

    root = trackd.Api().artifact(name).download(os.path.join(os.environ["HOME"], "dl", name))
    return (Path(root) / "a.txt").read_text()


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


def keep_files(entity: str, project: str, run_id: str) -> dict[str, Any]:
    """Save files with each policy and log a directory and a file:// reference, as a user
    whose paths the daemon does not open: the SDK sends the bytes and keeps the policies.
    Returns every stored version of each file (text) and the artifacts' manifests."""
    import time
    from pathlib import Path

    from trackd._transport import file_sync as _file_sync
    from trackd._transport import handoff

    handed: list[str] = []
    hand_over = handoff.hand_over

    def counted(socket_path: str, path: str, md5: str = "") -> Any:
        handed.append(os.path.basename(path))
        return hand_over(socket_path, path, md5)

    handoff.hand_over = counted  # type: ignore[assignment]
    home = Path(os.environ["HOME"])
    (home / "data").mkdir(exist_ok=True)
    (home / "data" / "a.txt").write_text("alpha")
    (home / "data" / "b.txt").write_text("beta")
    for name, text in (("now.txt", "now"), ("live.txt", "live 1"), ("end.txt", "end draft")):
        (home / name).write_text(text)
    run = trackd.init(entity=entity, project=project, id=run_id,
                      settings=trackd.Settings(silent=True))
    for name, policy in (("now.txt", "now"), ("live.txt", "live"), ("end.txt", "end")):
        run.save(str(home / name), base_path=str(home), policy=policy)
    run._files.flush()
    (home / "live.txt").write_text("live 2")  # changed, then quiet for a look: sent again
    deadline = time.monotonic() + 10 * _file_sync.LIVE_POLL
    while time.monotonic() < deadline and not any(
            f.name == "live.txt" and f.versions >= 2
            for f in trackd.Api().run(f"{entity}/{project}/{run_id}").files()):
        time.sleep(0.1)
    (home / "live.txt").write_text("live 3")  # sent at finish
    (home / "end.txt").write_text("end final")
    stored = run.log_artifact(str(home / "data"), name="data", type="dataset").wait()
    ref = trackd.Artifact("refs", type="dataset")
    ref.add_reference(f"file://{home / 'data'}")
    refs = run.log_artifact(ref).wait()
    run.finish()
    api_run = trackd.Api().run(f"{entity}/{project}/{run_id}")
    files = {f.name: [f.read_bytes(v["version"]).decode() for v in f.history]
             for f in api_run.files() if f.name in ("now.txt", "live.txt", "end.txt")}
    root = Path(stored.download(str(home / "out")))
    return {"files": files, "handed_over": sorted(set(handed)),
            "stored_text": {p.name: p.read_text() for p in sorted(root.iterdir())},
            "refs": {e.path: [e.ref, e.digest, e.size] for e in refs.manifest.entries.values()}}


def edit(path: str, change: str) -> list[str]:
    """Rename, move or delete a stored run through ``Api``; returns its path afterwards."""
    run = trackd.Api().run(path)
    if change == "rename":
        run.name = "renamed"
        run.update()
    elif change == "move":
        run.move("elsewhere")
    else:
        run.delete()
    return run.path


def ui_url(path: str) -> str:
    """The login URL `trackd ui --no-browser PATH` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ui(argparse.Namespace(path=path or None, entity=None, rotate_token=False,
                              no_browser=True, timeout=10.0))
    return out.getvalue().strip().splitlines()[-1]


ACTIONS = {"create": create, "list": list_runs, "history": history_rows, "resume": resume,
           "stream": stream, "shutdown": shutdown, "keep_files": keep_files,
           "projects": list_projects, "edit": edit, "who": who, "log_text": log_text,
           "read_text": read_text, "ui_url": ui_url}


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
