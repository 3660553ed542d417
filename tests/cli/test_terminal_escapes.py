"""User data never reaches the terminal raw (issue 14, finding 6).

A run whose name, tags, notes, config, summary, metric names, alert, saved file and artifact
(type, alias) carry terminal escape sequences (a window title change, a screen clear, a
carriage return and backspace that overwrite text, the 8-bit CSI, bidi overrides, zero-width
and invisible characters) is listed and shown by the real CLI against a real daemon: every
one of those characters comes out as a visible escape, rich markup in a name prints
literally, and the JSON and CSV outputs still give back the exact values.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
import tty
import unicodedata
from collections.abc import Iterator

import pytest

from tests.cli.test_cli import CLI, ENTITY, Sandbox
from trackd._base.footer import print_footer

#: What an attacker puts in every field: OSC 0 (window title) ended by BEL, CSI 2J (clear the
#: screen), CR and BS (overwrite what was printed), DEL, the 8-bit CSI, RLO, LRI, a zero-width
#: space, a BOM and a Hangul filler (drawn as nothing).
CTRL = "\x1b]0;pwned\x07\x1b[2J\r\x08\x7f\x9b31m\u202e\u2066\u200b\ufeff\u3164"
#: How the CLI shows it.
SHOWN = r"\x1b]0;pwned\x07\x1b[2J\r\x08\x7f\x9b31m\u202e\u2066\u200b\ufeff\u3164"
#: Rich markup and an emoji code: they must print as written.
MARKUP = "[bold]b[/bold][link=evil]l[/link]:smile:"
FILE_NAME = "f" + CTRL + ".txt"

MAKE_RUN = f"""
import pathlib, trackd
CTRL, MARKUP, FILE_NAME = {CTRL!r}, {MARKUP!r}, {FILE_NAME!r}
pathlib.Path(FILE_NAME).write_text("x")
run = trackd.init(entity={ENTITY!r}, project="p", id="evil", name="name" + CTRL + MARKUP,
                  tags=["tag" + CTRL], notes="line1" + CTRL + "\\nline2\\tcol\\r\\nline3",
                  config={{"ck" + CTRL: "cv" + CTRL}})
run.define_metric("m" + CTRL, summary="max")
run.log({{"m" + CTRL: 1.0, "txt": "v" + CTRL}})
run.summary["sk" + CTRL] = "sv" + CTRL
run.alert(title="at" + CTRL, text="first" + CTRL + "\\nsecond")
run.save(FILE_NAME, policy="now")
art = trackd.Artifact("art", "type" + CTRL)
art.add_file(FILE_NAME)
run.log_artifact(art, aliases=["al" + CTRL])
run.finish()
"""


def hidden_chars(text: str, allowed: str = "\n") -> list[str]:
    """The characters in ``text`` that act on a terminal or hide text (written out on their
    own here, not taken from the code under test)."""
    return sorted({f"U+{ord(c):04X}" for c in text if c not in allowed and (
        unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") or c == "\u3164")})


class EvilRun:
    def __init__(self, box: Sandbox, footer: str) -> None:
        self.box = box
        self.footer = footer  # the script's stderr: the finish footer, written to a pipe


@pytest.fixture(scope="module")
def evil() -> Iterator[EvilRun]:
    box = Sandbox()
    try:
        assert "started" in box.ok("daemon", "start")
        work = box.dir / "work"
        work.mkdir()
        proc = subprocess.run([sys.executable, "-c", MAKE_RUN], env=box.env, cwd=work,
                              capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        yield EvilRun(box, proc.stderr)
    finally:
        box.close()


def test_runs_ls(evil: EvilRun) -> None:
    out = evil.box.ok("runs", "ls")
    assert hidden_chars(out) == []
    (_header, row) = out.splitlines()
    assert row.split()[:3] == ["evil", "name" + SHOWN + MARKUP, "finished"]


def test_runs_show(evil: EvilRun) -> None:
    out = evil.box.ok("runs", "show", "p/evil")
    assert hidden_chars(out, allowed="\n\t") == []
    lines = out.splitlines()
    fields = {k: v.strip() for k, v in (line.split(":", 1) for line in lines
                                        if line and line[0] != " " and ":" in line)}
    assert fields["name"] == "name" + SHOWN + MARKUP
    assert fields["tags"] == "tag" + SHOWN
    # The notes keep their lines (a CR LF line end counts as one line feed) and their tab,
    # each line under the first; in a table they would stay on one line (test_alerts_ls).
    at = next(i for i, line in enumerate(lines) if line.startswith("notes:"))
    assert lines[at].split(None, 1)[1] == "line1" + SHOWN
    assert [line.strip(" ") for line in lines[at + 1:at + 3]] == ["line2\tcol", "line3"]
    assert f"  f{SHOWN}.txt (1 B)" in lines
    assert f"  m{SHOWN} (summary max)" in lines
    # config and summary are JSON: exact values, control characters as \u escapes.
    config = json.loads(out.split("config:\n", 1)[1].split("summary:\n", 1)[0])
    assert config == {"ck" + CTRL: "cv" + CTRL}
    summary = json.loads(out.split("summary:\n", 1)[1].split("metrics:", 1)[0])
    assert summary["sk" + CTRL] == "sv" + CTRL and summary["txt"] == "v" + CTRL


def test_history_table(evil: EvilRun) -> None:
    out = evil.box.ok("runs", "history", "p/evil")
    assert hidden_chars(out) == []
    header = out.splitlines()[0]
    assert "m" + SHOWN in header.split()


def test_alerts_ls(evil: EvilRun) -> None:
    out = evil.box.ok("alerts", "ls")
    assert hidden_chars(out) == []
    (_header, row) = out.splitlines()  # a line feed in the text stays inside its row
    assert "at" + SHOWN in row.split()
    assert "first" + SHOWN + r"\nsecond" in row.split()


def test_artifact_ls(evil: EvilRun) -> None:
    out = evil.box.ok("artifact", "ls", "p")
    assert hidden_chars(out) == []
    row = out.splitlines()[1].split()
    assert row[:3] == ["art:v0", "type" + SHOWN, "al" + SHOWN + ",latest"]


def test_error_messages(evil: EvilRun) -> None:
    proc = evil.box.cli("runs", "show", "p/missing" + CTRL)
    assert proc.returncode == 1 and proc.stderr.startswith("trackd: ")
    assert hidden_chars(proc.stderr) == []


def test_history_jsonl_is_exact_and_inert(evil: EvilRun) -> None:
    out = evil.box.ok("runs", "history", "p/evil", "--format", "jsonl")
    assert hidden_chars(out) == []
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["m" + CTRL] == 1.0 and row["txt"] == "v" + CTRL


def test_history_csv_is_exact_in_a_pipe_and_escaped_on_a_terminal(evil: EvilRun) -> None:
    """Piped (to a file, a spreadsheet, a program) the CSV holds the exact values; on a
    terminal, where a person reads it, the same cells are escaped."""
    piped = subprocess.run([*CLI, "runs", "history", "p/evil", "--format", "csv"],
                           env=evil.box.env, capture_output=True, timeout=60, check=True)
    # Bytes: text mode would turn the CR in the data into a line feed.
    header, row = list(csv.reader(io.StringIO(piped.stdout.decode(), newline="")))
    assert row[header.index("m" + CTRL)] == "1.0" and row[header.index("txt")] == "v" + CTRL

    main, child = pty.openpty()
    tty.setraw(child)  # no CR added to line ends: whatever CR comes out came from the data
    try:
        proc = subprocess.Popen([*CLI, "runs", "history", "p/evil", "--format", "csv"],
                                env=evil.box.env, stdout=child, stderr=subprocess.PIPE)
        os.close(child)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(60) == 0, proc.stderr.read() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    finally:
        os.close(main)
    shown = b"".join(chunks).decode()
    assert hidden_chars(shown) == []
    header, row = list(csv.reader(io.StringIO(shown)))
    assert row[header.index("m" + SHOWN)] == "1.0" and row[header.index("txt")] == "v" + SHOWN


def test_footer_in_a_log(evil: EvilRun) -> None:
    assert hidden_chars(evil.footer) == []
    assert f"trackd: Run name{SHOWN}{MARKUP} ({ENTITY}/p/evil) finished" in evil.footer
    assert f"trackd:   sk{SHOWN} 'sv{SHOWN[:20]}" in evil.footer


def test_footer_on_a_terminal_is_not_markup(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rich footer: user data is escaped and never read as markup or emoji codes. (Rich
    itself styles the fixed parts with escape sequences of its own.)"""
    monkeypatch.setenv("COLUMNS", "1000")  # rich wraps at the width: keep each value whole

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    print_footer(name="n" + CTRL + MARKUP, path="e/p/r" + CTRL, state="finished", rows=1,
                 summary={"k" + CTRL + MARKUP: "v" + CTRL}, history={"k" + CTRL + MARKUP: [1.0]},
                 stream=out)
    text = out.getvalue()
    for raw in ("\x1b]", "\x07", "\x1b[2J", "\r", "\x08", "\x7f", "\x9b", "\u202e", "\u2066",
                "\u200b", "\ufeff", "\u3164"):
        assert raw not in text, repr(raw)  # "\x1b]8;" would be a hyperlink from [link=]
    assert "n" + SHOWN + MARKUP in text and "e/p/r" + SHOWN in text
    assert "k" + SHOWN + MARKUP in text and "'v" + SHOWN[:20] in text  # a string: its repr, cut
    assert "😄" not in text
