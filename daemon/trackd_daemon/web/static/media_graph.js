// Model graph panels (graph-file: watch(log_graph=True)): the model's modules as a tree the
// user expands — containers by their dotted names (layers.0, layers.1 under "layers"), each
// module with its type, parameter shapes, output shape and the modules it takes its input from
// and gives its output to (the connections of the forward pass). The graph is kept in the run's
// summary only, so the media list brings its value.
"use strict";
(() => {
  const typeOf = (node) => String(node.class_name || "").split("(")[0].trim() || "module";
  const count = (node) => (node.num_parameters || []).reduce((a, b) => a + Number(b || 0), 0);
  const shape = (s) => JSON.stringify(s === undefined ? [] : s);

  // {children: Map(name -> group), nodes: [], order: [group or node]} from the nodes' dotted
  // names, in the order of the forward pass.
  function tree(nodes) {
    const make = (name) => ({name, children: new Map(), nodes: [], order: []});
    const root = make("");
    for (const node of nodes) {
      const parts = String(node.name || node.id).split(".");
      let group = root;
      for (const part of parts.slice(0, -1)) {
        if (!group.children.has(part)) {
          const g = make(part);
          group.children.set(part, g);
          group.order.push(g);
        }
        group = group.children.get(part);
      }
      group.nodes.push(node);
      group.order.push(node);
    }
    return root;
  }

  function total(group) {
    let n = group.nodes.reduce((a, x) => a + count(x), 0);
    for (const g of group.children.values()) n += total(g);
    return n;
  }

  function nodeEl(node, ins, outs, byId) {
    const names = (ids) => ids.map((i) => (byId.get(i) || {}).name || String(i)).join(", ") || "—";
    const params = (node.parameters || []).map(([n, s], i) =>
      TD.el("tr", {}, TD.el("td", {}, String(n)), TD.el("td", {}, shape(s)),
            TD.el("td", {class: "num"}, String((node.num_parameters || [])[i] ?? ""))));
    return TD.el("details", {class: "graph-node", dataset: {node: String(node.name)}},
      TD.el("summary", {},
        TD.el("span", {class: "graph-name"}, String(node.name)), " ",
        TD.el("span", {class: "graph-type"}, typeOf(node)), " ",
        TD.el("span", {class: "graph-count"}, `${count(node).toLocaleString()} params`)),
      TD.el("dl", {class: "graph-info"},
        TD.el("dt", {}, "Output shape"), TD.el("dd", {class: "graph-output"}, shape(node.output_shape)),
        TD.el("dt", {}, "Input from"), TD.el("dd", {class: "graph-in"}, names(ins.get(node.id) || [])),
        TD.el("dt", {}, "Output to"), TD.el("dd", {class: "graph-out"}, names(outs.get(node.id) || []))),
      params.length ? TD.el("table", {class: "graph-params"},
        TD.el("tr", {}, TD.el("th", {}, "Parameter"), TD.el("th", {}, "Shape"), TD.el("th", {}, "Count")),
        ...params) : TD.el("p", {class: "empty"}, "No parameters."),
      TD.el("pre", {class: "graph-module"}, String(node.class_name || "")));
  }

  function groupEl(group, ins, outs, byId, prefix) {
    const items = group.order.map((item) => {
      if (!item.children) return nodeEl(item, ins, outs, byId);
      const full = prefix ? `${prefix}.${item.name}` : item.name;
      return TD.el("details", {class: "graph-group", dataset: {group: full}},
        TD.el("summary", {}, TD.el("span", {class: "graph-name"}, full), " ",
              TD.el("span", {class: "graph-count"}, `${total(item).toLocaleString()} params`)),
        groupEl(item, ins, outs, byId, full));
    });
    return TD.el("div", {class: "graph-items"}, ...items);
  }

  TDMedia.register(["graph-file"], async ({run, key, el, info}) => {
    const own = (info.keys || []).find((k) => k.key === key);
    if (!own || !own.value || !own.value.path) { TDMedia.message(el, "No graph logged."); return; }
    const graph = await TDMedia.json(run, own.value.path);
    const nodes = graph.nodes || [];
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const ins = new Map(), outs = new Map();
    for (const [a, b] of graph.edges || []) {
      if (!ins.has(b)) ins.set(b, []);
      if (!outs.has(a)) outs.set(a, []);
      ins.get(b).push(a);
      outs.get(a).push(b);
    }
    const root = tree(nodes);
    const all = TD.el("div", {class: "media-graph"});
    const toggle = (open) => all.querySelectorAll("details").forEach((d) => { d.open = open; });
    all.append(
      TD.el("div", {class: "graph-head"},
        TD.el("span", {class: "graph-summary"},
              `${graph.format || "graph"}: ${nodes.length} modules, ${(graph.edges || []).length} connections, ` +
              `${total(root).toLocaleString()} parameters`), " ",
        TD.el("button", {type: "button", class: "graph-expand", onclick: () => toggle(true)}, "Expand all"), " ",
        TD.el("button", {type: "button", class: "graph-collapse", onclick: () => toggle(false)}, "Collapse all")),
      groupEl(root, ins, outs, byId, ""));
    Object.assign(all.dataset, {drawn: "1", nodes: String(nodes.length), edges: String((graph.edges || []).length)});
    el.replaceChildren(all);
  });
})();
