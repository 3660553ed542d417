"""What the finish footer shows of a run the daemon holds, read back from the daemon.

- Each metric's sparkline comes from the rows where that metric has a value: a metric logged
  once per epoch among keys logged every step shows its epochs. One sample of the whole run
  (``SAMPLES`` rows) names the metrics and serves those in at least half of its rows; a
  rarer metric is sampled again on its own rows (the daemon reads the run's rows once for
  each such metric), within ``RESAMPLE_SECONDS`` in all, so that ``finish()`` of a run of
  millions of rows does not wait on it: past that, a rare metric shows what the first sample
  holds of it.
- The files are the ones ``trackd runs show`` lists (the daemon's ListFiles: saved files,
  environment files, the console log).
- The artifact versions the run logged and used, as ``name:version`` with their type.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trackd._base.footer import MAX_METRICS

#: Sampled rows per sparkline.
SAMPLES = 40
#: The time ``finish()`` may spend sampling rare metrics again (about 0.2 s each per 100,000
#: rows of the run).
RESAMPLE_SECONDS = 1.0

#: Rows of the run for ``keys`` (None: any row), at most ``n`` spread evenly over them.
Sampler = Callable[[Sequence[str] | None, int], list[dict[str, Any]]]


@dataclass
class FooterData:
    history: dict[str, list[float]] = field(default_factory=dict)
    #: Files as ``trackd runs show`` lists them; None when unknown (offline).
    files: int | None = None
    #: Artifact versions: (``name:version``, type).
    logged: list[tuple[str, str]] = field(default_factory=list)
    used: list[tuple[str, str]] = field(default_factory=list)


def _number(v: Any) -> bool:
    return type(v) in (int, float)


def metric_keys(rows: Iterable[Mapping[str, Any]], summary: Mapping[str, Any]) -> list[str]:
    """The metrics a footer charts: numeric top-level keys (not ``_``-prefixed) of the sampled
    rows in first-seen order, then the summary's other metrics (a metric logged too rarely
    to be sampled still has a summary value); at most ``MAX_METRICS``."""
    keys: dict[str, None] = {}
    for row in rows:
        for k, v in row.items():
            if not k.startswith("_") and _number(v):
                keys.setdefault(k)
    for k, v in summary.items():
        if not k.startswith("_") and (_number(v) or (isinstance(v, dict) and "_type" not in v)):
            keys.setdefault(k)
    return list(keys)[:MAX_METRICS]


def values(rows: Iterable[Mapping[str, Any]], key: str) -> list[float]:
    return [float(row[key]) for row in rows if _number(row.get(key))]


def history(sample: Sampler, summary: Mapping[str, Any], n: int = SAMPLES,
            budget: float = RESAMPLE_SECONDS) -> dict[str, list[float]]:
    """Each metric's values for its sparkline, from the rows where it has a value."""
    rows = sample(None, n)
    out: dict[str, list[float]] = {}
    deadline = time.monotonic() + budget
    for key in metric_keys(rows, summary):
        if (len(rows) < n or 2 * sum(key in row for row in rows) >= len(rows)
                or time.monotonic() > deadline):
            got = values(rows, key)  # every row of the run, a metric of most rows, or late
        else:
            got = values(sample([key], n), key)
        if got:
            out[key] = got
    return out


def read(ref: Any, summary: Mapping[str, Any], n: int = SAMPLES) -> FooterData:
    """The footer's data of the run ``ref`` (a ``RunRef``) from the daemon."""
    # not loaded by `import trackd`: the read API, the artifact client (gRPC), protobuf messages
    from trackd._api.api import PublicRun
    from trackd._transport import artifact_client as client
    from trackd.v1 import run_pb2

    run = PublicRun(run_pb2.Run(ref=ref))

    def sample(keys: Sequence[str] | None, count: int) -> list[dict[str, Any]]:
        return list(run._scan(keys, 1000, None, None, count))

    def versions(used: bool) -> list[tuple[str, str]]:
        return [(f"{a.collection}:{a.version}", a.type) for a in client.run_artifacts(ref, used)]

    return FooterData(history=history(sample, summary, n), files=len(run.files()),
                      logged=versions(False), used=versions(True))
