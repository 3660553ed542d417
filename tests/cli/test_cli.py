"""The ``trackd`` command line, run in subprocesses against real daemons in temporary
directories (each sandbox has its own data root, log directory and socket)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import trackd
from trackd._shared.processes import alive

CLI = [sys.executable, "-m", "trackd._cli.main"]
ENTITY = "tester"

MAKE_RUNS = f"""
import math, trackd
run = trackd.init(entity={ENTITY!r}, project="p", id="r1", name="first",
                  config={{"lr": 0.5, "layers": [2, 3]}}, tags=["t1", "t2"], notes="hello",
                  group="g", job_type="train")
trackd.define_metric("loss", summary="min")
for i in range(5):
    trackd.log({{"loss": 1.0 / (i + 1), "weird": math.nan if i == 2 else float(i),
                "flag": i % 2 == 0}})
trackd.log({{"acc": math.inf}})
run.summary["best"] = 1
trackd.finish()
# r2 is newer, so listed first (equal creation times fall back to creation order).
trackd.init(entity={ENTITY!r}, project="q", id="r2").finish()
"""


class Sandbox:
    """Environment variables that give subprocesses their own daemon and data."""

    def __init__(self) -> None:
        # Short: the socket path must stay under ~100 bytes.
        tmp = "/tmp" if os.path.isdir("/tmp") else None
        self.dir = Path(tempfile.mkdtemp(prefix="td", dir=tmp))
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("TRACKD_", "WANDB_", "NOTIFY_SOCKET"))}
        self.env.update(
            TRACKD_ROOT=str(self.dir / "root"),
            TRACKD_STATE_DIR=str(self.dir / "state"),
            TRACKD_RUNTIME_DIR=str(self.dir / "run"),
            TRACKD_ENTITY=ENTITY,
            TRACKD_LINGER="0",  # a daemon a command started stops with it
        )
        self.socket = self.dir / "run" / "trackd.sock"

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*CLI, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def ok(self, *args: str) -> str:
        proc = self.cli(*args)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc.stdout

    def python(self, code: str) -> None:
        proc = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True,
                              text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr

    def daemon_pid(self) -> int | None:
        try:
            return int((self.dir / "run" / "trackd.lock").read_text().strip())
        except (OSError, ValueError):
            return None

    def answering(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(self.socket))
            except OSError:
                return False
        return True

    def close(self) -> None:
        """Stop whatever daemon this sandbox left running, and remove its files."""
        if self.answering():
            subprocess.run([*CLI, "daemon", "stop", "--timeout", "20"], env=self.env,
                           capture_output=True, timeout=40, check=False)
        pid = self.daemon_pid()
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 10)
        shutil.rmtree(self.dir, ignore_errors=True)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox()
    try:
        yield box
    finally:
        box.close()


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    """A sandbox with a daemon started by ``trackd daemon start`` and two finished runs:
    tester/p/r1 (6 history rows, a NaN and an infinity) and, newer, tester/q/r2."""
    box = Sandbox()
    try:
        assert "started" in box.ok("daemon", "start")
        box.python(MAKE_RUNS)
        yield box
    finally:
        box.close()


# -- without a daemon --------------------------------------------------------------------------


def test_version() -> None:
    out = subprocess.run([*CLI, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"trackd {trackd.__version__}"


def test_importing_the_cli_is_cheap() -> None:
    code = ("import sys, trackd._cli.main as m; m.build_parser(); "
            "print(sorted({n.split('.')[0] for n in sys.modules} & "
            "{'grpc', 'google', 'trackd_daemon', 'anyio'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_console_script() -> None:
    script = shutil.which("trackd", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the trackd console script is not installed next to this interpreter")
    out = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"trackd {trackd.__version__}"


def test_usage_errors_exit_2(sandbox: Sandbox) -> None:
    for args in (["runs"], ["runs", "history", "p/r1", "--format", "xml"], ["bogus"],
                 ["runs", "history", "p/r1", "--min-step", "x"]):
        proc = sandbox.cli(*args)
        assert proc.returncode == 2, args
        assert "usage:" in proc.stderr
    assert not sandbox.answering()


def test_sync_is_wired() -> None:
    out = subprocess.run([*CLI, "sync", "--help"], capture_output=True, text=True, check=True)
    assert "RUN_DIR" in out.stdout


def test_sync_an_offline_run(sandbox: Sandbox) -> None:
    pytest.importorskip("trackd._init.sync")
    work = sandbox.dir / "work"
    sandbox.python(f"""
import trackd
trackd.init(entity={ENTITY!r}, project="off", id="o1", mode="offline", dir={str(work)!r})
for i in range(3):
    trackd.log({{"x": i}})
trackd.finish()
""")
    assert not sandbox.answering()
    (run_dir,) = {p.parent.resolve() for p in work.rglob("run.json")}
    assert "o1" in sandbox.ok("sync", str(run_dir))
    listed = sandbox.ok("runs", "ls", "off").splitlines()
    assert [line.split()[0] for line in listed[1:]] == ["o1"]
    assert listed[1].split()[-2:] == ["3", "2"]
    assert not sandbox.answering()  # the daemon sync started has stopped again


# -- runs ---------------------------------------------------------------------------------------


def test_runs_ls(shared: Sandbox) -> None:
    lines = shared.ok("runs", "ls").splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATE", "PROJECT", "CREATED", "ROWS", "LAST", "STEP"]
    assert [line.split()[0] for line in lines[1:]] == ["r2", "r1"]  # newest first
    r1 = lines[2].split()
    assert r1[:4] == ["r1", "first", "finished", "p"]
    assert r1[-2:] == ["6", "5"]  # rows, last step
    assert [line.split()[0] for line in shared.ok("runs", "ls", "p").splitlines()[1:]] == ["r1"]
    assert [line.split()[0] for line in shared.ok("runs", "ls", f"{ENTITY}/q").splitlines()[1:]] \
        == ["r2"]
    proc = shared.cli("runs", "ls", "nowhere")
    assert (proc.returncode, proc.stdout) == (0, "")
    assert "no runs" in proc.stderr
    assert shared.ok("runs", "ls", "--entity", "someone-else") == ""


def test_runs_show(shared: Sandbox) -> None:
    out = shared.ok("runs", "show", "p/r1")
    fields = dict(line.split(":", 1) for line in out.splitlines() if line and line[0] != " ")
    fields = {k: v.strip() for k, v in fields.items()}
    assert fields["path"] == f"{ENTITY}/p/r1"
    assert (fields["name"], fields["state"], fields["exit code"]) == ("first", "finished", "0")
    assert (fields["tags"], fields["group"], fields["job type"], fields["notes"]) == (
        "t1, t2", "g", "train", "hello")
    assert fields["history"] == "6 row(s), last step 5"
    assert fields["created"] and fields["finished"] != "-"
    config = out.split("config:\n", 1)[1].split("summary:\n", 1)[0]
    assert json.loads(config) == {"lr": 0.5, "layers": [2, 3]}
    summary = json.loads(out.split("summary:\n", 1)[1].split("metrics:", 1)[0])
    assert summary["best"] == 1 and summary["acc"] == math.inf
    assert summary["loss"] == {"min": 0.2}
    assert "  loss (summary min)" in out.splitlines()
    # A bare run id is found in whichever project has it.
    assert shared.ok("runs", "show", "r1") == out


def test_runs_show_missing(shared: Sandbox) -> None:
    for path in ("p/missing", "missing"):
        proc = shared.cli("runs", "show", path)
        assert proc.returncode == 1
        assert proc.stdout == ""
        assert proc.stderr.startswith("trackd: ") and "missing" in proc.stderr
        assert len(proc.stderr.splitlines()) == 1


def test_history_csv(shared: Sandbox) -> None:
    rows = list(csv.reader(io.StringIO(shared.ok("runs", "history", "p/r1", "--format", "csv"))))
    header, body = rows[0], rows[1:]
    # _step first, then the keys in the order they were first seen (key order inside a row is
    # not significant on the wire, so only the set is checked).
    assert header[0] == "_step"
    assert set(header) == {"_step", "loss", "weird", "flag", "acc", "_runtime", "_timestamp"}
    col = {name: i for i, name in enumerate(header)}
    assert [r[col["_step"]] for r in body] == ["0", "1", "2", "3", "4", "5"]
    assert [r[col["weird"]] for r in body] == ["0.0", "1.0", "nan", "3.0", "4.0", ""]
    assert [r[col["flag"]] for r in body][:2] == ["true", "false"]
    assert body[-1][col["acc"]] == "inf" and body[-1][col["loss"]] == ""
    assert float(body[2][col["loss"]]) == 1 / 3  # exact
    out = shared.ok("runs", "history", "p/r1", "--format", "csv", "--keys", "acc")
    assert out == "_step,acc\n5,inf\n"


def test_history_jsonl(shared: Sandbox) -> None:
    lines = shared.ok("runs", "history", "p/r1", "--format", "jsonl").splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["_step"] for r in rows] == [0, 1, 2, 3, 4, 5]
    assert all(next(iter(r)) == "_step" for r in rows)
    assert math.isnan(rows[2]["weird"]) and rows[1]["weird"] == 1.0
    assert rows[5]["acc"] == math.inf
    assert rows[0]["flag"] is True
    out = shared.ok("runs", "history", "p/r1", "--format", "jsonl", "--keys", "loss",
                    "--min-step", "1", "--max-step", "3")
    assert [json.loads(line) for line in out.splitlines()] == [
        {"_step": 1, "loss": 0.5}, {"_step": 2, "loss": 1 / 3}]


def test_history_table(shared: Sandbox) -> None:
    lines = shared.ok("runs", "history", "p/r1", "--keys", "loss,weird").splitlines()
    assert lines[0].split() == ["_step", "loss", "weird"]
    assert [line.split() for line in lines[1:]] == [
        ["0", "1", "0"], ["1", "0.5", "1"], ["2", "0.333333", "nan"], ["3", "0.25", "3"],
        ["4", "0.2", "4"]]
    assert len({len(line) for line in lines}) == 1  # right-aligned numbers: equal widths
    wide = shared.ok("runs", "history", "p/r1").splitlines()
    assert wide[0].split()[0] == "_step" and {"loss", "weird", "flag"} <= set(wide[0].split())
    assert len(wide) == 7
    proc = shared.cli("runs", "history", "p/r1", "--min-step", "100")
    assert (proc.returncode, proc.stdout) == (0, "") and "no history rows" in proc.stderr


# -- the daemon ---------------------------------------------------------------------------------


def test_daemon_status(shared: Sandbox) -> None:
    out = shared.ok("daemon", "status")
    fields = {k.strip(): v.strip() for k, v in
              (line.split(":", 1) for line in out.splitlines() if line and line[0] != " ")}
    assert fields["pid"] == str(shared.daemon_pid())
    assert fields["version"] == trackd.__version__
    assert fields["address"] == f"unix:{shared.socket}"
    assert fields["data root"] == shared.env["TRACKD_ROOT"]
    assert fields["store"].startswith("sqlite:///")
    assert fields["log file"].startswith(shared.env["TRACKD_STATE_DIR"])
    assert fields["runs in flight"] == "0"
    assert fields["uptime"].endswith("s")
    assert "NAME" in out and "history" in out  # queue statistics


def test_daemon_start_status_stop(sandbox: Sandbox) -> None:
    proc = sandbox.cli("daemon", "status")
    assert proc.returncode == 1 and proc.stderr.startswith("trackd: no trackd daemon")
    proc = sandbox.cli("daemon", "stop")
    assert proc.returncode == 0 and "nothing to stop" in proc.stdout

    assert f"unix:{sandbox.socket}" in sandbox.ok("daemon", "start")
    pid = sandbox.daemon_pid()
    assert pid is not None and alive(pid)
    assert "already running" in sandbox.ok("daemon", "start")
    assert f"pid:            {pid}" in sandbox.ok("daemon", "status")
    assert f"stopped the trackd daemon (pid {pid})" in sandbox.ok("daemon", "stop")
    assert not alive(pid)  # stop waits for the process to exit
    assert not sandbox.answering()
    assert sandbox.cli("daemon", "status").returncode == 1
    # The lock is free again at once.
    assert "started" in sandbox.ok("daemon", "start")
    sandbox.ok("daemon", "stop")


def test_runs_commands_stop_the_daemon_they_start(sandbox: Sandbox) -> None:
    sandbox.python(MAKE_RUNS)  # starts a daemon, which stops when the script ends
    assert not sandbox.answering()
    assert len(sandbox.ok("runs", "ls").splitlines()) == 3
    assert not sandbox.answering()
    pid = sandbox.daemon_pid()
    assert pid is None or _wait_gone(pid, 10)


def test_daemon_run_in_the_foreground(sandbox: Sandbox) -> None:
    """``trackd daemon run`` serves until stopped and tells systemd when it is ready."""
    notify_path = sandbox.dir / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(notify_path))
        notify.settimeout(30)
        proc = subprocess.Popen([*CLI, "daemon", "run", "--crash-grace", "5"],
                                env={**sandbox.env, "NOTIFY_SOCKET": str(notify_path)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert notify.recv(1024) == b"READY=1"
            assert sandbox.answering()
            assert f"pid:            {proc.pid}" in sandbox.ok("daemon", "status")
            sandbox.ok("daemon", "stop")
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
            proc.stderr.close()  # type: ignore[union-attr]
