// The version page's lineage graph (W&B's lineage view): runs and artifact versions as a
// directed graph, laid out by the daemon in layers from left to right (web/lineage.py) and
// drawn here in SVG. Clicking a node shows what it is, with a link to its page, and expands
// it: the graph is asked for again with that node's inputs and outputs added.
"use strict";
(() => {
  const v = TD.data.version;
  const api = v.api.replace(/^\/api\/v1/, "") + "/lineage";
  const box = document.getElementById("lineage");
  const info = document.getElementById("lineage-info");
  const statusLine = document.getElementById("lineage-status");
  const NS = "http://www.w3.org/2000/svg";
  const W = 176, H = 46, COL = 232, ROW = 66, PAD = 16;
  const expanded = [];
  let selected = null;

  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(NS, tag);
    for (const [k, val] of Object.entries(attrs || {})) e.setAttribute(k, val);
    for (const c of children) e.append(c);
    return e;
  }
  const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + "…" : s);

  function showInfo(node) {
    const kind = node.kind === "run" ? "Run" : "Artifact version";
    info.replaceChildren(
      TD.el("p", {class: "run-id"}, kind),
      TD.el("p", {}, node.href ? TD.el("a", {href: node.href, id: "lineage-open"}, node.label) : node.label),
      TD.el("p", {class: "run-id"}, node.detail || ""),
      node.more ? TD.el("p", {class: "status"}, `${node.more} more not drawn`) : "",
      TD.el("p", {class: "status"}, node.expanded ? "Its inputs and outputs are drawn." : "Expanding…"));
  }

  function draw(graph) {
    const rows = {};
    for (const n of graph.nodes) rows[n.layer] = Math.max(rows[n.layer] || 0, n.row + 1);
    const tallest = Math.max(1, ...Object.values(rows));
    const pos = {};
    for (const n of graph.nodes) {
      const offset = (tallest - rows[n.layer]) * ROW / 2;
      pos[n.id] = {x: PAD + n.layer * COL, y: PAD + offset + n.row * ROW};
    }
    const width = PAD * 2 + Math.max(0, graph.layers - 1) * COL + W;
    const height = PAD * 2 + (tallest - 1) * ROW + H;
    const root = svg("svg", {width, height, viewBox: `0 0 ${width} ${height}`, class: "lineage-svg", role: "img",
                             "aria-label": "lineage graph"});
    root.append(svg("defs", {}, svg("marker", {id: "lineage-arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
                                               markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse"},
                                     svg("path", {d: "M 0 0 L 10 5 L 0 10 z", class: "lineage-arrowhead"}))));
    for (const e of graph.edges) {
      const a = pos[e.source], b = pos[e.target];
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2, mid = (x1 + x2) / 2;
      root.append(svg("path", {d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`, class: "lineage-edge",
                               "marker-end": "url(#lineage-arrow)", "data-source": e.source, "data-target": e.target}));
    }
    for (const n of graph.nodes) {
      const p = pos[n.id];
      const g = svg("g", {class: `lineage-node ${n.kind}${n.seed ? " seed" : ""}${n.id === selected ? " selected" : ""}`,
                          transform: `translate(${p.x},${p.y})`, tabindex: "0", "data-id": n.id, "data-kind": n.kind,
                          "data-expanded": n.expanded ? "1" : "0", "data-label": n.label});
      const title = svg("title");
      title.textContent = `${n.label} (${n.detail})`;
      const label = svg("text", {x: 10, y: 19, class: "lineage-label"});
      label.textContent = clip(n.label, 22);
      const detail = svg("text", {x: 10, y: 36, class: "lineage-detail"});
      detail.textContent = clip((n.kind === "run" ? "run · " : "") + (n.detail || "") + (n.more ? ` · +${n.more}` : ""), 26);
      g.append(title, svg("rect", {width: W, height: H, rx: n.kind === "run" ? 22 : 4}), label, detail);
      if (!n.expanded) {
        const plus = svg("text", {x: W - 16, y: 28, class: "lineage-expand"});
        plus.textContent = "+";
        g.append(plus);
      }
      const act = () => {
        selected = n.id;
        showInfo(n);
        if (!n.expanded && !graph.full) {
          expanded.push(n.id);
          load();
        } else {
          for (const other of box.querySelectorAll(".lineage-node")) other.classList.toggle("selected", other === g);
        }
      };
      g.addEventListener("click", act);
      g.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); act(); } });
      root.append(g);
    }
    box.replaceChildren(root);
    box.dataset.nodes = String(graph.nodes.length);
    box.dataset.edges = String(graph.edges.length);
    box.dataset.expansions = String(expanded.length);
    statusLine.textContent = graph.full ? "The graph is as large as it may get: open a node's page to go on from there." : "";
    if (selected) {
      const node = graph.nodes.find((n) => n.id === selected);
      if (node) showInfo(node);
    }
  }

  async function load() {
    try {
      draw(await TD.api(api, {expand: expanded}));
    } catch (err) {
      statusLine.textContent = "Could not load the lineage: " + err.message;
    }
  }
  load();
})();
