"""The escaping of user data for the terminal (trackd._base.terminal) and the CLI's CSV records."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import given
from hypothesis import strategies as st

from trackd._base.terminal import json_escapes, visible
from trackd._cli.output import csv_line, table_cell, to_json

#: Every character that must never reach a terminal raw: C0 controls, DEL, C1 controls (the
#: 8-bit CSI U+009B among them), zero-width and bidi characters, separators, the BOM, a
#: tag character, a Hangul filler and a lone surrogate.
HIDDEN = [
    *map(chr, range(0x20)), "\x7f", *map(chr, range(0x80, 0xA0)),
    *map(chr, range(0x200B, 0x2010)), *map(chr, range(0x202A, 0x202F)),
    *map(chr, range(0x2060, 0x2065)), *map(chr, range(0x2066, 0x206A)),
    "\u2028", "\u2029", "\ufeff", "\u00ad", "\u061c", "\U000e0041", "\u3164", "\u115f",
    "\udcff",
]


def test_every_hidden_character_is_escaped() -> None:
    for ch in HIDDEN:
        shown = visible("a" + ch + "b")
        assert shown.isascii() and shown.isprintable(), repr(ch)
        assert shown.startswith("a\\") and shown.endswith("b")
        assert shown.encode("ascii")  # a lone surrogate no longer breaks printing


def test_escapes_read_like_python_literals() -> None:
    assert visible("\x1b]0;t\x07") == r"\x1b]0;t\x07"
    assert visible("\r\n\t\x08\x7f\x9b") == r"\r\n\t\x08\x7f\x9b"
    assert visible("\u202eabc\u2066") == r"\u202eabc\u2066"
    assert visible("x\U000e0041") == r"x\U000e0041"


def test_ordinary_text_is_unchanged() -> None:
    for text in ("loss/train", "été 日本語 Ελληνικά עברית", "🙂 ❤️", "C:\\Users\\x", "[bold]x[/bold]",
                 "a\u00a0b", ""):
        assert visible(text) == text


def test_multiline_keeps_line_feeds_and_tabs_only() -> None:
    assert visible("a\nb\tc\r\nd\re\x1b", multiline=True) == "a\nb\tc\nd\\re\\x1b"
    assert visible("a\nb\tc") == r"a\nb\tc"


@given(st.text())
def test_escaping_is_idempotent_and_leaves_nothing_hidden(text: str) -> None:
    shown = visible(text)
    assert visible(shown) == shown
    assert not any(ch in shown for ch in HIDDEN)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids), max_leaves=8))
def test_json_output_is_exact_and_inert(value: object) -> None:
    text = to_json(value)
    assert json.loads(text) == value
    assert not any(ch in text for ch in HIDDEN)
    indented = to_json(value, indent=2)
    assert json.loads(indented) == value
    assert not any(ch in indented for ch in HIDDEN if ch != "\n")


def test_json_escapes_of_astral_and_surrogates() -> None:
    for text in ("\U000e0041", "\udcff", "\x9b", "\u202e"):
        out = json_escapes(json.dumps(text, ensure_ascii=False))
        assert out.isascii() and json.loads(out) == text


def test_table_cells_are_one_line_and_cut_after_escaping() -> None:
    assert table_cell("a\nb") == r"a\nb"
    cell = table_cell("\x1b" * 100)
    assert len(cell) == 40 and cell.endswith("…") and "\x1b" not in cell


@given(st.lists(st.text(), min_size=1, max_size=5))
def test_csv_records_are_exact(cells: list[str]) -> None:
    """Written to a pipe, any text comes back from a CSV reader as it was (a lone CR too)."""
    line = csv_line(cells, to_terminal=False)
    assert list(csv.reader(io.StringIO(line, newline=""))) == [cells]


def test_csv_records_on_a_terminal_are_escaped() -> None:
    line = csv_line(["k\x1b[2J", 'q"\r'], to_terminal=True)
    assert line == 'k\\x1b[2J,"q""\\r"\n'
