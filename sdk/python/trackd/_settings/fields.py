"""What each settings field may hold, and how a value is checked and read from text.

Every field of :class:`trackd.Settings` has a *kind* here (bool, int, float, str, a tuple of
strings, a choice among words, a str->str mapping, a run moment); :func:`validate` turns a
given value into the field's form or raises :class:`trackd.errors.UsageError` naming the field
and the value. Text from the environment and settings files goes through the same function
(a bool accepts ``true``/``false``/``1``/``0``/``yes``/``no``/``on``/``off``; a mapping accepts
JSON).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from trackd._shared import proxies
from trackd.errors import UsageError

MODES = {"online": "online", "run": "online", "offline": "offline", "dryrun": "offline",
         "disabled": "disabled", "shared": "shared"}
REINIT = ("default", "return_previous", "finish_previous", "create_new")
RESUME = ("allow", "must", "never", "auto")
CONSOLE_MODES = ("auto", "off", "wrap", "redirect", "wrap_raw", "wrap_emu")
ANONYMOUS = ("allow", "must", "never")
JOB_SOURCES = ("repo", "artifact", "image")

BOOL, INT, FLOAT, STR = "bool", "int", "float", "str"
STRS, MAPPING, MOMENT = "strs", "map", "moment"

#: The kind of every field not listed in a special set below is ``str``.
_BOOLS = {
    "allow_offline_artifacts", "allow_val_change", "console_multipart", "disable_code",
    "disable_git", "disable_job_creation", "disable_meta", "force", "insecure_disable_ssl",
    "label_disable", "launch", "quiet", "relogin", "resumed", "sagemaker_disable", "save_code",
    "show_colors", "show_emoji", "show_errors", "show_info", "show_warnings", "silent", "strict",
    "symlink", "sync_tensorboard", "table_raise_on_max_row_limit_exceeded", "x_disable_stats",
    "x_primary",
}
_INTS = {"heartbeat_seconds", "max_buffered_records", "summary_timeout", "summary_warnings"}
_FLOATS = {"daemon_start_timeout", "finish_timeout", "init_timeout", "login_timeout",
           "reconnect_timeout", "x_stats_sampling_interval"}
_STRS = {"config_paths", "ignore_globs", "run_tags"}
_CHOICES: dict[str, tuple[str, ...]] = {"console": CONSOLE_MODES, "anonymous": ANONYMOUS,
                                        "job_source": JOB_SOURCES}
#: Smallest allowed value of numeric fields (inclusive).
_MINIMUM = {"max_buffered_records": 1, "heartbeat_seconds": 1, "summary_timeout": 0,
            "summary_warnings": 0, "x_stats_sampling_interval": 1.0, "daemon_start_timeout": 0.0,
            "finish_timeout": 0.0, "init_timeout": 0.0, "login_timeout": 0.0,
            "reconnect_timeout": 0.0}
#: Numeric fields counted in seconds (their bounds say so).
_SECONDS = {"heartbeat_seconds", "summary_timeout", "daemon_start_timeout", "finish_timeout",
            "init_timeout", "login_timeout", "reconnect_timeout", "x_stats_sampling_interval"}
#: Largest allowed value of numeric fields (inclusive).
_MAXIMUM = {"heartbeat_seconds": 86400}
#: Fields that name a file or directory: an ``os.PathLike`` is accepted too.
_PATHS = {"root_dir", "code_dir", "cache_dir", "data_dir", "artifact_dir", "credentials_file",
          "identity_token_file", "launch_config_path", "settings_system", "git_root", "program",
          "program_abspath", "program_relpath", "sweep_param_path"}

#: Environment names that are not the field's name upper-cased (after WANDB_ or TRACKD_).
ENV_NAMES = {
    "root_dir": "DIR",
    "run_name": "NAME",
    "run_notes": "NOTES",
    "run_tags": "TAGS",
    "run_group": "RUN_GROUP",
    "run_job_type": "JOB_TYPE",
    "run_id": "RUN_ID",
    "daemon_address": "ADDRESS",
    "email": "USER_EMAIL",
}

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def kind_of(name: str) -> str:
    if name in _BOOLS:
        return BOOL
    if name in _INTS:
        return INT
    if name in _FLOATS:
        return FLOAT
    if name in _STRS:
        return STRS
    if name == "azure_account_url_to_access_key":
        return MAPPING
    if name in ("resume_from", "fork_from"):
        return MOMENT
    return STR


@dataclass(frozen=True)
class RunMoment:
    """A point of a run's history: ``run`` at ``metric`` = ``value`` (only ``_step`` is
    supported); the string form is ``"{run}?_step={value}"`` (init's ``resume_from`` and
    ``fork_from``)."""

    run: str
    value: int
    metric: str = "_step"

    def __post_init__(self) -> None:
        if not isinstance(self.run, str) or not self.run or any(c in self.run for c in "/\\#?%:"):
            raise UsageError(f"a run moment needs a run id without / \\ # ? % :, got {self.run!r}")
        if self.metric != "_step":
            raise UsageError(f"a run moment's metric must be _step, got {self.metric!r}")
        v = self.value
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or v < 0:
            raise UsageError(f"a run moment's step must be a whole number >= 0, got {v!r}")
        object.__setattr__(self, "value", int(v))

    @classmethod
    def from_uri(cls, uri: str) -> RunMoment:
        """Parse ``"{run_id}?_step={N}"``. :raises UsageError: another form or metric."""
        m = _MOMENT.match(uri) if isinstance(uri, str) else None
        if m is None:
            raise UsageError(f"a run moment must look like '{{run_id}}?_step={{N}}', got {uri!r}")
        try:
            value = float(m["value"])
        except ValueError:
            raise UsageError(f"a run moment's step must be a number, got {m['value']!r}") from None
        if not math.isfinite(value):
            raise UsageError(f"a run moment's step must be a number, got {m['value']!r}")
        return cls(m["run"], value, m["metric"])  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.run}?{self.metric}={self.value}"
#: Fields that hold a proxy URL (checked by :func:`trackd._shared.proxies.check`).
_PROXIES = {"http_proxy", "https_proxy"}


_MOMENT = re.compile(r"^(?P<run>[^?]+)\?(?P<metric>[^=]+)=(?P<value>.+)$")


def validate(name: str, value: Any) -> Any:
    """``value`` in the form field ``name`` keeps (None stays None).

    :raises UsageError: the value does not fit the field (the message names both).
    """
    if value is None:
        return None
    try:
        return _check(name, value)
    except UsageError as exc:
        raise UsageError(f"Settings.{name} {exc.message}") from None


def _bad(what: str, value: Any) -> UsageError:
    return UsageError(f"must be {what}, got {value!r}")


def _check(name: str, value: Any) -> Any:
    if name == "mode":
        word = str(value).lower() if isinstance(value, str) else None
        if word not in MODES:
            raise _bad(f"one of {sorted(MODES)}", value)
        return MODES[word]
    if name == "reinit":
        return _bool_or_choice(value, REINIT)
    if name == "resume":
        return _bool_or_choice(value, RESUME)
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise _bad(f"one of {list(_CHOICES[name])}", value)
        return value
    kind = kind_of(name)
    if kind == BOOL:
        return to_bool(value)
    if kind in (INT, FLOAT):
        number = _to_int(value) if kind == INT else _to_float(value)
        low = _MINIMUM.get(name)
        def bound(limit: float) -> str:
            if name not in _SECONDS:
                return f"{limit:g}"
            return f"{limit:g} second" + ("" if limit == 1 else "s")

        if low is not None and number < low:
            raise _bad(f"at least {bound(low)}", value)
        high = _MAXIMUM.get(name)
        if high is not None and number > high:
            raise _bad(f"at most {bound(high)}", value)
        return number
    if kind == STRS:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        if isinstance(value, Iterable) and not isinstance(value, Mapping):
            items = tuple(value)
            if not all(isinstance(i, str) for i in items):
                raise _bad("a sequence of strings (or one comma-separated string)", value)
            return items
        raise _bad("a sequence of strings (or one comma-separated string)", value)
    if kind == MAPPING:
        given = value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise _bad("a mapping of strings to strings (or its JSON)", given) from None
        if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise _bad("a mapping of strings to strings", given)
        return dict(value)
    if kind == MOMENT:
        if isinstance(value, RunMoment):
            return value
        if isinstance(value, str):
            try:
                return RunMoment.from_uri(value)
            except UsageError as exc:
                raise UsageError(
                    f"got {value!r}, which is not a run moment: {exc.message}") from None
        raise _bad("a RunMoment or '{run_id}?_step={N}'", value)
    if name in _PATHS and isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise _bad("a string", value)
    if name in _PROXIES:
        try:
            return proxies.check(value)
        except ValueError as exc:  # the message hides the proxy's credentials
            raise UsageError(f"must be a proxy URL: {exc}") from None
    return value


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    raise _bad("true or false", value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _bad("an integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _bad("an integer", value)


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise _bad("a number", value)
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise _bad("a number", value) from None
    if math.isnan(number):
        raise _bad("a number", value)
    return number


def _bool_or_choice(value: Any, choices: tuple[str, ...]) -> bool | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value in choices:
            return value
        if value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    raise _bad(f"one of {list(choices)} or a bool", value)


def catch_private_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with each old private key ``_name`` renamed to its public ``x_name``."""
    return {("x" + k if k.startswith("_") else k): v for k, v in values.items()}
