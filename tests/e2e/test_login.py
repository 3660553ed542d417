"""``trackd.login()``, ``trackd login`` and ``trackd logout`` against a real daemon with a TCP
listener and a token: the stored credentials serve later processes, a wrong token is refused,
the key is asked for on a terminal only."""

from __future__ import annotations

import json
import os
import select
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.test_tcp_auth import _self_signed, _tcp_address
from tests.helpers import DaemonDirs, DaemonProcess

CLI = [sys.executable, "-c", "import sys; from trackd._cli.main import main; sys.exit(main())"]

LOG_SCRIPT = """
import trackd
run = trackd.init(project="login", id={run_id!r}, settings=trackd.Settings(silent=True))
for i in range(20):
    run.log({{"x": i}})
run.finish()
print(len(trackd.Api().run("login/" + {run_id!r}).history(pandas=False)))
"""


def _start(env: dict[str, str]) -> Iterator[tuple[DaemonProcess, str, str]]:
    dirs = DaemonDirs.make()
    dirs.env.update(env)
    d = DaemonProcess(dirs)
    d.start(timeout=60)  # a loaded machine (other suites running) can be slow to start it
    try:
        token = (Path(dirs.env["TRACKD_STATE_DIR"]) / "token").read_text().strip()
        yield d, _tcp_address(d), token
    finally:
        d.stop()
        dirs.cleanup()


@pytest.fixture(scope="module")
def tcp() -> Iterator[tuple[str, str]]:
    """A daemon with a plaintext loopback listener: (``http://`` host, token)."""
    for _, address, token in _start({"TRACKD_TCP_ADDRESS": "127.0.0.1:0"}):
        yield f"http://{address}", token


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """A daemon with a TLS listener: (``https://localhost:port``, token, its certificate)."""
    cert, key = _self_signed(tmp_path_factory.mktemp("certs"))
    for _, address, token in _start({"TRACKD_TCP_ADDRESS": "127.0.0.1:0",
                                     "TRACKD_TLS_CERT": str(cert), "TRACKD_TLS_KEY": str(key)}):
        yield f"https://localhost:{address.rpartition(':')[2]}", token, cert


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A user's home of its own: no daemon, no token file, no settings there."""
    h = tmp_path / "home"
    h.mkdir()
    return h


def _env(home: Path, **extra: str) -> dict[str, str]:
    """This test's environment without any trackd/W&B variable or XDG directory: a process
    started with it knows only what is stored under ``home``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TRACKD_", "WANDB_", "XDG_"))}
    env.update(HOME=str(home), **extra)
    return env


def _py(home: Path, code: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env=_env(home, **extra), cwd=home,
                          capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL,
                          check=False)


def _cli(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], env=_env(home, **extra), cwd=home, capture_output=True,
                          text=True, timeout=90, stdin=subprocess.DEVNULL, check=False)


def _login_file(home: Path) -> Path:
    return home / ".config" / "trackd" / "login.json"


def test_cli_login_is_used_by_a_later_process_and_logout_forgets_it(
        tcp: tuple[str, str], home: Path) -> None:
    host, token = tcp
    out = _cli(home, "login", "--host", host, "--verify", token)
    assert out.returncode == 0, out.stderr
    path = _login_file(home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {"host": host, "key": token}
    assert str(path) in out.stderr

    # A later process, with nothing but the stored file, logs to that daemon.
    out = _py(home, LOG_SCRIPT.format(run_id="cli1"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "20"

    out = _cli(home, "logout")
    assert out.returncode == 0 and str(path) in out.stderr
    assert not path.exists()
    out = _cli(home, "logout")
    assert out.returncode == 0 and "not logged in" in out.stderr


def test_login_in_python_with_tls_is_used_by_a_later_process(
        tls: tuple[str, str, Path], home: Path) -> None:
    host, token, cert = tls
    out = _py(home, f"import trackd; print(trackd.login(key={token!r}, host={host!r}, "
                    "verify=True))", TRACKD_TLS_CA=str(cert))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "True"
    stored = json.loads(_login_file(home).read_text())
    assert stored == {"host": host, "key": token, "tls_ca": str(cert)}
    # The CA came with the login: the later process has no TRACKD_TLS_CA.
    out = _py(home, LOG_SCRIPT.format(run_id="tls1"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "20"


def test_a_wrong_token_is_refused_by_verify_and_at_init(tcp: tuple[str, str], home: Path) -> None:
    host, token = tcp
    out = _py(home, f"import trackd; trackd.login(key='wrong-{token[:8]}', host={host!r}, "
                    "verify=True)")
    assert out.returncode != 0
    assert "trackd.errors.AuthenticationError" in out.stderr
    assert "refused the key" in out.stderr
    assert not _login_file(home).exists()  # nothing stored after a refused key

    # Stored without verify: the next init says why it cannot log.
    out = _py(home, f"import trackd; print(trackd.login(key='wrong', host={host!r}))")
    assert out.returncode == 0 and out.stdout.split()[-1] == "True", out.stderr
    out = _py(home, LOG_SCRIPT.format(run_id="bad1"), TRACKD_INIT_TIMEOUT="20")
    assert out.returncode != 0
    assert "AuthenticationError" in out.stderr and "token" in out.stderr


def test_environment_variables_win_over_the_stored_login(tcp: tuple[str, str],
                                                         home: Path) -> None:
    host, token = tcp
    assert _cli(home, "login", "--host", host, token).returncode == 0
    # A wrong key in the environment is used instead of the stored one.
    for var in ("TRACKD_API_KEY", "WANDB_API_KEY"):
        out = _py(home, LOG_SCRIPT.format(run_id="env-bad"), **{var: "wrong"},
                  TRACKD_INIT_TIMEOUT="20")
        assert out.returncode != 0 and "AuthenticationError" in out.stderr, (var, out.stderr)
    # W&B's variables alone (no stored login) reach the daemon.
    _login_file(home).unlink()
    out = _py(home, LOG_SCRIPT.format(run_id="env-ok"), WANDB_BASE_URL=host, WANDB_API_KEY=token)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "20"


def test_relogin_without_a_terminal_is_a_usage_error(tcp: tuple[str, str], home: Path) -> None:
    host, token = tcp
    out = _py(home, f"import trackd; trackd.login(relogin=True, host={host!r})")
    assert out.returncode != 0
    assert "trackd.errors.UsageError" in out.stderr and "no terminal" in out.stderr
    out = _cli(home, "login", "--relogin", "--host", host)
    assert out.returncode == 1 and "no terminal" in out.stderr
    # force asks as relogin does; a host whose key is unknown needs one too.
    for call in (f"trackd.login(force=True, host={host!r})", f"trackd.login(host={host!r})"):
        out = _py(home, f"import trackd; {call}")
        assert out.returncode != 0 and "UsageError" in out.stderr, (call, out.stderr)
    assert not _login_file(home).exists()


def _on_terminal(home: Path, code: str, typed: bytes | None,
                 wait_for: bytes = b"hidden): ") -> tuple[int, bytes]:
    """Run ``code`` with a pseudo-terminal as stdin/stdout/stderr; type ``typed`` once the
    prompt shows. Returns (exit status, everything the terminal showed)."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-c", code], env=_env(home), cwd=home,
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 60
    typed_yet = typed is None
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            if not typed_yet and wait_for in shown:
                os.write(master, typed)  # type: ignore[arg-type]
                typed_yet = True
            if proc.poll() is not None and not ready:
                break
        return proc.wait(timeout=30), shown
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()


def test_relogin_on_a_terminal_asks_for_the_key_hidden(tcp: tuple[str, str],
                                                       home: Path) -> None:
    host, token = tcp
    code = (f"import trackd; print('result', trackd.login(relogin=True, host={host!r}, "
            "verify=True))")
    status, shown = _on_terminal(home, code, token.encode() + b"\n")
    assert status == 0, shown
    assert b"result True" in shown
    assert token.encode() not in shown  # not echoed
    assert json.loads(_login_file(home).read_text()) == {"host": host, "key": token}

    # The prompt's timeout: nothing typed, not logged in, the stored login is kept.
    code = (f"import trackd; print('result', trackd.login(relogin=True, host={host!r}, "
            "timeout=0.5))")
    status, shown = _on_terminal(home, code, None)
    assert status == 0, shown
    assert b"result False" in shown and b"no key typed" in shown
    assert json.loads(_login_file(home).read_text())["key"] == token


def test_login_with_nothing_to_do_returns_true_at_once(home: Path) -> None:
    # YOLOv5 calls wandb.login(timeout=30) at import: on a machine whose own daemon needs no
    # key it must answer at once, start no daemon and load no gRPC.
    code = ("import sys, time, trackd\n"
            "t = time.perf_counter()\n"
            "r = trackd.login(timeout=30)\n"
            "print(r, time.perf_counter() - t, 'grpc' in sys.modules)\n")
    out = _py(home, code)
    assert out.returncode == 0, out.stderr
    result, seconds, grpc_loaded = out.stdout.split()
    assert result == "True" and grpc_loaded == "False"
    assert float(seconds) < 0.5
    assert not (home / ".local").exists()  # no daemon started (its state dir is not there)
    assert not _login_file(home).exists()


def test_bad_arguments_are_usage_errors(home: Path) -> None:
    for call, words in (("anonymous='sometimes'", "anonymous must be one of"),
                        ("host='ftp://x:1'", "https:// or http://"),
                        ("host='example.org'", "needs a port"),
                        ("key='two words', host='http://127.0.0.1:9'", "one word"),
                        ("timeout=-1", "timeout must be")):
        out = _py(home, f"import trackd; trackd.login({call})")
        assert out.returncode != 0 and "UsageError" in out.stderr and words in out.stderr, call


def test_a_login_file_others_can_read_is_made_owner_only(tcp: tuple[str, str],
                                                        home: Path) -> None:
    host, token = tcp
    path = _login_file(home)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"host": host, "key": token}))
    path.chmod(0o644)
    out = _py(home, LOG_SCRIPT.format(run_id="wide1"))
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shutil.rmtree(path.parent)


def test_login_then_init_in_the_same_process(tcp: tuple[str, str], home: Path) -> None:
    host, token = tcp
    code = f"import trackd; assert trackd.login(key={token!r}, host={host!r})\n"
    out = _py(home, code + LOG_SCRIPT.format(run_id="same1"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "20"
    assert "logged in to " + host in out.stderr


def test_a_host_alone_is_stored_without_the_environment_token(tcp: tuple[str, str],
                                                              home: Path) -> None:
    # The token came from the environment: it stays there, only the host is stored.
    host, token = tcp
    out = _cli(home, "login", "--host", host, TRACKD_TOKEN=token)
    assert out.returncode == 0, out.stderr
    assert json.loads(_login_file(home).read_text()) == {"host": host}
    out = _py(home, LOG_SCRIPT.format(run_id="hostonly"), TRACKD_TOKEN=token)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "20"


def test_trackd_settings_does_not_print_the_key(home: Path) -> None:
    out = _cli(home, "settings", "--json", WANDB_API_KEY="secret-token-value")
    assert out.returncode == 0, out.stderr
    assert "secret-token-value" not in out.stdout
    shown = json.loads(out.stdout)["api_key"]
    assert shown == {"value": "(set, hidden)", "source": "WANDB_* environment"}


def test_a_key_without_a_host_serves_the_tcp_address_in_use(tcp: tuple[str, str],
                                                            home: Path) -> None:
    host, token = tcp
    out = _py(home, f"import trackd; print(trackd.login(key={token!r}))")
    assert out.returncode == 0 and out.stdout.split()[-1] == "True", out.stderr
    assert json.loads(_login_file(home).read_text()) == {"key": token}
    out = _py(home, LOG_SCRIPT.format(run_id="nohost"), TRACKD_ADDRESS=host.split("://")[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "20"
