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
    if html:
        run.log({"page": {"_type": "html-file", **put(run, "html", "page_4.html",
                                                       HTML_PROBE.encode())}}, step=4)
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
