"""``run.watch`` and ``run.unwatch`` (W&B's ``wandb.watch``): histograms of a PyTorch model's
gradients and parameters every ``log_freq`` batches, and its graph.

This package imports no PyTorch: a model is taken for a torch model only when PyTorch is
already imported (the user made the model with it), and the hooks (:mod:`trackd.torch_watch.hooks`,
which import torch) are loaded on the first ``watch`` of one.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trackd._base import messages

LOG_CHOICES = ("gradients", "parameters", "all", None)

#: The index the next model watched without ``idx`` gets, in this process (as W&B counts).
_next_idx = 0


def _models(models: Any) -> list[Any]:
    """``models`` as a list of torch modules.

    :raises ValueError: one is not a ``torch.nn.Module`` (PyTorch not imported: none is).
    """
    listed = list(models) if isinstance(models, (tuple, list)) else [models]
    torch = sys.modules.get("torch")
    for model in listed:
        if torch is None or not isinstance(model, torch.nn.Module):
            raise ValueError("watch() takes PyTorch models (torch.nn.Module), got "
                             f"{type(model).__module__}.{type(model).__qualname__}")
    return listed


class RunWatch:
    """The ``watch``/``unwatch`` methods of :class:`trackd.Run`."""

    _watcher: Any = None  # trackd.torch_watch.hooks.Watcher, made on the first watch
    _finished: bool
    _mode: str | None

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> None:
        """Hook into PyTorch models to log histograms of their gradients
        (``gradients/<name>``), parameters (``parameters/<name>``) or both (``log="all"``;
        None: neither) every ``log_freq`` batches, into the run's current step; with
        ``log_graph`` the model's graph, stored in the summary as ``graph_<idx>`` after its
        first forward pass. Models watched with an index above 0 (``idx``, or counted in this
        process when None) get ``graph_<idx>`` in front of their names, as in W&B.
        ``criterion`` is accepted as W&B accepts it; the graph is what the forward pass shows.

        :raises ValueError: ``log`` is not one of the choices, ``log_freq`` or ``idx`` is
            negative, a model is not a ``torch.nn.Module``, a gradient of that name is watched
            already, or the model's graph is recorded already.
        :raises TypeError: ``log_freq`` or ``idx`` is not an int.
        :raises trackd.UsageError: the run is finished.
        """
        global _next_idx
        if log not in LOG_CHOICES:
            raise ValueError("log must be one of 'gradients', 'parameters', 'all', or None, "
                             f"got {log!r}")
        for what, value in (("log_freq", log_freq), ("idx", idx)):
            if value is None and what == "idx":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"watch(): {what} must be an int, got {type(value).__name__}")
            if value < 0:
                raise ValueError(f"watch(): {what} must be >= 0, got {value}")
        listed = _models(models)
        self._check_open("watch")
        if self._mode == "disabled":
            return  # nothing is logged: no hooks to slow the training down
        # not loaded by `import trackd`: torch
        from trackd.torch_watch.hooks import Watcher

        if self._watcher is None:
            self._watcher = Watcher(self)
        watcher = self._watcher
        start = _next_idx if idx is None else idx
        prefix = ""
        for offset, model in enumerate(listed):
            global_idx = start + offset
            _next_idx += 1
            if global_idx > 0:
                prefix = f"graph_{global_idx}"
            if log in ("parameters", "all"):
                watcher.add_parameters(model, prefix, log_freq)
            if log in ("gradients", "all"):
                watcher.add_gradients(model, prefix, log_freq)
            if log_graph:
                watcher.add_graph(model, global_idx)

    def unwatch(self, models: Any = None) -> None:
        """Remove the hooks ``watch`` put on ``models`` (a model or a sequence of them), or
        on every model this run watches when None."""
        watcher = self._watcher
        if not models:
            if watcher is not None:
                watcher.unwatch_all()
            return
        listed: Sequence[Any] = models if isinstance(models, (tuple, list)) else (models,)
        for model in listed:
            if watcher is None or not watcher.unwatch(model):
                messages.warning(getattr(self, "_settings", None),
                                 f"{type(model).__name__} model has not been watched")

    if TYPE_CHECKING:
        def _check_open(self, what: str) -> None: ...  # Run's own
