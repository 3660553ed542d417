"""Console capture: what the training process prints goes into its runs' ``output.log``.

Modes (the ``console`` setting, as W&B names them):

* ``wrap_raw`` (``auto`` and ``wrap`` mean this, as in W&B): the ``write`` methods of
  ``sys.stdout`` and ``sys.stderr`` are wrapped. The user's text is written first, unchanged;
  then the line assembler takes it: ``\\n`` ends a line, a ``\\r`` not followed by ``\\n``
  starts the line over (a progress bar redrawn a thousand times is one line, in its last state).
* ``wrap_emu``: the same hook, through a small terminal emulator (:class:`Screen`): cursor
  moves (``ESC[nA``...), erases (``ESC[K``), backspaces and tabs, so multi-line progress bars
  end up as a terminal shows them. Colour codes are dropped.
* ``redirect``: file descriptors 1 and 2 are pointed at pipes; a thread copies what arrives to
  the original descriptors and into the line assembler. Output of C extensions and child
  processes is captured too.
* ``off``: nothing.

Nothing here waits on the daemon: a write only updates the assembler's lines under a lock. A
thread sends changed lines every ``FLUSH_SECONDS`` as console records through each run's
sender (a line sent again replaces the stored one). At most ``MAX_PENDING_LINES`` finished lines
wait for it; past that the oldest are dropped and a line says how many. Only the process that
installed the capture captures (a forked child writes through untouched).
"""

from __future__ import annotations

import codecs
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from typing import Any

STDOUT, STDERR = 1, 2
#: How often changed lines are sent (a live log, without a record per write).
FLUSH_SECONDS = 0.5
#: Finished lines waiting to be sent: bounds memory when the sender cannot keep up.
MAX_PENDING_LINES = 20_000
#: Characters kept of one line (the daemon takes 64 KiB per line).
MAX_LINE_CHARS = 16_000
#: Lines a cursor may move back up to (wrap_emu): older lines are final.
SCREEN_LINES = 256
#: Lines per console record.
RECORD_LINES = 1000

_CSI = re.compile(r"\x1b\[([0-9;?]*)([@-~])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Lines:
    """Lines of one stream: numbered from 0, each with the time it was first written."""

    def __init__(self) -> None:
        self.started: dict[int, float] = {}
        self.dirty: OrderedDict[int, None] = OrderedDict()
        self.dropped = 0
        self.dropped_at = 0  # the number of the last line dropped (its note takes its place)

    def touch(self, n: int) -> None:
        self.started.setdefault(n, time.time())
        self.dirty[n] = None
        self.dirty.move_to_end(n)
        while len(self.dirty) > MAX_PENDING_LINES:
            old, _ = self.dirty.popitem(last=False)
            self.started.pop(old, None)
            self.dropped += 1
            self.dropped_at = old


class LineAssembler(_Lines):
    """``wrap_raw`` and ``redirect``: ``\\n`` ends a line; ``\\r`` (not before ``\\n``) starts
    it over."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0
        self.text: dict[int, str] = {}
        self._cr = False

    def feed(self, s: str) -> None:
        if "\r" not in s and not self._cr:  # the common case: text and line ends
            n, text = self.n, self.text
            parts = s.split("\n")
            for k, part in enumerate(parts):
                if k:
                    n += 1
                if part or k < len(parts) - 1 or n in text:
                    text[n] = (text.get(n, "") + part)[:MAX_LINE_CHARS]
                    self.touch(n)
            if len(parts) > 1 and not parts[-1]:
                text.pop(n, None)  # the line after a final newline is not written yet
                self.started.pop(n, None)
                self.dirty.pop(n, None)
            self.n = n
            return
        start = 0
        n = self.n
        cur = self.text.get(n, "")
        for m in re.finditer(r"\r\n|\r|\n", s):
            piece = s[start:m.start()]
            if self._cr and piece:
                cur = ""
            self._cr = False
            cur = (cur + piece)[:MAX_LINE_CHARS]
            if m.group() == "\r":
                self._cr = True
            else:
                self.text[n] = cur
                self.touch(n)
                n, cur = n + 1, ""
            start = m.end()
        piece = s[start:]
        if piece:
            if self._cr:
                cur, self._cr = "", False
            cur = (cur + piece)[:MAX_LINE_CHARS]
        if cur or n in self.text:
            self.text[n] = cur
            self.touch(n)
        self.n = n

    def take(self) -> list[tuple[int, float, str]]:
        out = [(n, self.started.get(n, time.time()), self.text.get(n, "")) for n in self.dirty]
        self.dirty.clear()
        for n in [k for k in self.text if k < self.n]:
            del self.text[n]  # finished and sent: only the current line may change again
            self.started.pop(n, None)
        return out


class Screen(_Lines):
    """``wrap_emu``: a terminal without a height limit, of which the last ``SCREEN_LINES``
    lines may still change (cursor up, erase)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[int, list[str]] = {}
        self.row = self.col = 0
        self.top = 0  # the lowest row the cursor may still reach
        self._saved = (0, 0)
        self._pending = ""  # an escape sequence cut between two writes

    def _line(self) -> list[str]:
        return self.rows.setdefault(self.row, [])

    def _put_text(self, text: str) -> None:
        """Printable text at the cursor (the common case, in one step)."""
        line = self._line()
        col = self.col
        if col >= MAX_LINE_CHARS:
            return
        text = text[:MAX_LINE_CHARS - col]
        if col > len(line):
            line.extend(" " * (col - len(line)))
        line[col:col + len(text)] = text
        self.col = col + len(text)
        self.touch(self.row)

    def _down(self, n: int = 1) -> None:
        self.row += n
        if self.row - self.top >= SCREEN_LINES:
            self.top = self.row - SCREEN_LINES + 1

    def _csi(self, params: str, final: str) -> None:
        nums = [int(p) if p.isdigit() else 0 for p in params.lstrip("?").split(";")] or [0]
        n = nums[0] or 1
        if final == "A":
            self.row = max(self.top, self.row - n)
        elif final in "BE":
            self._down(n)
            if final == "E":
                self.col = 0
        elif final == "C":
            self.col = min(MAX_LINE_CHARS, self.col + n)
        elif final == "D":
            self.col = max(0, self.col - n)
        elif final == "F":
            self.row, self.col = max(self.top, self.row - n), 0
        elif final == "G":
            self.col = min(MAX_LINE_CHARS, max(0, n - 1))
        elif final == "K":
            line = self._line()
            mode = nums[0]
            if mode == 0:
                del line[self.col:]
            elif mode == 1:
                line[:self.col + 1] = [" "] * min(len(line), self.col + 1)
            else:
                line.clear()
            self.touch(self.row)
        # colours (m), scrolling regions, screen clears...: nothing to keep in a log

    def feed(self, s: str) -> None:
        s = self._pending + s
        self._pending = ""
        i, end = 0, len(s)
        while i < end:
            ch = s[i]
            if ch >= " " and ch != "\x7f":
                m = _CONTROL.search(s, i)
                stop = m.start() if m else end
                self._put_text(s[i:stop])
                i = stop
                continue
            if ch == "\x1b":
                if i + 1 >= end:
                    self._pending = s[i:]
                    return
                nxt = s[i + 1]
                if nxt == "[":
                    m = _CSI.match(s, i)
                    if m is None:
                        if end - i < 32:
                            self._pending = s[i:]
                            return
                        i += 2
                        continue
                    self._csi(m.group(1), m.group(2))
                    i = m.end()
                    continue
                if nxt == "]":  # OSC: a title, ended by BEL or ESC \\
                    stop = min((j for j in (s.find("\x07", i), s.find("\x1b\\", i)) if j >= 0),
                               default=-1)
                    if stop < 0:
                        if end - i < 512:
                            self._pending = s[i:]
                        return
                    i = stop + (1 if s[stop] == "\x07" else 2)
                    continue
                if nxt == "7":
                    self._saved = (self.row, self.col)
                elif nxt == "8":
                    self.row, self.col = max(self.top, self._saved[0]), self._saved[1]
                elif nxt == "M":
                    self.row = max(self.top, self.row - 1)
                i += 2
                continue
            if ch == "\n":
                self._line()
                self.touch(self.row)
                self._down()
                self.col = 0
            elif ch == "\r":
                self.col = 0
            elif ch == "\b":
                self.col = max(0, self.col - 1)
            elif ch == "\t":
                self.col = min(MAX_LINE_CHARS, (self.col // 8 + 1) * 8)
            i += 1  # other control characters (bell, shifts...) show nothing

    def take(self) -> list[tuple[int, float, str]]:
        out = [(n, self.started.get(n, time.time()), "".join(self.rows.get(n, ())).rstrip())
               for n in self.dirty]
        self.dirty.clear()
        for n in [k for k in self.rows if k < self.top]:
            del self.rows[n]  # out of the cursor's reach: final, and sent
            self.started.pop(n, None)
        return out


class Capture:
    """The process's console capture, shared by its runs (see the module doc)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.pid = os.getpid()
        make = Screen if mode == "wrap_emu" else LineAssembler
        self._streams: dict[int, Any] = {STDOUT: make(), STDERR: make()}
        self._lock = threading.Lock()
        self._senders: list[Any] = []
        self._stop = threading.Event()
        self._undo: list[Any] = []
        self._thread = threading.Thread(target=self._run, name="trackd-console", daemon=True)
        self.active = False

    # -- the user's side: never waits on anything but this lock --------------------------------

    def feed(self, stream: int, text: str) -> None:
        if not self.active or os.getpid() != self.pid:
            return
        with self._lock:
            self._streams[stream].feed(text)

    # -- installing ----------------------------------------------------------------------------

    def install(self) -> None:
        if self.mode == "redirect":
            for fd, stream in ((1, STDOUT), (2, STDERR)):
                self._redirect(fd, stream)
        else:
            for name, stream in (("stdout", STDOUT), ("stderr", STDERR)):
                self._wrap(name, stream)
        self.active = True
        self._thread.start()

    def _wrap(self, name: str, stream: int) -> None:
        target = getattr(sys, name, None)
        if target is None:
            return
        original = target.write
        had_own = "write" in getattr(target, "__dict__", {})
        capture = self

        def write(s: Any) -> Any:
            n = original(s)
            if capture.active and isinstance(s, str):
                try:
                    capture.feed(stream, s)
                except Exception:  # noqa: BLE001 - capture never breaks the user's output
                    pass
            return n

        write._trackd_capture = capture  # type: ignore[attr-defined]
        try:
            target.write = write
        except (AttributeError, TypeError):
            return  # a stream whose write cannot be replaced: not captured

        def undo() -> None:
            if getattr(target, "write", None) is write:
                if had_own:
                    target.write = original
                else:
                    try:
                        del target.write
                    except AttributeError:
                        pass

        self._undo.append(undo)

    def _redirect(self, fd: int, stream: int) -> None:
        for s in (sys.stdout, sys.stderr):
            try:
                s.flush()
            except (AttributeError, OSError, ValueError):
                pass
        try:
            saved = os.dup(fd)
        except OSError:
            return
        r, w = os.pipe()
        os.dup2(w, fd)
        os.close(w)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        capture = self

        def pump() -> None:
            # Runs until every writer of the pipe is gone (children may hold it after finish):
            # what arrives is always passed on, and captured while the capture is active.
            while True:
                try:
                    data = os.read(r, 65536)
                except OSError:
                    break
                if not data:
                    break
                view = memoryview(data)
                while view:
                    try:
                        view = view[os.write(saved, view):]
                    except OSError:
                        break
                if capture.active:
                    try:
                        capture.feed(stream, decoder.decode(data))
                    except Exception:  # noqa: BLE001
                        pass
            os.close(r)

        reader = threading.Thread(target=pump, name=f"trackd-redirect-{fd}", daemon=True)
        reader.start()

        def undo() -> None:
            for s in (sys.stdout, sys.stderr):
                try:
                    s.flush()
                except (AttributeError, OSError, ValueError):
                    pass
            os.dup2(saved, fd)  # fd's pipe end is closed: the reader ends with the last writer
            reader.join(0.5)
            if not reader.is_alive():
                os.close(saved)

        self._undo.append(undo)

    # -- sending -------------------------------------------------------------------------------

    def add(self, sender: Any) -> None:
        with self._lock:
            self._senders.append(sender)

    def remove(self, sender: Any) -> bool:
        """Send what is pending to ``sender`` and stop sending to it; True when it was the
        last run (the capture is then uninstalled)."""
        last = False
        with self._lock:
            if sender not in self._senders:
                return not self._senders
            last = len(self._senders) == 1
        if last:
            # Unhook first (a redirect's reader drains what is still in its pipe meanwhile),
            # then stop capturing.
            for undo in reversed(self._undo):
                try:
                    undo()
                except OSError:
                    pass
            self.active = False
            self._stop.set()
            if self._thread.is_alive():
                self._thread.join(5)
        self._flush()  # what is pending goes to every run still listening
        with self._lock:
            self._senders.remove(sender)
        return last

    def _take(self) -> list[tuple[int, int, float, str]]:
        with self._lock:
            out = []
            for stream, lines in self._streams.items():
                if lines.dropped:
                    note = (f"[trackd: {lines.dropped} line(s) of output were dropped: the "
                            "daemon did not take them fast enough]")
                    out.append((stream, lines.dropped_at, time.time(), note))
                    lines.dropped = 0
                out += [(stream, n, ts, text) for n, ts, text in lines.take()]
            return out

    def _flush(self, senders: list[Any] | None = None) -> None:
        lines = self._take()
        if not lines:
            return
        with self._lock:
            targets = list(self._senders) if senders is None else senders
        for sender in targets:
            try:
                for i in range(0, len(lines), RECORD_LINES):
                    sender.put(("o", lines[i:i + RECORD_LINES]))
            except Exception:  # noqa: BLE001 - a failed run's sender: its lines are lost
                pass

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            self._flush()


_capture: Capture | None = None
_capture_lock = threading.Lock()


def resolve(mode: str) -> str:
    """The mode ``auto`` and ``wrap`` stand for (W&B: ``wrap``, then ``wrap_raw``)."""
    return "wrap_raw" if mode in ("auto", "wrap") else mode


def start(mode: str, sender: Any) -> Capture | None:
    """Capture the console for a run's ``sender`` (one capture per process, shared)."""
    global _capture
    mode = resolve(mode)
    if mode == "off":
        return None
    with _capture_lock:
        if _capture is None or _capture.pid != os.getpid() or not _capture.active:
            _capture = Capture(mode)
            _capture.install()
        _capture.add(sender)
        return _capture


def stop(capture: Capture, sender: Any) -> None:
    """Send the run's last lines and stop capturing for it."""
    global _capture
    with _capture_lock:
        if capture.remove(sender) and _capture is capture:
            _capture = None
