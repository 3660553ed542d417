"""The console line assembler and terminal emulator, and console record validation."""

from __future__ import annotations

import pytest

from trackd._run.console import MAX_LINE_CHARS, MAX_PENDING_LINES, LineAssembler, Screen
from trackd.v1 import record_pb2
from trackd_daemon.errors import InvalidRecordError
from trackd_daemon.records import Console, decode_record


def _texts(lines: list[tuple[int, float, str]]) -> list[tuple[int, str]]:
    return [(n, text) for n, _, text in lines]


def test_raw_lines_keep_the_last_state_of_a_carriage_return_line() -> None:
    a = LineAssembler()
    for chunk in ["epoch 1\n", "\r  0%|", "\r 50%|#", "\r100%|##|", "\n", "crlf\r\n", "par", "tial"]:
        a.feed(chunk)
    assert _texts(a.take()) == [(0, "epoch 1"), (1, "100%|##|"), (2, "crlf"), (3, "partial")]
    a.feed(" more\nnext")  # the open line grows; a sent line is sent again with its new state
    assert _texts(a.take()) == [(3, "partial more"), (4, "next")]
    a.feed("\rredrawn")
    assert _texts(a.take()) == [(4, "redrawn")]
    assert a.take() == []


def test_a_carriage_return_split_from_its_newline_is_a_line_end() -> None:
    a = LineAssembler()
    a.feed("windows\r")
    a.feed("\nnext\n")
    assert _texts(a.take()) == [(0, "windows"), (1, "next")]


def test_lines_are_bounded() -> None:
    a = LineAssembler()
    a.feed("x" * (MAX_LINE_CHARS + 500) + "\n")
    assert len(a.take()[0][2]) == MAX_LINE_CHARS
    a.feed("y\n" * (MAX_PENDING_LINES + 10))
    taken = a.take()
    assert len(taken) == MAX_PENDING_LINES and a.dropped == 10


def test_the_emulator_applies_cursor_moves_erases_and_drops_colours() -> None:
    s = Screen()
    s.feed("bar1   0%\nbar2   0%\n")
    s.feed("\x1b[2A\rbar1 100%\x1b[K\n\x1b[32mbar2\x1b[0m 100%\n")
    s.feed("\tx\x08y\x1b]0;title\x07!\n")
    s.feed("cut \x1b[")  # an escape sequence split between writes
    s.feed("31mend\n")
    assert _texts(s.take()) == [(0, "bar1 100%"), (1, "bar2 100%"), (2, "        y!"),
                                (3, "cut end")]


def test_the_emulator_cannot_rewrite_lines_out_of_reach() -> None:
    s = Screen()
    s.feed("first\n" + "\n" * 300)
    s.take()
    s.feed("\x1b[999Aover")  # the cursor stops at the oldest line still on screen
    (n, _, text), = s.take()
    assert n > 0 and text == "over"


def test_console_records_are_validated() -> None:
    rec = record_pb2.Record(seq=3)
    rec.console.lines.add(stream=2, line=5, timestamp=1.5, text="ok")
    assert decode_record(rec) == Console(3, [(2, 5, 1.5, "ok")])
    big = record_pb2.Record(seq=1)
    big.console.lines.add(stream=1, line=0, text="x" * (65 << 10))
    with pytest.raises(InvalidRecordError, match="console line is at most 64 KiB"):
        decode_record(big)
    bad = record_pb2.Record(seq=1)
    bad.console.lines.add(stream=7, line=0, text="x")
    with pytest.raises(InvalidRecordError, match="unknown console stream 7"):
        decode_record(bad)
    many = record_pb2.Record(seq=1)
    for i in range(1001):
        many.console.lines.add(stream=1, line=i, text="x")
    with pytest.raises(InvalidRecordError, match="at most 1000 per record"):
        decode_record(many)
