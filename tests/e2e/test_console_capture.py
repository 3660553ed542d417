"""Console capture (the ``console`` setting) of real training processes: printed lines and a
tqdm bar end up in the run's output.log, readable and small; the process's own output is
unchanged; pytest's capture keeps working."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import trackd

SCRIPT = """
import sys, time
import trackd
from tqdm import tqdm

run = trackd.init(project="console", settings={{"console": {mode!r}}})
for i in range(40):
    print(f"epoch {{i}} loss {{1.0 / (i + 1):.4f}}")
for _ in tqdm(range(2000), mininterval=0, miniters=1, desc="train", ascii=True):
    pass
print("warning: on stderr", file=sys.stderr)
sys.stdout.write("no newline at the end")
sys.stdout.flush()
run.finish()
print()
print("PATH", run.path)
"""


def _run_script(tmp_path: Path, mode: str) -> tuple[str, str, str]:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT.format(mode=mode)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, timeout=120, check=False)  # bytes: keep the \r as written
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, err
    path = out.strip().splitlines()[-1].split()[-1]
    return path, out, err


@pytest.mark.parametrize("mode", ["auto", "wrap_emu", "redirect"])
def test_lines_and_a_progress_bar_are_stored_small_and_readable(clean_sdk, tmp_path: Path,
                                                               mode: str) -> None:
    path, out, err = _run_script(tmp_path, mode)
    # The process's own output is untouched: every line, and tqdm's redraws, are still there.
    assert "epoch 39 loss" in out and err.count("\r") > 1000
    run = trackd.Api().run(path)
    log = run.file("output.log").read_bytes().decode()
    lines = log.splitlines()
    assert lines[:2] == ["epoch 0 loss 1.0000", "epoch 1 loss 0.5000"]
    assert "epoch 39 loss 0.0250" in lines
    bars = [ln for ln in lines if ln.startswith("train:")]
    assert len(bars) == 1 and "100%" in bars[0] and "2000/2000" in bars[0], bars
    assert "warning: on stderr" in lines
    assert "no newline at the end" in lines
    if mode != "redirect":  # through pipes, stdout and stderr arrive in their own threads
        assert lines[-1] == "no newline at the end"
    assert len(lines) < 50 and len(log) < 4000  # 2,000 redraws became one line
    console = run.console()
    assert [c["stream"] for c in console if c["text"] == "warning: on stderr"] == ["stderr"]
    assert all(c["timestamp"] > 0 for c in console)
    assert run.file("output.log").size == len(log.encode())


def test_console_off_stores_nothing(clean_sdk, tmp_path: Path) -> None:
    path, out, _ = _run_script(tmp_path, "off")
    assert "epoch 39" in out
    assert "output.log" not in {f.name for f in trackd.Api().run(path).files()}


def test_capture_keeps_pytest_capture_working(clean_sdk, capsys) -> None:
    before = sys.stdout.write
    run = trackd.init(project="console", settings={"console": "wrap"})
    print("seen by pytest and by the run")
    assert "seen by pytest and by the run" in capsys.readouterr().out
    run.finish()
    assert sys.stdout.write == before  # the hook is gone
    print("after finish")
    assert "after finish" in capsys.readouterr().out
    log = trackd.Api().run(run.path).file("output.log").read_bytes().decode()
    assert "seen by pytest and by the run" in log and "after finish" not in log


def test_unknown_console_mode_is_refused() -> None:
    with pytest.raises(trackd.UsageError, match="Settings.console must be one of"):
        trackd.Settings(console="tee")


def test_long_logs_are_split_into_parts(own_daemon, tmp_path: Path, monkeypatch) -> None:
    """Past the part size the log is multipart: logs/output.NNNN.log, each readable."""
    own_daemon.stop()
    monkeypatch.setenv("TRACKD_CONSOLE_PART_BYTES", "2000")
    own_daemon.start()
    monkeypatch.chdir(tmp_path)
    run = trackd.init(project="console", settings={"console": "wrap"})
    for i in range(300):
        print(f"line {i:04d} " + "x" * 40)
    run.finish()
    files = {f.name: f for f in trackd.Api().run(run.path).files()}
    parts = sorted(n for n in files if n.startswith("logs/output."))
    assert "output.log" not in files and len(parts) >= 6
    text = "".join(files[n].read_bytes().decode() for n in parts)
    assert [ln.split()[1] for ln in text.splitlines()] == [f"{i:04d}" for i in range(300)]
    assert all(files[n].size <= 2100 for n in parts)
