"""Matplotlib figures as logged values: a snapshot taken in ``log()``, converted later.

A figure is mutable (a training loop typically clears and redraws it), so what is logged must
be captured in the caller's thread; converting it (plotly's ``mpl_to_plotly`` draws the whole
figure) is the slow part. :func:`snapshot` pickles the figure, a few milliseconds, and
:func:`restore` makes an independent copy of it on the run's media encoder, where the copy is
converted to a plotly figure dict (:func:`to_plotly`) or drawn as a PNG (:func:`render`).
A figure that cannot be pickled is converted in the caller's thread instead. A figure given to
``trackd.Image`` is drawn (:func:`render`) in the caller's thread (matplotlib is not
thread-safe).

Matplotlib is never imported here unless a figure was given (the value's type tells).
"""

from __future__ import annotations

import io
import pickle
import sys
from typing import Any


def is_matplotlib(value: Any) -> bool:
    """Whether ``value`` is a matplotlib figure, axes (3D axes too), or ``pyplot`` itself."""
    if type(value).__module__.split(".", 1)[0] in ("matplotlib", "mpl_toolkits"):
        return True
    return getattr(value, "__name__", None) == "matplotlib.pyplot" and \
        value is sys.modules.get("matplotlib.pyplot")


def is_plotly(value: Any) -> bool:
    """Whether ``value`` is a plotly figure (``plotly.graph_objects.Figure``...)."""
    return type(value).__module__.split(".", 1)[0] == "plotly" and \
        hasattr(value, "to_plotly_json")


def figure_of(value: Any) -> Any:
    """The matplotlib ``Figure`` that ``value`` (a figure, an axes, an artist, ``pyplot``)
    draws in.

    :raises ValueError: ``value`` is no part of a figure.
    """
    if value is sys.modules.get("matplotlib.pyplot"):
        return value.gcf()
    from matplotlib.figure import Figure

    if isinstance(value, Figure):
        return value
    fig = getattr(value, "figure", None)
    if fig is not None and not isinstance(fig, Figure):  # an axes of a subfigure
        fig = getattr(fig, "figure", None)
    if not isinstance(fig, Figure):
        raise ValueError(f"a {type(value).__module__}.{type(value).__qualname__} that belongs "
                         "to no matplotlib figure cannot be logged")
    return fig


class _Snapshot(pickle.Pickler):
    """Pickles a figure without its pyplot registration: the copy made from it must not
    become one of pyplot's open figures (nor open a window)."""

    def __init__(self, file: io.BytesIO, figure: Any) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._figure = figure

    def reducer_override(self, obj: Any) -> Any:
        if obj is not self._figure:
            return NotImplemented
        reduced = list(obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL))
        state = dict(reduced[2])
        state.pop("_restore_to_pylab", None)
        reduced[2] = state
        return tuple(reduced)


def snapshot(figure: Any) -> bytes | None:
    """The figure as it is now, pickled; None when some artist of it cannot be pickled."""
    buf = io.BytesIO()
    try:
        _Snapshot(buf, figure).dump(figure)
    except Exception:  # noqa: BLE001 - an unpicklable artist: the caller converts it now
        return None
    return buf.getvalue()


def restore(data: bytes) -> Any:
    """A copy of the figure :func:`snapshot` pickled."""
    return pickle.loads(data)  # noqa: S301 - bytes this process pickled itself


def close(figure: Any) -> None:
    """Let pyplot forget ``figure`` if it is one of its open figures."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close(figure)


def contains_images(figure: Any) -> bool:
    """Whether an axes of ``figure`` shows an image (W&B logs such figures as images:
    plotly's converter would leave the image out)."""
    return bool(figure.images) or any(ax.get_images() for ax in figure.get_axes())


def to_plotly(figure: Any) -> dict[str, Any]:
    """``figure`` converted by plotly's matplotlib exporter (what ``mpl_to_plotly`` runs),
    as a plotly figure dict; the figure is left open (and pyplot left unimported: this runs
    on the encoder's thread).

    :raises Exception: whatever the converter raises for a figure it cannot convert.
    """
    from plotly.matplotlylib import Exporter, PlotlyRenderer

    renderer = PlotlyRenderer()
    Exporter(renderer, close_mpl=False).run(figure)
    return renderer.plotly_fig.to_plotly_json()  # type: ignore[no-any-return]


def render(figure: Any, file_type: str = "png") -> bytes:
    """``figure`` drawn as a ``file_type`` file (png, jpg...: ``trackd.Image``'s file types),
    at its own size and dpi, as ``savefig`` draws it."""
    buf = io.BytesIO()
    figure.savefig(buf, format="jpeg" if file_type == "jpg" else file_type)
    return buf.getvalue()
