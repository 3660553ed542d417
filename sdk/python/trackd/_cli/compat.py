"""``trackd compat install|uninstall``: the opt-in ``wandb`` package (:mod:`trackd.compat`)."""

from __future__ import annotations

import argparse
import importlib.machinery
import sys
from pathlib import Path
from typing import Any

_TARGET_HELP = ("a directory to install into instead of this Python environment's "
                "site-packages (put it on PYTHONPATH to use it)")


def add_commands(commands: Any) -> None:
    """Add ``compat install`` and ``compat uninstall`` to the command tree."""
    c = commands.add_parser(
        "compat", help="install or remove the opt-in wandb package",
        description="Install or remove a wandb package that is trackd: code and libraries "
        "written for W&B (import wandb) then run against trackd unchanged. Never installed "
        "by default, and never over W&B's own wandb.")
    actions = c.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = actions.add_parser(
        "install", help="install the wandb package into this Python environment",
        description="Install trackd's wandb package (a wandb distribution reporting the W&B "
        "version trackd follows) into this Python environment, or into --target. Refused when "
        "W&B's own wandb is installed there. Installing again replaces it.")
    p.add_argument("--target", metavar="DIR", help=_TARGET_HELP)
    p.set_defaults(func=install)
    p = actions.add_parser(
        "uninstall", help="remove the wandb package trackd installed",
        description="Remove trackd's wandb package from this Python environment (or --target); "
        "nothing to do when it is not there. W&B's own wandb is never removed.")
    p.add_argument("--target", metavar="DIR", help=_TARGET_HELP)
    p.set_defaults(func=uninstall)


def install(args: argparse.Namespace) -> int:
    # loaded by the commands that use it
    from trackd.compat import WANDB_VERSION
    from trackd.compat import install as _install

    package = _install(args.target)
    print(f"installed wandb {WANDB_VERSION} (trackd's package) in {package.parent}: "
          "`import wandb` now runs trackd; remove it with: trackd compat uninstall"
          + (f" --target {args.target}" if args.target else ""), file=sys.stderr)
    if args.target is None:
        found = importlib.machinery.PathFinder.find_spec("wandb", sys.path)
        origin = Path(found.origin) if found is not None and found.origin else None
        if origin is not None and package not in origin.parents:
            print(f"trackd: WARNING another wandb comes first on this Python's path: {origin} "
                  "(`import wandb` finds that one, not trackd's)", file=sys.stderr)
    return 0


def uninstall(args: argparse.Namespace) -> int:
    # loaded by the commands that use it
    from trackd.compat import uninstall as _uninstall

    if _uninstall(args.target):
        print("removed trackd's wandb package", file=sys.stderr)
    else:
        print("trackd's wandb package is not installed there: nothing to remove",
              file=sys.stderr)
    return 0
