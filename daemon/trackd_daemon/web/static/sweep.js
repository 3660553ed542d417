// A sweep's page: its state and controls (pause, resume, stop, cancel), its configuration, its
// runs, the metric of each run with the best so far, parallel coordinates of parameters ->
// metric, and parameter importance. Refreshes itself while the sweep or its runs are live.
"use strict";
(() => {
  const {entity, project} = TD.data;
  let sweep = TD.data.sweep;
  const $ = (id) => document.getElementById(id);
  const base = `/sweeps/${TD.enc(entity)}/${TD.enc(project)}/${TD.enc(sweep.id)}`;
  const LIVE_RUNS = new Set(["running", "pending"]);
  const PLOT_CONFIG = {responsive: true, displaylogo: false, displayModeBar: false};
  // The actions each sweep state allows (a finished or canceled sweep cannot be resumed;
  // canceling a finished one stops its runs still in flight).
  const ALLOWED = {RUNNING: ["pause", "finish", "cancel"], PAUSED: ["resume", "finish", "cancel"],
                   FINISHED: ["cancel"], CANCELED: []};
  const VERBS = {pause: "Pausing", resume: "Resuming", finish: "Stopping", cancel: "Canceling"};
  // Viridis, low to high: the lines of the parallel coordinates are coloured by the metric.
  const VIRIDIS = ["#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725"];
  const STATE_COLORS = {finished: "#2c6fd1", running: "#1f9d55", failed: "#d64545", crashed: "#d64545",
                        killed: "#c98a0b", preempted: "#c98a0b", pending: "#9aa1ad"};
  let busy = false;
  let sort = {key: "created", desc: true};
  let importanceKey = null;
  TD.plotly();

  // Text plotly shows as given (it reads a few HTML tags in labels).
  const plain = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const lower = (s) => String(s).toLowerCase();
  const liveRuns = () => sweep.runs.some((r) => LIVE_RUNS.has(r.state));

  // -- state, overview and controls -------------------------------------------------------

  function showState() {
    const badge = $("sweep-state");
    badge.textContent = lower(sweep.state);
    badge.className = "badge sweep-" + lower(sweep.state);
    badge.dataset.state = sweep.state;
    $("overview-state").textContent = lower(sweep.state);
    $("overview-runs").textContent = String(sweep.run_count);
    const states = Object.entries(sweep.states || {}).map(([s, n]) => `${n} ${s}`);
    if (sweep.stopped_early) states.push(`${sweep.stopped_early} stopped early`);
    $("overview-states").textContent = states.length ? "(" + states.join(", ") + ")" : "";
    $("overview-updated").textContent = TD.when(sweep.updated_at);
    const best = $("overview-best");
    best.replaceChildren(sweep.best
      ? TD.el("span", {}, TD.el("a", {href: TD.runPath(entity, project, sweep.best.id)}, sweep.best.name),
              " \u00b7 " + TD.value(sweep.best.metric))
      : "-");
    const allowed = ALLOWED[sweep.state] || [];
    for (const b of document.querySelectorAll("#sweep-controls button[data-action]")) {
      const action = b.dataset.action;
      b.disabled = busy || !allowed.includes(action) || (action === "cancel" && sweep.state === "FINISHED" && !liveRuns());
    }
  }

  async function act(action) {
    if (action === "cancel" && !window.confirm("Cancel the sweep? Its runs in flight are stopped and it cannot be resumed.")) return;
    if (action === "finish" && !window.confirm("Stop the sweep? It proposes no new runs (runs in flight go on) and cannot be resumed.")) return;
    const status = $("control-status");
    status.classList.remove("error");
    status.textContent = VERBS[action] + " the sweep\u2026";
    busy = true;
    showState();
    try {
      Object.assign(sweep, await TD.post(base + "/state", {action}));
      status.textContent = "";
      await refresh();
    } catch (err) {
      status.textContent = err.message;
      status.classList.add("error");
    } finally {
      busy = false;
      showState();
    }
  }
  for (const b of document.querySelectorAll("#sweep-controls button[data-action]")) {
    b.addEventListener("click", () => act(b.dataset.action));
  }

  $("config-format").addEventListener("click", (e) => {
    const yaml = e.target.dataset.format === "yaml";
    $("sweep-config").textContent = yaml ? JSON.stringify(sweep.config, null, 2) : sweep.config_yaml;
    e.target.dataset.format = yaml ? "json" : "yaml";
    e.target.textContent = yaml ? "as YAML" : "as JSON";
  });

  // -- the runs table --------------------------------------------------------------------

  function sortValue(run, key) {
    if (key === "created") return run.created_at;
    if (key === "name") return run.name;
    if (key === "state") return run.stopped_early ? "stopped early" : run.state;
    if (key === "metric") return run.metric;
    return run.params[key];
  }

  // Missing values last in either direction.
  function compare(a, b, desc) {
    const ma = a === null || a === undefined, mb = b === null || b === undefined;
    if (ma || mb) return ma - mb;
    const c = typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b));
    return desc ? -c : c;
  }

  function header(key, label, cls) {
    const active = sort.key === key;
    const arrow = active ? (sort.desc ? " \u25BC" : " \u25B2") : "";
    return TD.el("th", {class: "sortable " + (cls || ""), dataset: {sort: key}, onclick: () => {
      sort = {key, desc: active ? !sort.desc : key === "created"};
      runsTable();
    }}, label + arrow);
  }

  function stateCell(run) {
    const td = TD.el("td", {}, TD.el("span", {class: "badge " + run.state}, run.state === "running" ? "\u25CF live" : run.state));
    if (run.stopped_early) td.append(" ", TD.el("span", {class: "badge stopped-early"}, "stopped early"));
    if (run.prior) td.append(" ", TD.el("span", {class: "tag"}, "prior"));
    return td;
  }

  function runsTable() {
    const table = $("sweep-runs-table");
    const metricLabel = sweep.metric ? `${sweep.metric} (${sweep.goal === "maximize" ? "max" : "min"})` : "";
    table.tHead.replaceChildren(TD.el("tr", {}, header("name", "Run"), header("state", "State"),
      header("created", "Created"), ...sweep.params.map((p) => header(p, p, "num")),
      ...(sweep.metric ? [header("metric", metricLabel, "num metric")] : [])));
    const rows = [...sweep.runs].sort((a, b) => compare(sortValue(a, sort.key), sortValue(b, sort.key), sort.desc));
    const bestId = sweep.best ? sweep.best.id : null;
    table.tBodies[0].replaceChildren(...rows.map((run) => TD.el("tr", {
        class: "sweep-run-row" + (run.id === bestId ? " best" : ""),
        dataset: {id: run.id, state: run.state, stoppedEarly: run.stopped_early ? "1" : "0"}},
      TD.el("td", {}, run.exists ? TD.el("a", {href: TD.runPath(entity, project, run.id)}, run.name) : run.name,
            " ", TD.el("span", {class: "run-id"}, run.id)),
      stateCell(run),
      TD.el("td", {}, TD.when(run.created_at)),
      ...sweep.params.map((p) => TD.el("td", {class: "num", dataset: {param: p}}, TD.value(run.params[p]))),
      ...(sweep.metric ? [TD.el("td", {class: "num metric"}, TD.value(run.metric))] : []))));
    const left = sweep.runs_left_out ? ` (the newest ${sweep.runs.length} shown, ${sweep.runs_left_out} older left out)` : "";
    $("runs-status").textContent = `${sweep.runs.length} run${sweep.runs.length === 1 ? "" : "s"}${left}`;
  }

  // -- the metric by run, with the best so far -------------------------------------------

  async function metricChart() {
    const div = $("metric-chart");
    const rows = sweep.runs.map((r, i) => ({...r, n: i + 1}));
    const scored = rows.filter((r) => r.metric !== null);
    if (!sweep.metric || !scored.length) {
      if (div.dataset.traces) (await TD.plotly()).purge(div);
      div.textContent = sweep.metric ? `No run has reported ${sweep.metric} yet.` : "The sweep's configuration names no metric.";
      div.dataset.traces = "0";
      return;
    }
    const withBest = rows.filter((r) => r.best_so_far !== null);
    const traces = [
      {type: "scatter", mode: "markers", name: sweep.metric, meta: "runs", x: scored.map((r) => r.n),
       y: scored.map((r) => r.metric), customdata: scored.map((r) => r.id), text: scored.map((r) => plain(r.name)),
       marker: {size: 8, color: scored.map((r) => STATE_COLORS[r.state] || "#7f7f7f"),
                symbol: scored.map((r) => (r.stopped_early ? "x" : "circle"))},
       hovertemplate: "%{text}<br>" + plain(sweep.metric) + ": %{y}<extra></extra>"},
      {type: "scatter", mode: "lines", name: "best so far", meta: "best", x: withBest.map((r) => r.n),
       y: withBest.map((r) => r.best_so_far), line: {shape: "hv", width: 2, color: "#e377c2"},
       hovertemplate: "best so far: %{y}<extra></extra>"},
    ];
    const layout = {height: 250, margin: {l: 60, r: 20, t: 10, b: 40}, hovermode: "closest",
                    legend: {orientation: "h", y: 1.12}, xaxis: {title: {text: "run (in the order proposed)"}},
                    yaxis: {title: {text: plain(sweep.metric)}}};
    const P = await TD.plotly();
    if (!div.dataset.traces || div.dataset.traces === "0") div.textContent = "";
    await P.react(div, traces, layout, PLOT_CONFIG);
    if (!div.dataset.clicks) {
      div.on("plotly_click", (ev) => {
        const id = ev.points && ev.points[0] && ev.points[0].customdata;
        const run = id && sweep.runs.find((r) => r.id === id && r.exists);
        if (run) location.href = TD.runPath(entity, project, run.id);
      });
      div.dataset.clicks = "1";
    }
    div.dataset.traces = String(traces.length);
  }

  // -- parallel coordinates: parameters -> metric ------------------------------------------
  // Drawn with SVG lines (plotly's own parcoords compiles WebGL shaders with eval, which the
  // dashboard's policy does not allow): each axis scaled to [0, 1], categories at even steps
  // with their values as tick labels; lines coloured by the metric.

  function axis(dim) {
    if (dim.categorical) {
      const n = dim.ticktext ? dim.ticktext.length : Math.max(0, ...dim.values) + 1;
      const pos = (v) => (n > 1 ? v / (n - 1) : 0.5);
      return {pos: dim.values.map(pos), shown: dim.values.map((v) => (dim.ticktext ? dim.ticktext[v] : String(v))),
              ticks: dim.ticktext ? dim.ticktext.map((t, i) => [pos(i), t]) : []};
    }
    // A log-scale parameter (log_uniform and the like) on a log axis.
    const scale = dim.log ? Math.log10 : (v) => v;
    const unscale = dim.log ? (v) => Math.pow(10, v) : (v) => v;
    const lo = Math.min(...dim.values.map(scale)), hi = Math.max(...dim.values.map(scale));
    const pos = (v) => (hi > lo ? (scale(v) - lo) / (hi - lo) : 0.5);
    const ticks = (hi > lo ? [[0, lo], [0.5, (lo + hi) / 2], [1, hi]] : [[0.5, lo]]).map(([y, v]) => [y, unscale(v)]);
    return {pos: dim.values.map(pos), shown: dim.values.map((v) => TD.value(v)),
            ticks: ticks.map(([y, v]) => [y, TD.value(v)])};
  }

  async function parallel() {
    const div = $("sweep-parcoords");
    const dims = sweep.parcoords.dimensions;
    const ids = sweep.parcoords.runs;
    if (!ids.length || !dims.length) {
      if (div.dataset.dimensions) (await TD.plotly()).purge(div);
      div.textContent = sweep.metric ? `No run has reported ${sweep.metric} yet.` : "No runs yet.";
      div.dataset.dimensions = "0";
      return;
    }
    const names = new Map(sweep.runs.map((r) => [r.id, r.name]));
    const axes = dims.map(axis);
    const xs = dims.map((_, i) => i);
    const metricDim = dims.find((d) => d.metric);
    const metricAxis = metricDim ? axes[axes.length - 1] : null;
    // One trace per colour band (runs separated by gaps), so that a thousand runs stay a few
    // SVG paths.
    const bands = new Map();
    ids.forEach((id, r) => {
      const band = metricAxis ? Math.min(VIRIDIS.length - 1, Math.floor(metricAxis.pos[r] * VIRIDIS.length)) : 0;
      if (!bands.has(band)) bands.set(band, {x: [], y: [], customdata: []});
      const b = bands.get(band);
      xs.forEach((x, d) => {
        b.x.push(x);
        b.y.push(axes[d].pos[r]);
        b.customdata.push([plain(names.get(id) || id), plain(dims[d].label), plain(axes[d].shown[r])]);
      });
      b.x.push(null); b.y.push(null); b.customdata.push(null);
    });
    const data = [...bands.entries()].sort((a, b) => a[0] - b[0]).map(([band, b]) => ({
      type: "scatter", mode: "lines", x: b.x, y: b.y, customdata: b.customdata, showlegend: false, meta: "lines",
      line: {color: metricAxis ? VIRIDIS[band] : TD.COLORS[0], width: 1.5}, opacity: 0.75, connectgaps: false,
      hovertemplate: "%{customdata[1]}: %{customdata[2]}<extra>%{customdata[0]}</extra>"}));
    if (metricDim) {
      data.push({type: "scatter", mode: "markers", meta: "metric", showlegend: false, x: ids.map(() => xs.length - 1),
                 y: metricAxis.pos, customdata: ids.map((id, r) => [plain(names.get(id) || id), metricAxis.shown[r]]),
                 marker: {size: 7, color: metricDim.values, colorscale: "Viridis", showscale: true,
                          colorbar: {title: {text: plain(metricDim.label)}, thickness: 12}},
                 hovertemplate: plain(metricDim.label) + ": %{customdata[1]}<extra>%{customdata[0]}</extra>"});
    }
    const axisLine = {color: "#9aa1ad", width: 1};
    const layout = {
      height: 360, margin: {l: 60, r: 40, t: 40, b: 20}, hovermode: "closest",
      xaxis: {tickvals: xs, ticktext: dims.map((d) => plain(d.label)), side: "top", showgrid: false,
              zeroline: false, fixedrange: true, range: [-0.3, dims.length - 0.7]},
      yaxis: {visible: false, range: [-0.08, 1.08], fixedrange: true},
      shapes: xs.map((x) => ({type: "line", x0: x, x1: x, y0: 0, y1: 1, line: axisLine})),
      annotations: axes.flatMap((a, i) => a.ticks.map(([y, text]) => ({
        x: i, y, text: plain(text), showarrow: false, xanchor: "right", xshift: -4, font: {size: 10, color: "#687083"}}))),
    };
    const P = await TD.plotly();
    if (div.dataset.dimensions === "0") div.textContent = "";
    await P.react(div, data, layout, PLOT_CONFIG);
    div.dataset.dimensions = String(dims.length);
  }

  // -- parameter importance ----------------------------------------------------------------

  async function importance() {
    const key = JSON.stringify(sweep.runs.map((r) => [r.id, r.metric]));
    if (key === importanceKey) return;
    importanceKey = key;
    const status = $("importance-status");
    const table = $("importance-table");
    let got;
    try {
      got = await TD.api(base + "/importance");
    } catch (err) {
      status.textContent = err.message;
      status.classList.add("error");
      importanceKey = null;
      return;
    }
    status.classList.remove("error");
    const fitted = got.params.filter((p) => p.importance !== null);
    if (!got.metric) {
      status.textContent = "The sweep's configuration names no metric to rank the parameters by.";
    } else if (!fitted.length) {
      status.textContent = `Needs at least two runs with ${got.metric} (${got.runs} so far).`;
    } else {
      status.textContent = `From ${got.runs} runs with ${got.metric}: importance in a random forest, and the linear correlation.`;
    }
    table.hidden = !fitted.length;
    table.tBodies[0].replaceChildren(...fitted.map((p) => {
      const corr = p.correlation;
      return TD.el("tr", {class: "importance-row", dataset: {feature: p.feature, param: p.param}},
        TD.el("td", {}, p.feature),
        TD.el("td", {class: "importance"}, TD.el("span", {class: "bar", style: `width:${Math.round(p.importance * 120)}px`}),
              " " + p.importance.toFixed(3)),
        TD.el("td", {class: "num " + (corr === null ? "" : corr >= 0 ? "corr-pos" : "corr-neg")},
              corr === null ? "-" : corr.toFixed(3)));
    }));
  }

  // -- refresh ---------------------------------------------------------------------------

  function draw() {
    showState();
    runsTable();
    metricChart();
    parallel();
    importance();
  }

  async function refresh() {
    try {
      sweep = await TD.api(base);
      draw();
    } catch (err) {
      $("control-status").textContent = err.message;
    }
  }

  let liveTimer = null;
  function scheduleLive() {
    clearTimeout(liveTimer);
    const live = sweep.state === "RUNNING" || sweep.state === "PAUSED" || liveRuns();
    if (live) liveTimer = setTimeout(async () => { await refresh(); scheduleLive(); }, 5000);
  }

  draw();
  scheduleLive();
})();
