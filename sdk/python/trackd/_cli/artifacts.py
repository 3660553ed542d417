"""``trackd artifact ls|get|put`` and ``trackd artifact cache cleanup``.

``put`` logs through a run of job_type "cli_put" (as W&B's CLI does), so the version records
who logged it. Long transfers show a progress bar on a terminal (rich). Names, types, aliases
and paths are printed through :func:`trackd._base.terminal.visible`, and the progress bar's text is
not read as rich markup.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import trackd
from trackd._base.terminal import visible
from trackd._cli.output import add_list_options, limited, print_json_rows, print_table
from trackd._cli.session import sdk_session
from trackd._shared import artifact_rules as rules
from trackd.artifacts import local_files, staging


def add_commands(commands: Any) -> None:
    """Add ``artifact`` and its actions to the top-level subparsers."""
    a = commands.add_parser("artifact", help="list, download and upload artifacts; the cache",
                            description="List, download and upload artifact versions, and "
                            "manage the download cache.")
    acts = a.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = acts.add_parser("ls", help="list the artifact versions of a project",
                        description="List the committed versions of every artifact in "
                        "[ENTITY/]PROJECT, by collection, newest first.")
    p.add_argument("path", metavar="[ENTITY/]PROJECT")
    p.add_argument("--type", help="only artifacts of this type")
    add_list_options(p, default_limit=None)
    p.set_defaults(func=ls)
    p = acts.add_parser("get", help="download an artifact version",
                        description="Download [[ENTITY/]PROJECT/]NAME[:ALIAS] (an alias, vN or "
                        "a digest; default latest) through the cache, and print where.")
    p.add_argument("name", metavar="[[ENTITY/]PROJECT/]NAME[:ALIAS]")
    p.add_argument("--root", help="download here (default ./artifacts/NAME:VERSION)")
    p.add_argument("--type", help="the artifact must be of this type")
    p.set_defaults(func=get)
    p = acts.add_parser("put", help="upload a file, directory or reference as a new version",
                        description="Log PATH (a file, a directory or a URI) as a new version of "
                        "an artifact, through a run of job_type cli_put. Unchanged content makes "
                        "no new version.")
    p.add_argument("path", metavar="PATH")
    p.add_argument("--name", required=True, metavar="[[ENTITY/]PROJECT/]NAME",
                   help="the artifact (without a project: the one trackd.init() would use)")
    p.add_argument("--type", required=True, help="e.g. dataset or model")
    p.add_argument("--alias", action="append", default=[], metavar="ALIAS",
                   help="an alias for the new version (repeat for more; latest is always set)")
    p.add_argument("--description", help="the version's description")
    p.set_defaults(func=put)
    c = acts.add_parser("cache", help="manage the download cache",
                        description="Manage the artifact download cache.")
    cacts = c.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    p = cacts.add_parser("cleanup", help="shrink the cache to a size",
                         description="Delete the least recently used cached files until the "
                         "cache fits MAX_SIZE (default: the artifact_cache_max_size setting, "
                         "else 10%% of the free disk), and leftover temporary and staging files.")
    p.add_argument("--max-size", metavar="SIZE",
                   help="bytes, a size like 20GB or 500MiB, or a percentage of the free disk")
    p.set_defaults(func=cache_cleanup)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def _progress() -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    return Progress(TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), console=console,
                    disable=not console.is_terminal, transient=True)


def ls(args: argparse.Namespace) -> int:
    # loaded by the commands that use it: protobuf messages, the artifact client, gRPC
    from trackd._transport import artifact_client as client
    from trackd.artifacts import convert

    with sdk_session():
        api = trackd.Api()
        entity, project = api._project_of(args.path)
        found = limited((convert.from_pb(p, trackd.Artifact)
                         for p in client.versions(entity, project, type_=args.type or "")),
                        args.limit)
        if args.json:
            print_json_rows([{"name": a.name, "qualified_name": a.qualified_name,
                              "type": a.type, "version": a._version, "aliases": a._aliases,
                              "size": a._size or 0, "file_count": a._file_count or 0,
                              "created_at": a._created_at, "digest": a._digest}
                             for a in found])
            return 0
        if not found:
            print(f"no artifacts in {visible(f'{entity}/{project}')}", file=sys.stderr)
            return 0
        print_table(["NAME", "TYPE", "ALIASES", "SIZE", "FILES", "CREATED", "DIGEST"],
                    [[a.name, a.type, ",".join(a._aliases), _size(a._size or 0),
                      str(a._file_count or 0), a._created_at or "", (a._digest or "")[:12]]
                     for a in found], right={3, 4})
    return 0


def get(args: argparse.Namespace) -> int:
    # loaded by the commands that use it: the artifact client, gRPC
    from trackd.artifacts import download

    with sdk_session():
        artifact = trackd.Api().artifact(args.name, type=args.type)
        with _progress() as bar:
            task = bar.add_task(visible(artifact.name), total=artifact.size)
            root = download.download(artifact, args.root,
                                     on_file=lambda _p, n: bar.advance(task, n))
        print(visible(str(root)))
    return 0


def put(args: argparse.Namespace) -> int:
    bits = args.name.split("/")
    if len(bits) > 3:
        raise trackd.UsageError(f"invalid artifact name {args.name!r}: use "
                                "[[ENTITY/]PROJECT/]NAME")
    name = bits[-1]
    project = bits[-2] if len(bits) >= 2 else None
    entity = bits[0] if len(bits) == 3 else None
    path = args.path
    if "://" not in path and not os.path.exists(path):
        raise trackd.UsageError(f"{path}: no such file or directory")
    with sdk_session():
        try:
            artifact = trackd.Artifact(name, args.type, description=args.description)
            for alias in args.alias:
                rules.validate_aliases([alias])
        except ValueError as exc:
            raise trackd.UsageError(str(exc)) from None
        if os.path.isdir(path):
            artifact.add_dir(path)
        elif os.path.isfile(path):
            artifact.add_file(path)
        else:
            artifact.add_reference(path)
        with trackd.init(entity=entity, project=project, job_type="cli_put",
                         settings=trackd.Settings(silent=True)) as run:
            run.log_artifact(artifact, aliases=args.alias)
            _follow(artifact)
        verb = "stored" if not artifact._save_job or not artifact._save_job.deduplicated \
            else "unchanged: same content as"
        print(f"{verb} {visible(artifact.qualified_name)} "
              f"({visible(', '.join(artifact._aliases))})")
    return 0


def _follow(artifact: Any) -> None:
    """Show the upload's progress until the version is committed (or fails)."""
    job = artifact._save_job
    with _progress() as bar:
        task = bar.add_task(visible(artifact.name), total=None)
        while not job.done:
            p = job.progress
            if p.bytes_total:
                bar.update(task, total=p.bytes_total, completed=p.bytes_done)
            time.sleep(0.1)
    artifact.wait()


def cache_cleanup(args: argparse.Namespace) -> int:
    # loaded by the commands that use it
    from trackd.artifacts.cache import get_cache

    cache = get_cache()
    try:
        freed, left = cache.cleanup(args.max_size)
    except ValueError as exc:
        raise trackd.UsageError(str(exc)) from None
    stale = staging.remove_stale()
    forgotten = local_files.checksums().prune()
    extra = f"; removed {stale} abandoned staging director{'y' if stale == 1 else 'ies'}" \
        if stale else ""
    if forgotten:
        extra += f"; forgot the checksums of {forgotten} changed or deleted file(s)"
    print(f"freed {_size(freed)}; the cache ({visible(str(cache.root))}) holds "
          f"{_size(left)}{extra}")
    return 0
