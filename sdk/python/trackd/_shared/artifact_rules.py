"""Artifact rules checked by the SDK (ValueError) and by the daemon (INVALID_ARGUMENT), with
the same messages on both sides: names, types, aliases, tags, metadata, TTL, artifact-relative
paths and W&B's manifest digest.

Every ``*_problem`` function returns why a value is invalid, or None when it is valid; the
``validate_*`` wrappers raise ``ValueError`` with that text. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

#: Longest artifact, type, project or registry name.
NAME_MAXLEN = 128
#: At most this many top-level metadata keys (W&B's limit).
MAX_METADATA_KEYS = 100
#: What ``Artifact(name=...)`` accepts (the name of a new collection).
NAME_RE = re.compile(r"^[a-zA-Z0-9_\-.]+$")
#: Tags: words of letters, digits, ``-`` and ``_`` separated by single spaces.
TAG_RE = re.compile(r"^[-\w]+( +[-\w]+)*$")
#: Characters that separate the parts of an artifact path (``entity/project/name:alias``).
SEP_CHARS = frozenset("/:")
#: Characters a project or registry name may not contain.
BAD_PROJECT_CHARS = frozenset("/\\#?%:\r\n")
RESERVED_TYPE_PREFIX = "wandb-"
#: Types whose names starting with the prefix are reserved ("" reserves every name).
RESERVED_NAME_PREFIX_BY_TYPE = {"job": "", "run_table": "run-", "code": "source-"}
REGISTRY_PREFIX = "wandb-registry-"
#: The project that ``link_model`` links into.
MODEL_REGISTRY_PROJECT = "model-registry"
#: The alias every newly logged (or linked) version gets.
LATEST = "latest"
#: ``vN``: a version index, assigned by the daemon, never set by users.
VERSION_RE = re.compile(r"^v(\d+)$")
#: TTL on the wire: seconds, or one of these.
TTL_INHERIT = -1
TTL_DISABLED = -2

MANIFEST_VERSION = 1
STORAGE_POLICY = "wandb-storage-policy-v1"
STORAGE_POLICY_CONFIG: dict[str, Any] = {"storageLayout": "V2"}
_DIGEST_HEADER = b"wandb-artifact-manifest-v1\n"


def _join(chars: Iterable[str]) -> str:
    return ", ".join(repr(c) for c in sorted(chars))


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a new artifact."""
    if not isinstance(name, str) or not name:
        return "Artifact name must be a non-empty string"
    if len(name) > NAME_MAXLEN:
        return f"Artifact name is longer than {NAME_MAXLEN} characters: {name[:NAME_MAXLEN]!r} ..."
    if not NAME_RE.match(name):
        return ("Artifact name may only contain alphanumeric characters, dashes, underscores, "
                f"and dots. Invalid name: {name!r}")
    return None


def type_problem(type_: str, name: str, internal: bool = False) -> str | None:
    """Why ``type_`` cannot be the type of an artifact called ``name`` (``internal``: one the
    SDK makes itself, which may use the reserved types and names)."""
    if not isinstance(type_, str) or not type_:
        return "Artifact type must be a non-empty string"
    if SEP_CHARS & set(type_):
        return f"Artifact types must not contain any of the following characters: {_join(SEP_CHARS)}"
    if len(type_) > NAME_MAXLEN:
        return f"Artifact types must be less than or equal to {NAME_MAXLEN} characters"
    reserved = RESERVED_NAME_PREFIX_BY_TYPE.get(type_)
    if internal:
        return None
    if type_.startswith(RESERVED_TYPE_PREFIX) or (reserved is not None and name.startswith(reserved)):
        return f"Artifact type {type_!r} is reserved for internal use. Please use a different type."
    return None


#: Types of the artifacts a run logs for the tables it logs (``run-<run id>-<key>``).
RUN_TABLE_TYPES = frozenset(("run_table", "wandb-run-incremental-table"))


def run_table_problem(type_: str, name: str, run_id: str) -> str | None:
    """Why an internal artifact of ``type_`` named ``name``, logged by run ``run_id`` (empty:
    by no run), may not be stored: a run's table artifacts come from that run only."""
    if type_ in RUN_TABLE_TYPES and (not run_id or not name.startswith(f"run-{run_id}-")):
        return (f"Artifact type {type_!r} holds the tables a run logs: it must be logged by "
                f"the run it is named for (run-<run id>-<key>), not {name!r}")
    return None


def alias_problem(alias: str) -> str | None:
    """Why ``alias`` cannot be set by a user (``vN`` is the daemon's to assign)."""
    if not isinstance(alias, str) or not alias:
        return "Aliases must be non-empty strings"
    if SEP_CHARS & set(alias):
        return f"Aliases must not contain any of the following characters: {_join(SEP_CHARS)}"
    if len(alias) > NAME_MAXLEN:
        return f"Aliases must be at most {NAME_MAXLEN} characters: {alias[:NAME_MAXLEN]!r} ..."
    if VERSION_RE.match(alias):
        return f"Alias {alias!r} is a version index; versions are assigned when an artifact is logged"
    return None


def tag_problem(tag: str) -> str | None:
    if not isinstance(tag, str) or not TAG_RE.match(tag) or len(tag) > NAME_MAXLEN:
        return ("Invalid tag(s). Tags must only contain alphanumeric characters separated by "
                f"hyphens, underscores, and/or spaces. Got: {tag!r}")
    return None


def project_problem(name: str) -> str | None:
    """Why ``name`` cannot be a project (or registry) name."""
    if not name:
        return "Project name cannot be empty"
    registry = name.removeprefix(REGISTRY_PREFIX)
    if not registry:
        return "Registry name cannot be empty"
    if len(name) > NAME_MAXLEN:
        if registry != name:
            return (f"Invalid registry name {registry!r}, must be "
                    f"{NAME_MAXLEN - len(REGISTRY_PREFIX)} characters or less")
        return f"Invalid project name {name!r}, must be {NAME_MAXLEN} characters or less"
    bad = BAD_PROJECT_CHARS & set(name)
    if bad:
        return f"Invalid project/registry name {registry!r}, cannot contain characters: {_join(bad)}"
    return None


def metadata_problem(metadata: Mapping[str, Any]) -> str | None:
    """Why ``metadata`` (already JSON-normalised) cannot be stored."""
    if not isinstance(metadata, Mapping):
        return f"Artifact metadata must be a dict, got {type(metadata).__name__}"
    if len(metadata) > MAX_METADATA_KEYS:
        return f"Artifact must not have more than {MAX_METADATA_KEYS} metadata keys."
    return None


def ttl_problem(seconds: int) -> str | None:
    """Why ``seconds`` (the wire form of a TTL) is invalid."""
    if seconds in (TTL_INHERIT, TTL_DISABLED) or seconds > 0:
        return None
    return f"Artifact TTL Duration has to be positive. ttl: {seconds}"


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot name a file inside an artifact (absolute, ``..``, empty, NUL), read
    as a POSIX path and as a Windows one."""
    if not isinstance(path, str) or not path or path in (".", "/"):
        return f"Invalid artifact path: {path!r}"
    if "\0" in path:
        return f"Invalid artifact path: {path!r} contains NUL"
    posix, windows = PurePosixPath(path), PureWindowsPath(path)
    if posix.anchor or windows.anchor or ".." in posix.parts or ".." in windows.parts:
        return f"Invalid artifact path: {path!r}"
    return None


def _raise(problem: str | None) -> None:
    if problem:
        raise ValueError(problem)


def validate_name(name: str) -> str:
    _raise(name_problem(name))
    return name


def validate_type(type_: str, name: str) -> str:
    _raise(type_problem(type_, name))
    return type_


def validate_aliases(aliases: Iterable[str] | str | None) -> list[str]:
    """Aliases as a de-duplicated list (order kept). A lone string is one alias."""
    items = [aliases] if isinstance(aliases, str) else list(aliases or ())
    for a in items:
        _raise(alias_problem(a))
    return list(dict.fromkeys(items))


def validate_tags(tags: Iterable[str] | str | None) -> list[str]:
    """Tags as a de-duplicated list (first occurrence kept)."""
    items = [tags] if isinstance(tags, str) else list(tags or ())
    for t in items:
        _raise(tag_problem(t))
    return list(dict.fromkeys(items))


def validate_project(name: str) -> str:
    _raise(project_problem(name))
    return name


def validate_path(path: Any) -> str:
    """The canonical POSIX form (``a/b.txt``) of an artifact-relative path.

    :raises ValueError: absolute, empty, or climbing out with ``..``.
    """
    raw = path.as_posix() if hasattr(path, "as_posix") else str(getattr(path, "__fspath__", lambda: path)())
    if _plain(raw):  # already canonical (the common case, without pathlib's cost)
        return raw
    canon = str(PurePosixPath(raw)) if raw else raw
    _raise(path_problem(canon))
    return canon


def _plain(path: str) -> bool:
    """Relative, "/"-separated, no empty, "." or ".." segment, no drive, backslash or NUL."""
    if (not path or path[0] == "/" or "\\" in path or "\0" in path
            or ":" in path.split("/", 1)[0]):
        return False
    return all(seg not in ("", ".", "..") for seg in path.split("/"))


def normalize_metadata(metadata: Mapping[str, Any] | str | None) -> dict[str, Any]:
    """Metadata as plain JSON values (NaN and infinities rejected), at most 100 keys.

    :raises ValueError: not JSON-serialisable as such, or too many keys.
    :raises TypeError: not a dict (or a JSON object string).
    """
    if metadata is None or metadata == "":
        return {}
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    if not isinstance(metadata, Mapping):
        raise TypeError(f"Cannot parse {type(metadata).__name__} as artifact metadata")
    try:
        out = json.loads(json.dumps(_json_friendly(metadata), allow_nan=False))
    except ValueError:
        raise ValueError("Artifact metadata must not contain NaN or infinite values") from None
    _raise(metadata_problem(out))
    return dict(out)


def _json_friendly(value: Any) -> Any:
    """numpy scalars/arrays, tuples, sets and paths turned into JSON types; other objects
    raise TypeError naming their type."""
    if isinstance(value, Mapping):
        return {str(k): _json_friendly(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_friendly(v) for v in value]
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("Artifact metadata must not contain NaN or infinite values")
        return value
    if hasattr(value, "tolist"):  # numpy
        return _json_friendly(value.tolist())
    if hasattr(value, "__fspath__"):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"Artifact metadata values must be JSON-serialisable, got {type(value).__name__}")


def manifest_digest(entries: Iterable[tuple[str, str]]) -> str:
    """W&B's artifact digest: hex MD5 of ``"wandb-artifact-manifest-v1\\n"`` followed by
    ``"{path}:{digest}\\n"`` for every entry, sorted by path."""
    h = hashlib.md5(_DIGEST_HEADER)
    for path, digest in sorted(entries):
        h.update(f"{path}:{digest}\n".encode())
    return h.hexdigest()


def parse_version(alias: str) -> int | None:
    """N for ``vN``, else None."""
    m = VERSION_RE.match(alias)
    return int(m.group(1)) if m else None
