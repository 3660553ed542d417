"""``trackd.Audio``: a sound logged as a WAV file (or the audio file given) in the run's media.

Samples are copied when the Audio is made and written as 16-bit PCM WAV on the run's media
encoder with the standard library's ``wave`` (no soundfile needed). A file is stored as it
is; its duration and sample rate are read from it (WAV by ``wave``, other formats by
``soundfile`` where it is installed).
"""

from __future__ import annotations

import io
import logging
import numbers
import os
from collections.abc import Sequence
from typing import Any, ClassVar

from trackd.media.base import Media, MediaOut
from trackd.media.inputs import file_path, read_file, to_numpy
from trackd.media.sources import read_source
from trackd.media.staging import Held

log = logging.getLogger("trackd")

#: Channels an array may have: more is taken for a (channels, samples) array given the wrong
#: way round, which would make a WAV of thousands of channels.
MAX_CHANNELS = 64


class Audio(Media):
    """A sound from a NumPy array (or tensor) of samples, ``(samples,)`` for mono or
    ``(samples, channels)``, with its ``sample_rate`` in Hz (floats in [-1, 1], or integer
    PCM), stored as WAV; or an audio file (a path), stored as it is.

    ``duration`` (seconds) and ``sample_rate`` are known at once for samples; for a file they
    are read when it is stored (None where its format cannot be read).

    :raises ValueError: samples without ``sample_rate``; a ``sample_rate`` that is not a
        positive integer; an array whose shape or dtype is not audio's (naming it); a
        directory.
    :raises FileNotFoundError: no file at the path given.
    """

    _log_type: ClassVar[str] = "audio-file"
    _list_type: ClassVar[str | None] = "audio"

    def __init__(self, data_or_path: Any, sample_rate: int | None = None,
                 caption: str | None = None) -> None:
        self.caption = caption
        self.sample_rate = sample_rate
        self.duration: float | None = None
        self._samples: Held | None = None
        self._file: Held | None = None
        path = file_path(data_or_path)
        if path is not None:
            self._file = Held(read_file(path, "Audio"))
            self.format = os.path.splitext(path)[1][1:].lower() or "wav"
            return
        samples = to_numpy(data_or_path)
        if samples is None:
            raise ValueError("Audio: give a file path or samples as a NumPy array (got "
                             f"{type(data_or_path).__name__})")
        if sample_rate is None:
            raise ValueError('Argument "sample_rate" is required when instantiating '
                             "trackd.Audio with raw data.")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Integral) \
                or not 0 < sample_rate < 2**31:
            raise ValueError(f"Audio: sample_rate must be a positive integer (Hz), got "
                             f"{sample_rate!r}")
        self.sample_rate = int(sample_rate)
        self.format = "wav"
        copy = _copy_samples(samples)
        self.duration = copy.shape[0] / float(self.sample_rate)
        self._samples = Held(copy)

    def _held(self) -> Sequence[Held]:
        return [held for held in (self._samples, self._file) if held is not None]

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        if self._samples is not None:
            data = _wav(self._samples.take(), int(self.sample_rate or 0))
        else:
            assert self._file is not None
            data = bytes(self._file.take())
            if self.duration is None:
                self.duration, rate = _probe(data, self.format)
                self.sample_rate = self.sample_rate or rate
        return {"_type": self._log_type, **out.put("audio", self.format, data),
                "caption": self.caption}

    @classmethod
    def _encode_list(cls, items: Sequence[Media], out: MediaOut) -> Any:
        audio = [item._encode(out) for item in items]
        json: dict[str, Any] = {
            "_type": cls._list_type, "count": len(audio), "audio": audio,
            "sampleRates": [getattr(item, "sample_rate", None) for item in items],
            "durations": [getattr(item, "duration", None) for item in items],
        }
        captions = [getattr(item, "caption", None) for item in items]
        if any(c is not None for c in captions):
            json["captions"] = ["" if c is None else c for c in captions]
        return json

    @classmethod
    def get_media_subdir(cls) -> str:
        """Where a run keeps audio files (W&B's layout)."""
        return "media/audio"

    @classmethod
    def _from_json(cls, json: dict[str, Any], source: Any) -> Audio:
        """The Audio again from its JSON dict as read back (its duration and sample rate
        read from the file), its file read through ``source`` (see
        :func:`~trackd.media.sources.read_source`)."""
        data = read_source(source, json["path"])
        audio = cls.__new__(cls)
        audio.caption, audio._samples, audio._file = json.get("caption"), None, Held(data)
        audio.format = os.path.splitext(json["path"])[1][1:].lower() or "wav"
        audio.duration, audio.sample_rate = _probe(data, audio.format)
        return audio

    def __repr__(self) -> str:
        rate = f" {self.sample_rate} Hz" if self.sample_rate else ""
        return f"<trackd.Audio {self.format}{rate}>"


def _copy_samples(samples: Any) -> Any:
    """A private copy of ``samples`` as (samples, channels)."""
    import numpy as np

    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2 or samples.shape[0] == 0 or not 1 <= samples.shape[1] <= MAX_CHANNELS:
        raise ValueError(f"Audio: an array of shape {samples.shape} is not audio: give "
                         f"(samples,) or (samples, channels) with 1 to {MAX_CHANNELS} channels")
    if samples.dtype.kind not in "fiu":
        raise ValueError(f"Audio: samples of dtype {samples.dtype} are not audio (give floats "
                         "in [-1, 1] or integer PCM)")
    return np.array(samples, copy=True)


def _pcm16(samples: Any) -> Any:
    """``samples`` as little-endian int16 PCM: floats clipped to [-1, 1], integers rescaled
    from their type's range."""
    import numpy as np

    if samples.dtype.kind == "f":
        return (np.clip(np.nan_to_num(samples), -1.0, 1.0) * 32767).astype("<i2")
    info = np.iinfo(samples.dtype)
    if samples.dtype.kind == "u":  # unsigned PCM is centred on its midpoint
        wide = samples.astype(np.int64) - (info.max + 1) // 2
        bits = info.bits
    else:
        wide, bits = samples.astype(np.int64), info.bits
    shift = bits - 16
    return (wide >> shift if shift >= 0 else wide << -shift).astype("<i2")


def _wav(samples: Any, sample_rate: int) -> bytes:
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(_pcm16(samples).tobytes())
    return buf.getvalue()


def _probe(data: bytes, fmt: str) -> tuple[float | None, int | None]:
    """Duration (seconds) and sample rate of an audio file's bytes, or None where they
    cannot be read (a format neither ``wave`` nor an installed soundfile reads)."""
    import wave

    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            rate = w.getframerate()
            return w.getnframes() / float(rate), rate
    except (wave.Error, EOFError):
        pass
    try:
        import soundfile

        info = soundfile.info(io.BytesIO(data))
        return float(info.frames) / info.samplerate, int(info.samplerate)
    except ImportError:
        log.debug("trackd: soundfile is not installed: no duration for a %s file", fmt)
    except Exception as exc:  # noqa: BLE001 - the duration is a nicety; the file is stored
        log.debug("trackd: could not read a %s audio file's duration: %s", fmt, exc)
    return None, None
