"""run.save / trackd.save with each policy and W&B's base_path examples, live files stored on
every change, restore from another run, path traversal refused, log_code — against the real
daemon."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import trackd
from tests.helpers import wait_for
from trackd.errors import InvalidArgumentError, RunFileNotFoundError


def _files(path: str) -> dict[str, trackd._api.files.File]:  # type: ignore[name-defined]
    return {f.name: f for f in trackd.Api().run(path).files()}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_base_path_examples_of_the_reference(clean_sdk, tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt"):
        _write(tmp_path / "these/are/myfiles" / name, name)
    docs = tmp_path / "User/username/Documents/run123"
    _write(docs / "x.txt", "x")
    _write(docs / "skip.bin", "not a .txt")
    for sub in ("one", "two"):
        _write(tmp_path / "files" / sub / "saveme.txt", sub)
    run = trackd.init(project="files")
    got = run.save("these/are/myfiles/*", policy="now")
    assert sorted(got) == [os.path.join(run.dir, "these/are/myfiles", n) for n in ("a.txt", "b.txt")]
    assert all(os.path.islink(p) for p in got)
    run.save("these/are/myfiles/*", base_path="these", policy="now")
    with pytest.warns(UserWarning, match="Saving files without folders"):
        run.save(str(docs / "*.txt"), policy="now")
    run.save(str(docs / "*.txt"), base_path=str(tmp_path / "User"), policy="now")
    trackd.save("files/*/saveme.txt", policy="now")  # the module function, on the current run
    run.finish()
    names = set(_files(run.path))
    assert {"these/are/myfiles/a.txt", "these/are/myfiles/b.txt", "are/myfiles/a.txt",
            "are/myfiles/b.txt", "run123/x.txt", "username/Documents/run123/x.txt",
            "files/one/saveme.txt", "files/two/saveme.txt"} <= names
    assert not any(n.endswith("skip.bin") for n in names)
    assert _files(run.path)["files/two/saveme.txt"].read_bytes() == b"two"


def test_save_refuses_bad_arguments(clean_sdk, tmp_path: Path) -> None:
    _write(tmp_path / "a.txt", "a")
    run = trackd.init(project="files")
    with pytest.raises(ValueError, match='Only "live", "end" and "now"'):
        run.save("a.txt", policy="sometimes")
    with pytest.raises(ValueError, match="may not walk above the base path"):
        run.save(str(tmp_path / "a.txt"), base_path=str(tmp_path / "elsewhere"))
    assert run.save("s3://bucket/key") == []
    with pytest.raises(TypeError, match="glob_str"):  # required: no argument-less form
        run.save()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="glob_str"):
        run.save(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="glob_str"):
        trackd.save()  # type: ignore[call-arg]
    run.finish()
    with pytest.raises(trackd.UsageError):
        run.save("a.txt")


def test_each_policy_stores_when_it_says(clean_sdk, tmp_path: Path) -> None:
    now, live, end = (_write(tmp_path / n, n) for n in ("now.txt", "live.txt", "end.txt"))
    run = trackd.init(project="files", settings={"ignore_globs": ("*.tmp",)})
    _write(tmp_path / "scratch.tmp", "ignored")
    run.save("now.txt", policy="now")
    run.save("live.txt", policy="live")
    run.save("end.txt", policy="end")
    assert run.save("scratch.tmp") == []  # ignore_globs
    wait_for(lambda: {"now.txt", "live.txt"} <= set(_files(run.path)))
    assert "end.txt" not in _files(run.path)  # stored at finish only
    now.write_text("changed after a now-save")  # not stored again
    end.write_text("end, final")
    run.finish()
    files = _files(run.path)
    assert [h["reason"] for h in files["now.txt"].history] == ["now"]
    assert files["now.txt"].read_bytes() == b"now.txt"
    assert [h["reason"] for h in files["end.txt"].history] == ["end"]
    assert files["end.txt"].read_bytes() == b"end, final"
    assert [h["reason"] for h in files["live.txt"].history] == ["live", "finish"]
    assert "scratch.tmp" not in files
    assert live.exists()


def test_a_live_file_changed_three_times_is_stored_three_times_and_at_finish(
        clean_sdk, tmp_path: Path) -> None:
    path = _write(tmp_path / "ckpt/model.txt", "v0")
    run = trackd.init(project="files")
    run.save("ckpt/model.txt", policy="live")
    wait_for(lambda: "ckpt/model.txt" in _files(run.path))
    for i in range(1, 4):
        path.write_text(f"v{i}")
        wait_for(lambda i=i: _files(run.path)["ckpt/model.txt"].versions == i + 1, timeout=30)
    os.utime(path)  # touched, same bytes: not a new version
    time.sleep(2.0)
    assert _files(run.path)["ckpt/model.txt"].versions == 4
    run.finish()
    f = _files(run.path)["ckpt/model.txt"]
    assert [h["reason"] for h in f.history] == ["live", "change", "change", "change", "finish"]
    assert [f.read_bytes(v) for v in (1, 2, 3, 4, 5)] == [b"v0", b"v1", b"v2", b"v3", b"v3"]
    assert len({h["md5"] for h in f.history}) == 4  # versioned by content


def test_restore_from_another_run(clean_sdk, tmp_path: Path, monkeypatch) -> None:
    _write(tmp_path / "weights/model.txt", "trained weights")
    first = trackd.init(project="files")
    first.save("weights/model.txt", policy="now")
    first.finish()

    second = trackd.init(project="files", reinit="create_new")
    with second.restore("weights/model.txt", run_path=first.path) as f:
        assert f.read() == "trained weights"
        assert f.name == os.path.join(second.dir, "weights/model.txt")
    assert second.restore("missing.txt", run_path=first.path) is None
    with pytest.raises(ValueError, match="not found"):
        second.restore("weights/model.txt", run_path=f"{first.entity}/files/nosuchrun",
                       replace=True)
    second.finish()

    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    f = trackd.restore("weights/model.txt", run_path=first.path)  # no run: into the cwd
    assert f is not None and f.read() == "trained weights" and (out / "weights/model.txt").exists()
    f.close()
    (out / "weights/model.txt").write_text("local copy")
    with trackd.restore("weights/model.txt", run_path=first.path) as again:
        assert again.read() == "local copy"  # a file already there is kept
    with trackd.restore("weights/model.txt", run_path=first.path, replace=True) as again:
        assert again.read() == "trained weights"
    with pytest.raises(ValueError, match="run_path required"):
        trackd.restore("weights/model.txt")
    with pytest.raises(RunFileNotFoundError):
        trackd.Api().run(first.path).file("missing.txt")


def test_path_traversal_is_refused(clean_sdk, tmp_path: Path) -> None:
    from trackd._transport.connection import get_connection
    from trackd.v1 import file_service_pb2 as pb

    secret = _write(tmp_path / "secret.txt", "secret")
    run = trackd.init(project="files")
    for bad in ("../secret.txt", "/etc/passwd", "a/../../secret.txt", "a//b", "./x"):
        with pytest.raises(ValueError, match="run file name"):
            run.restore(bad, root=str(tmp_path / "dl"))
    conn = get_connection(os.environ["TRACKD_ADDRESS"])
    ref = trackd.Api().run(run.path)._pb.ref
    for bad in ("../escape.txt", "/abs.txt", "a/../../b"):
        with pytest.raises(InvalidArgumentError, match="run file name"):
            conn.unary(conn.files.SaveFiles, pb.SaveFilesRequest(run=ref, files=[
                pb.SaveFile(name=bad, path=str(secret), policy=pb.FILE_POLICY_NOW)]), timeout=10)
        with pytest.raises(InvalidArgumentError):
            list(conn.call(_read_all(conn, pb.ReadFileRequest(run=ref, name=bad))))
    run.finish()
    assert not any(".." in n for n in _files(run.path))


async def _read_all(conn, req):  # type: ignore[no-untyped-def]
    import grpc

    from trackd.errors import from_grpc

    try:
        return [m async for m in conn.files.ReadFile(req, timeout=10)]
    except grpc.aio.AioRpcError as exc:
        raise from_grpc(exc) from None


def test_log_code_with_include_and_exclude_functions(art_sdk: Path) -> None:
    root = art_sdk / "project"
    for rel in ("train.py", "model/net.py", "data.csv", "notes.md", "cache/tmp.py",
                "wandb/run-1/files/x.py", "requirements.txt"):
        _write(root / rel, rel)
    run = trackd.init(project="code")
    default = run.log_code(str(root), name="default-code")
    assert default is not None
    art = run.log_code(
        str(root), name="picked-code",
        include_fn=lambda path: path.endswith((".py", ".csv")),
        exclude_fn=lambda path, root: os.path.relpath(path, root).startswith("cache/"))
    assert art is not None and art.type == "code"
    with pytest.warns(UserWarning, match="No relevant files"):
        assert run.log_code(str(root), name="none", include_fn=lambda p: False) is None
    run.finish()
    api = trackd.Api()
    picked = api.artifact(f"{run.entity}/code/picked-code:latest")
    assert picked.type == "code"
    assert sorted(f.name for f in picked.files()) == [
        "data.csv", "model/net.py", "train.py", "wandb/run-1/files/x.py"]
    dflt = api.artifact(f"{run.entity}/code/default-code:latest")
    assert sorted(f.name for f in dflt.files()) == [
        "cache/tmp.py", "model/net.py", "requirements.txt", "train.py"]  # wandb/ excluded
    # The default name is W&B's: source-<project>-<program path>, made safe.
    run2 = trackd.init(project="code", reinit="create_new")
    named = run2.log_code(str(root), include_fn=lambda p: p.endswith("train.py"))
    run2.finish()
    assert named is not None and named.name.startswith("source-code-")
    with pytest.raises(ValueError, match="reserved for internal use"):
        trackd.Artifact("source-mine", "code")  # users cannot make these themselves


def test_a_file_the_daemon_cannot_read_is_saved_by_its_bytes(clean_sdk, tmp_path: Path) -> None:
    """What the daemon cannot read (another user's file, or a client on another machine) the
    client uploads; saving bytes nobody uploaded is refused."""
    from trackd._transport import artifact_client as client
    from trackd._transport.connection import get_connection
    from trackd.errors import BlobNotFoundError
    from trackd.v1 import file_service_pb2 as pb

    local = _write(tmp_path / "elsewhere.txt", "bytes from the client")
    run = trackd.init(project="files")
    conn = get_connection(os.environ["TRACKD_ADDRESS"])
    ref = trackd.Api().run(run.path)._pb.ref
    resp = conn.unary(conn.files.SaveFiles, pb.SaveFilesRequest(run=ref, files=[
        pb.SaveFile(name="elsewhere.txt", path="/no/such/dir/elsewhere.txt",
                    policy=pb.FILE_POLICY_NOW)]), timeout=10)
    assert resp.results[0].unreadable and resp.results[0].version == 0
    up = client.upload_file(str(local))
    resp = conn.unary(conn.files.SaveFiles, pb.SaveFilesRequest(run=ref, files=[
        pb.SaveFile(name="elsewhere.txt", blob_key=up.blob_key,
                    policy=pb.FILE_POLICY_LIVE)]), timeout=10)
    assert resp.results[0].version == 1
    with pytest.raises(BlobNotFoundError):
        conn.unary(conn.files.SaveFiles, pb.SaveFilesRequest(run=ref, files=[
            pb.SaveFile(name="x.txt", blob_key="f" * 64)]), timeout=10)
    run.finish()
    f = _files(run.path)["elsewhere.txt"]
    assert f.read_bytes() == b"bytes from the client"
    assert [h["reason"] for h in f.history] == ["upload"]  # saved by bytes: stored once
