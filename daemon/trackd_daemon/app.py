"""The composition root: opens the store, starts the actors in dependency order, recovers the
runs that were in flight, serves gRPC, and on SIGTERM/SIGINT (or a Shutdown call) drains
everything in reverse order.

Shutdown order: health -> NOT_SERVING; the registry stops taking runs and streams (calls
that would start work get UNAVAILABLE with a retry hint while the daemon drains, and clients
retry against the next daemon) and closes every run's log; the history actor drains its mailbox
into the store; the gRPC servers stop; the store closes. Whatever a drain could not finish
within ``drain_grace_seconds`` stays in the write-ahead logs and is recovered on the next start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import functools
import gc
import logging
import logging.handlers
import os
import resource
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from typing import IO

import anyio

from trackd._version import __version__
from trackd_daemon.access import AccessPolicy
from trackd_daemon.actors.artifact_gc import ArtifactCollector
from trackd_daemon.actors.artifacts import ArtifactUploader
from trackd_daemon.actors.base import supervise
from trackd_daemon.actors.file_sync import FileSyncActor, FinishFiles, WatchAgain
from trackd_daemon.actors.heartbeat import HeartbeatActor, Linger
from trackd_daemon.actors.history import Crash, HistoryActor
from trackd_daemon.actors.notifier import NotifierActor, sinks_from
from trackd_daemon.actors.registry import Expire, Lookup, Recover, Retire, RunRegistry
from trackd_daemon.actors.sweeps import SweepController
from trackd_daemon.actors.system_metrics import SystemMetricsActor
from trackd_daemon.blobs import open_blobs
from trackd_daemon.config import DaemonConfig
from trackd_daemon.rpc.activity import CallActivity
from trackd_daemon.rpc.artifact_servicer import ArtifactServicer
from trackd_daemon.rpc.daemon_servicer import DaemonServicer
from trackd_daemon.rpc.file_servicer import FileServicer
from trackd_daemon.rpc.handoff import HandOffServer
from trackd_daemon.rpc.identity import Guard
from trackd_daemon.rpc.peer_proxy import PeerTable
from trackd_daemon.rpc.query_servicer import QueryServicer
from trackd_daemon.rpc.record_servicer import RecordServicer
from trackd_daemon.rpc.run_servicer import RunServicer
from trackd_daemon.rpc.server import check_listeners, start_server
from trackd_daemon.rpc.sweep_servicer import SweepServicer
from trackd_daemon.run_editing import RunEditor
from trackd_daemon.session import RunSession
from trackd_daemon.store import MetadataStore, display_url, open_store
from trackd_daemon.store.models import RUNNING, RunKey
from trackd_daemon.web import WebServer, start_dashboard

log = logging.getLogger("trackd.daemon")

#: While draining, calls that would start work are answered UNAVAILABLE with a retry hint for at
#: least this long before the sockets close, so connected clients learn the daemon is going
#: away (and when to retry) rather than meeting a closed socket.
DRAIN_NOTICE_SECONDS = 0.5

#: Exit status when another daemon holds the lock.
EXIT_ALREADY_RUNNING = 3


class AlreadyRunning(RuntimeError):
    """Another daemon of this user holds the lock."""


def acquire_lock(cfg: DaemonConfig) -> IO[str]:
    """Take the per-user lock (held for the life of the process) and record our pid in it.

    :raises AlreadyRunning: another daemon holds it.
    """
    cfg.runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    f = open(cfg.lock_path, "a+")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        pid = f.read().strip() or "?"
        f.close()
        raise AlreadyRunning(f"a trackd daemon is already running (pid {pid}, {cfg.address})") from None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard one (the soft limit is commonly 1,024,
    which connections could use up; the hard one is what an administrator allows). Returns
    the soft limit before and after (unchanged when it cannot be raised)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft >= hard:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        return soft, soft
    return soft, hard


def setup_logging(cfg: DaemonConfig, foreground: bool) -> None:
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(cfg.log_file, maxBytes=10 << 20, backupCount=3)
    ]
    if foreground and sys.stderr.isatty():
        handlers.append(logging.StreamHandler())
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger("trackd")
    root.handlers.clear()
    for h in handlers:
        h.setFormatter(fmt)
        root.addHandler(h)
    root.setLevel(cfg.log_level)
    root.propagate = False


async def serve(cfg: DaemonConfig, ready_fd: int | None = None) -> None:
    """Run the daemon until a stop signal or a Shutdown call."""
    stop = anyio.Event()
    check_listeners(cfg)  # a configuration that must not serve stops here, before any bind
    store = await open_store(cfg.store_url, cache_dir=cfg.root / "cache")
    store.console_part_bytes = cfg.console_part_bytes
    notifier = NotifierActor(store, sinks_from(cfg.alert_webhooks, cfg.alert_slack_webhooks))
    sweeps: SweepController
    history = HistoryActor(store, on_alerts=notifier.poke,
                           on_sweep_runs=lambda ids: sweeps.touched(ids))
    blobs = await anyio.to_thread.run_sync(functools.partial(
        open_blobs, cfg.blob_store_url, cfg.blob_spool_dir, shared=bool(cfg.blob_url),
        s3_endpoint=cfg.s3_endpoint, s3_region=cfg.s3_region,
        retry_seconds=cfg.blob_retry_seconds))
    uploader = ArtifactUploader(store, blobs)
    collector = ArtifactCollector(store, blobs, cfg.artifact_gc_interval_seconds,
                                  cfg.blob_grace_seconds)
    files = FileSyncActor(store, blobs)
    metrics = SystemMetricsActor(store)
    registry: RunRegistry
    calls = CallActivity()  # gRPC calls served: a client reading keeps an idle daemon up
    web: WebServer | None = None  # the dashboard, once it serves

    async def crash(session: RunSession) -> None:
        if not await registry.ask(lambda r: Expire(session, r)):
            return  # a stream attached at the last moment: the run goes on
        try:  # what the run saved for its end is stored all the same, before its end
            await files.ask(lambda r: FinishFiles(session, r))
        except Exception:
            log.exception("run %s: its end files could not be stored", session.key)
        await history.ask(lambda r: Crash(session, r))
        await registry.tell(Retire(session))

    heartbeat = HeartbeatActor(
        cfg.crash_grace_seconds, crash, cfg.idle_timeout_seconds,
        is_idle=lambda: registry.runs_in_flight == 0 and not uploader.busy() and not sweeps.busy()
        and not calls.busy(heartbeat.idle_timeout) and not (web is not None and web.busy()),
        on_idle=stop.set,
    )
    registry = RunRegistry(store, history, heartbeat, cfg.wal_dir, cfg.fsync_interval_seconds)
    editor = RunEditor(registry, store)  # the RunService's and the dashboard's run editing

    async def stop_run(key: RunKey) -> bool:
        """Ask a live run to stop, as ``trackd runs stop`` does (False: no live session)."""
        session = await registry.ask(lambda r: Lookup(key, r))
        if session is None or session.exit_seq:
            return False
        session.stop_requested = True
        return True

    sweeps = SweepController(store, stop_run)
    try:
        async with anyio.create_task_group() as core:
            core.start_soon(history.run)
            core.start_soon(supervise, notifier.run, "notifier")
            core.start_soon(supervise, heartbeat.run, "heartbeat")
            core.start_soon(registry.run)
            core.start_soon(supervise, uploader.run, "artifact-uploader")
            core.start_soon(supervise, collector.run, "artifact-gc")
            core.start_soon(supervise, files.run, "file-sync")
            core.start_soon(supervise, metrics.run, "system-metrics")
            core.start_soon(supervise, sweeps.run, "sweeps")
            async def recovered(session: RunSession) -> None:
                # Sampling and watching go on for a run this daemon took over.
                await metrics.resume(session)
                await files.tell(WatchAgain(session))

            await _recover(store, registry, recovered)
            team = not cfg.store_url.startswith("sqlite:")  # a store several machines share
            policy = AccessPolicy.load(cfg.policy_file, by_name=team)
            web = await start_dashboard(cfg, store, blobs, sweeps, editor, policy)
            peers = PeerTable() if cfg.shared_socket else None
            guard = Guard(policy, peers,
                          str(cfg.private_dir / "relay") if peers is not None else "")
            servicers = {
                "trackd.v1.RunService": RunServicer(registry, history, store, guard, metrics,
                                                    files, editor),
                "trackd.v1.FileService": FileServicer(registry, store, blobs, files, guard),
                "trackd.v1.RecordService": RecordServicer(registry, history, guard),
                "trackd.v1.QueryService": QueryServicer(registry, store, guard),
                "trackd.v1.ArtifactService": ArtifactServicer(store, blobs, uploader, collector,
                                                              guard),
                "trackd.v1.SweepService": SweepServicer(sweeps, store, guard),
            }
            addresses: list[str] = []
            servicers["trackd.v1.DaemonService"] = daemon_servicer = DaemonServicer(
                cfg, registry, [registry, history, heartbeat, notifier, uploader, collector,
                                files, metrics, sweeps],
                addresses, stop.set,
                guard,
            )
            daemon_servicer.sweeps_busy = sweeps.busy
            daemon_servicer.linger = lambda seconds: heartbeat.tell(Linger(seconds))
            if web is not None:
                daemon_servicer.dashboard = (web.url, str(web.token_file))
                daemon_servicer.dashboard_busy = web.busy
                daemon_servicer.rotate_dashboard_token = web.rotate_token
                daemon_servicer.dashboard_ticket = web.ticket_url
            listeners = await start_server(cfg, servicers, peers, calls)
            addresses.extend(listeners.addresses)
            if cfg.shared_socket:  # other users hand their files over open
                handoff = HandOffServer(cfg.handoff_path, cfg.socket_mode, store, blobs)
                await core.start(handoff.serve)
                servicers["trackd.v1.DaemonService"].handoff_socket = str(handoff.path)
            log.info("trackd %s serving on %s (store %s, blobs %s keyed by %s, pid %d)",
                     __version__, ", ".join(addresses), display_url(cfg.store_url),
                     cfg.blob_store_url,
                     blobs.key_hash, os.getpid())
            _notify_ready(ready_fd, cfg)
            core.start_soon(_signals, stop)
            await stop.wait()
            log.info("stopping: draining queues")
            if web is not None:
                await web.stop()
            await listeners.health.enter_graceful_shutdown()
            registry.close()
            uploader.close()  # versions still storing stay PENDING; the next daemon resumes them
            collector.close()
            metrics.close()
            sweeps.close()  # agents waiting are answered by the next daemon (they retry)
            notice_until = anyio.current_time() + DRAIN_NOTICE_SECONDS
            with anyio.move_on_after(cfg.drain_grace_seconds) as scope:
                await _wait_closed(registry, history, heartbeat)
            await anyio.sleep_until(notice_until)
            await listeners.stop(grace=0.5)
            files.close()  # saved files are registered in the store: a later FinishRun stores them
            notifier.close()  # undelivered alerts stay in the store for the next daemon
            if scope.cancelled_caught:
                log.warning("drain did not finish in %.0fs; the rest stays in the logs",
                            cfg.drain_grace_seconds)
            core.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(blobs.close)  # uploads in flight end (or fail)
            await store.aclose()
            try:
                cfg.socket_path.unlink()
            except FileNotFoundError:
                pass
        log.info("stopped")


async def _wait_closed(registry: RunRegistry, history: HistoryActor, heartbeat: HeartbeatActor) -> None:
    """Close the actors in pipeline order, each after the one feeding it has drained."""
    await registry.wait_stopped()  # every run's log is closed (fsynced)
    history.close()
    await history.wait_stopped()  # everything accepted is in the store
    heartbeat.close()
    await heartbeat.wait_stopped()


async def _recover(store: MetadataStore, registry: RunRegistry,
                   recovered: Callable[[RunSession], Awaitable[None]]) -> None:
    runs = await store.list_runs_in_state(RUNNING)
    for info in runs:
        try:
            session = await registry.ask(lambda r, info=info: Recover(info, r))
        except Exception:
            log.exception("run %s: recovery failed; its log is kept", info.key)
            continue
        try:
            await recovered(session)
        except Exception:
            log.exception("run %s: system metrics and live files not resumed", info.key)
    if runs:
        log.info("recovered %d run(s) that were in flight", len(runs))


async def _signals(stop: anyio.Event) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            stop.set()
            return


def _notify_ready(ready_fd: int | None, cfg: DaemonConfig) -> None:
    """Tell whoever started us that we serve: a pipe fd from ``trackd daemon start``, and
    systemd's notify socket under ``Type=notify``."""
    if ready_fd is not None:
        try:
            os.write(ready_fd, f"{cfg.address}\n".encode())
            os.close(ready_fd)
        except OSError:
            pass
    notify = os.environ.get("NOTIFY_SOCKET")
    if notify:
        addr = "\0" + notify[1:] if notify.startswith("@") else notify
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            try:
                s.connect(addr)
                s.sendall(b"READY=1")
            except OSError:
                pass


#: The cyclic garbage collector's thresholds in the daemon. It ingests up to 100,000 history
#: rows a second, a dict each: with CPython's default (a collection every 700 container
#: allocations) the collector ran every few rows' worth of work and walked what was alive,
#: about a third of the cost of decoding a row (measured: 6.0 µs a row with it, 3.6 µs
#: without). Rows are freed by reference counting; the collector only finds cycles, which the
#: daemon seldom makes, so collecting every 50,000 allocations bounds memory just the same.
#: What start-up made (modules, classes) is frozen out of every collection first.
GC_THRESHOLDS = (50_000, 20, 100)


#: glibc's malloc arenas for the daemon's threads (``M_ARENA_MAX``; glibc's default is 8 a core).
#: A batch is decoded in one worker thread and freed in another, and memory freed into one
#: thread's arena is not reused by the next; with two, the daemon's peak RSS for 2,000 rows of
#: 1,000 keys went from about 200 MiB to 175 MiB, at no cost in speed measured (small Python
#: objects do not come from malloc, and the interpreter lock serialises most of the rest).
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def limit_malloc_arenas() -> None:
    """Apply ``MALLOC_ARENAS`` where the C library is glibc (elsewhere: nothing to do). Call
    before the threads start; ``MALLOC_ARENA_MAX`` in the environment wins."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt): its own malloc
        pass


def run(cfg: DaemonConfig, *, foreground: bool = True, ready_fd: int | None = None) -> int:
    """Run the daemon in this process; returns the exit status."""
    limit_malloc_arenas()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    # Everything the daemon writes (store, logs, token, runs' files) is its user's alone.
    os.umask(0o077)
    with ExitStack() as stack:
        try:
            lock = acquire_lock(cfg)
        except AlreadyRunning as exc:
            print(f"trackd: {exc}", file=sys.stderr)
            return EXIT_ALREADY_RUNNING
        stack.callback(lock.close)
        setup_logging(cfg, foreground)
        before, after = raise_open_files_limit()
        if after != before:
            log.info("open files limit raised from %d to %d (the hard limit)", before, after)
        else:
            log.info("open files limit: %d", after)
        cfg.root.mkdir(parents=True, exist_ok=True)
        try:
            anyio.run(serve, cfg, ready_fd, backend="asyncio",
                      backend_options={"use_uvloop": sys.platform != "win32"})
        except Exception:
            log.exception("daemon failed")
            return 1
    return 0


