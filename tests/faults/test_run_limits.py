"""Size limits on a run's fields (``trackd._shared.run_fields``), on every way a field reaches
the daemon: CreateRun (new, resumed, forked), run updates and config records in the record
stream, and the SDK's ``init()``, ``run.name``/``notes``/``tags`` and ``run.config``.

Each refusal is INVALID_ARGUMENT naming the field (``field`` in the error's metadata), or the
SDK's FieldTooLargeError where the user set it; nothing accepted before is lost, and the run
goes on taking data.
"""

from __future__ import annotations

import grpc
import pytest

import trackd
from tests.e2e.raw import raw_stub
from tests.helpers import wait_for
from trackd import Api
from trackd._shared.run_fields import (
    MAX_CONFIG_BYTES,
    MAX_CONFIG_KEYS,
    MAX_NAME_LENGTH,
    MAX_NOTES_BYTES,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    TEXT_LIMITS,
)
from trackd._shared.values import fill_map
from trackd._transport.connection import make_stub
from trackd.errors import FieldTooLargeError, InvalidArgumentError, from_grpc
from trackd.v1 import record_service_pb2, run_pb2, run_service_pb2, value_pb2

BIG_VALUE = "x" * (MAX_CONFIG_BYTES + 1)


def _too_many_keys(prefix: str = "k") -> dict[str, int]:
    return {f"{prefix}{i}": i for i in range(MAX_CONFIG_KEYS + 1)}


#: Each field over its limit, as CreateRun takes it; the SDK's `init()` arguments follow.
OVER = {
    "name": {"name": "n" * (MAX_NAME_LENGTH + 1)},
    "notes": {"notes": "é" * (MAX_NOTES_BYTES // 2 + 1)},  # 2 bytes each: just over 1 MiB
    "tags": {"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]},
    "tags (one too long)": {"tags": ["ok", "t" * (MAX_TAG_LENGTH + 1)]},
    "group": {"group": "g" * (MAX_NAME_LENGTH + 1)},
    "job_type": {"job_type": "j" * (MAX_NAME_LENGTH + 1)},
    "host": {"host": "h" * (TEXT_LIMITS["host"] + 1)},
    "program": {"program": "/p" * TEXT_LIMITS["program"]},
    "sweep_id": {"sweep_id": "s" * (TEXT_LIMITS["sweep_id"] + 1)},
    "request_id": {"request_id": "r" * (TEXT_LIMITS["request_id"] + 1)},
    "writer": {"writer": "w" * (TEXT_LIMITS["writer"] + 1), "shared": True},
    "config (keys)": {"config": _too_many_keys()},
    "config (bytes)": {"config": {"blob": BIG_VALUE}},
    "config (many empty values)": {"config": {"v": [""] * (MAX_CONFIG_BYTES // 10)}},
}


def _field(case: str) -> str:
    return case.split(" ")[0]


def _request(ref: dict[str, str], **fields: object) -> run_service_pb2.CreateRunRequest:
    config = fields.pop("config", None)
    req = run_service_pb2.CreateRunRequest(ref=run_pb2.RunRef(**ref), start_time=1.0, **fields)
    if config is not None:
        req.config.SetInParent()
        fill_map(req.config, config)
    return req


@pytest.fixture
def runs_stub(clean_sdk):  # type: ignore[no-untyped-def]
    channel = grpc.insecure_channel(f"unix:{clean_sdk.dirs.socket}", options=[
        ("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)])
    yield make_stub(channel, run_service_pb2, "RunService")
    channel.close()


def _refused(call, field: str) -> InvalidArgumentError:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as exc:
        call()
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT, exc.value.details()
    err = from_grpc(exc.value)
    assert isinstance(err, InvalidArgumentError)
    assert err.metadata.get("field") == field, (err.metadata, err.message)
    return err


@pytest.mark.parametrize("case", list(OVER))
@pytest.mark.parametrize("resume", [run_service_pb2.RESUME_POLICY_NEVER,
                                    run_service_pb2.RESUME_POLICY_ALLOW])
def test_create_run_refuses_each_field_over_its_limit(clean_sdk, runs_stub, case, resume):
    ref = {"entity": "raw", "project": "limits", "run_id": f"c{abs(hash((case, resume))) % 10**8}"}
    if resume == run_service_pb2.RESUME_POLICY_ALLOW:  # an existing run, continued
        runs_stub.CreateRun(_request(ref))
    _refused(lambda: runs_stub.CreateRun(_request(ref, resume=resume, **OVER[case])),
             _field(case))
    # At the limit, the same fields are taken.
    runs_stub.CreateRun(_request({**ref, "run_id": ref["run_id"] + "ok"},
                                 name="n" * MAX_NAME_LENGTH, tags=["t" * MAX_TAG_LENGTH] * MAX_TAGS,
                                 notes="n" * MAX_NOTES_BYTES))


def _malformed(kind: str) -> value_pb2.MapValue:
    mv = value_pb2.MapValue(keys=["a", "b"])
    if kind == "lengths":
        mv.values.add(int_value=1)  # two keys, one value
    elif kind == "no kind":
        mv.keys[:] = ["a"]
        mv.values.add()
    else:  # duplicate keys
        mv.keys[:] = ["a", "a"]
        mv.values.add(int_value=1)
        mv.values.add(int_value=2)
    return mv


@pytest.mark.parametrize("kind", ["lengths", "no kind", "duplicates"])
def test_create_run_with_a_malformed_config_is_invalid_argument(clean_sdk, runs_stub, kind):
    """Finding 7: these answered INTERNAL with a traceback in the daemon's log."""
    ref = run_pb2.RunRef(entity="raw", project="limits", run_id=f"bad-{kind.replace(' ', '-')}")
    req = run_service_pb2.CreateRunRequest(ref=ref, config=_malformed(kind))
    err = _refused(lambda: runs_stub.CreateRun(req), "config")
    assert "malformed config" in err.message
    assert "unexpected error" not in clean_sdk.log_text()
    with pytest.raises(trackd.errors.RunNotFoundError):
        Api().run("raw/limits/" + ref.run_id)


def test_a_fork_whose_merged_config_is_too_large_is_refused(clean_sdk, runs_stub):
    src = {"entity": "raw", "project": "limits", "run_id": "fork-src"}
    half = MAX_CONFIG_KEYS // 2 + 1
    runs_stub.CreateRun(_request(src, config={f"a{i}": i for i in range(half)}))
    fork = _request({**src, "run_id": "fork-new"}, config={f"b{i}": i for i in range(half)})
    fork.fork_from.run_id, fork.fork_from.step = "fork-src", 0
    _refused(lambda: runs_stub.CreateRun(fork), "config")
    fork.config.Clear()
    fill_map(fork.config, {"b": 1})
    assert runs_stub.CreateRun(fork).run.forked_from.run_id == "fork-src"


# -- the record stream ---------------------------------------------------------------------


def _config_batch(ref: dict[str, str], seq: int, update: dict, rows: int = 0) -> bytes:
    """``rows`` history records, then one config record."""
    req = record_service_pb2.StreamRecordsRequest(run=run_pb2.RunRef(**ref))
    for i in range(rows):
        rec = req.records.add(seq=seq + i)
        rec.history.data.SetInParent()
        fill_map(rec.history.data, {"v": seq + i})
    rec = req.records.add(seq=seq + rows)
    rec.config.update.SetInParent()
    fill_map(rec.config.update, update)
    return req.SerializeToString()


def _update_batch(ref: dict[str, str], seq: int, **fields: object) -> bytes:
    req = record_service_pb2.StreamRecordsRequest(run=run_pb2.RunRef(**ref))
    u = req.records.add(seq=seq).run_update
    u.SetInParent()
    for name, value in fields.items():
        if name == "tags":
            u.tags.SetInParent()
            u.tags.tags.extend(value)  # type: ignore[arg-type]
        else:
            setattr(u, name, value)
    return req.SerializeToString()


def _acked(stub, batch: bytes) -> int:  # type: ignore[no-untyped-def]
    return [r.acked_seq for r in stub(iter([batch]))][-1]


@pytest.mark.parametrize("field", ["name", "notes", "tags", "group", "job_type"])
def test_stream_refuses_run_updates_over_the_limits_and_keeps_the_rest(clean_sdk, runs_stub,
                                                                       field):
    ref = {"entity": "raw", "project": "limits", "run_id": f"upd-{field.replace('_', '-')}"}
    runs_stub.CreateRun(_request(ref, name="before"))
    channel, stub = raw_stub(clean_sdk)
    try:
        assert _acked(stub, _config_batch(ref, 1, {"lr": 0.1}, rows=2)) == 3
        value = OVER["tags" if field == "tags" else field][field]
        with pytest.raises(grpc.RpcError) as exc:
            _acked(stub, _update_batch(ref, 4, **{field: value}))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert from_grpc(exc.value).metadata["field"] == f"run_update.{field}"
        # The stream goes on from where it was: seq 4 is free, and a good update is taken.
        assert _acked(stub, _update_batch(ref, 4, name="after")) == 4
    finally:
        channel.close()
    run = wait_for(lambda: (r := Api().run("raw/limits/" + ref["run_id"])).name == "after" and r)
    assert run.history_rows == 2 and run.config == {"lr": 0.1}


def test_stream_refuses_config_growing_over_the_limits_and_keeps_everything_accepted(
        clean_sdk, runs_stub):
    """Each config record fits, but the config grows over its limits: the batch that would
    take it over is refused whole (its rows too); the client resends the rows alone, and
    every row and every accepted key is kept."""
    ref = {"entity": "raw", "project": "limits", "run_id": "grow"}
    half = MAX_CONFIG_KEYS // 2 + 1
    runs_stub.CreateRun(_request(ref, config={f"a{i}": i for i in range(half)}))
    channel, stub = raw_stub(clean_sdk)
    try:
        assert _acked(stub, _config_batch(ref, 1, {"small": 1}, rows=3)) == 4
        with pytest.raises(grpc.RpcError) as exc:  # keys: half + 1 + half > the limit
            _acked(stub, _config_batch(ref, 5, {f"b{i}": i for i in range(half)}, rows=3))
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert from_grpc(exc.value).metadata["field"] == "config"
        assert "keys" in exc.value.details()
        # Bytes: several records that each fit, together too large.
        chunk = "y" * (MAX_CONFIG_BYTES // 3)
        assert _acked(stub, _config_batch(ref, 5, {"c1": chunk}, rows=2)) == 7
        assert _acked(stub, _config_batch(ref, 8, {"c2": chunk})) == 8
        with pytest.raises(grpc.RpcError) as exc:
            _acked(stub, _config_batch(ref, 9, {"c3": chunk}))
        assert from_grpc(exc.value).metadata["field"] == "config"
        assert "MiB" in exc.value.details()
        # Replacing a key counts its new size, not both: this fits.
        assert _acked(stub, _config_batch(ref, 9, {"c2": "small"})) == 9
        assert _acked(stub, _config_batch(ref, 10, {"c3": chunk}, rows=1)) == 11
    finally:
        channel.close()
    path = "raw/limits/grow"
    run = wait_for(lambda: (r := Api().run(path)).history_rows == 6 and r)
    assert len(run.config) == half + 4 and run.config["c2"] == "small"  # small, c1, c2, c3
    assert [row["v"] for row in run.scan_history()] == [1, 2, 3, 5, 6, 10]


def test_config_limits_hold_across_a_daemon_restart(own_daemon):
    """A run's config size is measured from what is stored when the daemon comes back."""
    ref = {"entity": "raw", "project": "limits", "run_id": "restart"}
    channel, stub = raw_stub(own_daemon)
    try:
        make_stub(channel, run_service_pb2, "RunService").CreateRun(
            _request(ref, config={f"a{i}": i for i in range(MAX_CONFIG_KEYS - 6)}))
        assert _acked(stub, _config_batch(ref, 1, {"b": 1}, rows=2)) == 3
    finally:
        channel.close()
    own_daemon.kill()
    own_daemon.start()
    channel, stub = raw_stub(own_daemon)
    try:
        with pytest.raises(grpc.RpcError) as exc:
            _acked(stub, _config_batch(ref, 4, {f"c{i}": i for i in range(6)}))
        assert from_grpc(exc.value).metadata["field"] == "config"
        assert _acked(stub, _config_batch(ref, 4, {f"c{i}": i for i in range(5)})) == 4
    finally:
        channel.close()
    # Acked means durable, not yet applied: wait for the last config record to reach the store.
    run = wait_for(lambda: (r := Api().run("raw/limits/restart")).config.get("c4") == 4 and r)
    assert len(run.config) == MAX_CONFIG_KEYS and run.history_rows == 2


# -- the SDK -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["name", "notes", "tags", "tags (one too long)", "group",
                                  "job_type", "config (keys)", "config (bytes)"])
@pytest.mark.parametrize("mode", ["online", "offline"])
def test_init_refuses_fields_over_the_limits_before_anything_starts(clean_sdk, case, mode):
    project = f"sdk-limits-{mode}"
    with pytest.raises(FieldTooLargeError) as exc:
        trackd.init(project=project, mode=mode, **OVER[case])
    assert exc.value.field == _field(case)
    assert isinstance(exc.value, ValueError)  # as W&B raises for an over-long tag
    assert trackd.run is None
    assert not list(Api().runs(project))


def test_sdk_refuses_changes_over_the_limits_where_they_are_made_and_loses_nothing(clean_sdk):
    run = trackd.init(project="sdk-limits", name="kept", tags=["a"], config={"lr": 0.1})
    run.log({"v": 1})
    with pytest.raises(FieldTooLargeError) as exc:
        run.name = "n" * (MAX_NAME_LENGTH + 1)
    assert exc.value.field == "name" and run.name == "kept"
    with pytest.raises(FieldTooLargeError):
        run.notes = OVER["notes"]["notes"]
    with pytest.raises(FieldTooLargeError) as exc:
        run.tags = [f"t{i}" for i in range(MAX_TAGS + 1)]
    assert exc.value.field == "tags" and run.tags == ("a",)
    with pytest.raises(FieldTooLargeError) as exc:
        run.config.update({"blob": BIG_VALUE})
    assert exc.value.field == "config" and "blob" not in run.config
    # One key at a time, up to the limit; the next one is refused.
    for i in range(MAX_CONFIG_KEYS - 1):
        run.config[f"k{i}"] = i
    with pytest.raises(FieldTooLargeError):
        run.config["one_too_many"] = 1
    del run.config["k0"]
    run.config["fits_again"] = 1
    run.log({"v": 2})
    run.tags = ["b"]
    run.finish()
    stored = Api().run(run.path)
    assert [r["v"] for r in stored.scan_history()] == [1, 2]
    assert stored.name == "kept" and stored.tags == ["b"]
    assert len(stored.config) == MAX_CONFIG_KEYS and "fits_again" in stored.config
    assert "k0" not in stored.config and "one_too_many" not in stored.config


def test_resume_with_fields_over_the_limits_is_refused(clean_sdk):
    run = trackd.init(project="sdk-limits", id="resume-me")
    run.finish()
    with pytest.raises(FieldTooLargeError) as exc:
        trackd.init(project="sdk-limits", id="resume-me", resume="must",
                    notes=OVER["notes"]["notes"], reinit="create_new")
    assert exc.value.field == "notes"
    assert Api().run(run.path).state == "finished"
