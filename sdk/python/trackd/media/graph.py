"""``trackd.Graph``: a model's graph (W&B's ``graph-file``), a JSON file in the run's media
(``media/graph/<key>_<step>_<hash>.graph.json``) holding ``{"format", "nodes", "edges"}``.

A node is a dict of the attributes it was given (W&B's ``Node``: ``id``, ``name``,
``class_name``, ``output_shape``, ``parameters`` as ``[name, shape]`` pairs,
``num_parameters``...); an edge is ``[from id, to id]``. ``run.watch(model, log_graph=True)``
makes one from a PyTorch model's first forward pass and stores it in the summary as
``graph_<idx>``; the dashboard draws it as a tree of modules the user can expand.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from trackd.media.base import Media, MediaOut
from trackd.media.sources import read_source

#: The attributes a node may have (W&B's ``Node`` arguments), in the order they are written.
NODE_ATTRIBUTES = ("id", "name", "class_name", "size", "parameters", "output_shape",
                   "is_output", "num_parameters", "node")


class Node:
    """One node of a :class:`Graph` (a layer, a module...): the attributes given, each kept
    as an attribute of the node and written to the JSON when not None."""

    def __init__(self, id: Any = None, name: str | None = None,  # noqa: A002 - W&B's name
                 class_name: str | None = None, size: Any = None, parameters: Any = None,
                 output_shape: Any = None, is_output: bool | None = None,
                 num_parameters: Any = None, node: Any = None) -> None:
        given = dict(id=id, name=name, class_name=class_name, size=size, parameters=parameters,
                     output_shape=output_shape, is_output=is_output,
                     num_parameters=num_parameters, node=node)
        self._attributes: dict[str, Any] = {"name": None}
        for key in NODE_ATTRIBUTES:
            if given[key] is not None:
                self._attributes[key] = given[key]

    def __getattr__(self, name: str) -> Any:
        if name in NODE_ATTRIBUTES:
            return self.__dict__["_attributes"].get(name)
        raise AttributeError(f"'Node' object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in NODE_ATTRIBUTES:
            self._attributes[name] = value
        else:
            object.__setattr__(self, name, value)

    def to_json(self, run: Any = None) -> dict[str, Any]:
        return {k: v for k, v in self._attributes.items() if v is not None or k == "name"}

    def __repr__(self) -> str:
        return f"<trackd Node {self._attributes.get('name')!r}>"


class Edge:
    """A connection from one :class:`Node` to another (written as ``[from id, to id]``)."""

    def __init__(self, from_node: Node, to_node: Node) -> None:
        self.from_node = from_node
        self.to_node = to_node

    def to_json(self, run: Any = None) -> list[Any]:
        return [self.from_node.id, self.to_node.id]

    def __repr__(self) -> str:
        return f"<trackd Edge {self.from_node.name!r} -> {self.to_node.name!r}>"


class Graph(Media):
    """A graph of nodes and edges in ``format`` (``"torch"``, ``"keras"``...).

    Build it with :meth:`add_node` and :meth:`add_edge`; log it (or set it in the summary) and
    it is stored as a ``graph-file``.

    :raises TypeError: ``add_edge`` is given something that is not a :class:`Node`.
    """

    _log_type: ClassVar[str] = "graph-file"

    def __init__(self, format: str = "keras") -> None:  # noqa: A002 - W&B's argument name
        self.format = format
        self.nodes: list[Node] = []
        self.nodes_by_id: dict[Any, Node] = {}
        self.edges: list[Edge] = []
        self.loaded = False
        self.criterion: Any = None
        self.criterion_passed = False

    def add_node(self, node: Node | None = None, **node_kwargs: Any) -> Node:
        """Add ``node`` (or a :class:`Node` made of ``node_kwargs``); returns it."""
        node = node if node is not None else Node(**node_kwargs)
        if node.id is None:
            node.id = len(self.nodes)
        self.nodes.append(node)
        self.nodes_by_id[node.id] = node
        return node

    def add_edge(self, from_node: Node, to_node: Node) -> Edge:
        """Connect ``from_node`` to ``to_node``; returns the edge."""
        for what, node in (("from_node", from_node), ("to_node", to_node)):
            if not isinstance(node, Node):
                raise TypeError(f"Graph.add_edge: {what} must be a Node, got "
                                f"{type(node).__name__}")
        edge = Edge(from_node, to_node)
        self.edges.append(edge)
        return edge

    def __getitem__(self, nid: Any) -> Node:
        return self.nodes_by_id[nid]

    def to_dict(self) -> dict[str, Any]:
        """What the graph file holds: ``{"format", "nodes", "edges"}``."""
        return {"format": self.format, "nodes": [n.to_json() for n in self.nodes],
                "edges": [e.to_json() for e in self.edges]}

    def _raw_size(self) -> int:
        return 256 * (len(self.nodes) + len(self.edges))

    def _encode(self, out: MediaOut) -> dict[str, Any]:
        data = json.dumps(self.to_dict(), separators=(",", ":"), default=str).encode()
        return {"_type": self._log_type, **out.put("graph", "graph.json", data)}

    @classmethod
    def get_media_subdir(cls) -> str:
        """Where a run keeps graph files (W&B's layout)."""
        return "media/graph"

    @classmethod
    def _from_json(cls, json_obj: dict[str, Any], source: Any) -> Graph:
        """The Graph again from its JSON dict as read back (its file read through ``source``,
        see :func:`~trackd.media.sources.read_source`)."""
        data = json.loads(read_source(source, json_obj["path"]))
        graph = cls(format=data.get("format", "keras"))
        for attrs in data.get("nodes", []):
            graph.add_node(Node(**{k: v for k, v in attrs.items() if k in NODE_ATTRIBUTES}))
        for pair in data.get("edges", []):
            if isinstance(pair, list) and len(pair) == 2 and pair[0] in graph.nodes_by_id \
                    and pair[1] in graph.nodes_by_id:
                graph.add_edge(graph[pair[0]], graph[pair[1]])
        graph.loaded = True
        return graph

    def __repr__(self) -> str:
        return f"<trackd.Graph {self.format} of {len(self.nodes)} nodes, {len(self.edges)} edges>"
