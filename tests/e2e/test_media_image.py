"""``trackd.Image`` against the real daemon: every image of the seed's two examples, every
input W&B takes read back pixel for pixel, W&B's JSON, the errors (nothing logged before a
bad value is lost), copies at log() time, and the same image logged 1,000 times stored
once."""

from __future__ import annotations

import io
import os
import sqlite3
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

import trackd
from tests.seed_examples import run_log_example
from trackd import Api
from trackd.media.base import MemoryOut


def download(run_path: str, name: str, root: Path) -> bytes:
    """A run file fetched as a user would: ``run.file(name).download()``."""
    with Api().run(run_path).file(name).download(root=str(root), replace=True) as f:
        path = f.name
    return Path(path).read_bytes()


def decoded(run_path: str, name: str, root: Path) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(download(run_path, name, root))))


def rows_of(run_path: str) -> list[dict[str, Any]]:
    return list(Api().run(run_path).scan_history())


@pytest.mark.parametrize(("title", "dtype"), [("Image from NumPy", int),
                                              ("Image from PIL", np.uint8)])
def test_the_seed_image_examples_store_every_image(clean_sdk, tmp_path, title, dtype):
    """The seed's examples (test_seed_log_examples runs them too and checks the group's dict):
    every image's file, ``history()`` and the summary."""
    np.random.seed(7)
    run = run_log_example(title)["run"]
    run.finish()

    np.random.seed(7)
    expected = [np.random.randint(low=0, high=256, size=(100, 100, 3), dtype=dtype)
                for _ in range(3)]
    history = Api().run(run.path).history()
    rows = history.to_dict("records") if hasattr(history, "to_dict") else list(history)
    (row,) = rows_of(run.path)
    assert rows[0]["examples"] == row["examples"]
    value = row["examples"]
    for name, pixels in zip(value["filenames"], expected, strict=True):
        assert name.startswith("media/images/examples_0_") and name.endswith(".png")
        assert np.array_equal(decoded(run.path, name, tmp_path), pixels.astype(np.uint8))
    assert Api().run(run.path).summary["examples"]["filenames"] == value["filenames"]


def test_a_single_image_is_w_and_b_s_dict_and_its_bytes(clean_sdk, tmp_path):
    pixels = np.arange(6 * 5 * 3, dtype=np.uint8).reshape(6, 5, 3)
    with trackd.init(project="img") as run:
        run.log({"img": trackd.Image(pixels, caption="c", grouping=3)})
    (row,) = rows_of(run.path)
    img = row["img"]
    data = download(run.path, img["path"], tmp_path)
    import hashlib

    assert img == {"_type": "image-file", "path": img["path"], "format": "png", "width": 5,
                   "height": 6, "caption": "c", "grouping": 3,
                   "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert img["path"] == f"media/images/img_0_{img['sha256'][:20]}.png"
    assert np.array_equal(np.asarray(PILImage.open(io.BytesIO(data))), pixels)


def make_fake_tensor(array: np.ndarray) -> Any:
    """An object shaped as torch's tensors are (its type's module is ``torch``), for a test that
    does not need torch installed."""
    class Tensor:
        requires_grad = True

        def __init__(self, a: np.ndarray) -> None:
            self.a = a

        def detach(self) -> Tensor:
            return Tensor(self.a)

        def cpu(self) -> Tensor:
            return self

        def numpy(self) -> np.ndarray:
            return self.a

    Tensor.__module__ = "torch"
    return Tensor(array)


def test_every_array_form_reads_back_as_w_and_b_scales_it(clean_sdk, tmp_path):
    rng = np.random.default_rng(1)
    u8 = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    unit = rng.random((4, 6))
    signed = rng.uniform(-1, 1, (4, 6, 3))
    wide = rng.uniform(-300, 600, (4, 6))
    rgba = rng.integers(0, 256, (4, 6, 4), dtype=np.uint8)
    binary = (rng.random((4, 6)) > 0.5).astype(np.uint8)
    cases = {
        "hw": (rng.integers(0, 256, (4, 6)).astype(np.uint8), None),
        "hw1": (u8[..., :1], u8[..., 0]),
        "chw": (np.moveaxis(u8, -1, 0), u8),
        "batch_of_one": (u8[None], u8),
        "unit_floats": (unit, (unit * 255).astype(np.uint8)),
        "signed_floats": (signed, (255 * 0.5 * (signed + 1)).astype(np.uint8)),
        "wide_floats": (wide, np.clip(wide, 0, 255).astype(np.uint8)),
        "rgba": (rgba, rgba),
        "zeros_and_ones": (binary, binary * 255),  # W&B scales [0, 1] whatever the dtype
        "bool": (binary.astype(bool), binary * 255),
        "int64": (u8.astype(np.int64), u8),
        "fake_torch_chw": (make_fake_tensor(np.moveaxis(u8, -1, 0).astype(np.float32) / 255),
                           (np.moveaxis(u8, -1, 0).astype(np.float32) / 255 * 255)
                           .astype(np.uint8).transpose(1, 2, 0)),
    }
    with trackd.init(project="img-forms") as run:
        run.log({k: trackd.Image(v) for k, (v, _) in cases.items()})
        run.log({"raw": trackd.Image(np.full((2, 2), 300), normalize=False),
                 "as_l": trackd.Image(u8, mode="L")})
    first, second = rows_of(run.path)
    for key, (given, want) in cases.items():
        want = given if want is None else want
        got = decoded(run.path, first[key]["path"], tmp_path)
        assert np.array_equal(got, want), key
        assert (first[key]["height"], first[key]["width"]) == (4, 6), key
    assert decoded(run.path, second["raw"]["path"], tmp_path).tolist() == [[44, 44], [44, 44]]
    assert decoded(run.path, second["as_l"]["path"], tmp_path).shape == (4, 6)


def test_torch_tensors_when_torch_is_installed(clean_sdk, tmp_path):
    torch = pytest.importorskip("torch")
    chw = torch.rand(3, 5, 7, requires_grad=True)
    u8 = torch.randint(0, 256, (1, 5, 7), dtype=torch.uint8)
    with trackd.init(project="img-torch") as run:
        run.log({"f": trackd.Image(chw), "u8": trackd.Image(u8)})
    (row,) = rows_of(run.path)
    want = (chw.detach().numpy() * 255).astype(np.uint8).transpose(1, 2, 0)
    assert np.array_equal(decoded(run.path, row["f"]["path"], tmp_path), want)
    assert np.array_equal(decoded(run.path, row["u8"]["path"], tmp_path), u8.numpy()[0])
    assert (row["f"]["width"], row["f"]["height"]) == (7, 5)


def test_files_pil_modes_figures_and_file_types(clean_sdk, tmp_path):
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 256, (10, 12, 3), dtype=np.uint8)
    jpeg = tmp_path / "photo.jpg"
    PILImage.fromarray(pixels).save(jpeg, quality=60)
    gif = tmp_path / "anim.GIF"
    PILImage.fromarray(pixels).save(gif)
    unnamed = tmp_path / "upload-7f3a"  # no extension: named for what it holds
    PILImage.fromarray(pixels).save(unnamed, format="JPEG")
    palette = PILImage.fromarray(pixels).convert("P", palette=PILImage.Palette.ADAPTIVE)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.plot([0, 1], [1, 0])
    with trackd.init(project="img-files") as run:
        run.log({"jpeg_file": trackd.Image(str(jpeg)), "gif_file": trackd.Image(gif),
                 "unnamed": trackd.Image(unnamed),
                 "palette": trackd.Image(palette), "figure": trackd.Image(fig),
                 "copy": trackd.Image(trackd.Image(pixels, caption="first"), caption="second")})
        for file_type in ("png", "jpg", "jpeg", "bmp", "gif", "webp"):
            run.log({"typed": trackd.Image(pixels, file_type=file_type)})
    plt.close(fig)
    rows = rows_of(run.path)
    first = rows[0]
    # A file's bytes are stored as they are, in its own format.
    assert download(run.path, first["jpeg_file"]["path"], tmp_path) == jpeg.read_bytes()
    assert first["jpeg_file"]["path"].endswith(".jpg") and first["jpeg_file"]["format"] == "jpg"
    assert (first["jpeg_file"]["width"], first["jpeg_file"]["height"]) == (12, 10)
    assert download(run.path, first["gif_file"]["path"], tmp_path) == gif.read_bytes()
    assert first["gif_file"]["format"] == "gif"
    assert first["unnamed"]["format"] == "jpg" and first["unnamed"]["path"].endswith(".jpg")
    assert download(run.path, first["unnamed"]["path"], tmp_path) == unnamed.read_bytes()
    got = PILImage.open(io.BytesIO(download(run.path, first["palette"]["path"], tmp_path)))
    assert got.mode == "P" and np.array_equal(np.asarray(got.convert("RGB")),
                                              np.asarray(palette.convert("RGB")))
    assert (first["figure"]["width"], first["figure"]["height"]) == (100, 50)
    assert first["copy"]["caption"] == "second"
    assert np.array_equal(decoded(run.path, first["copy"]["path"], tmp_path), pixels)
    for row, file_type in zip(rows[1:], ("png", "jpg", "jpeg", "bmp", "gif", "webp"),
                              strict=True):
        typed = row["typed"]
        assert typed["format"] == file_type and typed["path"].endswith(f".{file_type}")
        got = PILImage.open(io.BytesIO(download(run.path, typed["path"], tmp_path)))
        assert got.format == {"jpg": "JPEG", "jpeg": "JPEG"}.get(file_type, file_type.upper())
        if file_type in ("png", "bmp"):
            assert np.array_equal(np.asarray(got), pixels)


def test_properties_as_w_and_b_has_them(tmp_path):
    pixels = np.random.default_rng(3).integers(0, 256, (8, 9, 4), dtype=np.uint8)
    image = trackd.Image(pixels, caption="cap", file_type="jpg")
    assert (image.width, image.height, image.format, image.caption) == (9, 8, "jpg", "cap")
    assert image._width == 9 and image._height == 8 and image._caption == "cap"
    assert image.mode == "RGBA" and image.image.size == (9, 8)
    assert np.array_equal(np.asarray(image.image), pixels)
    assert image.to_data_array()[0][0] == pixels[0, 0].tolist()
    assert image == trackd.Image(pixels.copy(), caption="cap")
    assert image != trackd.Image(pixels, caption="other")
    assert trackd.data_types.Image is trackd.Image and trackd.Image.MAX_ITEMS == 108
    # JPEG has no alpha: stored as RGB.
    out = MemoryOut()
    json = image._encode(out)
    assert PILImage.open(io.BytesIO(out.files[json["path"]])).mode == "RGB"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` pixels (no pixel data): what a
    decompression bomb looks like before it is decoded."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda p: trackd.Image(np.zeros((2, 3, 5, 5))), ValueError, r"shape \(2, 3, 5, 5\)"),
    (lambda p: trackd.Image(np.zeros((5, 5, 2))), ValueError, r"shape \(5, 5, 2\)"),
    (lambda p: trackd.Image(np.zeros(7)), ValueError, r"shape \(7,\)"),
    (lambda p: trackd.Image(np.array([["a", "b"]])), ValueError, "dtype <U1"),
    (lambda p: trackd.Image(np.zeros((4, 4), complex)), ValueError, "dtype complex128"),
    (lambda p: trackd.Image(str(p / "missing.png")), FileNotFoundError, "missing.png"),
    (lambda p: trackd.Image(p), ValueError, "is not a file"),
    (lambda p: trackd.Image(np.broadcast_to(np.uint8(0), (2, 65501))), ValueError,
     r"shape \(2, 65501\) is too large \(65501x2 pixels\): a side"),
    (lambda p: trackd.Image(np.broadcast_to(np.uint8(0), (13400, 13400))), ValueError,
     r"too large \(13400x13400 pixels\): an image may have at most 178956970"),
    (lambda p: trackd.Image((p / "bomb.png").write_bytes(png_header_only(20000, 20000))
                            and p / "bomb.png"), ValueError, "too large"),
    (lambda p: trackd.Image((p / "text.png").write_text("not an image") and p / "text.png"),
     ValueError, "not an image file"),
    (lambda p: trackd.Image(np.zeros((4, 4)), file_type="tiff"), ValueError,
     "file_type must be one of"),
    (lambda p: trackd.Image(np.zeros((4, 4)), mode="XYZ"), ValueError, "PIL image mode"),
    (lambda p: trackd.Image(np.zeros((0, 4))), ValueError, "is empty"),
    (lambda p: trackd.Image("s3://bucket/a.png"), ValueError, "reference to external storage"),
    (lambda p: trackd.Image(None), TypeError, "cannot make an image from a NoneType"),
    (lambda p: trackd.Image({"a": 1}), TypeError, "cannot make an image from a dict"),
])
def test_bad_images_are_refused_and_lose_nothing(clean_sdk, tmp_path, make, error, match):
    with trackd.init(project="img-bad") as run:
        run.log({"loss": 1.0, "ok": trackd.Image(np.zeros((2, 2), np.uint8))})
        with pytest.raises(error, match=match):
            run.log({"img": make(tmp_path)})
        run.log({"loss": 0.5})
    rows = rows_of(run.path)
    assert [r["loss"] for r in rows] == [1.0, 0.5]
    assert rows[0]["ok"]["_type"] == "image-file" and "img" not in rows[1]
    assert decoded(run.path, rows[0]["ok"]["path"], tmp_path).tolist() == [[0, 0], [0, 0]]


def test_a_list_keeps_w_and_b_s_108_images(clean_sdk, caplog):
    with trackd.init(project="img-many") as run:
        run.log({"many": [trackd.Image(np.full((2, 2), i, np.uint8)) for i in range(110)]})
    (row,) = rows_of(run.path)
    assert row["many"]["count"] == 108 and len(row["many"]["filenames"]) == 108
    assert "Only 108 Image will be uploaded." in caplog.text


def test_what_was_logged_is_a_copy_made_at_log_time(clean_sdk, tmp_path):
    pixels = np.zeros((3, 4, 3), np.uint8)
    source = tmp_path / "src.png"
    PILImage.fromarray(pixels).save(source)
    pil = PILImage.fromarray(pixels)
    with trackd.init(project="img-copy") as run:
        image = trackd.Image(pixels)
        run.log({"array": image, "file": trackd.Image(source), "pil": trackd.Image(pil)})
        pixels[:] = 255  # changed right after log(), before the encoder has run
        source.write_bytes(b"changed")
        pil.paste((255, 255, 255), (0, 0, 4, 3))
        run.log({"after": trackd.Image(pixels)})
    first, second = rows_of(run.path)
    for key in ("array", "file", "pil"):
        assert decoded(run.path, first[key]["path"], tmp_path).max() == 0, key
    assert decoded(run.path, second["after"]["path"], tmp_path).min() == 255


def test_values_staged_to_disk_encode_the_same(tmp_path):
    """The encoder's memory bound stages values to disk (``_spill``); they encode the same."""
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    path = tmp_path / "f.png"
    PILImage.fromarray(pixels).save(path)
    pil = PILImage.fromarray(pixels).convert("P")
    mask = {"m": {"mask_data": rng.integers(0, 3, (6, 7)), "class_labels": {0: "a"}}}
    stage = tmp_path / "stage"
    stage.mkdir()
    for make in (lambda: trackd.Image(pixels, masks=mask), lambda: trackd.Image(path),
                 lambda: trackd.Image(pil)):
        kept, staged = make(), make()
        assert staged._raw_size() >= pixels.size
        staged._spill(str(stage))
        assert len(os.listdir(stage)) >= 1
        a, b = MemoryOut(), MemoryOut()
        assert kept._encode(a) == staged._encode(b) and a.files == b.files
        assert os.listdir(stage) == []  # staged files are removed once encoded
        assert staged.image.size == (7, 6)  # still readable afterwards


def blob_files(root: Path) -> list[Path]:
    """The blob store's blobs (files under their keys; ``tmp/`` holds writes in progress)."""
    blobs = root / "blobs"
    return [p for p in blobs.rglob("*") if p.is_file() and p.relative_to(blobs).parts[0] != "tmp"]


def test_the_same_image_logged_1000_times_stores_its_bytes_once(own_daemon, tmp_path,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = Path(own_daemon.dirs.env["TRACKD_ROOT"])
    pixels = np.random.default_rng(5).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    with trackd.init(project="img-once") as run:
        for _ in range(1000):
            run.log({"same": trackd.Image(pixels)})
    rows = rows_of(run.path)
    assert len(rows) == 1000
    names = {r["same"]["path"] for r in rows}
    assert len(names) == 1000  # W&B's layout: one file name per step...
    assert len({r["same"]["sha256"] for r in rows}) == 1
    png = download(run.path, rows[-1]["same"]["path"], tmp_path)
    # ... and one blob holding the bytes.
    blobs = blob_files(root)
    assert sum(1 for b in blobs if b.stat().st_size == len(png) and b.read_bytes() == png) == 1
    assert sum(b.stat().st_size for b in blobs) < 20 * len(png)
    db = sqlite3.connect(root / "trackd.db")
    try:
        count, keys = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT blob_key) FROM run_files"
            " WHERE name LIKE 'media/images/same_%'").fetchone()
        (stored,) = db.execute("SELECT COUNT(*) FROM blobs WHERE size = ?",
                               (len(png),)).fetchone()
    finally:
        db.close()
    assert (count, keys, stored) == (1000, 1, 1)


def test_made_again_from_what_was_read_back(clean_sdk, tmp_path):
    rng = np.random.default_rng(6)
    pixels = rng.integers(0, 256, (5, 8, 3), dtype=np.uint8)
    mask = rng.integers(0, 3, (5, 8)).astype(np.uint8)
    boxes = {"gt": {"box_data": [{"position": {"minX": 0.1, "maxX": 0.5, "minY": 0.2,
                                               "maxY": 0.9}, "class_id": 1,
                                  "box_caption": "car", "scores": {"p": 0.9}}],
                    "class_labels": {1: "car"}}}
    with trackd.init(project="img-again") as run:
        run.log({"img": trackd.Image(pixels, caption="again", masks={
            "pred": {"mask_data": mask, "class_labels": {0: "bg", 1: "car", 2: "road"}}},
            boxes=boxes)})
    (row,) = rows_of(run.path)
    again = trackd.Image.from_json(row["img"], Api().run(run.path))
    assert again.caption == "again" and (again.width, again.height) == (8, 5)
    assert np.array_equal(np.asarray(again.image), pixels)
    assert np.array_equal(again.masks["pred"].mask_data, mask)
    assert again.boxes["gt"].box_data == boxes["gt"]["box_data"]
    assert again.boxes["gt"].class_labels == {1: "car"}
    # From a directory the files were downloaded into, and from an artifact's MemoryOut.
    for name in (row["img"]["path"], row["img"]["masks"]["pred"]["path"],
                 row["img"]["boxes"]["gt"]["path"]):
        download(run.path, name, tmp_path / "dl")
    assert trackd.Image._from_json(row["img"], tmp_path / "dl") == again
    with pytest.raises(ValueError, match="outside"):
        trackd.Image._from_json({**row["img"], "path": "../secret.png"}, tmp_path / "dl")
    out = MemoryOut()
    json = again._encode(out)
    made = trackd.Image._from_json(json, out)
    assert made.boxes["gt"].box_data == boxes["gt"]["box_data"]
    assert made.classes == trackd.Classes([{"id": 1, "name": "car"}])
    assert np.array_equal(np.asarray(made.image), pixels)
