"""``trackd.Object3D`` and ``trackd.Html`` against the real daemon: the seed's 3D example run
as written (the stored .obj/.gltf/.glb bytes equal the input files), point clouds read back
from their ``pts.json``, HTML stored with and without the injected head, constructor
variants and errors (nothing logged before a bad value is lost)."""

from __future__ import annotations

import base64
import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest

import trackd
from tests.e2e.refusals import refused_losing_nothing
from tests.seed_examples import run_log_example
from trackd import Api

_TRIANGLE = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype="<f4")
_GLTF = {
    "asset": {"version": "2.0"},
    "scene": 0, "scenes": [{"nodes": [0]}], "nodes": [{"mesh": 0}],
    "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
    "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                   "min": [0, 0, 0], "max": [1, 1, 0]}],
    "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36}],
}


def _write_samples(where: Path) -> dict[str, bytes]:
    """A one-triangle mesh as sample.obj, sample.gltf (buffer inline) and sample.glb."""
    obj = b"# one triangle\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
    data_uri = "data:application/octet-stream;base64," + base64.b64encode(
        _TRIANGLE.tobytes()).decode()
    gltf = json.dumps({**_GLTF, "buffers": [{"byteLength": 36, "uri": data_uri}]}).encode()
    body = json.dumps({**_GLTF, "buffers": [{"byteLength": 36}]}).encode()
    body += b" " * (-len(body) % 4)
    chunks = struct.pack("<II", len(body), 0x4E4F534A) + body + struct.pack(
        "<II", 36, 0x004E4942) + _TRIANGLE.tobytes()
    glb = b"glTF" + struct.pack("<II", 2, 12 + len(chunks)) + chunks
    files = {"sample.obj": obj, "sample.gltf": gltf, "sample.glb": glb}
    for name, data in files.items():
        (where / name).write_bytes(data)
    return files


def _download(run: trackd.Run, path: str) -> bytes:
    f = Api().run(run.path).file(path).download(root=str(run.dir) + "-dl", replace=True)
    f.close()
    return Path(f.name).read_bytes()


def test_the_seed_3d_example_stores_the_files_as_they_are(clean_sdk, tmp_path):
    """The seed's example on a real mesh (test_seed_log_examples runs it too, and checks the
    stored bytes): W&B's group dict and each object's dict."""
    samples = _write_samples(tmp_path)  # clean_sdk runs the test in tmp_path
    run = run_log_example("3D Object")["run"]
    run.finish()

    (row,) = Api().run(run.path).scan_history()
    group = row["generated_samples"]
    objects = group["objects"]
    assert [o["_type"] for o in objects] == ["object3D-file"] * 3
    assert group["filenames"] == [o["path"].removeprefix("media/object3D/") for o in objects]
    for o, data in zip(objects, samples.values(), strict=True):
        assert o["path"].startswith("media/object3D/generated_samples_0_")
        assert _download(run, o["path"]) == data and o["size"] == len(data)


def test_point_clouds_and_scenes_read_back_from_pts_json(clean_sdk, tmp_path):
    xyz = np.random.uniform(-5, 5, (50, 3))
    categories = np.hstack([xyz, np.random.randint(1, 15, (50, 1))])
    colours = np.hstack([xyz, np.random.randint(0, 256, (50, 3))])
    made = trackd.Object3D(xyz, caption="cloud")
    xyz_logged = xyz.copy()
    xyz[:] = 0  # what was logged was copied when the Object3D was made
    box = trackd.box3d(center=(1, 2, 3), size=(2, 4, 6), orientation=(0, 0, 0, 1),
                       color=(255, 0, 0), label="car", score=0.9)
    scene = trackd.Object3D.from_point_cloud(
        points=colours, boxes=[box], vectors=[{"start": [0, 0, 0], "end": [1, 1, 1]}])
    stl = tmp_path / "part.stl"
    stl.write_bytes(b"solid t\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\n"
                    b"vertex 0 1 0\nendloop\nendfacet\nendsolid t\n")
    with trackd.init(project="object3d") as run:
        run.log({"cloud": made, "categories": trackd.Object3D.from_numpy(categories),
                 "colours": trackd.Object3D(colours), "scene": scene})
        run.log({"stl": trackd.Object3D.from_file(str(stl)),
                 "stream": trackd.Object3D.from_file(io.BytesIO(stl.read_bytes()), "stl"),
                 "text": trackd.Object3D(io.StringIO("v 0 0 0\n"), file_type="obj")})
    rows = list(Api().run(run.path).scan_history())

    cloud = rows[0]["cloud"]
    assert cloud["_type"] == "object3D-file" and cloud["caption"] == "cloud"
    assert cloud["path"] == f"media/object3D/cloud_0_{cloud['sha256'][:20]}.pts.json"
    assert np.allclose(json.loads(_download(run, cloud["path"])), xyz_logged)
    for key, array in (("categories", categories), ("colours", colours)):
        assert np.allclose(json.loads(_download(run, rows[0][key]["path"])), array)
        assert "caption" not in rows[0][key]

    stored = json.loads(_download(run, rows[0]["scene"]["path"]))
    assert stored["type"] == "lidar/beta" and np.allclose(stored["points"], colours)
    assert stored["vectors"] == [{"start": [0, 0, 0], "end": [1, 1, 1]}]
    (b,) = stored["boxes"]
    assert (b["label"], b["score"], b["color"]) == ("car", 0.9, [255, 0, 0])
    # A half turn about z: the box keeps its centre and extent, x and y are mirrored.
    corners = np.array(b["corners"])
    assert np.allclose(corners.mean(axis=0), [1, 2, 3])
    assert np.allclose(corners.max(axis=0) - corners.min(axis=0), [2, 4, 6])
    assert np.allclose(corners[0], [1 + 1, 2 + 2, 3 - 3])

    assert _download(run, rows[1]["stl"]["path"]) == stl.read_bytes()
    assert _download(run, rows[1]["stream"]["path"]) == stl.read_bytes()
    assert rows[1]["stream"]["path"].endswith(".stl")
    assert _download(run, rows[1]["text"]["path"]) == b"v 0 0 0\n"


@pytest.mark.parametrize(("make", "match"), [
    (lambda: trackd.Object3D(np.zeros((10, 5))), r"\(10, 5\)"),
    (lambda: trackd.Object3D(np.zeros(3)), r"\(3,\)"),
    (lambda: trackd.Object3D.from_numpy([[0, 0, 0]]), "must be a numpy array"),
    (lambda: trackd.Object3D("mesh.fbx"), "supported types are"),
    (lambda: trackd.Object3D("missing.obj"), "no such file: 'missing.obj'"),
    (lambda: trackd.Object3D(io.BytesIO(b"v 0 0 0")), "file_type"),
    (lambda: trackd.Object3D(io.BytesIO(b"v 0 0 0"), file_type="fbx"), "supported types"),
    (lambda: trackd.Object3D.from_point_cloud(np.zeros((4, 3)), [], point_cloud_type="radar"),
     "not supported"),
    (lambda: trackd.Object3D.from_point_cloud(np.zeros((4, 2)), []), r"\(4, 2\)"),
    (lambda: trackd.Object3D.from_point_cloud(np.zeros((4, 3)), [{"corners": [[0, 0, 0]],
                                                                  "color": [0, 0, 0]}]),
     r"corners of shape \(1, 3\)"),
    (lambda: trackd.box3d(center=(0, 0), size=(1, 1, 1), orientation=(1, 0, 0, 0),
                          color=(0, 0, 0)), "center must be 3 numbers"),
    (lambda: trackd.box3d(center=(0, 0, 0), size=(1, 1, 1), orientation=(0, 0, 0, 0),
                          color=(0, 0, 0)), "zero quaternion"),
    (lambda: trackd.Object3D([1, 2, 3]), "NumPy array, a dict or a file"),
])
def test_bad_3d_objects_are_refused_and_lose_nothing(clean_sdk, make, match):
    refused_losing_nothing("object3d-bad", make, (ValueError, FileNotFoundError), match)


def test_html_strings_files_and_lists(clean_sdk, tmp_path):
    page = tmp_path / "report.html"
    page.write_bytes(b"<html>\r\n<body><p>caf\xc3\xa9</p></body>\r\n</html>")
    with trackd.init(project="html") as run:
        run.log({"fragment": trackd.Html("<p>hello</p>"),
                 "raw": trackd.Html(str(page), inject=False),
                 "page": trackd.Html(page.open()),
                 "head": trackd.Html(io.StringIO("<head><title>t</title></head><b>x</b>"))})
        run.log({"pages": [trackd.Html("<i>one</i>"), trackd.Html("<i>two</i>", inject=False)]})
    rows = list(Api().run(run.path).scan_history())

    fragment = rows[0]["fragment"]
    assert set(fragment) == {"_type", "path", "sha256", "size"}
    assert fragment["_type"] == "html-file"
    assert fragment["path"] == f"media/html/fragment_0_{fragment['sha256'][:20]}.html"
    stored = _download(run, fragment["path"]).decode()
    assert stored.startswith('<base target="_blank"><style>') and stored.endswith("<p>hello</p>")
    assert _download(run, rows[0]["raw"]["path"]) == page.read_bytes()  # byte for byte
    wrapped = _download(run, rows[0]["page"]["path"]).decode()
    assert wrapped.startswith('<html><head><base target="_blank">')
    assert "</style></head>" in wrapped and "café" in wrapped
    head = _download(run, rows[0]["head"]["path"]).decode()
    assert head.startswith('<head><base target="_blank">') and "<title>t</title>" in head

    pages = rows[1]["pages"]
    assert pages["_type"] == "html" and pages["count"] == 2
    assert [p["_type"] for p in pages["html"]] == ["html-file"] * 2
    assert _download(run, pages["html"][1]["path"]) == b"<i>two</i>"


def test_bad_html_is_refused_and_loses_nothing(clean_sdk):
    refused_losing_nothing("html-bad", lambda: trackd.Html(42), ValueError,
                           "string of HTML, a path or a file object")
