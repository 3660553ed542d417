"""Masks, boxes and class sets over ``trackd.Image`` against the real daemon: W&B's JSON and
file layout, the class names in the run's config, the list form (``all_masks``,
``all_boxes``), and W&B's validation errors (nothing logged before a bad value is lost)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import trackd
from tests.e2e.refusals import refused_losing_nothing
from trackd import Api
from trackd.media.base import MemoryOut
from trackd.media.overlays import BoundingBoxes2D, Classes, ImageMask


def download(run_path: str, name: str, root: Path) -> bytes:
    with Api().run(run_path).file(name).download(root=str(root), replace=True) as f:
        path = f.name
    return Path(path).read_bytes()


BOXES = {"box_data": [
    {"position": {"minX": 0.1, "maxX": 0.2, "minY": 0.3, "maxY": 0.4}, "class_id": 1,
     "box_caption": "car", "scores": {"acc": 0.2, "loss": 1.2}},
    {"position": {"middle": [150, 20], "width": 68, "height": 112}, "domain": "pixel",
     "class_id": 3, "box_caption": "a building", "scores": {"acc": 0.5, "loss": 0.7}},
], "class_labels": {0: "person", 1: "car", 2: "road", 3: "building"}}


def test_masks_and_boxes_are_w_and_b_s_files_and_json(clean_sdk, tmp_path):
    # W&B's ImageMask and BoundingBoxes2D examples, logged as the docs log them.
    image = np.random.default_rng(1).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    predicted = np.empty((200, 300), dtype=np.uint8)
    predicted[:100, :150], predicted[100:, :150] = 0, 1
    predicted[:100, 150:], predicted[100:, 150:] = 2, 3
    path_mask = tmp_path / "truth.png"
    PILImage.fromarray((predicted + 1) % 4).save(path_mask)
    with trackd.init(project="overlays") as run:
        run.log({"driving_scene": trackd.Image(image, boxes={"predictions": BOXES}, masks={
            "predictions": {"mask_data": predicted,
                            "class_labels": {0: "person", 1: "tree", 2: "car", 3: "road"}},
            "ground_truth": {"path": str(path_mask)}})})
    (row,) = Api().run(run.path).scan_history()
    value = row["driving_scene"]
    assert value["_type"] == "image-file" and "classes" not in value  # a run has no class file
    assert value["path"].startswith(trackd.Image.get_media_subdir() + "/driving_scene_0_")
    pred, truth = value["masks"]["predictions"], value["masks"]["ground_truth"]
    assert pred["path"].startswith(ImageMask.get_media_subdir() + "/")
    assert pred["_type"] == truth["_type"] == "mask"
    assert pred["path"] == f"media/images/mask/driving_scene_0_{pred['sha256'][:20]}.mask.png"
    assert truth["path"] == f"media/images/mask/driving_scene_0_{truth['sha256'][:20]}.png"
    got = PILImage.open(io.BytesIO(download(run.path, pred["path"], tmp_path)))
    assert got.mode == "L" and np.array_equal(np.asarray(got), predicted)
    assert download(run.path, truth["path"], tmp_path) == path_mask.read_bytes()
    assert pred["size"] == len(download(run.path, pred["path"], tmp_path))
    boxes = value["boxes"]["predictions"]
    assert boxes["_type"] == "boxes2D" and set(boxes) == {"_type", "path", "sha256", "size"}
    assert boxes["path"].startswith(BoundingBoxes2D.get_media_subdir() + "/driving_scene_0_")
    assert boxes["path"].endswith(".boxes2D.json")
    stored = json.loads(download(run.path, boxes["path"], tmp_path))
    assert stored["box_data"] == BOXES["box_data"]
    assert stored["class_labels"] == {str(k): v for k, v in BOXES["class_labels"].items()}
    # The class names, where W&B's dashboard reads them: the run's config, under _wandb.
    wandb_cfg = Api().run(run.path).config["_wandb"]
    key = "driving_scene_wandb_delimeter_predictions"
    assert wandb_cfg["mask/class_labels"][key] == {
        "type": "mask/class_labels", "key": key,
        "value": {"0": "person", "1": "tree", "2": "car", "3": "road"}}
    assert wandb_cfg["bounding_box/class_labels"][key]["value"] == {
        "0": "person", "1": "car", "2": "road", "3": "building"}


def test_a_list_carries_all_masks_and_all_boxes(clean_sdk, tmp_path):
    rng = np.random.default_rng(2)
    mask = rng.integers(0, 2, (8, 8)).astype(np.uint8)
    with trackd.init(project="overlays-list") as run:
        run.log({"batch": [
            trackd.Image(rng.random((8, 8)), masks={"m": {"mask_data": mask}}),
            trackd.Image(rng.random((8, 8))),
            trackd.Image(rng.random((8, 8)), boxes={"b": {"box_data": [
                {"position": {"middle": [4, 4], "width": 2, "height": 2}, "domain": "pixel",
                 "class_id": 7}]}}),
        ]})
    (row,) = Api().run(run.path).scan_history()
    value = row["batch"]
    assert value["_type"] == "images/separated" and value["count"] == 3
    assert "captions" not in value  # none had a caption
    masks, boxes = value["all_masks"], value["all_boxes"]
    assert masks[1] is None and masks[2] is None and boxes[0] is None and boxes[1] is None
    assert masks[0]["m"]["path"].startswith("media/images/mask/batch_0_")
    got = np.asarray(PILImage.open(io.BytesIO(download(run.path, masks[0]["m"]["path"],
                                                       tmp_path))))
    assert np.array_equal(got, mask)
    assert boxes[2]["b"]["_type"] == "boxes2D"
    labels = Api().run(run.path).config["_wandb"]
    assert labels["mask/class_labels"]["batch_wandb_delimeter_m"]["value"] == {
        str(c): f"class_{c}" for c in np.unique(mask)}  # W&B's default names
    assert labels["bounding_box/class_labels"]["batch_wandb_delimeter_b"]["value"] == {
        "7": "class_7"}


def test_an_image_with_a_mask_in_the_summary(clean_sdk, tmp_path):
    mask = np.eye(4, dtype=np.uint8)
    with trackd.init(project="overlays-summary") as run:
        run.summary["best"] = trackd.Image(np.zeros((4, 4), np.uint8), masks={
            "m": {"mask_data": mask, "class_labels": {0: "bg", 1: "diag"}}})
    best = Api().run(run.path).summary["best"]
    got = PILImage.open(io.BytesIO(download(run.path, best["masks"]["m"]["path"], tmp_path)))
    assert np.array_equal(np.asarray(got), mask)
    assert Api().run(run.path).config["_wandb"]["mask/class_labels"][
        "best_wandb_delimeter_m"]["value"] == {"0": "bg", "1": "diag"}


def test_classes_and_artifact_json(tmp_path):
    classes = trackd.Classes([{"name": "person", "id": 0}, {"name": "car", "id": 1}])
    assert classes.to_json() == {"_type": "classes", "class_set": [
        {"name": "person", "id": 0}, {"name": "car", "id": 1}]}
    assert trackd.data_types.ImageMask is ImageMask and trackd.BoundingBoxes2D is BoundingBoxes2D
    image = trackd.Image(np.zeros((4, 4), np.uint8), classes=classes,
                         boxes={"p": {"box_data": BOXES["box_data"][:1]}},
                         masks={"m": ImageMask({"mask_data": np.ones((4, 4), np.uint8),
                                                "class_labels": {1: "car"}}, "m")})
    # The class set gathers the given classes and those of the boxes and masks (W&B's order).
    assert image.classes == Classes([{"id": 1, "name": "car"}, {"id": 0, "name": "person"}])
    out = MemoryOut()
    value = image._encode(out)
    # In an artifact, W&B inlines the boxes and names a class set file.
    assert value["boxes"] == {"p": BOXES["box_data"][:1]}
    assert value["classes"]["type"] == "classes-file"
    assert json.loads(out.files[value["classes"]["path"]]) == {
        "_type": "classes", "class_set": [{"id": 1, "name": "car"}, {"id": 0, "name": "person"}]}
    assert value["masks"]["m"]["_type"] == "mask"


def box(**position) -> dict:
    return {"box_data": [{"position": position}]}


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"masks": {"m": {"class_labels": {0: "a"}}}}, TypeError, 'Missing key "mask_data"'),
    ({"masks": {"m": {"mask_data": np.zeros((2, 2, 2))}}}, TypeError,
     r"2D array, got an array of shape \(2, 2, 2\)"),
    ({"masks": {"m": {"mask_data": np.full((2, 2), 300)}}}, TypeError, "between 0 and 255"),
    ({"masks": {"m": {"mask_data": np.zeros((2, 2)), "class_labels": {"a": "b"}}}}, TypeError,
     "numbers to strings"),
    ({"masks": {"m": {"path": "/no/such/mask.png"}}}, FileNotFoundError, "mask.png"),
    ({"masks": [1]}, ValueError, '"masks" argument must be a dictionary'),
    ({"boxes": [1]}, ValueError, '"boxes" argument must be a dictionary'),
    ({"boxes": {"b": {"class_labels": {}}}}, TypeError, 'Missing key "box_data"'),
    ({"boxes": {"b": {"box_data": {}}}}, TypeError, "Boxes must be a list"),
    ({"boxes": {"b": box(minX=0, maxX=1, minY=0)}}, TypeError, "must contain a position"),
    ({"boxes": {"b": box(middle=[1], width=1, height=1)}}, TypeError, "must contain a position"),
    ({"boxes": {"b": {"box_data": [{"position": {"middle": [1, 1], "width": 1, "height": 1},
                                    "scores": [1]}]}}}, TypeError, "scores must be a dictionary"),
    ({"boxes": {"b": {"box_data": [{"position": {"middle": [1, 1], "width": 1, "height": 1},
                                    "scores": {"a": "x"}}]}}}, TypeError, "must be a number"),
    ({"boxes": {"b": {"box_data": [{"position": {"middle": [1, 1], "width": 1, "height": 1},
                                    "class_id": 1.5}]}}}, TypeError, "class_id must be an int"),
    ({"boxes": {"b": {"box_data": [{"position": {"middle": [1, 1], "width": 1, "height": 1},
                                    "box_caption": 3}]}}}, TypeError, "caption must be a str"),
    ({"classes": [{"id": 1}]}, ValueError, "'id' and 'name'"),
])
def test_bad_overlays_are_refused_and_lose_nothing(clean_sdk, kwargs, error, match):
    refused_losing_nothing("overlays-bad",
                           lambda: trackd.Image(np.zeros((2, 2), np.uint8), **kwargs), error,
                           match)


def test_later_changes_to_box_and_mask_inputs_do_not_change_what_is_logged(clean_sdk,
                                                                           tmp_path):
    mask = np.zeros((3, 3), np.uint8)
    boxes = {"box_data": [{"position": {"middle": [1, 1], "width": 1, "height": 1},
                           "class_id": 0}]}
    with trackd.init(project="overlays-copy") as run:
        run.log({"img": trackd.Image(np.zeros((3, 3), np.uint8), masks={"m": {"mask_data": mask}},
                                     boxes={"b": boxes})})
        mask[:] = 9
        boxes["box_data"][0]["class_id"] = 5
    (row,) = Api().run(run.path).scan_history()
    got = PILImage.open(io.BytesIO(download(run.path, row["img"]["masks"]["m"]["path"],
                                            tmp_path)))
    assert np.asarray(got).max() == 0
    stored = json.loads(download(run.path, row["img"]["boxes"]["b"]["path"], tmp_path))
    assert stored["box_data"][0]["class_id"] == 0
