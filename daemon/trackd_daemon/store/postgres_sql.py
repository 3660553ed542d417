"""Small helpers the PostgreSQL store's modules share: one statement on a connection (inside
the caller's transaction) and its rows, and the project and run lookups most writes start
with."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from trackd_daemon.errors import RunNotFoundError
from trackd_daemon.store.models import RunKey

Conn = AsyncConnection[tuple[Any, ...]]


async def rows(conn: Conn, sql: str, args: Sequence[Any] = (), binary: bool = False
               ) -> list[tuple[Any, ...]]:
    """The rows of a query; ``binary``: in binary format (BYTEA comes as bytes, not hex text:
    about twice as fast for MessagePack rows)."""
    cur = await conn.execute(sql, args, binary=binary)  # type: ignore[arg-type]
    return await cur.fetchall()


async def row(conn: Conn, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    cur = await conn.execute(sql, args)  # type: ignore[arg-type]
    return await cur.fetchone()


async def run(conn: Conn, sql: str, args: Sequence[Any] = ()) -> int:
    """Execute; returns the number of rows it changed."""
    cur = await conn.execute(sql, args)  # type: ignore[arg-type]
    return cur.rowcount


async def many(conn: Conn, sql: str, seq: Sequence[Sequence[Any]]) -> None:
    """Execute once per parameter tuple (psycopg pipelines them: one round trip in all)."""
    if seq:
        async with conn.cursor() as cur:
            await cur.executemany(sql, seq)  # type: ignore[arg-type]


def marks(n: int) -> str:
    return ",".join(["%s"] * n)


async def project_id(conn: Conn, entity: str, project: str, create: bool) -> int | None:
    """A project's id, creating it first when ``create`` (two daemons creating it at once:
    one inserts, the other waits for it and finds the row)."""
    if create:
        await conn.execute(
            "INSERT INTO projects(entity, name, created_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (entity, name) DO NOTHING", (entity, project, time.time()))
    found = await row(conn, "SELECT id FROM projects WHERE entity = %s AND name = %s",
                      (entity, project))
    return None if found is None else int(found[0])


async def run_pk(conn: Conn, run_key: RunKey) -> int:
    """:raises RunNotFoundError: no such run."""
    found = await row(
        conn, "SELECT r.id FROM runs r JOIN projects p ON p.id = r.project_id"
        " WHERE p.entity = %s AND p.name = %s AND r.run_id = %s",
        (run_key.entity, run_key.project, run_key.run_id))
    if found is None:
        raise RunNotFoundError(f"run {run_key} not found", run=str(run_key))
    return int(found[0])


def project_clauses(entity: str, project: str) -> tuple[list[str], list[Any]]:
    """WHERE clauses (and their arguments) narrowing runs or sweeps (``p``: the projects
    table) to an entity and project."""
    clauses: list[str] = []
    args: list[Any] = []
    if entity:
        clauses.append("p.entity = %s")
        args.append(entity)
    if project:
        clauses.append("p.name = %s")
        args.append(project)
    return clauses, args
