"""Runs with media for the dashboard's browser tests, logged as W&B's JSON (the dicts a data
type writes, and their files saved into the run under W&B's media layout)."""

from __future__ import annotations

import hashlib
import io
import json
import os
from typing import Any

import trackd

#: Colours of the image logged at each step (step -> RGB).
STEP_COLOURS = {0: (255, 0, 0), 1: (0, 255, 0), 2: (0, 0, 255)}
#: The mask's classes, and the boxes' (W&B's class_labels).
MASK_LABELS = {"0": "background", "1": "cat", "2": "dog"}
BOX_LABELS = {"1": "cat", "2": "dog"}
TABLE_COLUMNS = ["id", "label", "score", "image"]
#: What the logged Html's script reports, once it tried to reach the dashboard.
HTML_PROBE = """<!doctype html><html><head><title>logged</title></head>
<body><p id="hello">logged html</p>
<script>
const report = {ran: true};
function attempt(name, read) {
  try { report[name] = "read: " + read(); } catch (e) { report[name] = "blocked: " + e.name; }
}
attempt("cookie", () => document.cookie);
attempt("storage", () => localStorage.length);
attempt("parent", () => parent.document.cookie);
report.origin = String(self.origin);
fetch("/api/v1/projects", {credentials: "include"}).then(
  (r) => r.text().then((t) => { report.api = "read: " + r.status + " " + t.slice(0, 80); done(); }),
  (e) => { report.api = "blocked: " + e.name; done(); });
function done() {
  document.title = JSON.stringify(report);
  document.body.dataset.report = JSON.stringify(report);
  parent.postMessage(report, "*");
}
</script></body></html>"""


def png(size: tuple[int, int], colour: Any, mode: str = "RGB") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, format="PNG")
    return buf.getvalue()


def class_map(w: int, h: int) -> bytes:
    """A mask: class 1 on the left half, class 2 in the bottom-right quarter, 0 elsewhere."""
    from PIL import Image

    im = Image.new("L", (w, h), 0)
    for y in range(h):
        for x in range(w):
            if x < w // 2:
                im.putpixel((x, y), 1)
            elif y >= h // 2:
                im.putpixel((x, y), 2)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def put(run: trackd.Run, subdir: str, name: str, data: bytes) -> dict[str, Any]:
    """Save ``data`` into the run as ``media/<subdir>/<name>``; W&B's path, sha256 and size."""
    path = f"media/{subdir}/{name}"
    full = os.path.join(run.dir, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(data)
    run.save(full, base_path=run.dir, policy="now")
    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}


def image(run: trackd.Run, key: str, step: int, colour: Any, caption: str,
          w: int = 32, h: int = 24) -> dict[str, Any]:
    data = png((w, h), colour)
    return {"_type": "image-file", **put(run, "images", f"{key}_{step}_{caption}.png", data),
            "format": "png", "width": w, "height": h, "caption": caption}


def table(run: trackd.Run, key: str, step: int, columns: list[str], rows: list[list[Any]]
          ) -> dict[str, Any]:
    data = json.dumps({"columns": columns, "data": rows}).encode()
    return {"_type": "table-file", **put(run, "table", f"{key}_{step}.table.json", data),
            "ncols": len(columns), "nrows": len(rows), "log_mode": "IMMUTABLE"}


def media_run(project: str, html: bool = False) -> trackd.Run:
    """A run with every panel kind the browser tests look at (``html``: and the Html whose
    script tries to reach the dashboard, which the browser reports as a policy violation)."""
    run = trackd.init(project=project, name="media-run")
    w, h = 32, 24
    for step, colour in STEP_COLOURS.items():
        row: dict[str, Any] = {
            "examples": {"_type": "images/separated", "count": 2, "width": w, "height": h,
                         "format": "png", "filenames": [
                             image(run, "examples", step, colour, f"s{step}a")["path"],
                             image(run, "examples", step, tuple(c // 2 for c in colour),
                                   f"s{step}b")["path"]],
                         "captions": [f"s{step}a", f"s{step}b"]},
            "weights": {"_type": "histogram", "values": [1 + step, 5, 9 - step, 2],
                        "bins": [step - 2.0, step - 1.0, step, step + 1.0, step + 2.0]},
            "loss": 1.0 / (step + 1),
        }
        if step == 2:
            seg = image(run, "seg", step, (200, 200, 200), "segmented", w, h)
            seg["masks"] = {"ground_truth": {"_type": "mask", **put(
                run, "images/mask", f"seg_{step}_gt.png", class_map(w, h))}}
            boxes = {"box_data": [
                {"position": {"minX": 2, "maxX": 14, "minY": 2, "maxY": 12}, "domain": "pixel",
                 "class_id": 1, "box_caption": "cat", "scores": {"acc": 0.9}},
                {"position": {"middle": [0.75, 0.5], "width": 0.3, "height": 0.4},
                 "class_id": 2, "box_caption": "dog", "scores": {"acc": 0.7}},
                {"position": {"minX": 0.1, "maxX": 0.3, "minY": 0.6, "maxY": 0.9},
                 "class_id": 2, "box_caption": "dog 2"}], "class_labels": BOX_LABELS}
            seg["boxes"] = {"predictions": {"_type": "bounding-boxes", **put(
                run, "metadata/boxes2D", f"seg_{step}_pred.boxes2D.json",
                json.dumps(boxes).encode())}}
            row["seg"] = seg
        run.log(row, step=step)
    run.config.update({"_wandb": {"mask/class_labels": {
        "seg_wandb_delimeter_ground_truth": MASK_LABELS}}}, allow_val_change=True)
    cells = [image(run, "cell", i, (i * 20, 0, 0), f"c{i}", 8, 8) for i in range(3)]
    rows = [[i, ["cat", "dog", "bird"][i % 3], round((i * 37) % 23 / 23, 3),
             cells[i] if i < 3 else None] for i in range(23)]
    points = [[x / 10, (x % 7) / 7, (x % 3) / 3, x % 4] for x in range(60)]
    cm_rows = [[a, p, n] for a, p, n in (("cat", "cat", 8), ("cat", "dog", 2), ("dog", "cat", 1),
                                         ("dog", "dog", 9))]
    run.log({
        "samples": table(run, "samples", 3, TABLE_COLUMNS, rows),
        "cloud": {"_type": "object3D-file", **put(run, "object3D", "cloud_3.pts.json",
                                                  json.dumps(points).encode())},
        "cm_table": table(run, "cm_table", 3, ["Actual", "Predicted", "nPredictions"], cm_rows),
    }, step=3)
    # A value whose file name would leave the run's files: refused by the page, never fetched.
    run.log({"escape": {"_type": "image-file", "path": "media/../../../../../projects",
                        "format": "png", "width": 1, "height": 1}}, step=4)
    if html:
        run.log({"page": {"_type": "html-file", **put(run, "html", "page_5.html",
                                                       HTML_PROBE.encode())}}, step=5)
    run.config.update({"_wandb": {"visualize": {"cm": {"panel_type": "Vega2", "panel_config": {
        "panelDefId": "wandb/confusion_matrix/v1",
        "fieldSettings": {"Actual": "Actual", "Predicted": "Predicted",
                          "nPredictions": "nPredictions"},
        "stringSettings": {"title": "Confusion Matrix Curve"},
        "transform": {"name": "tableWithLeafColNames"},
        "userQuery": {"queryFields": [{"name": "runSets", "fields": [
            {"name": "summaryTable", "args": [{"name": "tableKey", "value": "cm_table"}],
             "fields": []}]}]}}}},
        "mask/class_labels": {"seg_wandb_delimeter_ground_truth": MASK_LABELS}}},
        allow_val_change=True)
    run.finish()
    return run


#: A tetrahedron: 4 vertices, 4 triangles.
TETRA = ([(0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)],
         [(0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3)])


def obj_file() -> bytes:
    vertices, faces = TETRA
    return ("# tetrahedron\n" + "".join(f"v {x} {y} {z}\n" for x, y, z in vertices)
            + "".join(f"f {a + 1}/{a + 1} {b + 1} {c + 1}\n" for a, b, c in faces)).encode()


def stl_file() -> bytes:
    """Binary STL."""
    import struct

    vertices, faces = TETRA
    out = b"trackd test".ljust(80, b" ") + struct.pack("<I", len(faces))
    for face in faces:
        out += struct.pack("<3f", 0, 0, 0)
        for v in face:
            out += struct.pack("<3f", *vertices[v])
        out += b"\0\0"
    return out


def gltf_parts() -> tuple[dict[str, Any], bytes]:
    """A glTF document of the tetrahedron (positions float32, indices uint16) and its buffer."""
    import struct

    vertices, faces = TETRA
    positions = b"".join(struct.pack("<3f", *v) for v in vertices)
    indices = b"".join(struct.pack("<3H", *f) for f in faces)
    buffer = positions + indices
    doc = {"asset": {"version": "2.0"}, "buffers": [{"byteLength": len(buffer)}],
           "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(positions)},
                           {"buffer": 0, "byteOffset": len(positions),
                            "byteLength": len(indices)}],
           "accessors": [{"bufferView": 0, "componentType": 5126, "count": len(vertices),
                          "type": "VEC3"},
                         {"bufferView": 1, "componentType": 5123, "count": 3 * len(faces),
                          "type": "SCALAR"}],
           "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}]}
    return doc, buffer


def gltf_file() -> bytes:
    import base64

    doc, buffer = gltf_parts()
    doc["buffers"][0]["uri"] = ("data:application/octet-stream;base64,"
                                + base64.b64encode(buffer).decode())
    return json.dumps(doc).encode()


def glb_file() -> bytes:
    import struct

    doc, buffer = gltf_parts()
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    buffer += b"\0" * (-len(buffer) % 4)
    body = (struct.pack("<II", len(text), 0x4E4F534A) + text
            + struct.pack("<II", len(buffer), 0x004E4942) + buffer)
    return struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body


def wav_file(seconds: float, rate: int = 8000) -> bytes:
    import math
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(
            int(8000 * math.sin(2 * math.pi * 440 * i / rate)).to_bytes(2, "little", signed=True)
            for i in range(int(seconds * rate))))
    return buf.getvalue()


def gif_file(frames: int, w: int = 20, h: int = 16) -> bytes:
    from PIL import Image

    images = [Image.new("RGB", (w, h), (40 * i, 0, 0)) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=250,
                   loop=0)
    return buf.getvalue()


def webm_file(frames: int, w: int = 48, h: int = 32) -> bytes:
    import tempfile

    import imageio
    import numpy as np

    pixels = np.zeros((frames, h, w, 3), dtype=np.uint8)
    pixels[:, :, :, 1] = np.arange(frames, dtype=np.uint8)[:, None, None] * 40
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "clip.webm")
        imageio.mimwrite(path, pixels, fps=4, format="FFMPEG", codec="libvpx")
        with open(path, "rb") as f:
            return f.read()


def chart(key: str, spec: str, fields: dict[str, Any], strings: dict[str, Any]
          ) -> dict[str, Any]:
    """A custom chart's ``_wandb.visualize`` entry (its table under ``<key>_table``)."""
    return {key: {"panel_type": "Vega2", "panel_config": {
        "panelDefId": spec, "fieldSettings": fields, "stringSettings": strings,
        "transform": {"name": "tableWithLeafColNames"}}}}


def players_and_charts_run(project: str) -> trackd.Run:
    """A run with meshes of each format, video, audio, a plotly chart and every preset of
    trackd.plot's custom charts."""
    run = trackd.init(project=project, name="players-run")
    meshes = {"obj": obj_file(), "stl": stl_file(), "gltf": gltf_file(), "glb": glb_file()}
    objects = [{"_type": "object3D-file", **put(run, "object3D", f"mesh_0.{ext}", data)}
               for ext, data in meshes.items()]
    figure = {"data": [{"type": "scatter", "mode": "lines", "x": [1, 2, 3], "y": [3, 1, 2]},
                       {"type": "bar", "x": [1, 2, 3], "y": [1, 1, 1]}],
              "layout": {"title": {"text": "from matplotlib"}, "width": 640}}
    row: dict[str, Any] = {
        "meshes": {"_type": "object3D", "count": len(objects), "objects": objects},
        "gif": {"_type": "video-file", **put(run, "videos", "gif_0.gif", gif_file(4)),
                "format": "gif", "width": 20, "height": 16, "caption": "a gif"},
        "webm": {"_type": "video-file", **put(run, "videos", "webm_0.webm", webm_file(4)),
                 "format": "webm", "width": 48, "height": 32},
        "tone": {"_type": "audio-file", **put(run, "audio", "tone_0.wav", wav_file(0.5)),
                 "caption": "440 Hz"},
        "figure": {"_type": "plotly-file", **put(run, "plotly", "figure_0.plotly.json",
                                                 json.dumps(figure).encode())},
    }
    visualize: dict[str, Any] = {}
    tables = {
        "line": (["step", "height"], [[i, i * i] for i in range(10)],
                 "wandb/line/v0", {"x": "step", "y": "height", "stroke": None}),
        "scatter": (["a", "b"], [[i, 10 - i] for i in range(8)],
                    "wandb/scatter/v0", {"x": "a", "y": "b"}),
        "bar": (["label", "value"], [["x", 3], ["y", 5], ["z", 1]],
                "wandb/bar/v0", {"label": "label", "value": "value"}),
        "hist": (["scores"], [[v / 10] for v in range(20)],
                 "wandb/histogram/v0", {"value": "scores"}),
        "series": (["step", "lineKey", "lineVal"],
                   [[x, k, x * m] for k, m in (("y1", 1), ("y2", 2)) for x in range(5)],
                   "wandb/lineseries/v0", {"step": "step", "lineKey": "lineKey",
                                           "lineVal": "lineVal"}),
        "pr": (["class", "recall", "precision"],
               [[c, r / 4, 1 - r / 8] for c in ("cat", "dog") for r in range(5)],
               "wandb/area-under-curve/v0", {"x": "recall", "y": "precision", "class": "class"}),
    }
    for key, (columns, rows, spec, fields) in tables.items():
        row[key + "_table"] = table(run, key + "_table", 0, columns, rows)
        visualize.update(chart(key, spec, fields, {"title": f"{key} chart"}))
    run.log(row, step=0)
    run.config.update({"_wandb": {"visualize": visualize}}, allow_val_change=True)
    run.finish()
    return run
