"""requirements.txt is read from the installed distributions once per process, and again
when one is installed or removed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from trackd._run import environment as _environment


def test_the_shared_facts_are_read_again_only_when_a_path_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", [*sys.path, str(tmp_path)])
    reads = []
    real = _environment.requirements

    def counting() -> str:
        reads.append(1)
        return real()

    monkeypatch.setattr(_environment, "requirements", counting)
    first = _environment.shared_facts()
    assert "trackd==" in first["requirements"] and first["machine"]["cpu_count_logical"] >= 1
    assert _environment.shared_facts() is first  # the same facts: nothing was read again
    assert len(reads) == 1
    dist = tmp_path / "fakepkg-1.2.3.dist-info"  # a distribution appears on the path
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fakepkg\nVersion: 1.2.3\n")
    after = _environment.shared_facts()
    assert "fakepkg==1.2.3\n" in after["requirements"] and after is not first
    assert len(reads) == 2


def test_names_and_versions_agree_with_the_full_metadata_parser() -> None:
    from importlib import metadata

    listed = _environment.requirements().splitlines()
    full: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and name.lower() not in full:
            full[name.lower()] = f"{name}=={dist.version}"
    assert listed == [line for _, line in sorted(full.items())]


def test_only_the_headers_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "odd-2.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: odd\nSummary: x\nVersion: 2.0\n\n"
        "Name: not-this\nVersion: 9.9\n")
    egg = tmp_path / "old.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: old\nVersion: 0.1\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert _environment.requirements() == "odd==2.0\nold==0.1\n"
