"""The footer printed at finish()."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

from trackd._footer import print_footer, sparkline

SCRIPT = textwrap.dedent(
    """
    import trackd
    settings = {} if len(__import__("sys").argv) < 2 else {__import__("sys").argv[1]: True}
    with trackd.init(project="footer", id="foot1" + "".join(settings), settings=settings) as run:
        run.define_metric("loss", summary="min")
        for i in range(100):
            run.log({"loss": 1.0 / (i + 1), "acc": i / 100, "label": "x"})
    """
)


def _run(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *args], capture_output=True, text=True,
                          timeout=60, env=os.environ.copy(), cwd=os.environ.get("TMPDIR", "/tmp"), check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_footer_shows_state_sparklines_summary_and_next_step(clean_sdk):
    err = _run()
    lines = [line for line in err.splitlines() if line.startswith("trackd:")]
    start = next(i for i, line in enumerate(lines) if "history rows" in line)
    header, lines = lines[:start], lines[start:]
    assert any("Syncing run" in line and "footer/foot1" in line for line in header)
    assert any(line.startswith("trackd: Run data is saved locally in ") for line in header)
    assert "footer/foot1) finished: 100 history rows" in lines[0]
    history = {line.split()[1]: line.split()[2] for line in lines
               if line.startswith("trackd:   ") and set(line.split()[-1]) <= set("▁▂▃▄▅▆▇█")}
    assert history["acc"][0] == "▁" and history["acc"][-1] == "█"  # acc rises
    assert history["loss"][0] == "█"  # loss falls
    assert any(line.split()[1:] == ["loss", "min=0.01"] for line in lines)
    assert "trackd runs show" in lines[-1] and "Files: 0, artifacts: 0" in lines[-1]


def test_quiet_and_silent(clean_sdk):
    quiet = [line for line in _run("quiet").splitlines() if line.startswith("trackd:")]
    assert len(quiet) == 1 and "finished" in quiet[0]
    assert "trackd:" not in _run("silent")


def test_show_info_false_prints_neither_header_nor_footer(clean_sdk):
    script = SCRIPT.replace("settings=settings", "settings={**settings, 'show_info': False}"
                            ).replace('"foot1"', '"foot-noinfo"')
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=os.environ.copy(), cwd=os.environ.get("TMPDIR", "/tmp"),
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert "trackd:" not in proc.stderr
    # The same script with show_info left alone prints both (quiet: the footer's first line).
    assert "Syncing run" in proc_stderr_of(SCRIPT.replace('"foot1"', '"foot-info"'))


def proc_stderr_of(script: str) -> str:
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=os.environ.copy(), cwd=os.environ.get("TMPDIR", "/tmp"),
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_rich_footer_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    print_footer(name="n", path="e/p/r", state="finished", rows=3, summary={"loss": 0.5, "_x": 1},
                 history={"loss": [3.0, 2.0, 1.0]}, stream=out)
    text = out.getvalue()
    assert "e/p/r" in text and "loss" in text and "0.5" in text and "_x" not in text
    assert sparkline([3.0, 2.0, 1.0]) in text


def test_sparkline():
    assert sparkline([]) == "" and sparkline([float("nan")]) == ""
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([2, 2]) == "▄▄"
