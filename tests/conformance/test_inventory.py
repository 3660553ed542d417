"""The inventory lists exactly the seed's elements (when the seed is present)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance import seed
from tests.conformance.inventory import CALLABLES, KINDS, elements

REPO = Path(__file__).resolve().parents[2]
SEED = seed.default_path(REPO)


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.is_file():
        pytest.skip(f"the seed reference is not at {SEED} (set TRACKD_SEED_REFERENCE to check "
                    "the inventory against it)")
    return SEED.read_text(encoding="utf-8")


def _key(e):  # type: ignore[no-untyped-def]
    return (e.section, e.kind, e.name, tuple(e.params), e.type)


def test_inventory_matches_seed(seed_text: str) -> None:
    parsed = [_key(e) for e in seed.parse(seed_text)]
    listed = [_key(e) for e in CALLABLES if not e.anchor]
    missing = [k for k in parsed if k not in listed]
    extra = [k for k in listed if k not in parsed]
    assert not missing, f"in the seed, not in the inventory: {missing}"
    assert not extra, f"in the inventory, not in the seed: {extra}"
    assert parsed == listed, "the inventory is not in the seed's order"


def test_headings_the_seed_lost_are_there(seed_text: str) -> None:
    """Elements whose heading the printable view dropped: their words are in their section."""
    for e in CALLABLES:
        if not e.anchor:
            continue
        lines = seed.section_text(seed_text, e.section).splitlines()
        assert any(all(w in ln for w in e.anchor) for ln in lines), (e.name, e.anchor)


def test_inventory_is_well_formed() -> None:
    names = [e.name for e in elements()]
    assert len(names) == len(set(names))
    assert {e.kind for e in elements()} <= set(KINDS)
    assert all(e.owner in (None, 16, 17, 18) for e in elements())
