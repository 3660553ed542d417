"""``trackd.Video``: frames logged as a GIF, MP4, WebM or Ogg video in the run's media.

The constructor checks the frames and keeps a copy; the video is encoded later on the run's
media encoder (:mod:`trackd.media.pipeline`): GIFs with Pillow, the others with ffmpeg
(``imageio-ffmpeg``, in the ``media`` extra). A file (or stream) is stored as it is.
"""

from __future__ import annotations

import io
import logging
import math
import numbers
import os
from collections.abc import Sequence
from typing import Any, ClassVar

from trackd.media.base import Media, MediaOut
from trackd.media.gif import animated_gif
from trackd.media.inputs import file_path, read_file, read_stream, require, to_numpy
from trackd.media.sources import read_source
from trackd.media.staging import Held

log = logging.getLogger("trackd")

#: The formats a Video is stored in (W&B's ``Video.EXTS``).
EXTS = ("gif", "mp4", "webm", "ogg")
#: ffmpeg's encoder for each format but GIF (all in imageio-ffmpeg's ffmpeg build).
_CODECS = {"mp4": "libx264", "webm": "libvpx", "ogg": "libtheora"}
DEFAULT_FPS = 4


class Video(Media):
    """A video from a NumPy array (or tensor) of uint8 frames, axes (time, channel, height,
    width) or (batch, time, channel, height, width) with 1, 3 or 4 channels (a batch is
    tiled into a grid, as W&B does; an alpha channel is dropped), encoded at ``fps``
    frames a second (default 4) as ``format`` (gif, the default, mp4, webm or ogg; every
    frame is kept); or a video file, a path or a file object, stored as it is (its format
    is its extension, or ``format`` for a stream).

    ``width`` and ``height`` are those of the stored frames (None for a file whose size
    could not be read).

    :raises ValueError: a format that is not one of gif, mp4, webm, ogg; an array whose
        shape is not a video's (naming it); a directory; ``fps`` not positive.
    :raises FileNotFoundError: no file at the path given.
    :raises trackd.errors.Error: mp4, webm or ogg from frames without imageio-ffmpeg.
    """

    _log_type: ClassVar[str] = "video-file"
    _list_type: ClassVar[str | None] = "videos"
    EXTS: ClassVar[tuple[str, ...]] = EXTS

    def __init__(self, data_or_path: Any, caption: str | None = None,
                 fps: int | float | None = None, format: str | None = None) -> None:  # noqa: A002
        self.caption = caption
        self.width: int | None = None
        self.height: int | None = None
        self._frames: Held | None = None
        self._file: Held | None = None
        if fps is not None and (isinstance(fps, bool) or not isinstance(fps, numbers.Real)
                                or not 0 < fps < math.inf):
            raise ValueError(f"Video: fps must be a positive number, got {fps!r}")
        self.fps = float(fps) if fps is not None else DEFAULT_FPS
        path = file_path(data_or_path)
        if fps is not None and (path is not None or hasattr(data_or_path, "read")):
            log.warning("trackd: `fps` does not change the frame rate of a video given as a "
                        "file or stream")
        if path is not None:
            ext = os.path.splitext(path)[1][1:].lower()
            if ext not in EXTS:
                raise ValueError(f"Video: {path!r} is not a video file: trackd.Video accepts "
                                 f"{', '.join(EXTS)} formats")
            self.format = ext
            self._file = Held(read_file(path, "Video"))
            return
        self.format = _check_format(format or "gif")
        if hasattr(data_or_path, "read"):
            self._file = Held(read_stream(data_or_path))
            return
        frames = to_numpy(data_or_path)
        if frames is None:
            raise ValueError("Video: give a file path, a file object or frames as a NumPy "
                             f"array (got {type(data_or_path).__name__})")
        if self.format != "gif":
            require("imageio_ffmpeg", "imageio-ffmpeg",
                    f"trackd.Video in {self.format} format from frames")
        copy = _copy_frames(frames)
        batch, _, _, h, w = _as_batch(copy.shape)
        rows, cols = _grid(batch)
        self._frames = Held(copy)
        self.height, self.width = rows * h, cols * w
        if self.format != "gif":  # the encoders want even sizes: the frames are padded
            self.height, self.width = _even(self.height), _even(self.width)

    def _held(self) -> Sequence[Held]:
        return [held for held in (self._frames, self._file) if held is not None]

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        if self._file is not None:
            data = bytes(self._file.take())
            if self.width is None:
                self.width, self.height = _probe_size(data, self.format)
        else:
            assert self._frames is not None
            tiles = _tile(self._frames.take())
            data = _gif(tiles, self.fps) if self.format == "gif" else \
                _ffmpeg(tiles, self.fps, self.format)
        json: dict[str, Any] = {"_type": self._log_type,
                                **out.put("videos", self.format, data)}
        if self.width is not None:
            json["width"], json["height"] = self.width, self.height
        if self.caption:
            json["caption"] = self.caption
        return json

    @classmethod
    def _encode_list(cls, items: Sequence[Media], out: MediaOut) -> Any:
        videos = [item._encode(out) for item in items]
        captions = [getattr(item, "caption", None) for item in items]
        return {"_type": cls._list_type, "count": len(videos), "videos": videos,
                "captions": ["" if c is None else c for c in captions]
                if any(c is not None for c in captions) else False}

    @classmethod
    def get_media_subdir(cls) -> str:
        """Where a run keeps video files (W&B's layout)."""
        return "media/videos"

    @classmethod
    def _from_json(cls, json: dict[str, Any], source: Any) -> Video:
        """The Video again from its JSON dict as read back, its file read through ``source``
        (see :func:`~trackd.media.sources.read_source`)."""
        data = read_source(source, json["path"])
        video = cls(io.BytesIO(data), caption=json.get("caption"),
                    format=os.path.splitext(json["path"])[1][1:])
        video.width, video.height = json.get("width"), json.get("height")
        return video

    def __repr__(self) -> str:
        size = f" {self.width}x{self.height}" if self.width is not None else ""
        return f"<trackd.Video {self.format}{size}>"


def _check_format(fmt: Any) -> str:
    if not isinstance(fmt, str) or fmt.lower() not in EXTS:
        raise ValueError(f"Video: format {fmt!r} is not supported: trackd.Video accepts "
                         f"{', '.join(EXTS)} formats")
    return fmt.lower()


def _as_batch(shape: tuple[int, ...]) -> tuple[int, int, int, int, int]:
    b, t, c, h, w = (1, *shape) if len(shape) == 4 else shape
    return b, t, c, h, w


def _copy_frames(frames: Any) -> Any:
    """A private uint8 copy of ``frames``, checked to be (T, C, H, W) or (B, T, C, H, W)."""
    import numpy as np

    if frames.ndim not in (4, 5) or frames.shape[-3] not in (1, 3, 4) \
            or 0 in frames.shape:
        raise ValueError(f"Video: an array of shape {frames.shape} is not a video: give "
                         "(time, channel, height, width) or (batch, time, channel, height, "
                         "width) frames with 1, 3 or 4 channels")
    if frames.dtype.kind not in "uifb":
        raise ValueError(f"Video: frames of dtype {frames.dtype} are not pixels (give uint8)")
    if frames.dtype != np.uint8:
        log.warning("trackd: converting video data of dtype %s to uint8", frames.dtype)
        return frames.astype(np.uint8)
    return np.array(frames, copy=True)


def _grid(batch: int) -> tuple[int, int]:
    """Rows and columns of the grid a batch of ``batch`` videos is tiled into (W&B's: the
    batch padded to a power of two, rows the largest power of two not above its root)."""
    padded = batch if batch & (batch - 1) == 0 else 1 << batch.bit_length()
    rows = 1 << ((batch.bit_length() - 1) // 2)
    return rows, padded // rows


def _even(n: int) -> int:
    return n + (n & 1)


def _tile(frames: Any) -> Any:
    """(T, H', W', C) frames: a batch laid out in its grid, empty cells black."""
    import numpy as np

    if frames.ndim == 4:
        return np.ascontiguousarray(frames.transpose(0, 2, 3, 1))
    b, t, c, h, w = frames.shape
    rows, cols = _grid(b)
    if rows * cols > b:
        frames = np.concatenate([frames, np.zeros((rows * cols - b, t, c, h, w), np.uint8)])
    grid = frames.reshape(rows, cols, t, c, h, w).transpose(2, 0, 4, 1, 5, 3)
    return np.ascontiguousarray(grid.reshape(t, rows * h, cols * w, c))


def _gif(frames: Any, fps: float) -> bytes:
    """``frames`` as a looping GIF, each frame shown 1/fps s (every frame kept, identical
    ones too: the frame count is the video's)."""
    import numpy as np
    from PIL import Image as PILImage

    if frames.shape[-1] == 1:
        images = [PILImage.fromarray(f[..., 0], "L") for f in frames]
    else:  # as in the other formats, an alpha channel is dropped
        images = [PILImage.fromarray(np.ascontiguousarray(f[..., :3]), "RGB") for f in frames]
    return animated_gif(images, round(1000 / fps))


def _ffmpeg(frames: Any, fps: float, fmt: str) -> bytes:
    """``frames`` encoded by ffmpeg (imageio-ffmpeg's build) as ``fmt``, in yuv420p."""
    import tempfile

    import imageio_ffmpeg
    import numpy as np

    t, h, w, c = frames.shape
    if c == 1:
        frames = np.repeat(frames, 3, axis=-1)
    elif c == 4:
        frames = frames[..., :3]
    if h & 1 or w & 1:  # 4:2:0 chroma needs even sizes: pad with black
        frames = np.pad(frames, ((0, 0), (0, h & 1), (0, w & 1), (0, 0)))
    with tempfile.TemporaryDirectory(prefix="trackd-video-") as tmp:
        path = os.path.join(tmp, f"video.{fmt}")
        writer = imageio_ffmpeg.write_frames(
            path, (frames.shape[2], frames.shape[1]), fps=fps, codec=_CODECS[fmt],
            pix_fmt_in="rgb24", pix_fmt_out="yuv420p", macro_block_size=1, quality=None,
            ffmpeg_log_level="error")
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        with open(path, "rb") as f:
            return f.read()


def _probe_size(data: bytes, fmt: str) -> tuple[int | None, int | None]:
    """Width and height of a stored video file, where Pillow (GIF) or imageio-ffmpeg can
    read them; (None, None) otherwise."""
    import tempfile

    try:
        if fmt == "gif":
            from PIL import Image as PILImage

            with PILImage.open(io.BytesIO(data)) as im:
                return im.width, im.height
        import imageio_ffmpeg

        with tempfile.TemporaryDirectory(prefix="trackd-video-") as tmp:
            path = os.path.join(tmp, f"video.{fmt}")
            with open(path, "wb") as f:
                f.write(data)
            reader = imageio_ffmpeg.read_frames(path)
            meta = next(reader)
            reader.close()
            w, h = meta["size"]
            return int(w), int(h)
    except Exception as exc:  # noqa: BLE001 - the size is a nicety; the file is stored anyway
        log.debug("trackd: could not read the size of a %s video: %s", fmt, exc)
        return None, None
