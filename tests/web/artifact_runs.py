"""Artifacts with lineage for the dashboard's tests, made through the SDK against the real
daemon: a run ``prep`` logs the dataset ``ds`` (text, CSV, an image, a table, HTML and SVG, a
large text file, in folders), a run ``train`` uses it and logs the model ``net``, which it links
into the portfolio ``registry`` as ``staging``, and a run ``evaluate`` uses the model."""

from __future__ import annotations

import json
import struct
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import trackd

BIG_TEXT = 300 << 10  # more than a text preview shows


def png(width: int = 4, height: int = 3) -> bytes:
    """A small opaque red PNG."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


DATASET = {
    "readme.txt": b"hello lineage\n",
    "data/train.csv": b"a,b\n1,2\n3,4\n",
    "data/deep/notes.md": b"# notes\n",
    "pic.png": png(),
    "page.html": b"<html><script>document.title='owned'</script></html>",
    "drawing.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "results.table.json": json.dumps({"_type": "table", "columns": ["id", "label", "score"],
                                      "data": [[1, "cat", 0.5], [2, "dog", 0.25]]}).encode(),
    "big.txt": b"0123456789abcde\n" * (BIG_TEXT // 16),
}


@dataclass
class Lineage:
    entity: str
    project: str
    prep: str
    train: str
    evaluate: str

    @property
    def page(self) -> str:
        return f"/{quote(self.entity)}/{quote(self.project)}/artifacts"

    @property
    def api(self) -> str:
        return f"/api/v1/artifacts/{quote(self.entity)}/{quote(self.project)}"


def make_lineage(tmp: Path) -> Lineage:
    """The three runs (see the module doc), in a project of their own."""
    project = f"web-art-{uuid.uuid4().hex[:8]}"
    src = tmp / "ds"
    for path, data in DATASET.items():
        (src / path).parent.mkdir(parents=True, exist_ok=True)
        (src / path).write_bytes(data)
    (tmp / "model.txt").write_text("weights\n")
    with trackd.init(project=project, name="prep", job_type="prep") as run:
        art = trackd.Artifact("ds", type="dataset", description="the inputs",
                              metadata={"rows": 2, "source": {"kind": "synthetic", "seed": 7}})
        art.add_dir(str(src))
        run.log_artifact(art, aliases=["raw"]).wait()
        entity, prep = run.entity, run.id
    with trackd.init(project=project, name="train", job_type="train") as run:
        run.use_artifact("ds:latest")
        model = trackd.Artifact("net", type="model")
        model.add_file(str(tmp / "model.txt"))
        run.log_artifact(model).wait()
        run.link_artifact(model, "registry", aliases=["staging"])
        train = run.id
    with trackd.init(project=project, name="evaluate", job_type="eval") as run:
        run.use_artifact("net:latest")
        evaluate = run.id
    return Lineage(entity, project, prep, train, evaluate)
