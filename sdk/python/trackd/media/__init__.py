"""Data types a run can log besides numbers and text (W&B's ``wandb.<Type>``), each turned
into the JSON dict W&B writes for it in the run's history and summary.

Data types stored inline (:class:`Histogram`) become a dict in the row; those stored as files
(:class:`Image`...) derive from :class:`~trackd.media.base.Media` and are encoded off the
caller's thread by :mod:`trackd.media.pipeline`.
"""

from __future__ import annotations

from trackd.media.audio import Audio
from trackd.media.graph import Graph
from trackd.media.histogram import MAX_BINS, Histogram
from trackd.media.html import Html
from trackd.media.image import Image
from trackd.media.object3d import Object3D, box3d
from trackd.media.overlays import BoundingBoxes2D, Classes, ImageMask
from trackd.media.plotly import Plotly
from trackd.media.table import Table
from trackd.media.video import Video

__all__ = ["MAX_BINS", "Audio", "BoundingBoxes2D", "Classes", "Graph", "Histogram", "Html", "Image",
           "ImageMask", "Object3D", "Plotly", "Table", "Video", "box3d"]
