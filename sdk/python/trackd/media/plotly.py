"""``trackd.Plotly``: a plotly figure (or a matplotlib figure, converted) logged as W&B's
``plotly-file``: the figure's JSON in ``media/plotly/<key>_<step>_<hash>.plotly.json``.

A matplotlib figure logged directly (``run.log({"chart": fig})``) goes through
:meth:`Plotly.make_plot_media`, as in W&B: converted to an interactive plotly chart where it
can be, else (it shows an image, or plotly's converter fails on it) logged as a
:class:`~trackd.media.image.Image` of the figure drawn as a PNG. What the figure holds is
captured in ``log()`` (:mod:`trackd.media.figures`); converting and encoding run on the run's
media encoder.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, ClassVar

from trackd._shared.values import CONVERTERS
from trackd.media import figures
from trackd.media.base import Media, MediaOut
from trackd.media.image import Image


class Plotly(Media):
    """A plotly figure, or a matplotlib figure (or axes, or ``pyplot``) converted to one by
    plotly's ``mpl_to_plotly``.

    :raises ValueError: ``val`` is neither.
    """

    _log_type: ClassVar[str] = "plotly-file"

    def __init__(self, val: Any) -> None:
        self._figure: dict[str, Any] | None = None  # the plotly figure dict, once known
        self._snapshot: bytes | None = None  # a pickled copy of a matplotlib figure
        self._image_fallback = False  # make_plot_media's: an Image where plotly cannot do
        if figures.is_plotly(val):
            self._figure = val.to_plotly_json()  # a deep copy: later changes do not reach it
        elif figures.is_matplotlib(val):
            self._take(figures.figure_of(val))
        else:
            raise ValueError("Logged plots must be plotly figures, or matplotlib plots "
                             "convertible to plotly via mpl_to_plotly; got a "
                             f"{type(val).__module__}.{type(val).__qualname__}")

    def _take(self, fig: Any) -> None:
        """Capture matplotlib figure ``fig`` as it is now; as W&B's conversion does, a pyplot
        figure is then closed (pyplot lets it go; the object stays usable)."""
        self._snapshot = figures.snapshot(fig)
        if self._snapshot is None:  # not picklable: convert it now, while it is as logged
            self._figure = figures.to_plotly(fig)
        figures.close(fig)

    @classmethod
    def make_plot_media(cls, val: Any) -> Media:
        """What ``log()`` stores for a plotly or matplotlib figure: a :class:`Plotly`, or for a
        matplotlib figure that cannot be one (it shows an image, or the converter fails on
        it), an :class:`~trackd.media.image.Image` of it, as W&B does."""
        if not figures.is_matplotlib(val):
            return cls(val)
        fig = figures.figure_of(val)
        plot = cls.__new__(cls)
        plot._figure, plot._snapshot, plot._image_fallback = None, None, True
        if figures.contains_images(fig):  # drawn as a PNG, from a copy if it can be made
            plot._snapshot = figures.snapshot(fig)
            return plot if plot._snapshot is not None else \
                _figure_image(figures.render_png(fig))
        try:
            plot._take(fig)
        except Exception:  # noqa: BLE001 - W&B's fallback: the figure as an image
            return _figure_image(figures.render_png(fig))
        return plot

    def _raw_size(self) -> int:
        return len(self._snapshot or b"")

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        figure = self._figure
        if figure is None:
            copy = figures.restore(self._snapshot or b"")
            if self._image_fallback and figures.contains_images(copy):
                return _figure_image(figures.render_png(copy))._encode(out)
            try:
                figure = figures.to_plotly(copy)
            except Exception:
                if not self._image_fallback:
                    raise
                return _figure_image(figures.render_png(copy))._encode(out)
        import plotly.io

        data = plotly.io.to_json(figure, validate=False).encode()
        return {"_type": self._log_type, **out.put("plotly", "plotly.json", data)}

    @classmethod
    def _from_json(cls, json: dict[str, Any], source: Any) -> Plotly:
        """The chart again from its ``plotly-file`` dict; ``source(path)`` gives the local
        path (or the bytes) of the file the dict names."""
        import json as json_

        got = source(json["path"])
        data = got if isinstance(got, bytes) else Path(got).read_bytes()
        plot = cls.__new__(cls)
        plot._figure, plot._snapshot, plot._image_fallback = json_.loads(data), None, False
        return plot

    def __repr__(self) -> str:
        return "<trackd.Plotly>"


def _figure_image(png: bytes) -> Image:
    """An :class:`Image` of a figure drawn as ``png``."""
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(png)) as im:
        im.load()
        return Image(im)


def _plot_media(value: Any) -> Media:
    """``log()``'s conversion of a plotly or matplotlib value (``pyplot`` itself included, as
    in W&B's ``run.log({"chart": plt})``)."""
    if not (figures.is_plotly(value) or figures.is_matplotlib(value)):
        raise TypeError(f"values of type {type(value).__module__}.{type(value).__qualname__} "
                        "cannot be logged")
    return Plotly.make_plot_media(value)


for _type in (("matplotlib", "Figure"), ("matplotlib", "SubFigure"), ("matplotlib", "Axes"),
              ("matplotlib", "PolarAxes"), ("mpl_toolkits", "Axes3D"), ("plotly", "Figure"),
              ("plotly", "FigureWidget"), ("builtins", "module")):
    CONVERTERS[_type] = _plot_media
