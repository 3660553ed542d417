"""The console log as files: ``output.log`` while it is one part, ``logs/output.NNNN.log`` per
part once it has several (W&B's multipart logs). The text is each stored line's last state,
in output order, one per line."""

from __future__ import annotations

from collections.abc import AsyncIterator

from trackd._shared.run_files import CONSOLE_LOG, CONSOLE_PART, console_part_name
from trackd_daemon.store.base import MetadataStore
from trackd_daemon.store.run_data_models import ConsolePart

#: Lines read from the store per page while rendering.
PAGE_LINES = 2000


def file_names(parts: list[ConsolePart]) -> list[tuple[str, int | None, int]]:
    """``(name, part or None for the whole log, bytes)`` of the log's files."""
    if not parts:
        return []
    if len(parts) == 1:
        return [(CONSOLE_LOG, None, parts[0].bytes)]
    return [(console_part_name(p.part), p.part, p.bytes) for p in parts]


def lookup(name: str, parts: list[ConsolePart]) -> tuple[bool, int | None, int]:
    """Whether ``name`` is a file of the console log: (found, part, bytes)."""
    if name != CONSOLE_LOG and not CONSOLE_PART.match(name):
        return False, None, 0
    for n, part, size in file_names(parts):
        if n == name:
            return True, part, size
    return False, None, 0


async def render(store: MetadataStore, pk: int, part: int | None) -> AsyncIterator[bytes]:
    """The text of the log (or of one part), in pages."""
    offset = 0
    while True:
        lines = await store.read_console(pk, offset, PAGE_LINES, part)
        if not lines:
            return
        yield "".join(ln.text + "\n" for ln in lines).encode("utf-8", "surrogateescape")
        offset += len(lines)
        if len(lines) < PAGE_LINES:
            return
