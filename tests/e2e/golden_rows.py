"""The fixed training script of the golden-rows test (tests/e2e/test_golden_rows.py) and the
reading of what the daemon stored for it, raw.

The script covers what the stored bytes depend on: the step/commit rules (implicit and explicit
steps, ``commit=False`` merges, a step committed at once, a backwards step dropped, an empty
row), every value kind (ints at each MessagePack width and int64's extremes, floats incl. NaN,
±Inf and -0.0, bools, None, text incl. non-ASCII keys and values, nested dicts and lists,
tuples, numpy scalars and arrays), ``define_metric`` with ``step_metric``/``step_sync`` and
summaries, summary and config updates and a row of 1,000 keys.

Every row logs ``_timestamp`` itself, so that the stored timestamp is fixed and compared byte for
byte like every other value. ``_runtime`` is the only value left that depends on the clock (the
time since the run's start, which is the wall clock at ``init()``): its bytes are masked (the
MessagePack type byte is kept, the payload replaced) in the history rows, and its number in the
stored summary's JSON. Everything else is compared byte for byte: each history row's map header,
each key's and each value's MessagePack bytes in stored order, the run's summary, config and
metric definitions as the store holds their JSON text, the row count and the last step.

Regenerating the golden file (``tests/e2e/golden/rows.json``) is a deliberate change of the
stored row format, which every existing store then holds in two forms: never do it to make the
test pass. The command (from the repository root, with the code whose bytes become the golden):

    TRACKD_GOLDEN_REGEN=1 python -m tests.e2e.golden_rows

It starts a daemon of its own on a fresh SQLite store, runs the script and writes the file.
``python -m tests.e2e.golden_rows --out PATH`` writes elsewhere (to compare two trees by hand).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import msgpack

GOLDEN = Path(__file__).parent / "golden" / "rows.json"
PROJECT = "golden"
RUN_ID = "golden-rows"
#: The clock of the script: row n is logged at T0 + n / 4 seconds (exact in binary).
T0 = 1_767_225_600.0
#: The keys whose stored value depends on the wall clock when the script ran.
CLOCK_KEYS = ("_runtime",)
_CLOCK_JSON = re.compile(r'("_runtime"\s*:\s*)(-?[0-9][0-9.eE+-]*)')


def _values(np: Any) -> dict[str, Any]:
    """One of every value kind, at each encoding width."""
    return {
        # ints: fixint, uint8/16/32/64 and int8/16/32/64 widths, int64's extremes
        "i0": 0, "i127": 127, "i128": 128, "i255": 255, "i256": 256, "i65535": 65535,
        "i65536": 65536, "i2_32": 2**32, "imax": 2**63 - 1, "i_1": -1, "i_32": -32,
        "i_33": -33, "i_129": -129, "i_32769": -32769, "i_2_31": -(2**31) - 1,
        "imin": -(2**63),
        # floats
        "f_one": 1.0, "f_tenth": 0.1, "f_nan": float("nan"), "f_inf": float("inf"),
        "f_ninf": float("-inf"), "f_negzero": -0.0, "f_big": 1e308, "f_tiny": 5e-324,
        # bools, None
        "b_t": True, "b_f": False, "none": None,
        # text
        "s_empty": "", "s_ascii": "plain", "s_accents": "héllo wörld ✓",
        "s_32": "x" * 32, "s_300": "ü" * 150, "ключ": 7, "🔑": "emoji key",
        # containers
        "nested": {"a": {"b": [1, 2.5, None, "x", [True, {"deep": -1}]]}, "empty": {}},
        "nested_mixed": {"n": 1, "x": 0.5, "s": "t", "y": -2.0, "m": {"k": None, "z": 1e-3}},
        "l_empty": [], "l_mixed": [0, -1.5, "t", None, False], "tuple": (1, 2, (3, "4")),
        "l_20": list(range(20)),
        # numpy scalars and arrays
        "np_f32": np.float32(0.5), "np_f32_third": np.float32(1 / 3), "np_f64": np.float64(2.25),
        "np_i8": np.int8(-5), "np_i16": np.int16(300), "np_i32": np.int32(-70000),
        "np_i64": np.int64(-(2**40)), "np_u8": np.uint8(200), "np_u64": np.uint64(2**40),
        "np_bool": np.bool_(True), "np_small": np.arange(4),
        "np_hist": np.arange(100, dtype=np.float64),
    }


def train(trackd: Any) -> None:
    """The fixed script: the same calls in the same order on every run."""
    import numpy as np

    clock = iter(T0 + n / 4 for n in range(10_000))
    config = {"lr": 0.001, "layers": [64, 32], "opt": {"name": "adam", "betas": (0.9, 0.999)},
              "ñ": "ü"}
    run = trackd.init(project=PROJECT, id=RUN_ID, config=config)
    run.config.update({"batch": 128, "seed": 0})
    run.config["dropout"] = 0.1

    run.define_metric("epoch")
    run.define_metric("val/*", step_metric="epoch", summary="min,max,mean,first,last")
    run.define_metric("acc", summary="best", goal="maximize")
    run.define_metric("hidden", summary="none")
    run.define_metric("loss", summary="min,last")

    # implicit steps 0-2
    for i in range(3):
        run.log({"loss": 1.0 / (i + 1), "acc": 0.25 * i, "hidden": i, "_timestamp": next(clock)})
    # commit=False merges into the next committed row (step 3)
    run.log({"part_a": 1, "_timestamp": next(clock)}, commit=False)
    run.log({"part_b": 2.5}, commit=False)
    run.log({"loss": 0.2, "_timestamp": next(clock)})
    # every value kind in one row (step 4)
    run.log({**_values(np), "_timestamp": next(clock)})
    # an empty row advances the step (step 5 has no row)
    run.log({})
    # explicit steps: step 8 accumulates until a later step
    run.log({"loss": 0.15, "_timestamp": next(clock)}, step=8)
    run.log({"acc": 0.9}, step=8)
    # step metric and step_sync: epoch set at step 9, inserted into step 10's val/ row
    run.log({"epoch": 1, "val/loss": 0.5, "_timestamp": next(clock)}, step=9)
    run.log({"val/loss": 0.4, "val/acc": 0.7, "_timestamp": next(clock)}, step=10, commit=True)
    # a backwards step is dropped with a warning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run.log({"dropped": 5, "_timestamp": next(clock)}, step=7)
    # a wide row of 1,000 keys (step 11), then implicit steps again
    wide = {f"w/{k:04d}": (k * 0.5 if k % 3 else k) for k in range(1000)}
    run.log({**wide, "_timestamp": next(clock)})
    for i in range(12, 20):
        run.log({"loss": 1.0 / i, "acc": 1 - 1.0 / i, "epoch": i // 4, "val/loss": 0.3 - i / 100,
                 "vec": [i, i * 0.5], "_timestamp": next(clock)})
    # summary updates: set, update, a nested edit, a deletion
    run.summary["best"] = 42
    run.summary.update({"extra": "x", "final": {"score": 0.75, "tags": ["a", "b"]}})
    run.summary["final"]["score"] = 0.5
    del run.summary["extra"]
    run.config.update({"late": True}, allow_val_change=True)
    run.log({"loss": 0.01, "_timestamp": next(clock)})
    run.finish()


def _row_items(blob: bytes) -> dict[str, Any]:
    """A stored row as its map header and, in stored order, each key's text with its key bytes
    and value bytes (hex); a clock-dependent value keeps its type byte only."""
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
    unpacker.feed(blob)
    n = unpacker.read_map_header()
    pos = unpacker.tell()
    header = blob[:pos].hex()
    items = []
    for _ in range(n):
        key = unpacker.unpack()
        key_end = unpacker.tell()
        unpacker.skip()
        end = unpacker.tell()
        value = blob[key_end:end]
        shown = value[:1].hex() + "~" if key in CLOCK_KEYS else value.hex()
        items.append([key, blob[pos:key_end].hex(), shown])
        pos = end
    if pos != len(blob):
        raise ValueError(f"{len(blob) - pos} bytes after the row's map")
    return {"header": header, "items": items}


def stored(db: Path) -> dict[str, Any]:
    """What the store holds for the script's run, raw (the SQLite file read with sqlite3)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        run = conn.execute(
            "SELECT r.id, r.summary, r.config, r.metrics, r.history_rows, r.last_step"
            " FROM runs r JOIN projects p ON p.id = r.project_id"
            " WHERE p.name = ? AND r.run_id = ?", (PROJECT, RUN_ID)).fetchone()
        if run is None:
            raise LookupError(f"run {PROJECT}/{RUN_ID} not in {db}")
        rowid, summary, config, metrics, history_rows, last_step = run
        rows = conn.execute("SELECT step, row FROM history WHERE run = ? ORDER BY step",
                            (rowid,)).fetchall()
        (rewound,) = conn.execute("SELECT count(*) FROM rewound_history WHERE run = ?",
                                  (rowid,)).fetchone()
    finally:
        conn.close()
    return {
        "history_rows": history_rows, "last_step": last_step, "rewound_rows": rewound,
        "summary": _CLOCK_JSON.sub(r"\1~", summary), "config": config, "metrics": metrics,
        "history": [{"step": step, **_row_items(bytes(blob))} for step, blob in rows],
    }


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Each difference as one line: which field, which row (step) and which key; a row or a
    JSON text whose keys and values are the same in another order says so."""
    out = []
    for f in sorted((set(expected) | set(actual)) - {"history"}):
        want, got = expected.get(f), actual.get(f)
        if want != got:
            out.append(f"{f}: {want!r} != {got!r}" + _order_only(want, got))
    want_rows = {r["step"]: r for r in expected.get("history", [])}
    got_rows = {r["step"]: r for r in actual.get("history", [])}
    for step in sorted(set(want_rows) | set(got_rows)):
        a, b = want_rows.get(step), got_rows.get(step)
        if a is None or b is None:
            out.append(f"history step {step}: "
                       f"{'missing' if b is None else 'not in the golden rows'}")
            continue
        if a["header"] != b["header"]:
            out.append(f"history step {step}: map header {a['header']} != {b['header']}")
        want_keys, got_keys = [i[0] for i in a["items"]], [i[0] for i in b["items"]]
        if want_keys != got_keys:
            missing, new = set(want_keys) - set(got_keys), set(got_keys) - set(want_keys)
            out.append(f"history step {step}: keys or their order differ: missing "
                       f"{sorted(missing)}, new {sorted(new)}; golden order {want_keys}, "
                       f"stored order {got_keys}")
        got_items = {i[0]: i for i in b["items"]}
        for x in a["items"]:
            y = got_items.get(x[0])
            if y is not None and x != y:
                out.append(f"history step {step} key {x[0]!r}: {x[1]}:{x[2]} != {y[1]}:{y[2]}")
    return out


def _order_only(want: Any, got: Any) -> str:
    """A note when two JSON texts hold the same keys and values in another order."""
    try:
        a, b = (json.loads(t.replace(": ~", ": null")) for t in (want, got))
    except (AttributeError, TypeError, ValueError):
        return ""
    same = json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    return " (the same keys and values in another key order)" if same else ""


def run_script(out: Path) -> None:
    """Run the script against a daemon of its own on a fresh SQLite store and write what was
    stored to ``out``."""
    from tests.helpers import DaemonDirs, DaemonProcess

    dirs = DaemonDirs.make()
    os.environ.update(dirs.env)
    daemon = DaemonProcess(dirs)
    daemon.start()
    cwd = os.getcwd()
    work = tempfile.mkdtemp(prefix="golden-")
    try:
        import trackd

        os.chdir(work)
        train(trackd)
        trackd.teardown()
        result = stored(Path(dirs.env["TRACKD_ROOT"]) / "trackd.db")
    finally:
        os.chdir(cwd)
        daemon.stop()
        dirs.cleanup()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write here instead of the golden file")
    args = parser.parse_args()
    if args.out is None and os.environ.get("TRACKD_GOLDEN_REGEN") != "1":
        sys.exit("overwriting the golden rows changes the stored format the test holds every"
                 " version to: set TRACKD_GOLDEN_REGEN=1 to do it on purpose, or pass --out PATH")
    run_script(args.out or GOLDEN)
    print(f"wrote {args.out or GOLDEN}")


if __name__ == "__main__":
    main()
