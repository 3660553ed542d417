"""Help text written for a terminal: plain text, and an example under every command.

argparse rewraps a description into one paragraph; :class:`Formatter` wraps paragraph by
paragraph and prints an indented block (an example) as written. The examples live in
:data:`EXAMPLES`, one entry per command path, and :func:`finish` hands them and the formatter
to every parser of the tree (tests/cli/test_cli_help.py checks that none is missing).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

#: Examples by command path ("" is ``trackd`` itself), shown under "examples:" in --help.
EXAMPLES: dict[str, list[str]] = {
    "": ["trackd daemon start", "trackd runs ls my-project", "trackd ui my-project"],
    "daemon": ["trackd daemon status"],
    "daemon start": ["trackd daemon start", "trackd daemon start --idle-timeout 3600"],
    "daemon stop": ["trackd daemon stop"],
    "daemon status": ["trackd daemon status"],
    "runs": ["trackd runs ls my-project --limit 10"],
    "runs ls": ["trackd runs ls", "trackd runs ls my-team/my-project --limit 20",
                "trackd runs ls my-project --json | jq -r '.[].id'"],
    "runs show": ["trackd runs show my-project/1a2b3c4d"],
    "runs stop": ["trackd runs stop my-project/1a2b3c4d"],
    "runs history": ["trackd runs history my-project/1a2b3c4d --keys loss,acc",
                     "trackd runs history 1a2b3c4d --format csv --min-step 100 > loss.csv"],
    "runs rm": ["trackd runs rm my-project/1a2b3c4d my-project/5e6f7a8b --yes"],
    "runs tag": ["trackd runs tag my-project/1a2b3c4d --add baseline --remove draft"],
    "runs mv": ["trackd runs mv my-project/1a2b3c4d other-project"],
    "runs rename": ["trackd runs rename my-project/1a2b3c4d 'lr 3e-4, warmup'"],
    "artifact": ["trackd artifact ls my-project"],
    "artifact ls": ["trackd artifact ls my-project --type model",
                    "trackd artifact ls my-team/my-project --json --limit 5"],
    "artifact get": ["trackd artifact get my-project/mnist:latest --root data/mnist"],
    "artifact put": ["trackd artifact put data/ --name my-project/mnist --type dataset "
                     "--alias v2-clean"],
    "artifact cache": ["trackd artifact cache cleanup --max-size 20GB"],
    "artifact cache cleanup": ["trackd artifact cache cleanup --max-size 20GB"],
    "login": ["trackd login --host https://trackd.example.org:8471",
              "trackd login --verify"],
    "logout": ["trackd logout"],
    "compat": ["trackd compat install"],
    "compat install": ["trackd compat install", "trackd compat install --target ./shim"],
    "compat uninstall": ["trackd compat uninstall"],
    "sweep": ["trackd sweep sweep.yaml --project my-project",
              "trackd sweep ls my-project --json",
              "trackd sweep --pause my-project/abc123",
              "trackd sweep show my-project/abc123"],
    "agent": ["trackd agent my-project/abc123 --count 10"],
    "ui": ["trackd ui", "trackd ui my-project/1a2b3c4d --no-browser"],
    "sync": ["trackd sync wandb/offline-run-20261206_101500-1a2b3c4d",
             "trackd sync wandb/offline-run-*"],
    "alerts": ["trackd alerts ls my-project"],
    "alerts ls": ["trackd alerts ls my-project --limit 20",
                  "trackd alerts ls my-project/1a2b3c4d --json"],
    "settings": ["trackd settings", "trackd settings --json"],
}


class Formatter(argparse.HelpFormatter):
    """Wraps each paragraph of a description or epilog on its own; a paragraph with an
    indented line (an example block) is kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.split("\n\n"):
            if any(line.startswith("  ") for line in paragraph.splitlines()):
                paragraphs.append("\n".join(indent + line for line in paragraph.splitlines()))
            else:
                paragraphs.append(super()._fill_text(paragraph, width, indent))
        return "\n\n".join(paragraphs)


def epilog(examples: list[str]) -> str:
    """The "examples:" block under a command's help."""
    return "examples:\n" + "\n".join("  " + line for line in examples)


def commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = (),
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the tree under ``parser`` with its command path, ``parser`` first.
    ``daemon run`` is left out: it is only a name here (the daemon parses its arguments)."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if (*path, name) != ("daemon", "run"):
                    yield from commands(sub, (*path, name))


def finish(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every parser of the tree the plain-text formatter and its examples."""
    for path, sub in commands(parser):
        sub.formatter_class = Formatter
        examples = EXAMPLES.get(" ".join(path))
        if examples:
            sub.epilog = epilog(examples)
    return parser
