// The workspace's panels beyond the metric charts: a scatter plot of any two columns, a bar
// chart of a summary value per run, parallel coordinates, and the parameter importance of the
// config keys for a metric. Each panel draws the runs it is given in their own colours and has
// its own controls, which save its settings through ctx.onChange:
//   TDPanels.render(el, spec, ctx), spec = {kind, ...settings},
//   ctx = {entity, project, runs, columns: {config, summary}, fetchRuns(columns), onChange(spec),
//          query (optional: the runs API's filter parameters, which the importance follows)}.
// render may be called again on the same element: it clears it and draws anew.
"use strict";
window.TDPanels = (() => {
  const kinds = [
    {kind: "scatter", title: "Scatter plot"},
    {kind: "bar", title: "Bar chart"},
    {kind: "parallel", title: "Parallel coordinates"},
    {kind: "importance", title: "Parameter importance"},
  ];
  const PLOT_CONFIG = {responsive: true, displaylogo: false, displayModeBar: false};
  // The longest importance URL that names the visible runs one by one (servers refuse long
  // request lines); past it the importance covers the table's filters only.
  const MAX_IDS_URL = 6000;
  // Bars labelled with their runs' names below the axis, at most.
  const MAX_BAR_LABELS = 60;

  // Text plotly shows as given (it reads a few HTML tags in labels).
  const plain = (text) => String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  // A value as a number for an axis (the API writes non-finite floats as strings).
  const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  const isSystem = (key) => key.startsWith("system.");
  // A run's value of a column; the API's non-finite numbers ("NaN", "Infinity") as missing.
  const NON_FINITE = new Set(["NaN", "Infinity", "-Infinity"]);
  const valueOf = (r, c) => { const v = (r.values || {})[c]; return v === undefined || NON_FINITE.has(v) ? null : v; };

  // The columns a panel may pick: config keys, then summary keys (the user's metrics before
  // the system ones).
  function choices(ctx) {
    const cols = ctx.columns || {config: [], summary: []};
    const summary = [...cols.summary.filter((k) => !isSystem(k)), ...cols.summary.filter(isSystem)];
    return {config: cols.config.map((k) => "config." + k), summary: summary.map((k) => "summary." + k)};
  }

  function select(label, options, value, onchange, extra) {
    const s = TD.el("select", {class: "panel-select", dataset: {setting: label}, onchange: (e) => onchange(e.target.value)});
    if (extra) s.append(new Option(extra, "", false, !value));
    for (const [group, items] of options) {
      const og = TD.el("optgroup", {label: group});
      for (const c of items) og.append(new Option(c, c, false, c === value));
      s.append(og);
    }
    return TD.el("label", {}, label + " ", s);
  }

  function checkbox(label, setting, checked, onchange) {
    return TD.el("label", {}, TD.el("input", {type: "checkbox", dataset: {setting}, checked, onchange: (e) => onchange(e.target.checked)}), " " + label);
  }

  // The runs with the values of `columns`: the given ones when they carry them all, else
  // fetched (the table shows only some columns).
  async function runsWith(ctx, columns) {
    const missing = columns.filter((c) => c && !ctx.runs.every((r) => r.values && c in r.values));
    if (!missing.length || !ctx.runs.length) return ctx.runs;
    const fetched = await ctx.fetchRuns([...new Set(columns.filter(Boolean))]);
    // Keep the given runs' order and visibility; take the values from the fetched ones.
    const byId = new Map(fetched.map((r) => [r.id, r]));
    return ctx.runs.map((r) => ({...r, values: {...(r.values || {}), ...((byId.get(r.id) || {}).values || {})}}));
  }

  // The frame of a panel: its controls and its plot area; `current()` tells a drawing whether
  // its render is still the latest on the element (a slower fetch must not draw over a newer one).
  function frame(el, spec) {
    const token = (el._tdPanelToken || 0) + 1;
    el._tdPanelToken = token;
    if (window.Plotly) for (const d of el.querySelectorAll(".js-plotly-plot")) window.Plotly.purge(d);
    const controls = TD.el("div", {class: "panel-controls"});
    const status = TD.el("div", {class: "panel-status"});
    const plot = TD.el("div", {class: "panel-plot"});
    el.classList.add("td-panel");
    el.dataset.kind = spec.kind;
    el.replaceChildren(controls, status, plot);
    return {controls, status, plot, current: () => el._tdPanelToken === token};
  }

  function say(f, text, error) {
    f.status.textContent = text;
    f.status.classList.toggle("error", Boolean(error));
  }

  // -- scatter plot --------------------------------------------------------------------------

  async function scatter(el, spec, ctx) {
    const f = frame(el, spec);
    const cols = choices(ctx);
    const x = spec.x || cols.config[0] || cols.summary[1] || "";
    const y = spec.y || cols.summary[0] || cols.config[1] || "";
    const groups = [["Config", cols.config], ["Summary", cols.summary]];
    const change = (k) => (v) => ctx.onChange({...spec, x, y, [k]: v});
    f.controls.append(select("X", groups, x, change("x")), select("Y", groups, y, change("y")),
                      checkbox("log X", "log_x", spec.log_x, change("log_x")),
                      checkbox("log Y", "log_y", spec.log_y, change("log_y")));
    if (!x || !y) { say(f, "The runs have no config or summary values to plot."); return; }
    const runs = await runsWith(ctx, [x, y]);
    if (!f.current()) return;
    // Numbers as numbers; text (a config choice) on a category axis.
    const val = (r, c) => { const v = valueOf(r, c); return typeof v === "number" ? num(v) : v !== null && typeof v === "object" ? TD.value(v) : v; };
    const shown = runs.map((r, i) => ({r, i, x: val(r, x), y: val(r, y)})).filter((p) => p.x !== null && p.y !== null);
    const P = await TD.plotly();
    if (!f.current()) return;
    const trace = {
      type: "scatter", mode: "markers", x: shown.map((p) => p.x), y: shown.map((p) => p.y),
      text: shown.map((p) => plain(p.r.name)), customdata: shown.map((p) => p.r.id),
      marker: {size: 9, color: shown.map((p) => TD.runColor(p.r, p.i)), line: {width: 1, color: "#ffffff"}},
      hovertemplate: "%{text}<br>" + plain(x) + ": %{x}<br>" + plain(y) + ": %{y}<extra></extra>",
    };
    const axis = (c, log) => ({title: {text: plain(c)}, type: log ? "log" : "-", automargin: true});
    await P.newPlot(f.plot, [trace], {
      height: 300, margin: {l: 60, r: 16, t: 10, b: 50}, hovermode: "closest", showlegend: false,
      xaxis: axis(x, spec.log_x), yaxis: axis(y, spec.log_y)}, PLOT_CONFIG);
    say(f, `${shown.length} of ${runs.length} runs have both values`);
    f.plot.dataset.points = String(shown.length);
  }

  // -- bar chart -----------------------------------------------------------------------------

  async function bar(el, spec, ctx) {
    const f = frame(el, spec);
    const cols = choices(ctx);
    const metric = spec.metric || cols.summary[0] || "";
    const change = (k) => (v) => ctx.onChange({...spec, metric, [k]: v});
    f.controls.append(select("Value", [["Summary", cols.summary], ["Config", cols.config]], metric, change("metric")),
                      checkbox("sorted", "sorted", spec.sorted, change("sorted")));
    if (!metric) { say(f, "The runs have no summary values."); return; }
    const runs = await runsWith(ctx, [metric]);
    if (!f.current()) return;
    let bars = runs.map((r, i) => ({r, i, v: num((r.values || {})[metric])})).filter((b) => b.v !== null);
    if (spec.sorted) bars = [...bars].sort((a, b) => b.v - a.v);
    const P = await TD.plotly();
    if (!f.current()) return;
    // Bars by position, labelled with the run names (two runs may share a name).
    const xs = bars.map((_, i) => i);
    const trace = {
      type: "bar", x: xs, y: bars.map((b) => b.v), text: bars.map((b) => plain(b.r.name)),
      customdata: bars.map((b) => b.r.id), textposition: "none",
      marker: {color: bars.map((b) => TD.runColor(b.r, b.i))},
      hovertemplate: "%{text}: %{y}<extra></extra>",
    };
    // Names under the bars while they fit (hundreds of labels would take plotly seconds to
    // lay out); past that the bars name their runs on hover.
    const named = bars.length <= MAX_BAR_LABELS;
    await P.newPlot(f.plot, [trace], {
      height: 300, margin: {l: 60, r: 16, t: 10, b: named ? 80 : 20}, showlegend: false, bargap: 0.15,
      xaxis: named ? {tickvals: xs, ticktext: bars.map((b) => plain(b.r.name)), tickangle: -40, automargin: true}
                   : {showticklabels: false, ticks: ""},
      yaxis: {title: {text: plain(metric)}, automargin: true}}, PLOT_CONFIG);
    say(f, `${bars.length} of ${runs.length} runs have ${metric}`);
    f.plot.dataset.bars = String(bars.length);
  }

  // -- parallel coordinates ------------------------------------------------------------------

  // One axis: each run's value scaled to [0, 1] (numbers from their minimum to their maximum,
  // other values by their sorted position), and the labels along the axis.
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

  // A colour of Viridis for t in [0, 1].
  const VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];
  function viridis(t) {
    const x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1);
    const i = Math.min(VIRIDIS.length - 2, Math.floor(x)), w = x - i;
    const rgb = (h) => [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16));
    const a = rgb(VIRIDIS[i]), b = rgb(VIRIDIS[i + 1]);
    return `rgb(${a.map((c, k) => Math.round(c + (b[k] - c) * w)).join(",")})`;
  }

  // Parallel coordinates drawn with plain SVG lines (one scatter trace per run), as the compare
  // page does: plotly's own parcoords needs WebGL, which the dashboard's policy does not allow.
  async function parallel(el, spec, ctx) {
    const f = frame(el, spec);
    const cols = choices(ctx);
    const all = [...cols.config, ...cols.summary];
    const firstMetric = cols.summary.find((c) => !isSystem(c.slice(8))) || "";
    const columns = (spec.columns || [...cols.config.slice(0, 4), ...(firstMetric ? [firstMetric] : [])]).filter((c) => all.includes(c));
    const color = spec.color === undefined ? firstMetric : spec.color;
    const change = (k) => (v) => ctx.onChange({...spec, columns, color, [k]: v});
    const picker = TD.el("details", {class: "panel-columns"}, TD.el("summary", {}, `Columns (${columns.length})`),
      ...all.slice(0, 200).map((c) => checkbox(c, "column", columns.includes(c), (on) =>
        change("columns")(on ? [...columns, c] : columns.filter((x) => x !== c)))));
    f.controls.append(picker, select("Colour by", [["Summary", cols.summary], ["Config", cols.config]], color, change("color"), "run colours"));
    if (!columns.length) { say(f, "Pick the columns to draw."); return; }
    const runs = await runsWith(ctx, [...columns, color]);
    if (!f.current()) return;
    const dims = columns.map((c) => dimension(c, runs.map((r) => valueOf(r, c))));
    const metric = color ? runs.map((r) => num((r.values || {})[color])) : [];
    const known = metric.filter((v) => v !== null);
    const lo = Math.min(...known), hi = Math.max(...known);
    const lineColor = (r, i) => {
      if (!color) return TD.runColor(r, i);
      const v = metric[i];
      return v === null ? "#c4c8d0" : viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5);
    };
    const xs = dims.map((_, i) => i);
    const data = runs.map((r, i) => ({
      type: "scatter", mode: "lines+markers", x: xs, y: dims.map((d) => d.pos[i]),
      name: plain(r.name), line: {color: lineColor(r, i), width: 2}, marker: {size: 5},
      customdata: dims.map((d) => [plain(d.label), plain(d.shown[i])]), showlegend: false,
      hovertemplate: "%{customdata[0]}: %{customdata[1]}<extra>" + plain(r.name) + "</extra>",
    }));
    if (color && known.length) {  // the colour scale, on an invisible trace
      data.push({type: "scatter", mode: "markers", x: [xs[0]], y: [null], hoverinfo: "skip", showlegend: false,
                 marker: {color: [lo], cmin: lo, cmax: hi > lo ? hi : lo + 1, showscale: true,
                          colorscale: VIRIDIS.map((c, k) => [k / (VIRIDIS.length - 1), c]),
                          colorbar: {title: {text: plain(color), side: "right"}, thickness: 12, len: 0.9}}});
    }
    const P = await TD.plotly();
    if (!f.current()) return;
    await P.newPlot(f.plot, data, {
      height: 320, margin: {l: 50, r: 30, t: 40, b: 16}, hovermode: "closest", showlegend: false,
      xaxis: {tickvals: xs, ticktext: dims.map((d) => plain(d.label)), side: "top", showgrid: false,
              zeroline: false, fixedrange: true, range: [-0.3, dims.length - 0.7]},
      yaxis: {visible: false, range: [-0.08, 1.08], fixedrange: true},
      shapes: xs.map((x) => ({type: "line", x0: x, x1: x, y0: 0, y1: 1, line: {color: "#9aa1ad", width: 1}})),
      annotations: dims.flatMap((d, i) => d.ticks.map(([y, text]) => ({
        x: i, y, text: plain(text), showarrow: false, xanchor: "right", xshift: -4, font: {size: 10, color: "#687083"}}))),
    }, PLOT_CONFIG);
    say(f, `${runs.length} runs` + (color ? `, coloured by ${color}` : ""));
    f.plot.dataset.dimensions = String(dims.length);
    f.plot.dataset.lines = String(runs.length);
  }

  // -- parameter importance ------------------------------------------------------------------

  function importanceParams(ctx, metric) {
    const params = {metric};
    const ids = ctx.runs.map((r) => r.id);
    // The visible runs by id while the URL stays short; else the table's filters.
    if (ids.join(",").length <= MAX_IDS_URL) params.ids = ids.join(",");
    else Object.assign(params, ctx.query || {});
    return params;
  }

  async function importance(el, spec, ctx) {
    const f = frame(el, spec);
    const cols = choices(ctx);
    const metrics = cols.summary;
    const metric = spec.metric || metrics[0] || "";
    f.controls.append(select("Metric", [["Summary", metrics]], metric, (v) => ctx.onChange({...spec, metric: v})));
    if (!metric) { say(f, "The runs have no summary metrics."); return; }
    if (!ctx.runs.length) { say(f, "No runs are shown."); return; }
    say(f, "Fitting\u2026");
    let got;
    try {
      got = await TD.api(`/projects/${TD.enc(ctx.entity)}/${TD.enc(ctx.project)}/importance`, importanceParams(ctx, metric));
    } catch (err) {
      if (f.current()) say(f, err.message, true);
      return;
    }
    if (!f.current()) return;
    const fitted = got.params.filter((p) => p.importance !== null);
    if (!fitted.length) {
      say(f, `Needs at least two runs with ${metric} and config values (${got.runs} have it).`);
      return;
    }
    say(f, `From ${got.runs} runs with ${metric}: importance in a random forest, and the linear correlation.`);
    const width = (v) => `width:${Math.round(Math.abs(v) * 100)}%`;
    const rows = fitted.map((p) => {
      const corr = p.correlation;
      return TD.el("tr", {class: "importance-row", dataset: {feature: p.feature, param: p.param}},
        TD.el("td", {class: "param"}, p.feature),
        TD.el("td", {class: "importance"}, TD.el("span", {class: "panel-bar"}, TD.el("span", {style: width(p.importance)})),
              " " + p.importance.toFixed(3)),
        TD.el("td", {class: "correlation " + (corr === null ? "" : corr >= 0 ? "corr-pos" : "corr-neg")},
              TD.el("span", {class: "panel-bar"}, TD.el("span", {style: width(corr || 0)})),
              " " + (corr === null ? "-" : (Math.abs(corr) < 5e-4 ? 0 : corr).toFixed(3))));
    });
    f.plot.append(TD.el("table", {class: "grid importance-panel"},
      TD.el("thead", {}, TD.el("tr", {}, TD.el("th", {}, "Config parameter"), TD.el("th", {}, "Importance"), TD.el("th", {}, "Correlation"))),
      TD.el("tbody", {}, ...rows)));
    f.plot.dataset.params = String(fitted.length);
  }

  const DRAW = {scatter, bar, parallel, importance};

  function render(el, spec, ctx) {
    const draw = DRAW[spec && spec.kind];
    if (!draw) {
      frame(el, {kind: String(spec && spec.kind)});
      el.querySelector(".panel-status").textContent = `Unknown panel kind ${JSON.stringify(spec && spec.kind)}.`;
      return Promise.resolve();
    }
    return draw(el, spec, ctx).catch((err) => {
      const status = el.querySelector(".panel-status");
      if (status) { status.textContent = "Could not draw: " + err.message; status.classList.add("error"); }
    }).then(() => { el.dataset.drawn = "1"; });
  }

  return {kinds, render, dimension};
})();
