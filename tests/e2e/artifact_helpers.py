"""Helpers for the artifact end-to-end tests (the ``art_sdk`` fixture is in tests/conftest.py):
files, W&B's digest rule written out independently, and the daemon's blob usage."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from pathlib import Path


def project() -> str:
    """A project of the test's own on the shared daemon."""
    return f"art-{uuid.uuid4().hex[:10]}"


def b64md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def wandb_digest(files: dict[str, bytes]) -> str:
    """hex md5("wandb-artifact-manifest-v1\\n" + "{path}:{b64 md5}\\n" sorted by path)."""
    h = hashlib.md5(b"wandb-artifact-manifest-v1\n")
    for path in sorted(files):
        h.update(f"{path}:{b64md5(files[path])}\n".encode())
    return h.hexdigest()


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def read_tree(root: str | Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            full = Path(dirpath) / n
            out[full.relative_to(root).as_posix()] = full.read_bytes()
    return out
