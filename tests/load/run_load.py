"""Load and soak generator for the trackd daemon (run by hand; prints figures).

    python tests/load/run_load.py                                 # burst, rate search, 2-min soak
    python tests/load/run_load.py --soak 600                      # the 10-minute soak
    python tests/load/run_load.py --runs-per-minute 0 --soak 0    # unpaced: the most runs/min
    python tests/load/run_load.py --rate 5000 --soak 600          # a given rate, no search

It starts a daemon of its own in temporary directories and ``--clients`` processes, which
import trackd and wait until all are ready, then:

0. **first runs**: each client makes its first run, client *i* at ``i * 60 / runs_per_minute``
   seconds. A process's first ``init()`` imports gRPC and connects (about 80 ms of CPU on an
   idle machine), so these are timed and reported apart (``--cold``: they are the burst's).
1. **burst**: the clients create ``--runs`` runs between them at ``--runs-per-minute`` (run
   *k* is due ``k * 60 / runs_per_minute`` seconds after the start, on client ``k % clients``;
   0 = as fast as they can). Each run logs ``--rows`` rows and finishes. Every ``init()``
   latency is recorded, and how late each start was against its schedule.
2. **rate search** (unless ``--rate`` is given): every client logs to a run of its own while
   runs keep being created at ``--soak-runs-per-minute``; the aggregate row rate steps up by
   ``--search-step`` every ``--trial`` seconds from ``--search-from`` rows/s. A rate is
   *kept up with* when the clients logged at least 97% of it (``log()`` blocks only under
   backpressure) and the rows not yet in the store at the end of the trial are at most one
   second's worth; it is *held* when, besides, the trial's ``init()`` 99th percentile is
   within ``--init-p99-ms``. The search stops at the first rate not kept up with, or after
   two rates in a row not held.
3. **soak**: the clients log for ``--soak`` seconds at the highest rate held (or ``--rate``)
   while runs keep being created at ``--soak-runs-per-minute`` (their ``init()`` latency is
   reported apart from the burst's). The daemon's RSS and its mailbox statistics
   (GetDaemonInfo, as ``trackd daemon status`` shows them) are sampled every second.

It prints ``init()`` latency percentiles, runs per minute, rows per second held, the daemon's
RSS before and after the burst, at the start and end of the soak and its peak, and the largest
fill seen of each mailbox, with the machine's load average (the clients share its cores with
the daemon); with ``--json`` it also writes them to a file. Every run's stored row count is
checked against what its client logged at the end.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

#: Values shared with the clients: start times, the soak rate, a stop flag and each client's
#: count of soak rows logged (no locks: each value has one writer).
Shared = dict[str, Any]


def _wait_until(t: float) -> None:
    while (delay := t - time.time()) > 0:
        time.sleep(min(delay, 0.05))


def _wait_until_set(value: Any) -> None:
    while value.value == 0:
        time.sleep(0.005)


def _short_run(trackd: Any, project: str, run_id: str, rows: int) -> tuple[float, str]:
    """Create a run, log ``rows`` rows, finish it; returns the init() latency and its path."""
    t0 = time.perf_counter()
    run = trackd.init(project=project, id=run_id, reinit="create_new",
                      settings=trackd.Settings(silent=True))
    latency = time.perf_counter() - t0
    for i in range(rows):
        run.log({"i": i, "loss": 1.0 / (i + 1)})
    run.finish()
    return latency, run.path


# -- a client process -----------------------------------------------------------------------


def _client(index: int, cfg: dict[str, Any], sh: Shared, out: mp.Queue) -> None:  # type: ignore[type-arg]
    os.chdir(cfg["workdir"])  # the runs' directories (./wandb) go there
    import trackd

    clients, rows = cfg["clients"], cfg["rows"]
    interval = 60.0 / cfg["runs_per_minute"] if cfg["runs_per_minute"] else 0.0
    out.put(("ready", index, None))
    _wait_until_set(sh["start"])
    if not cfg["cold"]:
        _wait_until(sh["start"].value + index * interval)
        latency, path = _short_run(trackd, "load", f"c{index}first", rows)
        out.put(("first", index, {"latencies": [latency], "paths": [path]}))
        _wait_until_set(sh["burst_start"])
    t0 = sh["start"].value if cfg["cold"] else sh["burst_start"].value
    latencies, lags, paths, starts = [], [], [], []
    for k in range(index, cfg["runs"], clients):
        if interval:
            due = t0 + k * interval
            _wait_until(due)
            lags.append(max(0.0, time.time() - due))
        starts.append(time.time() - t0)
        latency, path = _short_run(trackd, "load", f"c{index}r{k}", rows)
        latencies.append(latency)
        paths.append(path)
    out.put(("burst", index, {"latencies": latencies, "lags": lags, "paths": paths,
                              "starts": starts, "done": time.time()}))

    _wait_until_set(sh["soak_start"])
    if sh["stop"].value:
        return
    soak_start = sh["soak_start"].value
    run = trackd.init(project="soak", id=f"soak{index}", reinit="create_new",
                      settings=trackd.Settings(silent=True))
    logged = sh["logged"]
    n = 0
    rate = 0.0
    next_at = time.time()
    srpm = cfg["soak_runs_per_minute"]
    every = clients * 60.0 / srpm if srpm else float("inf")
    next_create = soak_start + index * 60.0 / srpm if srpm else float("inf")
    created = 0
    while not sh["stop"].value:
        now = time.time()
        if now >= next_create:
            latency, path = _short_run(trackd, "soakruns", f"s{index}r{created}", rows)
            out.put(("soak_run", index, (now, latency, path)))  # now: the trials need them
            created += 1
            next_create += every
            continue
        if sh["rate"].value != rate:  # a new trial of the search: its schedule starts now
            rate, next_at = sh["rate"].value, now
        if rate > 0 and now >= next_at:
            run.log({"i": n, "x": n * 0.5})
            n += 1
            logged[index] = n
            next_at += 1.0 / rate
            continue
        time.sleep(max(0.0, min(next_at if rate > 0 else now + 0.05, next_create) - now))
    run.finish()
    out.put(("soak", index, {"path": run.path, "rows": n}))
    trackd.teardown()


# -- the driver -----------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float | None:
    """The q-quantile (nearest rank) of seconds, in ms, to 0.1 ms."""
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, max(0, int(len(values) * q + 0.5) - 1))] * 1e3, 1)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Daemon:
    """The daemon under test, with a sampler of its RSS and mailboxes (every second)."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="trackd-load-"))
        self.runtime = Path(tempfile.mkdtemp(prefix="tdl", dir="/tmp"))
        self.address = f"unix:{self.runtime}/trackd.sock"
        os.environ.update({
            "TRACKD_ROOT": str(self.base / "root"), "TRACKD_STATE_DIR": str(self.base / "state"),
            "TRACKD_RUNTIME_DIR": str(self.runtime), "TRACKD_ADDRESS": self.address,
        })
        self.stderr = self.base / "daemon.stderr"
        with self.stderr.open("wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "trackd_daemon"],
                                         env={**os.environ}, stdout=subprocess.DEVNULL,
                                         stderr=err)
        from trackd._transport.daemon import reachable

        while not reachable(self.address):
            if self.proc.poll() is not None:
                raise SystemExit(f"the daemon exited ({self.proc.returncode}):\n"
                                 f"{self.stderr.read_text()[-4000:]}")
            time.sleep(0.05)
        # (time, rss KiB, {mailbox: used}, load average); per-run log mailboxes are folded
        # into "wal:*".
        self.samples: list[tuple[float, int, dict[str, int], float]] = []
        self.capacity: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        from trackd._transport.connection import get_connection
        from trackd.v1 import daemon_service_pb2

        conn = get_connection(self.address)
        while not self._stop.is_set():
            info = conn.unary(conn.daemon.GetDaemonInfo,
                              daemon_service_pb2.GetDaemonInfoRequest(), timeout=30)
            fill: dict[str, int] = {}
            for q in info.queues:
                name = "wal:*" if q.name.startswith("wal:") else q.name
                fill[name] = max(fill.get(name, 0), q.used)
                self.capacity[name] = q.capacity
            self.samples.append((time.time(), _rss_kib(self.proc.pid), fill, os.getloadavg()[0]))
            self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.proc.terminate()
        self.proc.wait(60)
        shutil.rmtree(self.base, ignore_errors=True)
        shutil.rmtree(self.runtime, ignore_errors=True)


class Results:
    """What the clients report, collected by a thread as it arrives."""

    def __init__(self, out: mp.Queue, clients: int) -> None:  # type: ignore[type-arg]
        self.clients = clients
        self.by_kind: dict[str, dict[int, Any]] = {"ready": {}, "first": {}, "burst": {},
                                                   "soak": {}}
        self.soak_runs: list[tuple[float, float, str]] = []  # (started at, latency, path)
        self._out = out
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        while True:
            what, index, value = self._out.get()
            if what == "soak_run":
                self.soak_runs.append(value)
            else:
                self.by_kind[what][index] = value

    def wait(self, kind: str, timeout: float) -> list[Any]:
        deadline = time.time() + timeout
        while len(self.by_kind[kind]) < self.clients:
            if time.time() > deadline:
                raise SystemExit(f"{self.clients - len(self.by_kind[kind])} clients did not "
                                 f"report {kind!r} in {timeout:.0f}s")
            time.sleep(0.05)
        return list(self.by_kind[kind].values())

    def soak_latencies(self, since: float, until: float) -> list[float]:
        return [lat for t, lat, _ in self.soak_runs if since <= t < until]


def _stored_rows(entity: str, clients: int) -> int:
    """Rows stored in the clients' soak runs."""
    from trackd._transport.connection import get_connection
    from trackd.errors import RunNotFoundError
    from trackd.v1 import run_pb2, run_service_pb2

    conn = get_connection(os.environ["TRACKD_ADDRESS"])
    stored = 0
    for i in range(clients):
        ref = run_pb2.RunRef(entity=entity, project="soak", run_id=f"soak{i}")
        try:
            resp = conn.unary(conn.runs.GetRunStatus,
                              run_service_pb2.GetRunStatusRequest(ref=ref), timeout=30)
        except RunNotFoundError:  # its client has not created it yet
            continue
        stored += resp.history_rows
    return stored


def _trial(sh: Shared, res: Results, entity: str, rate: float, seconds: float,
           init_p99_ms: float) -> dict[str, Any]:
    """Log at ``rate`` rows/s (all clients together) for ``seconds``: was it kept up with,
    and held (init() p99 within ``init_p99_ms`` too)?"""
    sh["rate"].value = rate / res.clients
    time.sleep(0.5)  # the clients pick the rate up
    logged0, t0 = sum(sh["logged"]), time.time()
    time.sleep(seconds)
    logged1, t1 = sum(sh["logged"]), time.time()
    stored = _stored_rows(entity, res.clients)  # 64 calls: the clients log meanwhile
    behind = sum(sh["logged"]) - stored  # at most this many rows were not stored yet
    asking = time.time() - t1
    achieved = (logged1 - logged0) / (t1 - t0)
    p99 = _pct(res.soak_latencies(t0, t1), 0.99)
    kept_up = achieved >= 0.97 * rate and behind <= rate * (1 + asking)
    held = kept_up and (p99 is None or p99 <= init_p99_ms)
    return {"rate": rate, "achieved": round(achieved), "behind": behind, "init_p99_ms": p99,
            "load_average": round(os.getloadavg()[0], 2), "kept_up": kept_up, "held": held}


def _search(sh: Shared, res: Results, entity: str, args: argparse.Namespace) -> tuple[
        float, float, list[dict[str, Any]]]:
    """The highest rate held and the highest kept up with (see the module doc). Ends at the
    first rate not kept up with, or after two rates in a row not held."""
    trials: list[dict[str, Any]] = []
    held = kept = 0.0
    rate = args.search_from
    misses = 0
    while misses < 2:
        t = _trial(sh, res, entity, rate, args.trial, args.init_p99_ms)
        trials.append(t)
        verdict = "held" if t["held"] else "kept up with" if t["kept_up"] else "not kept up with"
        print(f"rate search: {t['rate']:8.0f} rows/s tried, {t['achieved']:8.0f} logged,"
              f" {t['behind']:7d} behind, init p99 {t['init_p99_ms']} ms, load average"
              f" {t['load_average']}: {verdict}", flush=True)
        if not t["kept_up"]:
            break
        kept = rate
        if t["held"]:
            held, misses = rate, 0
        else:
            misses += 1
        rate = round(rate * args.search_step)
    return held or args.search_from, kept, trials


def _drain(sh: Shared, entity: str, clients: int, rate: float, timeout: float = 120.0) -> None:
    """Wait until the store is at most a second's worth of rows behind the clients."""
    deadline = time.time() + timeout
    while time.time() < deadline and sum(sh["logged"]) - _stored_rows(entity, clients) > rate:
        time.sleep(1.0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--runs", type=int, default=1000, help="runs created in the burst, in all")
    ap.add_argument("--runs-per-minute", type=float, default=1000.0,
                    help="pace of the burst (0: as fast as the clients can)")
    ap.add_argument("--rows", type=int, default=10, help="rows logged to each short run")
    ap.add_argument("--cold", action="store_true",
                    help="no first runs before the burst: each process's first init() (it"
                         " imports gRPC) is one of the burst's")
    ap.add_argument("--soak", type=float, default=120.0, help="seconds of continuous logging")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="soak rows per second, all clients together (0: search for the highest"
                         " rate held)")
    ap.add_argument("--soak-runs-per-minute", type=float, default=1000.0,
                    help="runs created during the search and the soak (0: none)")
    ap.add_argument("--search-from", type=float, default=250.0, help="first rate tried")
    ap.add_argument("--search-step", type=float, default=1.25, help="factor between rates tried")
    ap.add_argument("--trial", type=float, default=15.0, help="seconds per rate tried")
    ap.add_argument("--init-p99-ms", type=float, default=100.0,
                    help="init() 99th percentile a held rate keeps")
    ap.add_argument("--json", help="also write the figures (and every burst init()) here")
    args = ap.parse_args()

    daemon = Daemon()
    from trackd._base.names import default_entity

    entity = default_entity()
    ctx = mp.get_context("spawn")
    sh: Shared = {
        "start": ctx.Value("d", 0.0, lock=False), "burst_start": ctx.Value("d", 0.0, lock=False),
        "soak_start": ctx.Value("d", 0.0, lock=False), "rate": ctx.Value("d", 0.0, lock=False),
        "stop": ctx.Value("i", 0, lock=False), "logged": ctx.Array("q", args.clients, lock=False),
    }
    cfg = {"clients": args.clients, "runs": args.runs, "rows": args.rows,
           "runs_per_minute": args.runs_per_minute, "cold": args.cold,
           "soak_runs_per_minute": args.soak_runs_per_minute, "workdir": str(daemon.base)}
    out = ctx.Queue()
    procs = [ctx.Process(target=_client, args=(i, cfg, sh, out)) for i in range(args.clients)]
    for p in procs:
        p.start()
    res = Results(out, args.clients)
    res.wait("ready", 600)  # every interpreter is up and has imported trackd
    sh["start"].value = t0 = time.time() + 0.5
    if not args.cold:
        res.wait("first", 900)
        time.sleep(1.0)  # the first runs' finishes are done before the burst's clock starts
        sh["burst_start"].value = t0 = time.time() + 0.5
    rss_before, cpu_before = _rss_kib(daemon.proc.pid), _cpu_seconds(daemon.proc.pid)
    load_before = os.getloadavg()[0]
    burst = res.wait("burst", 900 + args.runs * 2)
    burst_end = max(r["done"] for r in burst)
    rss_after_burst, burst_cpu = _rss_kib(daemon.proc.pid), _cpu_seconds(daemon.proc.pid) - cpu_before
    load_after = os.getloadavg()[0]

    trials: list[dict[str, Any]] = []
    soak_rate, kept_rate = args.rate, 0.0
    soak_start = soak_end = 0.0
    soak_logged = 0
    if args.soak > 0:
        sh["soak_start"].value = time.time()
        if not soak_rate:
            soak_rate, kept_rate, trials = _search(sh, res, entity, args)
        sh["rate"].value = soak_rate / args.clients
        _drain(sh, entity, args.clients, soak_rate)  # a failed trial's backlog first
        logged0 = sum(sh["logged"])
        soak_start = time.time()
        time.sleep(args.soak)
        soak_end = time.time()
        soak_logged = sum(sh["logged"]) - logged0
    else:
        sh["stop"].value = 1  # before soak_start: the clients end without a soak run
        sh["soak_start"].value = time.time()
    sh["stop"].value = 1
    soaked = res.wait("soak", 600) if args.soak > 0 else []
    for p in procs:
        p.join(60)

    # Every run's stored rows against what its client logged.
    import trackd

    api = trackd.Api()
    stored = {}
    for project in ("load", "soak", "soakruns"):
        for r in api.runs(f"{entity}/{project}"):
            stored["/".join(r.path)] = r.history_rows
    want = {}
    for r in (*res.by_kind["first"].values(), *burst):
        want.update({p: args.rows for p in r["paths"]})
    want.update({path: args.rows for _, _, path in res.soak_runs})
    want.update({r["path"]: r["rows"] for r in soaked})
    lost = sum(max(0, n - stored.get(p, 0)) for p, n in want.items())
    extra = sum(max(0, stored.get(p, 0) - n) for p, n in want.items())

    lat = [x for r in burst for x in r["latencies"]]
    firsts = [x for r in res.by_kind["first"].values() for x in r["latencies"]]
    if args.cold:  # each process's first init() is its first of the burst
        firsts = [r["latencies"][0] for r in burst if r["latencies"]]
        steady = [x for r in burst for x in r["latencies"][1:]]
    else:
        steady = lat
    soak_lat = res.soak_latencies(soak_start, soak_end)
    lags = [x for r in burst for x in r["lags"]]
    in_soak = [s for s in daemon.samples if soak_start <= s[0] <= soak_end]
    peak_fill: dict[str, int] = {}
    for _, _, fill, _ in daemon.samples:
        for name, used in fill.items():
            peak_fill[name] = max(peak_fill.get(name, 0), used)
    mib = lambda kib: round(kib / 1024, 1)
    figures: dict[str, Any] = {
        "clients": args.clients,
        "cpu_cores": os.cpu_count(),
        "burst_runs": len(lat),
        "burst_runs_per_minute_target": args.runs_per_minute or None,
        "burst_runs_per_minute": round(len(lat) / max(1e-9, burst_end - t0) * 60, 1),
        "burst_seconds": round(burst_end - t0, 1),
        "burst_start_lag_p99_ms": _pct(lags, 0.99),
        "burst_daemon_cpu_seconds": round(burst_cpu, 1),
        "load_average_before_after_burst": [round(load_before, 2), round(load_after, 2)],
        "init_p50_ms_without_first": _pct(steady, 0.50),
        "init_p99_ms_without_first": _pct(steady, 0.99),
        "init_max_ms_without_first": _pct(steady, 1.0),
        "first_init_p50_ms": _pct(firsts, 0.50),
        "first_init_p99_ms": _pct(firsts, 0.99),
        "init_p50_ms_with_first": _pct(steady + firsts, 0.50),
        "init_p99_ms_with_first": _pct(steady + firsts, 0.99),
        "daemon_rss_before_burst_mib": mib(rss_before),
        "daemon_rss_after_burst_mib": mib(rss_after_burst),
        "rate_search": trials,
        "rate_kept_up_with": kept_rate or None,
        "soak_seconds": args.soak,
        "soak_rate_target": soak_rate or None,
        "soak_rows_per_second": round(soak_logged / args.soak, 1) if args.soak else None,
        "soak_runs_created": len(soak_lat),
        "soak_init_p50_ms": _pct(soak_lat, 0.50),
        "soak_init_p99_ms": _pct(soak_lat, 0.99),
        "soak_init_max_ms": _pct(soak_lat, 1.0),
        "soak_load_average_end": round(os.getloadavg()[0], 2),
        "daemon_rss_soak_start_mib": mib(in_soak[0][1]) if in_soak else None,
        "daemon_rss_soak_end_mib": mib(in_soak[-1][1]) if in_soak else None,
        "daemon_rss_peak_mib": mib(max(s[1] for s in daemon.samples)),
        "largest_mailbox_fill": {k: f"{v}/{daemon.capacity.get(k)}"
                                 for k, v in sorted(peak_fill.items())},
        "rows_checked": sum(want.values()),
        "rows_lost": lost,
        "rows_extra": extra,
    }
    trackd.teardown()
    daemon.stop()
    for k, v in figures.items():
        if k != "rate_search":
            print(f"{k:32} {v}")
    if args.json:
        figures["burst_inits"] = sorted(  # (s after the start, latency ms, a process's first)
            (round(t, 3), round(x * 1e3, 2), args.cold and i == 0) for r in burst
            for i, (t, x) in enumerate(zip(r["starts"], r["latencies"], strict=True)))
        # Every second: (s after the soak's start, daemon RSS MiB, the machine's load average).
        figures["soak_rss_mib"] = [(round(t - soak_start, 1), mib(kib), load)
                                   for t, kib, _, load in in_soak]
        figures["daemon_rss_mib"] = [(round(t - t0, 1), mib(kib)) for t, kib, _, _ in daemon.samples]
        figures["soak_inits"] = sorted(  # (s after the soak's start, latency ms)
            (round(t - soak_start, 3), round(x * 1e3, 2)) for t, x, _ in res.soak_runs
            if soak_start <= t < soak_end)
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0 if lost == 0 and extra == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
