"""``trackd.Video`` and ``trackd.Audio`` against the real daemon: the seed's video example
run as written, W&B's JSON read back, the stored files decoded (GIF and MP4/WebM frame
counts, WAV durations and samples), constructor variants and errors (nothing logged before a
bad value is lost)."""

from __future__ import annotations

import io
import sys
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image as PILImage

import trackd
from tests.e2e.refusals import refused_losing_nothing
from tests.seed_examples import run_log_example
from trackd import Api


def _download(run: trackd.Run, path: str) -> bytes:
    """The bytes of one of ``run``'s files, fetched from the daemon."""
    f = Api().run(run.path).file(path).download(root=str(run.dir) + "-dl", replace=True)
    f.close()
    return Path(f.name).read_bytes()


def _gif_frames(data: bytes) -> tuple[int, list[int], tuple[int, int]]:
    with PILImage.open(io.BytesIO(data)) as im:
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
        return im.n_frames, durations, im.size


def _ffmpeg_frames(data: bytes, fmt: str, tmp: Path) -> tuple[int, tuple[int, int]]:
    path = tmp / f"decoded.{fmt}"
    path.write_bytes(data)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    frames = sum(1 for _ in reader)
    return frames, tuple(meta["size"])


def test_the_seed_video_example_stores_a_gif_of_ten_frames_at_250_ms(clean_sdk):
    """The seed's example (test_seed_log_examples runs it too): W&B's dict, every frame's
    duration, the file's size and the summary."""
    run = run_log_example("Video from NumPy")["run"]
    run.finish()

    (row,) = Api().run(run.path).scan_history()
    video = row["video"]
    assert (video["width"], video["height"]) == (100, 100)
    assert video["path"] == f"media/videos/video_0_{video['sha256'][:20]}.gif"
    data = _download(run, video["path"])
    assert len(data) == video["size"]
    assert _gif_frames(data) == (10, [250] * 10, (100, 100))
    assert Api().run(run.path).summary["video"]["path"] == video["path"]


def test_video_formats_grids_lists_and_files(clean_sdk, tmp_path):
    grey = np.zeros((6, 1, 8, 12), dtype=np.uint8)
    grey[:] = 200
    made = trackd.Video(grey, fps=10)
    grey[:] = 0  # what was logged was copied when the Video was made
    batch = np.random.randint(0, 256, (3, 5, 3, 21, 33), dtype=np.uint8)
    gif_file = tmp_path / "clip.gif"
    gif_file.write_bytes(b"")
    PILImage.new("RGB", (7, 5), "red").save(gif_file, save_all=True, append_images=[
        PILImage.new("RGB", (7, 5), "blue")], duration=100)
    with trackd.init(project="video") as run:
        run.log({"grey": made})
        run.log({"mp4": trackd.Video(batch, fps=5, format="mp4", caption="batch")})
        run.log({"webm": trackd.Video(batch[0], format="webm", fps=np.int64(4))})
        run.log({"ogg": trackd.Video(batch[0], format="ogg")})
        run.log({"file": trackd.Video(str(gif_file)), "stream": trackd.Video(
            io.BytesIO(gif_file.read_bytes()), format="gif")})
        run.log({"many": [trackd.Video(batch[0], caption="first"), trackd.Video(batch[1])]})
    rows = list(Api().run(run.path).scan_history())

    grey_json = rows[0]["grey"]
    data = _download(run, grey_json["path"])
    assert _gif_frames(data) == (6, [100] * 6, (12, 8))  # identical frames are all kept
    with PILImage.open(io.BytesIO(data)) as im:
        assert np.asarray(im.convert("L"))[0, 0] == 200

    mp4 = rows[1]["mp4"]  # a batch of 3 is tiled 1×4 (W&B's grid), padded to even sizes
    assert mp4["path"].endswith(".mp4") and mp4["caption"] == "batch"
    assert (mp4["width"], mp4["height"]) == (4 * 33, 22)
    assert _ffmpeg_frames(_download(run, mp4["path"]), "mp4", tmp_path) == (5, (132, 22))
    for fmt in ("webm", "ogg"):
        v = rows[{"webm": 2, "ogg": 3}[fmt]][fmt]
        assert v["path"].endswith(f".{fmt}") and (v["width"], v["height"]) == (34, 22)
        assert _ffmpeg_frames(_download(run, v["path"]), fmt, tmp_path) == (5, (34, 22))

    for key in ("file", "stream"):  # files are stored as they are
        v = rows[4][key]
        assert _download(run, v["path"]) == gif_file.read_bytes()
        assert (v["width"], v["height"]) == (7, 5)

    many = rows[5]["many"]
    assert many["_type"] == "videos" and many["count"] == 2
    assert many["captions"] == ["first", ""]
    assert [v["_type"] for v in many["videos"]] == ["video-file"] * 2
    assert many["videos"][0]["caption"] == "first" and "caption" not in many["videos"][1]
    assert all(_gif_frames(_download(run, v["path"]))[0] == 5 for v in many["videos"])


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: trackd.Video(np.zeros((10, 3, 8), np.uint8)), ValueError, r"\(10, 3, 8\)"),
    (lambda: trackd.Video(np.zeros((2, 10, 5, 8, 8), np.uint8)), ValueError,
     r"\(2, 10, 5, 8, 8\)"),
    (lambda: trackd.Video(np.zeros((2, 3, 8, 8), np.uint8), format="avi"), ValueError,
     "gif, mp4, webm, ogg"),
    (lambda: trackd.Video("clip.mkv"), ValueError, "gif, mp4, webm, ogg"),
    (lambda: trackd.Video("missing.mp4"), FileNotFoundError, "no such file: 'missing.mp4'"),
    (lambda: trackd.Video(np.zeros((2, 3, 8, 8), np.uint8), fps=0), ValueError, "fps"),
    (lambda: trackd.Video([1, 2, 3]), ValueError, "NumPy array"),
])
def test_bad_videos_are_refused_and_lose_nothing(clean_sdk, make, error, match):
    refused_losing_nothing("video-bad", make, error, match)


def test_mp4_without_imageio_ffmpeg_names_the_package(clean_sdk, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # as if it were not installed
    frames = np.zeros((2, 3, 8, 8), np.uint8)
    with pytest.raises(trackd.Error, match='pip install imageio-ffmpeg"'):
        trackd.Video(frames, format="mp4")
    assert trackd.Video(frames)  # GIF needs only Pillow


def test_audio_from_numpy_and_files(clean_sdk, tmp_path):
    import soundfile

    rate = 16000
    tone = np.sin(2 * np.pi * 440 * np.arange(rate // 2) / rate) * 0.5
    stereo = np.stack([tone, -tone], axis=1).astype(np.float32)
    pcm = (np.arange(-400, 400, dtype=np.int16) * 80).reshape(-1, 1)
    wav_file = tmp_path / "clip.wav"
    with wave.open(str(wav_file), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.zeros(12000, np.int16).tobytes())
    flac_file = tmp_path / "clip.flac"
    soundfile.write(flac_file, np.zeros(22050, np.float32), 44100)
    made = trackd.Audio(tone, sample_rate=rate)
    tone[:] = 0  # what was logged was copied when the Audio was made

    with trackd.init(project="audio") as run:
        run.log({"tone": made})
        run.log({"clips": [trackd.Audio(stereo, sample_rate=rate, caption="stereo"),
                           trackd.Audio(pcm, 4000), trackd.Audio(str(wav_file)),
                           trackd.Audio(str(flac_file), caption="flac")]})
    rows = list(Api().run(run.path).scan_history())

    single = rows[0]["tone"]  # as W&B: no sample_rate in a single Audio's JSON
    assert set(single) == {"_type", "path", "sha256", "size", "caption"}
    assert single["_type"] == "audio-file" and single["caption"] is None
    assert single["path"] == f"media/audio/tone_0_{single['sha256'][:20]}.wav"
    with wave.open(io.BytesIO(_download(run, single["path"]))) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (rate, 1, 2)
        assert w.getnframes() / w.getframerate() == 0.5
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    expected = np.sin(2 * np.pi * 440 * np.arange(rate // 2) / rate) * 0.5 * 32767
    assert np.abs(samples - expected).max() <= 1

    clips = rows[1]["clips"]
    assert clips["_type"] == "audio" and clips["count"] == 4
    assert clips["sampleRates"] == [rate, 4000, 8000, 44100]
    assert clips["durations"] == [0.5, 0.2, 1.5, 0.5]
    assert clips["captions"] == ["stereo", "", "", "flac"]
    stored = [_download(run, a["path"]) for a in clips["audio"]]
    with wave.open(io.BytesIO(stored[0])) as w:
        assert w.getnchannels() == 2 and w.getnframes() == rate // 2
    with wave.open(io.BytesIO(stored[1])) as w:
        assert np.array_equal(np.frombuffer(w.readframes(800), "<i2"), pcm[:, 0])
    assert stored[2] == wav_file.read_bytes() and stored[3] == flac_file.read_bytes()
    assert clips["audio"][3]["path"].endswith(".flac")
    for duration, data in zip(clips["durations"], stored, strict=True):
        info = soundfile.info(io.BytesIO(data))
        assert info.frames / info.samplerate == duration


@pytest.mark.parametrize(("make", "match"), [
    (lambda: trackd.Audio(np.zeros(100)), '"sample_rate" is required'),
    (lambda: trackd.Audio("."), "'.' is not a file"),
    (lambda: trackd.Audio(np.zeros(100), sample_rate=0), "positive integer"),
    (lambda: trackd.Audio(np.zeros(100), sample_rate=44.1), "positive integer"),
    (lambda: trackd.Audio(np.zeros((2, 16000)), 16000), r"\(2, 16000\)"),
    (lambda: trackd.Audio(np.zeros((4, 4, 4)), 16000), r"\(4, 4, 4\)"),
    (lambda: trackd.Audio(np.array(["a", "b"]), 16000), "dtype"),
    (lambda: trackd.Audio("missing.wav"), "no such file: 'missing.wav'"),
])
def test_bad_audio_is_refused_and_loses_nothing(clean_sdk, make, match):
    refused_losing_nothing("audio-bad", make, (ValueError, FileNotFoundError), match)
