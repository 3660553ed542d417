"""Run id rules, checked by the SDK (UsageError) and by the daemon (INVALID_ARGUMENT)."""

from __future__ import annotations

#: Characters a run id may not contain (they break paths and URLs).
BAD_ID_CHARS = frozenset("/\\#?%:;,'")
MAX_ID_LENGTH = 128


def id_problem(run_id: str) -> str | None:
    """Why ``run_id`` is not a valid run id, or None when it is."""
    if not run_id:
        return "it must be a non-empty string"
    if run_id != run_id.strip():
        return "it has leading or trailing whitespace"
    bad = sorted(BAD_ID_CHARS & set(run_id))
    if bad:
        return f"it cannot contain {' '.join(bad)}"
    if len(run_id) > MAX_ID_LENGTH:
        return f"it is longer than {MAX_ID_LENGTH} characters"
    return None
