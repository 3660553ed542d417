"""User data made safe to print on a terminal.

Run names, tags, notes, config keys, metric names, alert texts, file names and the like are
written by whoever made the run — on a shared daemon, another user. Printed raw, an escape
sequence in them can retitle the window, clear the screen, rewrite earlier lines or hide text
(a carriage return or a backspace), and a bidi override or an invisible character can reorder
or hide what a reader sees. Everything the CLI and the SDK print of such data goes through
:func:`visible`, which shows those characters as the escapes a Python literal would use
(``\\x1b``, ``\\u202e``), so that the reader sees they were there and nothing acts on the
terminal. Machine-readable output stays exact instead: :func:`json_escapes` writes the same
characters as JSON ``\\u`` escapes, which every JSON reader turns back into the original.

Which characters: every control (C0, DEL, C1 — among them the 8-bit CSI U+009B), every
format character (zero-width spaces and joiners, bidi embeddings, overrides and isolates, the
byte-order mark, soft hyphens, tag characters), line and paragraph separators, lone surrogates
(which cannot even be encoded for output), and the letters and marks Unicode lists as
ignorable and terminals draw as nothing (the Hangul fillers, U+034F, U+17B4–U+17B5).
Variation selectors are left alone: they pick a glyph for the character before them (emoji
presentation, CJK variants) in ordinary text, and cannot move or hide other text.

Backslashes are not doubled, so a name that really contains the four characters ``\\x1b``
prints the same as one that contains ESC. That keeps Windows paths and regular expressions
readable; neither form can act on the terminal, and the JSON output tells them apart.
Escaping is idempotent: text that went through :func:`visible` comes back unchanged.
"""

from __future__ import annotations

import re
import unicodedata

#: Unicode general categories shown as escapes: controls, format characters, surrogates,
#: line and paragraph separators.
ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

#: Default-ignorable code points that are letters or marks (not format characters), which
#: terminals draw as nothing: a name of Hangul fillers looks empty.
_INVISIBLE = "\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0"
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")

#: The short escapes a reader knows; every other character gets ``\\xNN``/``\\uNNNN``/``\\UNNNNNNNN``.
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def hidden(ch: str) -> bool:
    """True when the character ``ch`` must not reach a terminal as it is."""
    if ch.isprintable():
        return ch in _INVISIBLE
    return unicodedata.category(ch) in ESCAPED_CATEGORIES


def _plain(text: str) -> bool:
    """The fast answer for the usual text: nothing in it needs escaping."""
    return text.isprintable() and _INVISIBLE_RE.search(text) is None


def escape_char(ch: str) -> str:
    """``ch`` as a Python string literal would write it: ``\\n``, ``\\x1b``, ``\\u202e``."""
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str, *, multiline: bool = False) -> str:
    """``text`` with every character that could act on a terminal or hide text shown as an
    escape (see the module doc).

    ``multiline`` keeps line feeds and tabs as they are (a ``\\r\\n`` line end counts as a
    line feed): for a field printed on lines of its own, such as a run's notes in
    ``trackd runs show``. Without it they are escaped too, so that a table row or a one-line
    field stays on one line and its columns stay aligned. A lone carriage return is always
    escaped: it moves back to the start of the line and lets later text cover earlier text.
    """
    if _plain(text):
        return text
    if multiline:
        text = text.replace("\r\n", "\n")
    keep = "\n\t" if multiline else ""
    return "".join(escape_char(ch) if ch not in keep and hidden(ch) else ch for ch in text)


def json_escapes(text: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with the characters
    :func:`visible` escapes written as JSON ``\\u`` escapes (a surrogate pair beyond the
    basic plane). Outside strings JSON text is plain ASCII, so only string contents change,
    and a JSON reader gets the exact original characters back."""
    if _plain(text.replace("\n", " ")):
        return text
    out = []
    for ch in text:
        if ch == "\n" or not hidden(ch):  # a newline here is indentation: strings escape theirs
            out.append(ch)
            continue
        code = ord(ch)
        if code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    return "".join(out)
