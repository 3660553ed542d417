// Comparing runs: their metrics overlaid on shared charts, and a parallel-coordinates view of
// config -> summary across them.
"use strict";
(() => {
  const {entity, project, runs} = TD.data;
  if (!runs.length) return;
  const statusEl = document.getElementById("charts-status");
  const sectionsEl = document.getElementById("sections");
  const state = {x: "_step", log: false, charts: new Map()};
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

  // One axis of the parallel coordinates: each run's value scaled to [0, 1] (numbers from
  // their minimum to their maximum, other values by their sorted position), and the labels
  // along the axis.
  function dimension(label, values) {
    const numeric = values.every((v) => typeof v === "number" || v === undefined || v === null);
    if (numeric) {
      const nums = values.filter((v) => typeof v === "number" && Number.isFinite(v));
      const lo = Math.min(...nums), hi = Math.max(...nums);
      const pos = (v) => (typeof v !== "number" || !Number.isFinite(v) ? null : hi > lo ? (v - lo) / (hi - lo) : 0.5);
      const ticks = !nums.length ? [] : hi > lo ? [[0, lo], [1, hi]] : [[0.5, lo]];
      return {label, pos: values.map(pos), shown: values.map((v) => TD.value(v)),
              ticks: ticks.map(([y, v]) => [y, TD.value(v)])};
    }
    const cats = [...new Set(values.map((v) => TD.value(v)))].sort();
    const pos = (c) => (cats.length > 1 ? cats.indexOf(c) / (cats.length - 1) : 0.5);
    return {label, pos: values.map((v) => pos(TD.value(v))), shown: values.map((v) => TD.value(v)),
            ticks: cats.map((c) => [pos(c), c])};
  }

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

  function chart(key, section) {
    let sec = [...sectionsEl.children].find((s) => s.dataset.section === section);
    if (!sec) {
      sec = TD.el("details", {class: "section", open: true, dataset: {section}},
                  TD.el("summary", {}, TD.sectionTitle(section)), TD.el("div", {class: "chart-grid"}));
      sectionsEl.append(sec);
    }
    const div = TD.el("div", {class: "chart", dataset: {key}});
    sec.querySelector(".chart-grid").append(TD.el("div", {class: "chart-box"}, TD.el("div", {class: "chart-title"}, key), div));
    const rec = {key, div, range: null, drawn: false, series: {}};
    state.charts.set(key, rec);
    return rec;
  }

  async function fetchSeries(recs) {
    const range = recs.length === 1 ? recs[0].range : null;
    await Promise.all(runs.map(async (r) => {
      for (let i = 0; i < recs.length; i += 100) {
        const chunk = recs.slice(i, i + 100);
        const body = await TD.api(runBase(r.id) + "/series", {
          key: chunk.map((c) => c.key), x: state.x, buckets: 1000,
          x_min: range ? range[0] : null, x_max: range ? range[1] : null});
        for (const c of chunk) c.series[r.id] = body.series[c.key];
      }
    }));
    const P = await TD.plotly();
    for (const rec of recs) draw(P, rec);
  }

  function draw(P, rec) {
    const dates = state.x === "_timestamp";
    const data = [];
    runs.forEach((r, i) => {
      const s = rec.series[r.id];
      if (s && s.total) data.push(...TD.traces(s, {name: r.name, color: TD.runColor(r, i), dates}));
    });
    const layout = {margin: {l: 55, r: 12, t: 8, b: 42}, height: 260, showlegend: true,
                    legend: {orientation: "h", y: -0.25},
                    xaxis: {title: {text: TD.xTitle(state.x)}, type: dates ? "date" : "linear"},
                    yaxis: {type: state.log ? "log" : "linear"}};
    if (rec.range) layout.xaxis.range = dates ? rec.range.map((v) => new Date(v * 1000)) : rec.range;
    if (!rec.drawn) {
      P.newPlot(rec.div, data, layout, {responsive: true, displaylogo: false});
      rec.div.on("plotly_relayout", (ev) => {
        const r = TD.relayoutRange(ev, dates);
        if (r === undefined) return;
        rec.range = r;
        fetchSeries([rec]);
      });
      rec.drawn = true;
    } else P.react(rec.div, data, layout);
    rec.div.dataset.runs = String(data.filter((t) => t.meta === "line").length);
    rec.div.dataset.drawn = "1";
  }

  async function main() {
    const [details, layouts] = await Promise.all([
      Promise.all(runs.map((r) => TD.api(runBase(r.id)))),
      Promise.all(runs.map((r) => TD.api(runBase(r.id) + "/metrics"))),
    ]);
    parallel(details);
    const sections = new Map();
    for (const layout of layouts) {
      for (const s of layout.sections) {
        if (!sections.has(s.name)) sections.set(s.name, new Set());
        for (const c of s.charts) sections.get(s.name).add(c.key);
      }
    }
    const recs = [];
    for (const name of [...sections.keys()].sort((a, b) => (a !== "") - (b !== "") || a.localeCompare(b))) {
      for (const key of [...sections.get(name)].sort()) recs.push(chart(key, name));
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
    TD.plotly().then((P) => { for (const rec of state.charts.values()) if (rec.drawn) draw(P, rec); });
  });
  main().catch((err) => { statusEl.textContent = "Could not load: " + err.message; });
})();
