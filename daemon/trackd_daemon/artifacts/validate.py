"""Validation of artifact requests: each problem becomes an InvalidArgumentError naming the
field, with the message the SDK gives for the same rule (``trackd._shared.artifact_rules``)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from trackd._shared.artifact_rules import (
    TTL_DISABLED,
    TTL_INHERIT,
    alias_problem,
    name_problem,
    normalize_metadata,
    path_problem,
    project_problem,
    run_table_problem,
    tag_problem,
    ttl_problem,
    type_problem,
)
from trackd_daemon.blobs.keys import is_key
from trackd_daemon.errors import InvalidArgumentError
from trackd_daemon.store.artifact_models import LATEST, CollectionKey, Entry

#: Longest entity name (the same bound as run ids' parts).
ENTITY_MAXLEN = 128
#: Longest entry path, reference URI, distributed id and request id.
PATH_MAXLEN = 4096
ID_MAXLEN = 256


def bad(field: str, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{field}: {problem}", field=field)


def check(field: str, problem: str | None) -> None:
    if problem:
        raise bad(field, problem)


def collection_key(entity: str, project: str, name: str, field: str = "name") -> CollectionKey:
    """The collection named by a request (a new collection's name rules)."""
    if not entity or len(entity) > ENTITY_MAXLEN or "/" in entity or ":" in entity:
        raise bad("entity", f"an entity is 1-{ENTITY_MAXLEN} characters without '/' or ':', "
                            f"not {entity!r}")
    check("project", project_problem(project))
    check(field, name_problem(name))
    return CollectionKey(entity, project, name)


def artifact_type(type_: str, name: str, internal: bool = False) -> str:
    check("type", type_problem(type_, name, internal))
    return type_


def run_table(type_: str, name: str, run_id: str) -> None:
    """An internal artifact of a run's tables must be logged by that run (``run_id``: the
    run the request names, empty for none)."""
    check("type", run_table_problem(type_, name, run_id))


def aliases(values: Iterable[str], field: str = "aliases") -> list[str]:
    out = list(dict.fromkeys(values))
    for a in out:
        if a != LATEST:
            check(field, alias_problem(a))
    return out


def tags(values: Iterable[str], field: str = "tags") -> list[str]:
    out = list(dict.fromkeys(values))
    for t in out:
        check(field, tag_problem(t))
    return out


def metadata(text: str, field: str = "metadata_json") -> dict[str, Any]:
    try:
        return normalize_metadata(text or None)
    except (ValueError, TypeError) as exc:
        raise bad(field, str(exc)) from None


def ttl(seconds: int, field: str = "ttl_seconds") -> int:
    if seconds == 0:
        return TTL_INHERIT
    check(field, ttl_problem(seconds))
    return seconds if seconds > 0 else (TTL_INHERIT if seconds == TTL_INHERIT else TTL_DISABLED)


def entry_path(path: str, field: str) -> str:
    """An artifact-relative path: canonical POSIX form, no ``..``, not absolute, no NUL. A
    backslash is part of a file name, as on the POSIX systems W&B accepts it from (a Windows
    reading of the path may not climb out or be absolute either: see ``path_problem``)."""
    if "\0" in path:
        raise bad(field, f"Invalid artifact path: {path!r} contains NUL")
    check(field, path_problem(path))
    if len(path) > PATH_MAXLEN:
        raise bad(field, f"Invalid artifact path: longer than {PATH_MAXLEN} characters")
    canon = str(PurePosixPath(path))
    if canon != path:
        raise bad(field, f"Invalid artifact path: {path!r} is not in canonical form "
                         f"(use {canon!r})")
    return path


def file_digest(digest: str, field: str) -> str:
    """A base64 MD5 (24 characters decoding to 16 bytes)."""
    try:
        raw = base64.b64decode(digest, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise bad(field, f"not a base64 MD5 digest: {digest!r}")
    return digest


def extra(text: str, field: str) -> str:
    if not text:
        return ""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise bad(field, "extra_json must be a JSON object")
    return text


def entries(items: Iterable[Any]) -> list[Entry]:
    """Manifest entries of a LogArtifactRequest (``trackd.v1.ManifestEntry``), checked."""
    out: list[Entry] = []
    seen: set[str] = set()
    for i, e in enumerate(items):
        where = f"entries[{i}]"
        path = entry_path(e.path, f"{where}.path")
        if path in seen:
            raise bad(f"{where}.path", f"duplicate path {path!r}")
        seen.add(path)
        sources = [bool(e.local_path), bool(e.blob_key), bool(e.ref)]
        if sum(sources) > 1:
            raise bad(where, "give one of local_path, blob_key or ref")
        if e.ref:
            if len(e.ref) > PATH_MAXLEN or not e.digest:
                raise bad(f"{where}.digest", "a reference needs its digest (ResolveReference)")
        elif e.local_path:
            if "\0" in e.local_path or not e.local_path.startswith("/"):
                raise bad(f"{where}.local_path", f"an absolute path is needed, not {e.local_path!r}")
        elif e.blob_key:
            if not is_key(e.blob_key):
                raise bad(f"{where}.blob_key", f"not a blob key (64 lowercase hex digits): "
                                               f"{e.blob_key!r}")
        elif not e.digest:
            raise bad(where, "an entry needs local_path, blob_key, ref, or digest and size")
        if e.digest and not e.ref:
            file_digest(e.digest, f"{where}.digest")
        if not (e.ref or e.local_path or e.blob_key) and e.size < 0:
            raise bad(f"{where}.size", "the size of stored bytes is needed")
        out.append(Entry(path=path, digest=e.digest, size=e.size if (e.ref or e.digest) else -1,
                         ref=e.ref, birth_artifact_id=e.birth_artifact_id,
                         extra=extra(e.extra_json, f"{where}.extra_json"),
                         blob_key=e.blob_key, local_path=e.local_path,
                         staged=e.staged and bool(e.local_path)))
    return out


def short_id(value: str, field: str) -> str:
    if len(value) > ID_MAXLEN or "\0" in value:
        raise bad(field, f"at most {ID_MAXLEN} characters, without NUL")
    return value
