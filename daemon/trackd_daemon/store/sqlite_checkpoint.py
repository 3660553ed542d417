"""Checkpoints of the SQLite store's write-ahead log, away from the write path.

In WAL mode a commit appends pages to ``<store>-wal``; a checkpoint copies them into the
database file (and syncs both), so that the WAL can start over. By default the connection
whose commit takes the WAL past 1,000 pages runs the checkpoint itself, in that commit: under
ingestion that is the write connection, every 4 MiB of pages, while the history waits for its
commits (storing 100,000 rows of ten floats, 4,096 a transaction, took 0.26-0.35 s with those
five checkpoints and 0.19-0.25 s without, measured). Here a thread of its own runs them on a connection of its own, in SQLite's
passive mode, which waits for nothing: the write connection goes on committing meanwhile, and
readers go on reading. The write connection keeps a checkpoint threshold of its own, far
higher (``WRITER_AUTOCHECKPOINT``), for the case where this thread cannot keep up.

Nothing about durability changes: a commit is as durable as before (``synchronous=NORMAL``:
the WAL is synced at each checkpoint, and the daemon's own log holds every acknowledged record
until it is stored), and the database is the WAL and the file together whatever their split.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

#: Seconds between two checkpoints, at least, while the store is written: at 20 MB/s of rows
#: (100,000 rows of ten floats a second) the WAL then grows by some 10 MB between checkpoints;
#: an idle store is not checkpointed at all.
INTERVAL = 0.5
#: The write connection's own threshold, in pages (64 MiB of 4 KiB pages): reached only when
#: this thread falls behind, and then the WAL is still bounded.
WRITER_AUTOCHECKPOINT = 16_384


class Checkpointer:
    """Runs passive checkpoints of the database at ``path`` in a thread, at most every
    ``INTERVAL`` seconds and only after ``written()`` was called (see the module doc)."""

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                                     timeout=30)
        self._written = threading.Event()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def written(self) -> None:
        """Note that a transaction was committed (any thread; never waits)."""
        if not self._written.is_set():
            self._written.set()

    def close(self) -> None:
        """Stop the thread (after the checkpoint in progress, if any) and close its
        connection. Blocking: call it from a worker thread."""
        self._closing.set()
        self._written.set()
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        while True:
            self._written.wait()
            if self._closing.is_set():
                return
            self._written.clear()
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error as exc:  # a full disk, an I/O error: the next one retries
                log.warning("checkpoint of the store's write-ahead log failed: %s", exc)
            if self._closing.wait(INTERVAL):
                return
