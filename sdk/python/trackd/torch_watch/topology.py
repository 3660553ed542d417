"""A PyTorch model's graph from its first forward pass (``watch(log_graph=True)``): W&B's
``graph-file`` of format ``torch``.

The nodes are the model's modules as W&B takes them: its children, the children of its
containers (``Sequential``, ``ModuleList``, ``ModuleDict``) in their place, named by their
dotted path (``layers.0``), each with ``class_name`` (the module as PyTorch prints it, its type
first), ``parameters`` (``[name, shape]``), ``num_parameters`` and ``output_shape``. The edges
are the connections the forward pass made: from the module whose output reached another
module's input, directly or through the operations between them (followed back through the
autograd graph of the input, up to :data:`MAX_WALK` steps). A model without children is one
node.

The graph is complete when the model's own forward pass returns; it is then handed to
``store(key, graph)`` and the hooks that recorded it are removed.
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod
from typing import Any

import torch

from trackd.media.graph import Graph, Node

#: Autograd functions followed back from one input to find the modules it came from: bounds
#: the work a very deep chain of operations between two modules costs (done once per model).
MAX_WALK = 10_000

_CONTAINERS = (torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)


def nested_shape(value: Any) -> Any:
    """The shape of a tensor, or the nested shapes of tensors in tuples and lists."""
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, (list, tuple)):
        return [nested_shape(v) for v in value]
    if isinstance(value, dict):
        return {str(k): nested_shape(v) for k, v in value.items()}
    return []


def _tensors(value: Any) -> list[Any]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def leaf_modules(model: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """The modules that are the graph's nodes, by dotted name (see the module doc)."""
    out = []
    for i, (name, child) in enumerate(model.named_children()):
        name = f"{prefix}.{name or i}" if prefix else (name or str(i))
        if isinstance(child, _CONTAINERS):
            out.extend(leaf_modules(child, name))
        else:
            out.append((name, child))
    return out


class GraphRecorder:
    """Hooks recording one model's graph on its next forward pass (``handles``: torch's
    handles of the hooks, for ``unwatch``)."""

    def __init__(self, model: Any, key: str, store: Callable[[str, Graph], None]) -> None:
        self.graph = Graph("torch")
        self._key = key
        self._store = store
        self._done = False
        self._by_output: dict[int, Node] = {}  # id of an output tensor or its grad_fn -> node
        self._kept: list[Any] = []  # those outputs, alive until the graph is done (their ids)
        self._edges: set[tuple[Any, Any]] = set()
        leaves = leaf_modules(model) or [(type(model).__name__, model)]
        self.handles = [m.register_forward_hook(self._recorder(name)) for name, m in leaves]
        self.handles.append(model.register_forward_hook(self._finish))  # after the leaves'

    def _recorder(self, name: str) -> Callable[..., None]:
        def after_forward(module: Any, inputs: Any, output: Any) -> None:
            if self._done or any(n.name == name for n in self.graph.nodes):
                return  # a module called twice is one node (its first call)
            params = [(pname, list(p.shape)) for pname, p in module.named_parameters()]
            node = self.graph.add_node(Node(
                id=id(module), name=name, class_name=str(module),
                output_shape=nested_shape(output if isinstance(output, tuple) else (output,)),
                parameters=params, num_parameters=[prod(shape) for _, shape in params]))
            for source in self._sources(inputs):
                if source is not node and (source.id, node.id) not in self._edges:
                    self._edges.add((source.id, node.id))
                    self.graph.add_edge(source, node)
            for t in _tensors(output):
                self._by_output[id(t)] = node
                self._kept.append(t)
                if t.grad_fn is not None:
                    self._by_output[id(t.grad_fn)] = node
                    self._kept.append(t.grad_fn)

        return after_forward

    def _sources(self, inputs: Any) -> list[Node]:
        """The recorded modules whose outputs reached ``inputs``: the same tensor, or an
        output found by following the inputs' autograd graph back."""
        found: list[Node] = []
        seen: set[int] = set()
        stack: list[Any] = []
        for t in _tensors(inputs):
            node = self._by_output.get(id(t))
            if node is not None:
                found.append(node)
            elif t.grad_fn is not None:
                stack.append(t.grad_fn)
        walked = 0
        while stack and walked < MAX_WALK:
            fn = stack.pop()
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            walked += 1
            node = self._by_output.get(id(fn))
            if node is not None:
                found.append(node)
                continue  # stop there: what lies before belongs to that module
            stack.extend(nxt for nxt, _ in fn.next_functions if nxt is not None)
        return found

    def _finish(self, _module: Any, _inputs: Any, _output: Any) -> None:
        if self._done:
            return
        self._done = True
        self.graph.loaded = True
        for handle in self.handles:
            handle.remove()
        self._by_output.clear()
        self._kept.clear()
        self._store(self._key, self.graph)
