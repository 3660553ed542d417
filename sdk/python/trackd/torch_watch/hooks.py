"""The PyTorch hooks of ``run.watch`` (imported only once the user has passed a torch model):
a forward hook on each watched model logs its parameters, a hook on each parameter that
requires a gradient logs that gradient, and with ``log_graph`` forward hooks on its modules
record the model's graph (:mod:`trackd.torch_watch.topology`).

Each hook counts its own calls and logs on every ``log_freq``-th (W&B's cadence: the
``log_freq``-th call, then every ``log_freq`` calls), with ``commit=False``, into the run's
current step: ``parameters/<prefix><name>`` and ``gradients/<prefix><name>``, the prefix being
``graph_<idx>`` for a model watched with an index above 0 (W&B's names). Between two logs a hook
does nothing but count: no tensor is read, nothing waits for a GPU.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch

from trackd.media.histogram import Histogram
from trackd.torch_watch.device_histogram import device_histogram
from trackd.torch_watch.topology import GraphRecorder


class Cadence:
    """Counts calls; ``due()`` is true on every ``log_freq``-th."""

    __slots__ = ("count", "every")

    def __init__(self, log_freq: int) -> None:
        self.count = 0
        self.every = log_freq

    def due(self) -> bool:
        self.count += 1
        if self.count < self.every:
            return False
        self.count = 0
        return True


def _histograms(named: list[tuple[str, Any]]) -> dict[str, dict[str, Any]]:
    """W&B's histogram dicts of the tensors, counted already: logged inline, they need
    nothing from the run's media encoder (a ``trackd.Histogram`` would be queued there)."""
    out = {}
    for name, tensor in named:
        got = device_histogram(tensor)
        if got is not None:  # no finite value: nothing logged (W&B's rule)
            out[name] = {"_type": Histogram._log_type, "values": got[0], "bins": got[1]}
    return out


class Watcher:
    """A run's hooks on the models it watches, by model (held weakly) and by name."""

    def __init__(self, run: Any) -> None:
        self._run = weakref.ref(run)
        self._handles: dict[str, Any] = {}  # hook name -> torch's RemovableHandle
        self._names: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()
        self._graphed: weakref.WeakSet[Any] = weakref.WeakSet()

    def _log(self, values: dict[str, Any]) -> None:
        run = self._run()
        if run is None or run._finished or not values:
            return  # the run ended: its hooks log nothing more
        run.log(values, commit=False)

    def _remember(self, model: Any, name: str, handle: Any) -> None:
        self._handles[name] = handle
        self._names.setdefault(model, []).append(name)

    def add_parameters(self, model: Any, prefix: str, log_freq: int) -> None:
        """Log the histograms of ``model``'s parameters after every ``log_freq``-th forward
        pass of it."""
        cadence = Cadence(log_freq)
        name = "parameters/" + prefix

        def after_forward(module: Any, _inputs: Any, _output: Any) -> None:
            if cadence.due():
                with torch.no_grad():
                    self._log(_histograms([(f"parameters/{prefix}{n}", p.detach())
                                           for n, p in module.named_parameters()]))

        self._remember(model, name, model.register_forward_hook(after_forward))

    def add_gradients(self, model: Any, prefix: str, log_freq: int) -> None:
        """Log the histogram of each gradient of ``model``'s parameters on every
        ``log_freq``-th backward pass through it.

        :raises ValueError: a gradient of that name is already watched in this run.
        """
        params = [(f"gradients/{prefix}{n}", p) for n, p in model.named_parameters()
                  if p.requires_grad]
        for name, _ in params:
            if name in self._handles:
                raise ValueError(f'A hook has already been set under name "{name}"')
        for name, param in params:
            self._remember(model, name, param.register_hook(self._gradient_hook(name, log_freq)))

    def _gradient_hook(self, name: str, log_freq: int) -> Any:
        cadence = Cadence(log_freq)

        def on_gradient(grad: Any) -> None:
            if cadence.due():
                with torch.no_grad():
                    self._log(_histograms([(name, grad)]))

        return on_gradient

    def add_graph(self, model: Any, graph_idx: int) -> None:
        """Record ``model``'s graph on its next forward pass, stored in the summary as
        ``graph_<graph_idx>``.

        :raises ValueError: the model's graph is already recorded (W&B allows it once).
        """
        if model in self._graphed:
            raise ValueError("You can only call `watch` once per model with log_graph=True. "
                             "Pass a new instance of the model to watch it again.")
        self._graphed.add(model)
        recorder = GraphRecorder(model, f"graph_{graph_idx}", self._store_graph)
        for i, handle in enumerate(recorder.handles):
            self._remember(model, f"topology/{id(recorder)}/{i}", handle)

    def _store_graph(self, key: str, graph: Any) -> None:
        run = self._run()
        if run is not None and not run._finished:
            run.summary[key] = graph

    def unwatch(self, model: Any) -> bool:
        """Remove ``model``'s hooks; False when it has none."""
        names = self._names.pop(model, None)
        if names is None:
            return False
        for name in names:
            handle = self._handles.pop(name, None)
            if handle is not None:
                handle.remove()
        return True

    def unwatch_all(self) -> None:
        for handle in self._handles.values():
            handle.remove()
        self._handles.clear()
        self._names.clear()
