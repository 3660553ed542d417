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
from typing import Any, ClassVar

from trackd._shared.values import CONVERTERS
from trackd.media import figures
from trackd.media.base import Media, MediaOut
from trackd.media.image import Image
from trackd.media.sources import read_source


class Plotly(Media):
    """A plotly figure, or a matplotlib figure (or axes, or ``pyplot``) converted to one by
    plotly's ``mpl_to_plotly``; a matplotlib figure that shows an image, or that the
    converter fails on, is stored as an :class:`~trackd.media.image.Image` of it instead.

    :raises ValueError: ``val`` is neither.
    """

    _log_type: ClassVar[str] = "plotly-file"

    def __init__(self, val: Any) -> None:
        self._figure: dict[str, Any] | None = None  # the plotly figure dict, once known
        self._snapshot: bytes | None = None  # or a pickled copy of a matplotlib figure
        self._png: bytes | None = None  # or the figure drawn, where plotly cannot draw it
        if figures.is_plotly(val):
            self._figure = val.to_plotly_json()  # a deep copy: later changes do not reach it
        elif figures.is_matplotlib(val):
            fig = figures.figure_of(val)
            self._snapshot = figures.snapshot(fig)
            if self._snapshot is None:  # not picklable: convert it now, while it is as logged
                self._figure, self._png = _convert(fig)
            figures.close(fig)  # as W&B's conversion does: pyplot lets it go, it stays usable
        else:
            raise ValueError("Logged plots must be plotly figures, or matplotlib plots "
                             "convertible to plotly via mpl_to_plotly; got a "
                             f"{type(val).__module__}.{type(val).__qualname__}")

    @classmethod
    def make_plot_media(cls, val: Any) -> Media:
        """What ``log()`` stores for a plotly or matplotlib figure (W&B's name): a
        :class:`Plotly`, which holds an image of a figure plotly cannot draw."""
        return cls(val)

    def _raw_size(self) -> int:
        return len(self._snapshot or self._png or b"")

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        figure, png = self._figure, self._png
        if self._snapshot is not None:
            figure, png = _convert(figures.restore(self._snapshot))
        if png is not None:
            return _figure_image(png)._encode(out)
        import plotly.io

        data = plotly.io.to_json(figure, validate=False).encode()
        return {"_type": self._log_type, **out.put("plotly", "plotly.json", data)}

    @classmethod
    def _from_json(cls, json: dict[str, Any], source: Any) -> Plotly:
        """The chart again from its ``plotly-file`` dict, its file read from ``source`` (see
        :func:`~trackd.media.sources.read_source`)."""
        import json as json_

        data = read_source(source, json["path"])
        plot = cls.__new__(cls)
        plot._figure, plot._snapshot, plot._png = json_.loads(data), None, None
        return plot

    def __repr__(self) -> str:
        return "<trackd.Plotly>"


def _convert(fig: Any) -> tuple[dict[str, Any] | None, bytes | None]:
    """Matplotlib figure ``fig`` as a plotly figure dict, or where plotly cannot draw it (it
    shows an image, which the converter would leave out, or the converter fails on it), as a
    PNG: W&B's choice for logged figures."""
    if not figures.contains_images(fig):
        try:
            return figures.to_plotly(fig), None
        except Exception:  # noqa: BLE001 - any failure of the converter: draw it instead
            pass
    return None, figures.render(fig)


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
