"""Animated GIFs that keep every frame, made with Pillow.

Pillow's own animated GIF writer folds a run of identical frames into one longer frame, so a
video's stored frame count would depend on its content. Here Pillow encodes each frame as a
GIF of its own (its palette and LZW data), and :func:`animated_gif` joins them: one logical
screen, a looping (NETSCAPE2.0) extension, then each frame with its delay and its palette
as a local colour table.
"""

from __future__ import annotations

import io
import struct
from typing import Any

_LOOP_FOREVER = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"


def animated_gif(frames: Any, delay_ms: int) -> bytes:
    """``frames`` (PIL images of one size) as a looping GIF showing each for ``delay_ms``
    (GIF counts in hundredths of a second)."""
    width, height = frames[0].size
    delay = max(1, round(delay_ms / 10))
    parts = []
    for frame in frames:
        buf = io.BytesIO()
        frame.save(buf, format="GIF")
        parts.append(_frame_parts(buf.getvalue()))
    # Frames with transparent pixels are cleared before the next is drawn (disposal 2), so
    # no frame shows through another's holes; opaque ones are simply drawn over (1).
    disposal = 2 if any(transparency is not None for transparency, _ in parts) else 1
    out = [b"GIF89a", struct.pack("<HHBBB", width, height, 0x70, 0, 0), _LOOP_FOREVER]
    for transparency, image in parts:
        out.append(struct.pack("<BBBBHBB", 0x21, 0xF9, 4,
                               (disposal << 2) | (transparency is not None), delay,
                               transparency or 0, 0))
        out.append(image)
    out.append(b"\x3b")
    return b"".join(out)


def _frame_parts(gif: bytes) -> tuple[int | None, bytes]:
    """The one image of the GIF ``gif`` ready for an animation: its transparent index (if
    any), and its descriptor with a local colour table followed by its LZW data."""
    packed = gif[10]
    pos = 13
    table = b""
    if packed & 0x80:  # the global colour table becomes the frame's local one
        size = 3 << ((packed & 7) + 1)
        table, table_bits = gif[pos:pos + size], packed & 7
        pos += size
    transparency: int | None = None
    while True:
        block = gif[pos]
        if block == 0x21:  # an extension: keep only a graphic control's transparency
            label = gif[pos + 1]
            if label == 0xF9 and gif[pos + 3] & 1:
                transparency = gif[pos + 6]
            pos = _skip_sub_blocks(gif, pos + 2)
        elif block == 0x2C:
            break
        else:
            raise ValueError(f"unexpected GIF block 0x{block:02x} at byte {pos}")
    left, top, w, h, image_packed = struct.unpack_from("<HHHHB", gif, pos + 1)
    pos += 10
    if image_packed & 0x80:  # a local table of its own wins
        size = 3 << ((image_packed & 7) + 1)
        table, table_bits = gif[pos:pos + size], image_packed & 7
        pos += size
    if not table:
        raise ValueError("a GIF frame without a colour table")
    end = _skip_sub_blocks(gif, pos + 1)  # the LZW minimum code size, then the data
    descriptor = struct.pack("<BHHHHB", 0x2C, left, top, w, h,
                             0x80 | (image_packed & 0x40) | table_bits)
    return transparency, descriptor + table + gif[pos:end]


def _skip_sub_blocks(gif: bytes, pos: int) -> int:
    """The position after the data sub-blocks starting at ``pos`` (and their terminator)."""
    while gif[pos]:
        pos += gif[pos] + 1
    return pos + 1
