"""``trackd runs ls|show|stop|history``: read stored runs through :class:`trackd.Api`.

Like ``trackd.Api``, these start a daemon when none is running; ``trackd.teardown()`` at the
end stops a daemon this command started as soon as it is idle.

Everything printed of a run is user data and goes through :func:`trackd._base.terminal.visible`
(tables do it themselves). A run's notes keep their line breaks in ``show``, where they get
lines of their own; in a table a line break shows as ``\\n``, so that one run stays one row.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import trackd
from trackd._base.terminal import visible
from trackd._cli.output import (
    csv_cell,
    csv_line,
    is_number,
    limited,
    print_json_rows,
    print_table,
    table_cell,
    to_json,
)
from trackd.errors import RunNotFoundError, UsageError

if TYPE_CHECKING:
    from trackd._api.api import Api, PublicRun


@contextmanager
def _api(entity: str | None = None) -> Iterator[Api]:
    try:
        yield trackd.Api(overrides={"entity": entity} if entity else None)
    finally:
        trackd.teardown()


#: Runs per page that ``runs ls`` asks the daemon for (the daemon's largest page is 1,000).
LS_PAGE = 500


def ls(args: argparse.Namespace) -> int:
    with _api(args.entity) as api:
        # Read page by page as it is printed; no more pages than --limit needs.
        per_page = min(LS_PAGE, args.limit) if args.limit else LS_PAGE
        found = limited(api.runs(args.path, per_page=per_page), args.limit)
        if args.json:
            print_json_rows([{"id": r.id, "entity": r.entity, "project": r.project,
                              "name": r.name, "state": r.state, "created_at": r.created_at,
                              "history_rows": r.history_rows,
                              "last_step": r.last_step if r.history_rows else None}
                             for r in found])
            return 0
        if not found:
            where = args.path or f"entity {api.default_entity}"
            print(f"no runs in {visible(where)}", file=sys.stderr)
            return 0
        print_table(
            ["ID", "NAME", "STATE", "PROJECT", "CREATED", "ROWS", "LAST STEP"],
            [[r.id, r.name, r.state, r.project, _when(r.created_at), str(r.history_rows),
              _last_step(r)] for r in found],
            right={5, 6},
        )
    return 0


def stop(args: argparse.Namespace) -> int:
    with _api() as api:
        run = _find_run(api, args.path)
        told = run.stop()
        path = visible("/".join(run.path))
        if told:
            print(f"asked {path} to stop; its training process is being interrupted")
        else:
            print(f"asked {path} to stop; no client is connected now: the run ends killed when "
                  "its client reconnects, or after the crash grace period")
    return 0


def show(args: argparse.Namespace) -> int:
    with _api() as api:
        run = _find_run(api, args.path)
        env = run.metadata or {}
        files = run.files()
    fields = [
        ("path", "/".join(run.path)),
        ("name", run.name),
        ("state", run.state),
        ("exit code", str(run.exit_code) if run.state != "running" else ""),
        ("created", _when(run.created_at)),
        ("finished", _when(run.finished_at or "")),
        ("tags", ", ".join(run.tags)),
        ("group", run.group),
        ("job type", run.job_type),
        ("notes", run.notes),
        ("host", run.host),
        ("program", run.program),
        ("history", f"{run.history_rows} row(s)"
         + (f", last step {run.last_step}" if run.history_rows else "")),
    ]
    width = max(len(name) for name, _ in fields) + 1
    for name, value in fields:
        # Only the notes may span lines; split on line feeds alone (str.splitlines would also
        # break at the form feeds and separators that visible() shows as escapes).
        lines = visible(value or "-", multiline=name == "notes").split("\n")
        print(f"{name + ':':<{width}} {lines[0]}")
        for line in lines[1:]:
            print(" " * (width + 1) + line)
    print("environment:" if env else "environment: -")
    for name, value in _environment(env):
        print(f"  {name + ':':<{width}} {visible(value)}")
    print("files:" if files else "files: -")
    for f in files:
        more = f", {f.versions} versions" if f.versions > 1 else ""
        print(f"  {visible(f.name)} ({_size(f.size)}{more})")
    for title, doc in (("config", run.config), ("summary", run.summary)):
        print(f"{title}:")
        print(_indented(to_json(doc, indent=2)))  # JSON: control characters come \u-escaped
    print("metrics:" if run.metrics else "metrics: -")
    for m in run.metrics:
        extra = [f"step metric {m['step_metric']}"] if m["step_metric"] else []
        if m["summary"]:
            extra.append("summary " + ", ".join(m["summary"]))
        print(visible(f"  {m['name']}" + (f" ({'; '.join(extra)})" if extra else "")))
    return 0


def history(args: argparse.Namespace) -> int:
    keys = list(dict.fromkeys(k.strip() for arg in args.keys for k in arg.split(",") if k.strip()))
    with _api() as api:
        run = _find_run(api, args.path)
        rows = _step_first(run.scan_history(keys=keys or None, min_step=args.min_step,
                                            max_step=args.max_step))
        columns = list(dict.fromkeys(["_step", *keys])) if keys else None
        if args.format == "jsonl":
            for row in rows:
                sys.stdout.write(to_json(row) + "\n")
        elif args.format == "csv":
            _write_csv(rows, columns)
        else:
            _write_table(run, list(rows), columns)
    return 0


def _find_run(api: Api, path: str) -> PublicRun:
    """The run at ``path``. A bare run id is looked up in every project of the entity
    (``trackd.Api`` alone would only look in the default project, ``uncategorized``)."""
    if "/" in path.strip("/") or ":" in path:
        return api.run(path)
    matches = [r for r in api.runs(per_page=LS_PAGE) if r.id == path.strip("/")]
    if len(matches) > 1:
        projects = ", ".join(sorted(r.project for r in matches))
        raise UsageError(f"run id {path!r} exists in several projects ({projects}): "
                         "use PROJECT/RUN_ID")
    if not matches:
        raise RunNotFoundError(f"no run {path!r} in any project of {api.default_entity}")
    return matches[0]


def _step_first(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield {"_step": row["_step"], **row} if "_step" in row else row


def _union(rows: list[dict[str, Any]]) -> list[str]:
    """Every key of ``rows`` in first-seen order, ``_step`` first."""
    seen: dict[str, None] = {"_step": None}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _write_csv(rows: Iterable[dict[str, Any]], columns: list[str] | None) -> None:
    if columns is None:  # the header needs every key: read everything first
        rows = list(rows)
        columns = _union(rows)
    tty = sys.stdout.isatty()
    sys.stdout.write(csv_line(columns, to_terminal=tty))
    for row in rows:
        sys.stdout.write(csv_line([csv_cell(row.get(c)) for c in columns], to_terminal=tty))


def _write_table(run: PublicRun, rows: list[dict[str, Any]], columns: list[str] | None) -> None:
    if not rows:
        print(f"no history rows in {visible('/'.join(run.path))}", file=sys.stderr)
        return
    columns = columns or _union(rows)
    numeric = {i for i, c in enumerate(columns)
               if any(is_number(r.get(c)) for r in rows)}
    print_table(columns, [[table_cell(r.get(c)) for c in columns] for r in rows], right=numeric)


def _when(iso: str) -> str:
    """``2026-01-02T03:04:05Z`` -> ``2026-01-02 03:04:05Z`` (shorter, still UTC)."""
    return iso.replace("T", " ")


def _last_step(run: PublicRun) -> str:
    return str(run.last_step) if run.history_rows else ""


def _environment(env: dict[str, Any]) -> list[tuple[str, str]]:
    """What ``runs show`` prints of a run's environment (wandb-metadata.json)."""
    git = env.get("git") or {}
    rows = [
        ("python", env.get("python")),
        ("os", env.get("os")),
        ("host", env.get("host")),
        ("program", " ".join([env.get("program") or "", *map(str, env.get("args") or [])]).strip()),
        ("cwd", env.get("cwd")),
        ("git commit", git.get("commit")),
        ("git branch", git.get("branch")),
        ("git remote", git.get("remote")),
        ("git dirty", "yes (diff.patch)" if git.get("dirty") else ("no" if git else None)),
        ("cpus", env.get("cpu_count_logical")),
        ("memory", _size(env["memory"]["total"]) if (env.get("memory") or {}).get("total")
         else None),
        ("gpus", f"{env['gpu_count']} x {env.get('gpu', 'GPU')}" if env.get("gpu_count")
         else None),
    ]
    return [(k, str(v)) for k, v in rows if v not in (None, "")]


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _indented(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
