"""The lineage graph's building and layout (``web/lineage.py``), pure: layers left to right by
the longest path, rows ordered to keep edges from crossing, cycles tolerated, and the JSON the
version page draws."""

from __future__ import annotations

from trackd_daemon.web.artifacts.lineage import (
    MAX_NODES,
    LineageGraph,
    Node,
    artifact_node_id,
    layers,
    layout,
    run_node_id,
)


def test_a_chain_of_runs_and_versions_is_one_layer_per_step() -> None:
    nodes = ["run:e/p/a", "artifact:ds", "run:e/p/b", "artifact:model"]
    edges = [("run:e/p/a", "artifact:ds"), ("artifact:ds", "run:e/p/b"),
             ("run:e/p/b", "artifact:model")]
    # Whatever order the graph grew in, the layers follow the edges.
    for order in (nodes, list(reversed(nodes)), [nodes[2], nodes[0], nodes[3], nodes[1]]):
        assert layout(order, edges) == {"run:e/p/a": (0, 0), "artifact:ds": (1, 0),
                                        "run:e/p/b": (2, 0), "artifact:model": (3, 0)}


def test_a_node_sits_after_its_longest_input_path() -> None:
    # a -> x -> b -> y, and a -> y directly: y is after b, not beside x.
    edges = [("a", "x"), ("x", "b"), ("b", "y"), ("a", "y")]
    assert layers(["a", "x", "b", "y"], edges) == {"a": 0, "x": 1, "b": 2, "y": 3}


def test_rows_follow_their_neighbours_so_edges_do_not_cross() -> None:
    # Two producers in layer 0 in one order, their outputs first seen in the other order.
    nodes = ["r1", "r2", "v2", "v1"]
    edges = [("r1", "v1"), ("r2", "v2")]
    pos = layout(nodes, edges)
    assert pos["r1"][0] == pos["r2"][0] == 0 and pos["v1"][0] == pos["v2"][0] == 1
    # Each output in its producer's row: no crossing.
    assert (pos["r1"][1] < pos["r2"][1]) == (pos["v1"][1] < pos["v2"][1])
    # Rows inside a layer are 0..n-1.
    assert sorted(pos[n][1] for n in ("r1", "r2")) == [0, 1]


def test_a_cycle_still_gets_a_layout() -> None:
    # A run that used the version it logged.
    edges = [("run", "v"), ("v", "run"), ("v", "other")]
    pos = layout(["v", "run", "other"], edges)
    assert set(pos) == {"v", "run", "other"}
    assert pos["v"][0] < pos["other"][0]


def test_the_graph_json_lays_out_nodes_and_keeps_edges_between_known_nodes() -> None:
    seed = artifact_node_id("ds-id")
    g = LineageGraph(seed)
    g.add(Node(seed, "artifact", "ds:v0", "dataset", "/e/p/artifacts/dataset/ds/v0",
               expanded=True))
    producer = run_node_id("e", "p", "a")
    g.add(Node(producer, "run", "prep", "finished", "/e/p/runs/a"))
    again = g.add(Node(producer, "run", "other name"))
    assert again.label == "prep"  # the node already there is kept
    g.connect(producer, seed)
    g.connect(seed, seed)  # no self loop
    g.connect(seed, "run:e/p/missing")  # not a node: left out of the answer
    out = g.to_json()
    assert out["seed"] == seed and out["layers"] == 2 and not out["full"]
    assert [n["id"] for n in out["nodes"]] == [producer, seed]
    assert out["nodes"][1]["seed"] and out["nodes"][1]["expanded"]
    assert not out["nodes"][0]["seed"] and out["nodes"][0]["href"] == "/e/p/runs/a"
    assert out["edges"] == [{"source": producer, "target": seed}]


def test_a_graph_knows_when_it_is_full() -> None:
    g = LineageGraph("artifact:0")
    for i in range(MAX_NODES - 1):
        g.add(Node(f"artifact:{i}", "artifact", str(i)))
    assert not g.full()
    g.add(Node("run:e/p/x", "run", "x"))
    assert g.full() and g.to_json()["full"]
