// Comparing runs: their metrics overlaid on shared charts, and a parallel-coordinates view of
// config -> summary across them.
"use strict";
(() => {
  const {entity, project, runs} = TD.data;
  if (!runs.length) return;
  const statusEl = document.getElementById("charts-status");
  const sectionsEl = document.getElementById("sections");
  const state = {x: "auto", log: false, charts: new Map()};
  const runBase = (id) => `/runs/${TD.enc(entity)}/${TD.enc(project)}/${TD.enc(id)}`;
  TD.plotly();

  function flatten(obj, prefix, out) {
    for (const [k, v] of Object.entries(obj || {})) {
      if (!prefix && k.startsWith("_")) continue;
      if (v && typeof v === "object" && !Array.isArray(v)) {
        if (!("_type" in v)) flatten(v, prefix + k + ".", out);
      } else out[prefix + k] = v;
    }
    return out;
  }

  // Text plotly shows as given (it reads a few HTML tags in labels).
  const plain = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

  // One axis of the parallel coordinates (panels.js, loaded before this script).
  const dimension = TDPanels.dimension;

  // Config -> summary across the runs as parallel coordinates, drawn with plain SVG lines (one
  // per run, in the run's colour of the charts below): plotly's own parcoords needs WebGL
  // shaders compiled with eval, which the dashboard's policy does not allow.
  async function parallel(details) {
    const configs = details.map((d) => flatten(d.config, "", {}));
    const summaries = details.map((d) => flatten(d.summary, "", {}));
    const keysOf = (list) => [...new Set(list.flatMap((o) => Object.keys(o)))];
    const dims = [];
    for (const k of keysOf(configs).slice(0, 12)) dims.push(dimension(k, configs.map((c) => c[k])));
    const summaryDims = keysOf(summaries).filter((k) => summaries.some((s) => typeof s[k] === "number")).slice(0, 8);
    for (const k of summaryDims) dims.push(dimension(k, summaries.map((s) => s[k])));
    const div = document.getElementById("parcoords");
    if (!dims.length) { div.textContent = "These runs have no config or numeric summary values."; return; }
    const xs = dims.map((_, i) => i);
    const data = details.map((d, r) => ({
      type: "scatter", mode: "lines+markers", x: xs, y: dims.map((dim) => dim.pos[r]),
      name: runs[r].name, line: {color: TD.runColor(runs[r], r), width: 2},
      customdata: dims.map((dim) => [plain(dim.label), plain(dim.shown[r])]),
      hovertemplate: "%{customdata[0]}: %{customdata[1]}<extra>" + plain(runs[r].name) + "</extra>",
    }));
    const axisLine = {color: "#9aa1ad", width: 1};
    const layout = {
      height: 340, margin: {l: 50, r: 50, t: 40, b: 20}, hovermode: "closest",
      showlegend: true, legend: {orientation: "h", y: -0.02},
      xaxis: {tickvals: xs, ticktext: dims.map((d) => plain(d.label)), side: "top", showgrid: false,
              zeroline: false, fixedrange: true, range: [-0.3, dims.length - 0.7]},
      yaxis: {visible: false, range: [-0.08, 1.08], fixedrange: true},
      shapes: xs.map((x) => ({type: "line", x0: x, x1: x, y0: 0, y1: 1, line: axisLine})),
      annotations: dims.flatMap((dim, i) => dim.ticks.map(([y, text]) => ({
        x: i, y, text: plain(text), showarrow: false, xanchor: "right", xshift: -4, font: {size: 10, color: "#687083"}}))),
    };
    const P = await TD.plotly();
    P.newPlot(div, data, layout, {responsive: true, displaylogo: false, displayModeBar: false});
    div.dataset.dimensions = String(dims.length);
  }

  // A chart's height without its legend (pixels): the legend's rows come on top of it.
  const PLOT_PX = 240;

  // Once plotly has laid the legend out above the plot: the chart grows (or shrinks) by the
  // legend's height, so the plot area stays the same however many runs are named.
  function fitLegend(P, rec) {
    const legend = rec.div.querySelector(".legend");
    const want = PLOT_PX + (legend ? Math.ceil(legend.getBoundingClientRect().height) : 0);
    if (Math.abs(want - rec.height) <= 4) return;
    rec.height = want;
    P.relayout(rec.div, {height: want});
  }

  // The x axis of a chart: the one picked, or with "auto" its metric's step metric (the step
  // when none).
  const xFor = (rec) => (state.x === "auto" ? rec.step_metric || "_step" : state.x);

  function chart(c, section, system) {
    let sec = [...sectionsEl.children].find((s) => s.dataset.section === section);
    if (!sec) {
      sec = TD.el("details", {class: "section", open: true, dataset: system ? {section, system: "1"} : {section}},
                  TD.el("summary", {}, TD.sectionTitle(section)), TD.el("div", {class: "chart-grid"}));
      sectionsEl.append(sec);
    }
    const div = TD.el("div", {class: "chart", dataset: {key: c.key}});
    sec.querySelector(".chart-grid").append(TD.el("div", {class: "chart-box"}, TD.el("div", {class: "chart-title"}, c.key), div));
    const rec = {key: c.key, step_metric: c.step_metric, div, range: null, drawn: false, series: {}, x: null,
                 height: PLOT_PX + 20};
    state.charts.set(c.key, rec);
    return rec;
  }

  // The runs' chart layouts as one: each section's charts across the runs, a chart's step
  // metric the one any run defined for it; the user's sections first (the unnamed one
  // leading), System last.
  function merge(layouts) {
    const user = new Map(), system = new Map(), axes = new Set();
    for (const layout of layouts) {
      for (const x of layout.x_axes) axes.add(x);
      for (const s of layout.sections) {
        const into = s.system ? system : user;
        if (!into.has(s.name)) into.set(s.name, new Map());
        const charts = into.get(s.name);
        for (const c of s.charts) {
          const known = charts.get(c.key);
          if (!known) charts.set(c.key, {key: c.key, step_metric: c.step_metric || ""});
          else if (!known.step_metric && c.step_metric) known.step_metric = c.step_metric;
        }
      }
    }
    const order = (map) => [...map.keys()].sort((a, b) => (a !== "") - (b !== "") || a.toLowerCase().localeCompare(b.toLowerCase()));
    const sections = [];
    for (const name of order(user)) sections.push({name, system: false, charts: user.get(name)});
    for (const name of order(system)) sections.push({name, system: true, charts: system.get(name)});
    return {sections, axes: [...axes]};
  }

  async function fetchSeries(recs) {
    const groups = new Map();
    for (const rec of recs) {
      const k = xFor(rec) + "|" + (rec.range ? rec.range.join(",") : "");
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(rec);
    }
    await Promise.all([...groups.values()].map(async (group) => {
      const x = xFor(group[0]);
      const range = group[0].range;
      await Promise.all(runs.map(async (r) => {
        for (let i = 0; i < group.length; i += 100) {
          const chunk = group.slice(i, i + 100);
          const body = await TD.api(runBase(r.id) + "/series", {
            key: chunk.map((c) => c.key), x, buckets: 1000,
            x_min: range ? range[0] : null, x_max: range ? range[1] : null});
          for (const c of chunk) c.series[r.id] = body.series[c.key];
        }
      }));
      const P = await TD.plotly();
      for (const rec of group) draw(P, rec, x);
    }));
  }

  function draw(P, rec, x) {
    rec.x = x;
    const dates = x === "_timestamp";
    const data = [];
    let drawnAgainst = x;
    runs.forEach((r, i) => {
      const s = rec.series[r.id];
      if (!s || !s.total) return;
      drawnAgainst = s.x_key || x;
      data.push(...TD.traces(s, {name: r.name, color: TD.runColor(r, i), dates}));
    });
    // The legend above the plot area, the axis title below it: they never meet. Plotly grows
    // the top margin to the legend's rows; the chart grows by as much, keeping its plot area.
    const layout = {margin: {l: 55, r: 12, t: 10, b: 42}, height: rec.height,
                    showlegend: true,
                    legend: {orientation: "h", x: 0, xanchor: "left", y: 1.02, yanchor: "bottom"},
                    xaxis: {title: {text: TD.xTitle(drawnAgainst)}, type: dates ? "date" : "linear"},
                    yaxis: {type: state.log ? "log" : "linear"}};
    if (rec.range) layout.xaxis.range = dates ? rec.range.map((v) => new Date(v * 1000)) : rec.range;
    if (!rec.drawn) {
      P.newPlot(rec.div, data, layout, {responsive: true, displaylogo: false}).then(() => fitLegend(P, rec));
      rec.div.on("plotly_relayout", (ev) => {
        const r = TD.relayoutRange(ev, rec.x === "_timestamp");
        if (r === undefined) return;
        rec.range = r;
        fetchSeries([rec]);
      });
      rec.drawn = true;
    } else P.react(rec.div, data, layout).then(() => fitLegend(P, rec));
    Object.assign(rec.div.dataset, {runs: String(data.filter((t) => t.meta === "line").length),
                                    x: drawnAgainst, drawn: "1"});
  }

  async function main() {
    const [details, layouts] = await Promise.all([
      Promise.all(runs.map((r) => TD.api(runBase(r.id)))),
      Promise.all(runs.map((r) => TD.api(runBase(r.id) + "/metrics"))),
    ]);
    parallel(details);
    const merged = merge(layouts);
    const xSelect = document.getElementById("x-axis");
    for (const x of merged.axes) {
      if (![...xSelect.options].some((o) => o.value === x)) xSelect.append(new Option(TD.xTitle(x), x));
    }
    const recs = [];
    for (const s of merged.sections) {
      for (const c of [...s.charts.values()].sort((a, b) => a.key.localeCompare(b.key))) recs.push(chart(c, s.name, s.system));
    }
    statusEl.textContent = `${recs.length} shared chart${recs.length === 1 ? "" : "s"} for ${runs.length} runs`;
    await fetchSeries(recs);
  }

  document.getElementById("x-axis").addEventListener("change", (e) => {
    state.x = e.target.value;
    for (const rec of state.charts.values()) rec.range = null;
    fetchSeries([...state.charts.values()]);
  });
  document.getElementById("log-scale").addEventListener("change", (e) => {
    state.log = e.target.checked;
    TD.plotly().then((P) => { for (const rec of state.charts.values()) if (rec.drawn) draw(P, rec, rec.x); });
  });
  main().catch((err) => { statusEl.textContent = "Could not load: " + err.message; });
})();
