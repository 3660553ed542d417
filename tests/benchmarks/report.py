"""Turning raw per-tool results into the report: figures, ratios, targets, table and JSON.

Each figure is one table row with the value for both tools, the ratio W&B / trackd
(higher is better for trackd) and, where issue 2 sets one, the target and whether
trackd met it.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

from workers import TOOLS, WANDB_VERSION, Tool

# The figures each case produces; figures of cases not asked for are dropped
# (the rows run also feeds log and memory).
FIGURES_BY_CASE = {
    "import": {"import_ms"},
    "init": {"init_first_ms", "init_median_ms", "finish_empty_ms", "disabled_log_us"},
    "log": {"log_us"},
    "rows": {"rows_s", "rows_finish_s", "rows_readback_s"},
    "multiproc": {"multiproc_s", "multiproc_own_s", "service_peak_rss_mp_mib"},
    "wide": {"wide_s", "service_peak_rss_wide_mib"},
    "memory": {"train_peak_rss_mib", "sdk_added_rss_mib", "service_peak_rss_mib"},
    "train": {"train_step_ms", "train_slowdown_pct", "train_slowdown_iqr_pct",
              "train_slowdown_sum_pct",
              "train_slowdown_finish_pct", "train_cpu_overhead_pct", "train_cpu_us",
              "train_main_cpu_us", "train_other_cpu_us"},
    "keys": {"log_keys_10_us", "log_keys_100_us", "log_keys_1000_us", "log_keys_10000_us"},
    "ingest": {"ingest_1_rps", "ingest_8_rps", "ingest_64_rps"},
}


def _ms(s):
    return None if s is None else s * 1e3


def _mib(kib):
    return None if kib is None else kib / 1024


def _get(d, *path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _field(*path, scale=None):
    """A figure's value for one tool: its raw result at `path`, optionally converted."""

    def value(d):
        v = _get(d, *path)
        return scale(v) if scale else v

    return value


def _at_most(limit):
    return lambda v, r: v <= limit


def _ratio_at_least(factor):
    return lambda v, r: r is not None and r >= factor


def build_figures(res: dict, sc: dict) -> list[dict]:
    """Turn raw results into table rows: value per tool, ratio W&B/trackd, target."""
    w, t = res.get("wandb", {}), res.get("trackd", {})
    figs = []

    def add(key, label, unit, value, target=None, check=None, ratio_w=None, note=None, tools=TOOLS,
            higher_better=False, compared=True):
        """One row; `tools` names the tools the figure exists for (n/a for the others). The
        ratio is W&B / trackd, or trackd / W&B for a figure where `higher_better` (a rate);
        none where not `compared` (a measure of the noise)."""
        vw = value(w) if (w and "wandb" in tools) else None
        vt = value(t) if (t and "trackd" in tools) else None
        rw = ratio_w(w) if (ratio_w and w) else vw
        if not compared:
            ratio = None
        elif higher_better:
            ratio = vt / rw if (vt is not None and rw not in (None, 0)) else None
        else:
            ratio = rw / vt if (rw is not None and vt not in (None, 0)) else None
        met = check(vt, ratio) if (check and vt is not None) else None
        figs.append(
            {
                "key": key,
                "figure": label,
                "unit": unit,
                "wandb": vw,
                "trackd": vt,
                "ratio": ratio,
                "target": target,
                "target_met": met,
                "note": note,
            }
        )

    def mp_fast(d):
        vals = [_get(d, "multiproc_shared", "wall_s"), _get(d, "multiproc_own", "wall_s")]
        vals = [v for v in vals if v is not None]
        return min(vals) if vals else None

    def sdk_added(d):
        a, b = _get(d, "memory", "rss_after_log_kib"), _get(d, "memory", "rss_before_import_kib")
        return _mib(a - b) if a is not None and b is not None else None

    R, MP, WR, WK = sc["rows"], sc["mp_procs"], sc["wide_rows"], sc["wide_keys"]
    add(
        "import_ms",
        f"`import` (median of {sc['import_runs']} fresh processes)",
        "ms",
        _field("import", "median_s", scale=_ms),
        "trackd <= 150 ms",
        _at_most(150),
    )
    add(
        "init_first_ms",
        "`init()` first in process, service running",
        "ms",
        _field("init", "init_first_s", scale=_ms),
    )
    add(
        "init_median_ms",
        f"`init()` median of {sc['init_cycles']}, service running",
        "ms",
        _field("init", "init_median_s", scale=_ms),
        "trackd <= 50 ms",
        _at_most(50),
    )
    add(
        "finish_empty_ms",
        "`finish()` of an empty run, median",
        "ms",
        _field("init", "finish_median_s", scale=_ms),
        "trackd <= 50 ms",
        _at_most(50),
    )
    add(
        "disabled_log_us",
        '`log()` in disabled mode (mode="disabled"), per call',
        "µs",
        _field("init", "disabled_log_us"),
        "trackd < 1 µs",
        _at_most(1),
    )
    add(
        "log_us",
        f"`log({{10 floats}})` caller cost, mean of {R:,} calls",
        "µs",
        _field("rows", "log_us"),
        ">= 10x lower",
        _ratio_at_least(10),
    )
    add(
        "rows_s",
        f"{R:,} rows x 10 floats, first log -> finish returned",
        "s",
        _field("rows", "wall_s"),
        ">= 4x faster",
        _ratio_at_least(4),
    )
    add("rows_finish_s", f"  of which `finish()` after {R:,} rows", "s", _field("rows", "finish_s"))
    add(
        "rows_readback_s",
        f"  read back {R:,} rows via Api().run().scan_history() (not in the figure)",
        "s",
        _field("rows", "readback", "total_s"),
        "all rows back",
        lambda v, r: bool(_get(t, "rows", "verified")),
        tools=("trackd",),
    )
    add(
        "multiproc_s",
        f"{MP} processes x {sc['mp_rows']:,} rows, one shared service (spawn)",
        "s",
        _field("multiproc_shared", "wall_s"),
        ">= 4x faster (vs W&B's faster mode)",
        lambda v, r: r is not None and r >= 4 and bool(_get(t, "multiproc_shared", "verified")),
        ratio_w=mp_fast,
        note="ratio against the faster W&B mode",
    )
    if _get(w, "multiproc_own"):
        add(
            "multiproc_own_s",
            f"  W&B with a service per process ({MP} wandb-core)",
            "s",
            _field("multiproc_own", "wall_s"),
            tools=("wandb",),
        )
    add(
        "wide_s",
        f"{WR:,} rows x {WK:,} keys, first log -> finish returned",
        "s",
        _field("wide", "wall_s"),
        ">= 3x faster",
        _ratio_at_least(3),
    )
    add(
        "train_peak_rss_mib",
        f"training process peak RSS ({R:,}-row run)",
        "MiB",
        _field("memory", "maxrss_kib", scale=_mib),
        "report",
    )
    add(
        "sdk_added_rss_mib",
        "SDK-added RSS (after init+logging - before import)",
        "MiB",
        sdk_added,
        "report",
    )
    for key, case, run in (
        ("service_peak_rss_mib", "memory", f"{R:,}-row run"),
        ("service_peak_rss_mp_mib", "multiproc_shared", f"{MP}-process run"),
        ("service_peak_rss_wide_mib", "wide", f"{WR:,} x {WK:,} run"),
    ):
        add(
            key,
            f"service/daemon peak RSS, incl. its child processes ({run})",
            "MiB",
            _field(case, "service_peak_rss_kib", scale=_mib),
            "report",
        )
    _hot_path_figures(add, sc)
    return [f for f in figs if f["wandb"] is not None or f["trackd"] is not None]


def _hot_path_figures(add, sc: dict) -> None:
    """Issue 23's figures: a training loop's slowdown, log() cost by row width, ingestion rate
    by concurrent runs."""
    steps = sc["train_steps"]
    add("train_step_ms", f"training step without logging (pure Python), mean of {steps:,}",
        "ms", _field("train", "step_ms"), note="same loop for both tools")
    add("train_slowdown_pct", f"training loop slowdown, log({{10 floats}}) every step, "
        f"{steps:,} steps each way, median of ABBA rounds (wall)", "%",
        _field("train", "slowdown_pct"), "trackd <= 2%", _at_most(2))
    add("train_slowdown_iqr_pct", "  the rounds' slowdowns, interquartile range (the noise)",
        "%", _field("train", "slowdown_iqr_pct"), compared=False)
    add("train_slowdown_sum_pct", "  the same, total logged / total not logged (wall)", "%",
        _field("train", "slowdown_sum_pct"))
    add("train_slowdown_finish_pct", "  the same with finish() counted (wall)", "%",
        _field("train", "slowdown_to_finish_pct"))
    add("train_cpu_overhead_pct", "  the process's CPU time, all its threads, median of rounds",
        "%", _field("train", "cpu_overhead_pct"))
    add("train_cpu_us", "  the process's CPU time per logged step, logged - not logged", "µs",
        _field("train", "log_cpu_us_per_step"))
    add("train_main_cpu_us", "    of which the training thread's (log() itself)", "µs",
        _field("train", "log_main_cpu_us_per_step"))
    add("train_other_cpu_us", "    of which the SDK's other threads' (sender, etc.)", "µs",
        _field("train", "log_other_cpu_us_per_step"))
    for keys, rows in sc["keys_rows"].items():
        add(f"log_keys_{keys}_us", f"`log()` caller cost, {keys:,} float keys per row, mean of "
            f"{rows:,} calls", "µs", _field("keys", str(keys), "log_us"))
    total = sc["ingest_rows_total"]
    for procs in sc["ingest_procs"]:
        add(f"ingest_{procs}_rps", f"ingestion, {procs} concurrent run(s) x "
            f"{total // procs:,} rows x 10 floats, first log -> last finish returned", "rows/s",
            _field("ingest", str(procs), "rows_per_s"), higher_better=True,
            note="trackd/W&B")


def select_figures(figs: list[dict], cases: list[str]) -> list[dict]:
    """Only the figures of the cases asked for."""
    wanted = set()
    for c in cases:
        wanted |= FIGURES_BY_CASE[c]
    return [f for f in figs if f["key"] in wanted]


def _fmt(v, unit):
    if v is None:
        return "n/a"
    if unit in ("ms", "MiB"):
        return f"{v:,.1f} {unit}"
    if unit == "s" and v < 10:
        return f"{v:,.3f} {unit}"
    if unit == "rows/s":
        return f"{v:,.0f} {unit}"
    return f"{v:,.2f} {unit}"


def render_table(figs: list[dict]) -> str:
    lines = [
        (
            f"| figure | W&B {WANDB_VERSION} offline | trackd "
            "| ratio (W&B/trackd, higher is better for trackd) | target |"
        ),
        "|---|---|---|---|---|",
    ]
    for f in figs:
        ratio = f"{f['ratio']:.2f}x" if f["ratio"] is not None else "n/a"
        if f.get("note") and f["ratio"] is not None:
            ratio += f" ({f['note']})"
        tgt = f["target"] or ""
        if f["target_met"] is not None and tgt and tgt != "report":
            tgt += " — met" if f["target_met"] else " — MISSED"
        lines.append(
            f"| {f['figure']} | {_fmt(f['wandb'], f['unit'])} | {_fmt(f['trackd'], f['unit'])} "
            f"| {ratio} | {tgt} |"
        )
    return "\n".join(lines)


def build_meta(quick: bool, sc: dict, tools: list[Tool], res: dict, elapsed: float) -> dict:
    """The run's circumstances: when, where, at what scale, with which tool versions."""
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "host": platform.node(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "scale": "quick" if quick else "full",
        "counts": sc,
        "tools": {
            t.name: {"python": t.python, "version": t.version, "error": t.error} for t in tools
        },
        "wandb_service": res.get("wandb", {}).get("init", {}).get("service")
        or res.get("wandb", {}).get("rows", {}).get("service"),
        "elapsed_s": elapsed,
    }


def print_report(
    meta: dict, tools: list[Tool], table: str, errors: dict, workroot: Path, keep: bool
) -> None:
    """The header, the markdown table and the errors, on stdout."""
    print()
    print(f"trackd benchmark — {meta['scale']} scale, {meta['cpus']} CPUs, {meta['platform']}")
    for t in tools:
        print(
            f"  {t.name}: "
            + (t.version if not t.error else f"unavailable ({t.error})")
            + f"  [{t.python}]"
        )
    if meta["wandb_service"]:
        print(f"  W&B service: {meta['wandb_service']}")
    print()
    print(table)
    if errors:
        print("\nErrors:")
        for k, v in errors.items():
            print(f"  {k}: {v.splitlines()[0] if v else v}")
    kept = " (kept)" if keep else " (removed at exit)"
    print(f"\n(benchmark took {meta['elapsed_s']:.0f} s; data in {workroot}{kept})")


def write_json(
    path: str, meta: dict, figs: list[dict], res: dict, errors: dict, table: str
) -> None:
    Path(path).write_text(
        json.dumps(
            {
                "meta": meta,
                "figures": figs,
                "raw": res,
                "errors": errors,
                "table_markdown": table,
            },
            indent=2,
            default=str,
        )
    )
