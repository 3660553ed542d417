"""The README stays short, its links resolve, and ``.ci/run`` runs its test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    """The README's shell commands: the lines of its ``sh`` blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_the_readme_fits_on_a_screen_or_two() -> None:
    assert len(README.splitlines()) <= 150


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = [c for c in _commands() if "pytest" in c]
    assert len(test_command) == 1, test_command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command[0] in ci


def test_the_readme_commands_go_through_the_venv() -> None:
    # A fresh shell has no trackd on its PATH: every trackd call names the venv's.
    for command in _commands():
        assert not re.search(r"(^|[\s;&|(])trackd\b", command), command


def test_the_readme_links_resolve() -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README)
    assert len(links) > 20
    missing = [link for link in links if "://" not in link and not (ROOT / link).exists()]
    assert not missing, missing
