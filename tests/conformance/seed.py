"""Read the seed reference's elements out of its printable text.

The seed is the printable view of a documentation site: each element starts with a heading line
(``class X``, ``method X.y``, ``property X.y``, ``classmethod X.y``, ``function y``, or the same
in the ``### <kbd>method</kbd> `X.y``` form where the page's markdown survived), followed by its
signature and an ``Args:`` list of bullets. The printable view dropped a few headings; a method
whose heading is gone still has its signature (``link(...)  Artifact | None``), and a function
section's title names its function. What this module cannot see (headings dropped with no
signature) the inventory marks with ``anchor`` words that must appear in its section instead.

Only names, kinds, parameters with their defaults, and Settings field types are read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

#: A parameter with no default.
REQUIRED = "<required>"
#: An argument documented in an ``Args:`` list but absent from the signature.
UNSIGNED = "<not in signature>"

_SECTION = re.compile(r"^(\d+)\.(\d+) - (\S+?)(\(\))?$")
_TOP = re.compile(r"^(\d+) - (.+)$")
_HEADING = re.compile(
    r"^(?:### <kbd>)?(class|method|property|classmethod|function)(?:</kbd>)? `?([\w.]+)`?$")
_SIG_START = re.compile(r"^((?:wandb\.)?[a-z_][\w]*)\((.*)$")
_ARG_BULLET = re.compile(r"^  • (\w+)(?: \((.+?)\))?(?: = [^:]+)?: ")
_BLOCK_END = re.compile(r"^\S")


@dataclass
class SeedElement:
    section: str
    kind: str
    name: str
    #: For callables: ``(parameter, default text)`` in signature order, then arguments the
    #: ``Args:`` list documents that the signature lacks (default ``UNSIGNED``).
    params: tuple[tuple[str, str], ...] = ()
    #: For Settings fields: the documented type.
    type: str = ""
    #: The text lines of the element's part of the seed (for ``anchor`` checks).
    lines: list[str] = field(default_factory=list, repr=False)


def default_path(repo_root: Path) -> Path:
    """``$TRACKD_SEED_REFERENCE``, else ``shared/seed/...`` next to the repository (or next to
    a directory above it, for a git worktree kept in a subdirectory)."""
    env = os.environ.get("TRACKD_SEED_REFERENCE")
    if env:
        return Path(env)
    rel = Path("shared", "seed", "wandb-actions-reference.txt")
    for parent in repo_root.parents:
        if (parent / rel).is_file():
            return parent / rel
    return repo_root.parent / rel


def _split_top(text: str) -> list[str]:
    """Split on commas outside brackets and quotes."""
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _normalize_default(text: str) -> str:
    text = text.strip()
    if text.startswith("<function "):  # "<function name at 0x...>": the address varies
        return "<function " + text.split()[1] + ">"
    return text


def parse_params(inner: str) -> tuple[tuple[str, str], ...]:
    """``name: 'type' = default, ...`` -> ``((name, default or REQUIRED), ...)``."""
    out = []
    for part in _split_top(inner):
        name = re.match(r"[\w*]+", part)
        assert name, part
        # The default follows the last " = " outside the annotation's quotes and brackets.
        default = REQUIRED
        depth, quote = 0, ""
        for i, ch in enumerate(part):
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif depth == 0 and part[i:i + 3] == " = ":
                default = _normalize_default(part[i + 3:])
                break
        out.append((name.group(0), default))
    return tuple(out)


def _read_signature(lines: list[str], i: int) -> tuple[str, str, int] | None:
    """At ``lines[i]``: ``(callable name, text inside the parentheses, next index)`` when a
    signature with a return annotation (``)  Type``) starts there; None for anything else,
    such as a call in an example."""
    m = _SIG_START.match(lines[i])
    if not m:
        return None
    joined, j = m.group(2), i
    while True:
        depth, quote = 1, ""
        for k, ch in enumerate(joined):
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if depth == 0:
                    if not re.match(r"^\s{2}\S", joined[k + 1:]):
                        return None
                    return m.group(1), joined[:k], j + 1
        j += 1
        if j >= len(lines) or j - i > 40:
            return None
        joined += " " + lines[j]


def parse(text: str) -> list[SeedElement]:
    """Every element of the seed, in the seed's order."""
    lines = text.splitlines()
    out: list[SeedElement] = []
    section, part = "", ""
    owner = ""  # the class whose section this is
    current: SeedElement | None = None
    in_args = False
    i = 0
    while i < len(lines):
        line = lines[i]
        top = _TOP.match(line)
        if top:
            part = top.group(2)
            i += 1
            continue
        sec = _SECTION.match(line)
        if sec:
            section = f"{sec.group(1)}.{sec.group(2)} {sec.group(3)}"
            owner = "" if part != "Classes" else sec.group(3)
            current = None
            in_args = False
            if part != "Classes":
                current = SeedElement(section, "function", "wandb." + sec.group(3))
                out.append(current)
            i += 1
            continue
        head = _HEADING.match(line)
        if head:
            kind, name = head.group(1), head.group(2)
            in_args = False
            if kind == "function":
                i += 1
                continue  # the section's title already named it
            if kind == "classmethod":
                kind = "method"
            current = SeedElement(section, kind, name)
            out.append(current)
            i += 1
            continue
        sig = _read_signature(lines, i) if section else None
        if sig is not None:
            name, inner, nxt = sig
            params = parse_params(inner)
            bare = name.removeprefix("wandb.")
            if (current is not None and current.kind in ("method", "function")
                    and current.name.rsplit(".", 1)[-1] == bare and not current.params):
                current.params = params
            elif owner and current is not None:
                # A method whose heading the printable view dropped.
                current = SeedElement(section, "method", f"{owner}.{bare}", params)
                out.append(current)
            i = nxt
            in_args = False
            continue
        if line.strip() == "Args:":
            in_args = True
            i += 1
            continue
        if in_args:
            b = _ARG_BULLET.match(line)
            if b and current is not None:
                if current.kind == "class" and current.name == "Settings":
                    kind_of = (b.group(2) or "").replace("“", '"').replace("”", '"')
                    out.append(SeedElement(section, "setting", f"Settings.{b.group(1)}",
                                           type=kind_of))
                elif current.kind == "class":
                    init = f"{current.name}.__init__"
                    current.params += ((b.group(1), UNSIGNED),)
                    current.lines.append(init)
                elif b.group(1) not in {p for p, _ in current.params}:
                    current.params += ((b.group(1), UNSIGNED),)
            elif line and _BLOCK_END.match(line):
                in_args = False
        if current is not None:
            current.lines.append(line)
        i += 1
    # A class's Args list documents its constructor: fold it into ``__init__``.
    by_name = {e.name: e for e in out}
    for e in out:
        if e.kind == "class" and e.params:
            init = by_name.get(f"{e.name}.__init__")
            if init is not None:
                known = {p for p, _ in init.params}
                init.params += tuple(p for p in e.params if p[0] not in known)
            e.params = ()
    for e in out:
        e.lines = [ln for ln in e.lines if ln]
    return out


def section_text(text: str, section: str) -> str:
    """The text of one ``N.M name`` section."""
    out, inside = [], False
    for line in text.splitlines():
        sec = _SECTION.match(line)
        if sec:
            inside = f"{sec.group(1)}.{sec.group(2)} {sec.group(3)}" == section
            continue
        if inside:
            out.append(line)
    return "\n".join(out)
