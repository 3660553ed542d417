"""The lineage graph of an artifact version, as W&B's lineage view draws it: runs and artifact
versions as the nodes of a directed graph (a run points at the versions it logged, a version at
the runs that used it), grown a step at a time from the version the page shows, and laid out
in layers from left to right. Pure: ``api.py`` reads the neighbours from the store.

A node's id is ``run:ENTITY/PROJECT/RUN_ID`` or ``artifact:VERSION_ID``. The graph starts
with the version and its neighbours; each node the viewer expands adds its own. Layers are
the longest path from a node without inputs (an edge that would close a cycle is left out of
the layering, so a run that used what it logged still gets a layout); inside a layer, nodes are
ordered by the mean row of their neighbours in the layer before, then after (a few sweeps of
the barycentre heuristic), which keeps most edges from crossing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Neighbours one expansion adds in each direction (the rest counted in ``more``).
MAX_NEIGHBOURS = 25
#: Nodes one graph holds at most; expanding further is refused by leaving nodes unexpanded.
MAX_NODES = 400
#: Ordering sweeps (down and up) of the barycentre heuristic.
SWEEPS = 4


def run_node_id(entity: str, project: str, run_id: str) -> str:
    return f"run:{entity}/{project}/{run_id}"


def artifact_node_id(version_id: str) -> str:
    return f"artifact:{version_id}"


@dataclass
class Node:
    """One node: what the page draws and links to."""

    id: str
    kind: str  # "run" or "artifact"
    label: str
    detail: str = ""  # the run's state, the version's type
    href: str = ""
    expanded: bool = False
    #: Neighbours left out of an expansion (more than MAX_NEIGHBOURS).
    more: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "label": self.label, "detail": self.detail,
                "href": self.href, "expanded": self.expanded, "more": self.more}


@dataclass
class LineageGraph:
    """Nodes and edges gathered so far; :meth:`to_json` lays them out."""

    seed: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: set[tuple[str, str]] = field(default_factory=set)

    def full(self) -> bool:
        return len(self.nodes) >= MAX_NODES

    def add(self, node: Node) -> Node:
        """``node``, or the one with its id already in the graph."""
        return self.nodes.setdefault(node.id, node)

    def connect(self, source: str, target: str) -> None:
        if source != target:
            self.edges.add((source, target))

    def to_json(self) -> dict[str, Any]:
        edges = sorted(e for e in self.edges if e[0] in self.nodes and e[1] in self.nodes)
        position = layout(list(self.nodes), edges)
        nodes = []
        for node_id, node in self.nodes.items():
            layer, row = position[node_id]
            nodes.append({**node.to_json(), "layer": layer, "row": row,
                          "seed": node_id == self.seed})
        nodes.sort(key=lambda n: (n["layer"], n["row"]))
        return {"seed": self.seed, "nodes": nodes,
                "edges": [{"source": s, "target": t} for s, t in edges],
                "layers": 1 + max((n["layer"] for n in nodes), default=-1),
                "full": self.full()}


def _acyclic(nodes: list[str], edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``edges`` without those that close a cycle (back edges of a depth-first search started
    from the nodes in order)."""
    out_edges: dict[str, list[str]] = {n: [] for n in nodes}
    for s, t in edges:
        out_edges[s].append(t)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    back: set[tuple[str, str]] = set()
    for start in nodes:
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(out_edges[start]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(out_edges[child])))
    return [e for e in edges if e not in back]


def layers(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each node's layer: the longest path to it from a node without inputs."""
    dag = _acyclic(nodes, edges)
    inputs: dict[str, list[str]] = {n: [] for n in nodes}
    outputs: dict[str, list[str]] = {n: [] for n in nodes}
    for s, t in dag:
        inputs[t].append(s)
        outputs[s].append(t)
    waiting = {n: len(inputs[n]) for n in nodes}
    ready = [n for n in nodes if not waiting[n]]
    layer = dict.fromkeys(nodes, 0)
    while ready:
        node = ready.pop()
        for t in outputs[node]:
            layer[t] = max(layer[t], layer[node] + 1)
            waiting[t] -= 1
            if not waiting[t]:
                ready.append(t)
    return layer


def layout(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """Each node's (layer, row): layers left to right, rows top to bottom inside a layer."""
    layer = layers(nodes, edges)
    by_layer: dict[int, list[str]] = {}
    for n in nodes:  # first seen first: the order the graph grew in
        by_layer.setdefault(layer[n], []).append(n)
    neighbours: dict[str, list[str]] = {n: [] for n in nodes}
    for s, t in edges:
        neighbours[s].append(t)
        neighbours[t].append(s)
    row = {n: i for members in by_layer.values() for i, n in enumerate(members)}
    order = sorted(by_layer)
    for sweep in range(SWEEPS):
        sequence = order[1:] if sweep % 2 == 0 else list(reversed(order[:-1]))
        for lay in sequence:
            beside = lay - 1 if sweep % 2 == 0 else lay + 1

            def centre(n: str, beside: int = beside) -> float:
                rows = [row[m] for m in neighbours[n] if layer[m] == beside]
                return sum(rows) / len(rows) if rows else row[n]

            members = sorted(by_layer[lay], key=lambda n: (centre(n), row[n]))
            by_layer[lay] = members
            row.update({n: i for i, n in enumerate(members)})
    return {n: (layer[n], row[n]) for n in nodes}
