"""The footer printed at finish()."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap

from trackd._base.footer import print_footer, sparkline

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
    assert "trackd runs show" in lines[-1]
    assert re.search(r"Files: \d+, artifacts: 0\.", lines[-1])


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
                 history={"loss": [3.0, 2.0, 1.0]}, url="http://127.0.0.1:8470/e/p/runs/r",
                 logged=[("model:v2", "model")], used=[("data[bold]:v0", "dataset")],
                 files=3, artifacts=1, stream=out)
    text = out.getvalue()
    assert "e/p/r" in text and "loss" in text and "0.5" in text and "_x" not in text
    assert sparkline([3.0, 2.0, 1.0]) in text
    assert ("Artifacts logged:\n  model:v2 (model)\nArtifacts used:\n  data[bold]:v0 (dataset)"
            in text)
    assert "View run n at: http://127.0.0.1:8470/e/p/runs/r" in text
    assert "Files: 3, artifacts: 1. See it: " in text


def test_sparkline():
    assert sparkline([]) == "" and sparkline([float("nan")]) == ""
    assert sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert sparkline([2, 2]) == "▄▄"


EPOCH_SCRIPT = textwrap.dedent(
    """
    import pathlib, sys
    import trackd
    pathlib.Path("notes.txt").write_text("kept")
    pathlib.Path("data.csv").write_text("a,b\\n1,2\\n")
    with trackd.init(project="footer", id="footer-data") as run:
        data = trackd.Artifact("footer-input", type="dataset")
        data.add_file("data.csv")
        run.log_artifact(data).wait()
    with trackd.init(project="footer", id="footer-epochs", name="epochs") as run:
        run.use_artifact("footer-input:latest")
        run.define_metric("val/acc", step_metric="epoch")
        run.save("notes.txt", policy="now")
        for epoch in range(10):
            for i in range(30):
                run.log({"loss": 1.0 / (epoch * 30 + i + 1)})
            run.log({"val/acc": epoch / 10, "epoch": epoch})
        model = trackd.Artifact("footer-model", type="model")
        model.add_file("notes.txt")
        run.log_artifact(model)
        print(run.url, flush=True)
    """
)


def test_footer_sparklines_from_each_metric_s_rows_files_artifacts_and_url(art_sdk):
    """A metric logged once per epoch among per-step keys shows its 10 epochs; the file count
    is what `trackd runs show` lists; the artifacts logged and used are named; the run's
    dashboard URL is printed."""
    proc = subprocess.run([sys.executable, "-c", EPOCH_SCRIPT], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy(), cwd=art_sdk, check=False)
    assert proc.returncode == 0, proc.stderr
    url = proc.stdout.strip().splitlines()[-1]
    err = proc.stderr.splitlines()
    start = next(i for i, line in enumerate(err) if "footer/footer-epochs) finished" in line)
    lines = [line for line in err[start:] if line.startswith("trackd:")]
    spark = set("▁▂▃▄▅▆▇█")
    history = {line.split()[1]: line.split()[2] for line in lines
               if line.startswith("trackd:   ") and len(line.split()) == 3
               and set(line.split()[2]) <= spark}
    assert history["val/acc"] == sparkline([epoch / 10 for epoch in range(10)])  # its epochs
    assert len(history["epoch"]) == 10
    assert len(history["loss"]) > 30 and history["loss"][0] == "█"  # sampled over the steps
    text = "\n".join(lines)
    assert "trackd: Artifacts logged:\ntrackd:   footer-model:v0 (model)" in text
    assert "trackd: Artifacts used:\ntrackd:   footer-input:v0 (dataset)" in text
    assert f"trackd: View run epochs at: {url}" in lines
    assert url.startswith("http") and url.endswith("/runs/footer-epochs")

    show = subprocess.run([sys.executable, "-m", "trackd._cli.main", "runs", "show",
                           "footer/footer-epochs"], capture_output=True, text=True, timeout=60,
                          env=os.environ.copy(), check=True).stdout.splitlines()
    first = show.index("files:") + 1
    listed = [line for line in show[first:show.index("config:")] if line.startswith("  ")]
    assert any(line.startswith("  notes.txt ") for line in listed)
    assert f"Files: {len(listed)}, artifacts: 1. See it: trackd runs show" in lines[-1]


def test_rare_metrics_are_sampled_again_only_within_the_time_budget():
    from trackd._run.footer_data import history

    rows = [{"loss": float(i), **({"val": float(i)} if i % 10 == 5 else {})} for i in range(400)]
    asked = []

    def sample(keys, n):
        asked.append(keys)
        chosen = [r for r in rows if keys is None or all(k in r for k in keys)]
        step = max(1, len(chosen) // n)
        return chosen[::step][:n]

    got = history(sample, {"loss": 399.0, "val": 390.0}, n=40)
    assert asked == [None, ["val"]] and got["val"] == [float(i) for i in range(5, 400, 10)]
    asked.clear()
    late = history(sample, {"loss": 399.0, "val": 390.0}, n=40, budget=-1.0)
    assert asked == [None] and "val" not in late and len(late["loss"]) == 40
