"""Every command's --help reads as plain text in a terminal and shows an example.

The command tree is walked from the parser itself, so a command added later is checked too;
``trackd daemon run`` (parsed by the daemon) is checked through the console script's path.
"""

from __future__ import annotations

import contextlib
import io
import re

import pytest

from trackd._cli import main as cli_main
from trackd._cli.help_text import EXAMPLES, commands

#: Markup that means nothing in a terminal: backticks (reStructuredText and Markdown), RST
#: roles and fields, Markdown emphasis and links.
MARKUP = re.compile(r"`|:(?:func|class|meth|mod|attr|data|exc|obj|ref|param|raises|returns?):"
                    r"|\*\*|\]\(")


def _paths() -> list[tuple[str, ...]]:
    return [path for path, _ in commands(cli_main.build_parser())] + [("daemon", "run")]


def _help(path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, columns: int = 100) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        cli_main.main([*path, "--help"])
    assert exited.value.code == 0, path
    return out.getvalue()


def test_the_walk_finds_every_command() -> None:
    found = {" ".join(p) for p in _paths()}
    assert {"", "daemon start", "runs ls", "runs history", "artifact cache cleanup",
            "sweep", "agent", "alerts ls", "daemon run"} <= found
    assert len(found) >= 30


@pytest.mark.parametrize("path", _paths(), ids=lambda p: " ".join(p) or "trackd")
def test_help_is_plain_text_with_an_example(path: tuple[str, ...],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    text = _help(path, monkeypatch)
    assert text.startswith("usage: trackd"), text
    assert not MARKUP.search(text), f"markup in trackd {' '.join(path)} --help:\n{text}"
    examples = text.split("\nexamples:\n", 1)
    assert len(examples) == 2, f"no examples in trackd {' '.join(path)} --help:\n{text}"
    lines = examples[1].splitlines()
    assert lines and all(line.startswith("  trackd ") for line in lines if line.strip()), text
    # Each example starts with the command it documents.
    assert any(line.strip().startswith(" ".join(("trackd", *path))) for line in lines), text


def test_examples_name_only_existing_commands() -> None:
    paths = {" ".join(p) for p in _paths()}
    assert set(EXAMPLES) <= paths


def test_descriptions_keep_their_paragraphs(monkeypatch: pytest.MonkeyPatch) -> None:
    # Wrapping follows the terminal's width, and the examples block stays as written.
    text = _help(("runs", "history"), monkeypatch, columns=60)
    assert all(len(line) <= 60 for line in text.split("\nexamples:\n")[0].splitlines())
    assert "\n  trackd runs history 1a2b3c4d --format csv --min-step 100 > loss.csv\n" in text
