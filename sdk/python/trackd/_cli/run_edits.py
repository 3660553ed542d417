"""``trackd runs rm|tag|mv|rename``: change stored runs through :class:`trackd.Api`.

``rm`` asks before deleting unless ``--yes`` is given; without a terminal to answer on (and
without ``--yes``) nothing is deleted.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from trackd._base.terminal import visible
from trackd._cli.runs import _api, _find_run
from trackd.errors import UsageError

RUN_PATH = "[[ENTITY/]PROJECT/]RUN_ID"


def add_commands(actions: Any) -> None:
    """Add the editing actions to ``trackd runs``."""
    p = actions.add_parser("rm", help="delete runs with their history, files and media",
                           description="Delete finished runs with their history, files, console "
                           "log and system metrics. Blob-store bytes only they held are freed by "
                           "the daemon's next garbage collection.")
    p.add_argument("paths", nargs="+", metavar=RUN_PATH)
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--delete-artifacts", action="store_true",
                   help="delete the artifact versions the runs logged too")
    p.set_defaults(func=rm)
    p = actions.add_parser("tag", help="add or remove a run's tags",
                           description="Add or remove a run's tags.")
    p.add_argument("path", metavar=RUN_PATH)
    p.add_argument("--add", action="append", default=[], metavar="TAG", help="tag to add")
    p.add_argument("--remove", action="append", default=[], metavar="TAG", help="tag to remove")
    p.set_defaults(func=tag)
    p = actions.add_parser("mv", help="move a finished run to another project",
                           description="Move a finished run to another project of its entity.")
    p.add_argument("path", metavar=RUN_PATH)
    p.add_argument("project", metavar="PROJECT")
    p.set_defaults(func=mv)
    p = actions.add_parser("rename", help="change a run's display name",
                           description="Change a run's display name.")
    p.add_argument("path", metavar=RUN_PATH)
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=rename)


def _confirm(question: str) -> bool:
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def rm(args: argparse.Namespace) -> int:
    with _api() as api:
        found = [_find_run(api, p) for p in args.paths]
        found = list({"/".join(r.path): r for r in found}.values())
        live = [visible("/".join(r.path)) for r in found if r.state == "running"]
        if live:  # refused before anything is deleted
            raise UsageError(f"{', '.join(live)}: still running; a run can be deleted once it "
                             "has finished (nothing deleted)")
        for r in found:
            print(f"  {visible('/'.join(r.path))} ({visible(r.name)}, {r.state})", file=sys.stderr)
        if not args.yes and not _confirm(f"delete {len(found)} run(s) and everything they hold?"):
            print("nothing deleted", file=sys.stderr)
            return 1
        for r in found:
            r.delete(delete_artifacts=args.delete_artifacts)
            print(f"deleted {visible('/'.join(r.path))}")
    return 0


def tag(args: argparse.Namespace) -> int:
    if not args.add and not args.remove:
        raise UsageError("name a tag to --add or --remove")
    with _api() as api:
        run = _find_run(api, args.path)
        run.tags = [t for t in dict.fromkeys([*run.tags, *args.add]) if t not in args.remove]
        run.update()
        print(f"{visible('/'.join(run.path))}: tags {visible(', '.join(run.tags)) or '(none)'}")
    return 0


def mv(args: argparse.Namespace) -> int:
    with _api() as api:
        run = _find_run(api, args.path)
        before = "/".join(run.path)
        run.move(args.project)
        print(f"moved {visible(before)} to {visible('/'.join(run.path))}")
    return 0


def rename(args: argparse.Namespace) -> int:
    with _api() as api:
        run = _find_run(api, args.path)
        run.name = args.name
        run.update()
        print(f"{visible('/'.join(run.path))}: renamed {visible(run.name)}")
    return 0
