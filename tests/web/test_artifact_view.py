"""What the artifact pages show, pure (``web/artifact_view.py``): a folder of a version's files,
how each file is previewed (nothing that could run script is shown inline), text and table
previews, sizes, and alias and tag edits."""

from __future__ import annotations

import json

import pytest

from trackd_daemon.store.artifact_models import Entry
from trackd_daemon.web.artifact_view import (
    TABLE_PREVIEW_ROWS,
    api_path,
    edited,
    folder,
    preview_kind,
    size_text,
    table_preview,
    text_preview,
)


def _e(path: str, size: int = 10, ref: str = "") -> Entry:
    return Entry(path=path, digest="d-" + path, size=size, ref=ref,
                 blob_key="" if ref else "k-" + path)


def test_a_folder_lists_its_subfolders_with_totals_and_its_own_files() -> None:
    entries = [_e("a.txt", 3), _e("data/x.csv", 5), _e("data/deep/y.bin", 7), _e("img/p.png", 1)]
    root = folder(entries, "")
    assert [(f["name"], f["files"], f["size"]) for f in root["folders"]] == [
        ("data", 2, 12), ("img", 1, 1)]
    assert [(f["name"], f["path"], f["digest"]) for f in root["files"]] == [
        ("a.txt", "a.txt", "d-a.txt")]
    data = folder(entries[1:3], "data")
    assert [f["path"] for f in data["folders"]] == ["data/deep"]
    assert [f["name"] for f in data["files"]] == ["x.csv"] and data["dir"] == "data"


def test_what_each_file_previews_as() -> None:
    assert preview_kind(_e("notes.txt")) == "text"
    assert preview_kind(_e("a/config.yaml")) == "text"
    assert preview_kind(_e("pic.PNG")) == "image"
    assert preview_kind(_e("results.table.json")) == "table"
    assert preview_kind(_e("plain.json")) == "text"
    # Script-capable documents are never shown inline.
    for name in ("drawing.svg", "page.html", "page.htm", "doc.xhtml", "weights.bin"):
        assert preview_kind(_e(name)) == "none", name
    assert preview_kind(_e("remote.csv", ref="s3://bucket/remote.csv")) == "reference"


def test_a_text_preview_is_bounded_and_cut_on_a_character() -> None:
    whole = "héllo wörld\n".encode()
    assert text_preview(whole, len(whole)) == {"kind": "text", "text": "héllo wörld\n",
                                               "truncated": False, "size": len(whole)}
    cut = text_preview(whole[:2], 100)  # "h" and half of "é"
    assert cut["text"] == "h" and cut["truncated"]
    assert text_preview(b"\xff\xfeok", 4)["text"] == "\ufffd\ufffdok"


def test_a_table_preview_shows_columns_and_the_first_rows() -> None:
    rows = [[i, f"r{i}", {"_type": "image-file", "path": f"media/{i}.png"}, float("nan")]
            for i in range(TABLE_PREVIEW_ROWS + 3)]
    raw = json.dumps({"_type": "table", "columns": ["id", "name", "img", "score"],
                      "data": rows}).encode()
    got = table_preview(raw, len(raw))
    assert got["columns"] == ["id", "name", "img", "score"]
    assert got["total_rows"] == TABLE_PREVIEW_ROWS + 3 and got["truncated"]
    assert len(got["rows"]) == TABLE_PREVIEW_ROWS
    assert got["rows"][1] == [1, "r1", "<image-file: media/1.png>", "nan"]
    with pytest.raises(ValueError):
        table_preview(b'{"columns": 3}', 14)
    with pytest.raises(ValueError):
        table_preview(b"not json", 8)


def test_sizes_paths_and_edits() -> None:
    assert [size_text(n) for n in (-1, 0, 1023, 1536, 20 << 20, 3 << 40)] == [
        "-", "0 B", "1023 B", "1.5 KiB", "20 MiB", "3.0 TiB"]
    assert api_path("/e/p/artifacts/model/m%20x/v3") == "/api/v1/artifacts/e/p/model/m%20x/v3"
    assert edited(["latest", "best"], ["prod", "best"], ["best"]) == ["latest", "prod", "best"]
    assert edited(["a", "b"], [], ["a", "zzz"]) == ["b"]
