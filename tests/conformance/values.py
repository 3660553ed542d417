"""Values of each documented Settings type: one the field must accept, one it must refuse."""

from __future__ import annotations

import re
from typing import Any

#: Fields whose documented type is a plain string but whose meaning limits the values.
_SPECIAL_GOOD: dict[str, Any] = {
    "fork_from": "abc123?_step=5",
    "resume_from": "abc123?_step=5",
    "base_url": "http://127.0.0.1:8080",
    "root_dir": "/tmp",
    "run_id": "abc123",
    "start_method": None,
}


def _choices(kind: str) -> list[str]:
    m = re.search(r"Literal\[([^\]]*)\]", kind)
    return [c.strip().strip('"') for c in m.group(1).split(",")] if m else []


def good_value(field: str, kind: str) -> Any:
    if field in _SPECIAL_GOOD and _SPECIAL_GOOD[field] is not None:
        return _SPECIAL_GOOD[field]
    if _choices(kind):
        return _choices(kind)[-1]
    if "bool" in kind:
        return True
    if "Dict" in kind:
        return {"https://acct.blob.core.windows.net": "key"}
    if "Sequence" in kind or "Tuple" in kind:
        return ("a", "b")
    if "float" in kind:
        return 7.5
    if "int" in kind:
        return 7
    if field == "start_method":
        return "fork"
    return "value"


def read_back(field: str, value: Any) -> Any:
    """What ``Settings(field=value).field`` gives: ``value``, except for the two fields typed
    ``RunMoment``, which parse their ``"{run}?_step={N}"`` form into one (as W&B's do)."""
    if field in ("fork_from", "resume_from"):
        from trackd._settings import RunMoment

        run, _, step = value.partition("?_step=")
        return RunMoment(run=run, value=int(step), metric="_step")
    return value


def bad_value(field: str, kind: str) -> Any:
    if field in ("fork_from", "resume_from"):
        return "not a moment"
    if _choices(kind):
        return "no-such-choice"
    if "bool" in kind:
        return "maybe"
    if "float" in kind or "int" in kind:
        return "many"
    if "Dict" in kind:
        return "not a mapping"
    if "Sequence" in kind or "Tuple" in kind:
        return 5
    return {"not": "a string"}


def same(actual: Any, expected: Any) -> bool:
    """Equal, counting a list and a tuple of the same items as the same."""
    if isinstance(actual, (list, tuple)) and isinstance(expected, (list, tuple)):
        return list(actual) == list(expected)
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return bool(actual == expected)
