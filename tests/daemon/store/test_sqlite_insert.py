"""insert_many: the rows executemany would insert, in statements of many rows."""

from __future__ import annotations

import sqlite3

import pytest

from trackd_daemon.store.sqlite_insert import MAX_ROWS, insert_many


def _columns(rows: list[tuple]) -> list[list]:
    return [list(c) for c in zip(*rows, strict=True)] or [[], [], []]


def _table() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (run INTEGER, step INTEGER, row BLOB, PRIMARY KEY (run, step))"
                 " WITHOUT ROWID")
    return conn


@pytest.mark.parametrize("n", [0, 1, 3, 63, 64, 65, MAX_ROWS, MAX_ROWS * 2 + 37])
def test_the_same_rows_as_executemany(n: int) -> None:
    rows = [(1, i, bytes([i % 256]) * (i % 7)) for i in range(n)]
    rows += rows[: n // 3]  # repeated keys: the first of each is kept, as executemany keeps it
    rows += [(1, i, b"later") for i in range(n, n + n // 5)]
    ours, theirs = _table(), _table()
    before = ours.total_changes
    insert_many(ours, "INSERT OR IGNORE INTO t(run, step, row)", _columns(rows))
    theirs.executemany("INSERT OR IGNORE INTO t(run, step, row) VALUES (?, ?, ?)", rows)
    query = "SELECT run, step, row FROM t ORDER BY run, step"
    assert ours.execute(query).fetchall() == theirs.execute(query).fetchall()
    assert ours.total_changes - before == n + n // 5


def test_a_low_limit_on_bound_values_makes_smaller_statements() -> None:
    conn = _table()
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 10)  # three rows a statement at most
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    insert_many(conn, "INSERT INTO t(run, step, row)", _columns([(1, i, b"") for i in range(7)]))
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (7,)
    assert [s.count("(1, ") for s in statements if s.startswith("INSERT")] == [2, 2, 2, 1]


def test_wide_rows_go_fewer_a_statement() -> None:
    conn = _table()
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    rows = [(1, i, b"x" * 16_000) for i in range(100)]
    insert_many(conn, "INSERT INTO t(run, step, row)", _columns(rows), row_bytes=16_000)
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (100,)
    assert [s.count("(1, ") for s in statements if s.startswith("INSERT")] == [64, 32, 4]
