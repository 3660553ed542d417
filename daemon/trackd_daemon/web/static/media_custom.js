// Custom chart panels (trackd.plot: config _wandb.visualize, panel type Vega2): each preset
// of W&B's (line, scatter, bar, histogram, line series, confusion matrix, PR and ROC curves)
// drawn with plotly.js from the latest table of the chart's <key>_table history key.
"use strict";
(() => {
  const P = (text) => TDMedia.plain(text ?? "");
  const title = (text) => ({title: {text: P(text)}});

  function column(table, name) {
    const j = (table.columns || []).indexOf(name);
    if (j < 0) throw new Error(`the chart's table has no column ${JSON.stringify(name)}`);
    return (table.data || []).map((r) => r[j]);
  }

  function groups(keys, xs, ys) {
    const out = new Map();
    keys.forEach((k, n) => {
      const name = String(k);
      if (!out.has(name)) out.set(name, {x: [], y: []});
      out.get(name).x.push(xs[n]); out.get(name).y.push(ys[n]);
    });
    return out;
  }

  function lines(table, f, xName, yName, keyName, mode) {
    const xs = column(table, f[xName]), ys = column(table, f[yName]);
    if (keyName && f[keyName] && (table.columns || []).includes(f[keyName])) {
      return [...groups(column(table, f[keyName]), xs, ys)].map(([name, g]) => ({type: "scatter", mode, name: P(name), ...g}));
    }
    return [{type: "scatter", mode, x: xs, y: ys, name: P(f[yName])}];
  }

  // panelDefId -> (table, fieldSettings, stringSettings) -> {data, layout}
  const PRESETS = {
    "wandb/line/v0": (t, f) => ({data: lines(t, f, "x", "y", "stroke", "lines"), layout: {xaxis: title(f.x), yaxis: title(f.y)}}),
    "wandb/scatter/v0": (t, f) => ({data: lines(t, f, "x", "y", "color", "markers"), layout: {xaxis: title(f.x), yaxis: title(f.y)}}),
    "wandb/bar/v0": (t, f) => ({data: [{type: "bar", x: column(t, f.label).map(P), y: column(t, f.value)}],
                                layout: {xaxis: title(f.label), yaxis: title(f.value)}}),
    "wandb/histogram/v0": (t, f) => ({data: [{type: "histogram", x: column(t, f.value)}],
                                      layout: {xaxis: title(f.value), yaxis: title("count")}}),
    "wandb/lineseries/v0": (t, f, s) => ({data: lines(t, {x: f.step || "step", y: f.lineVal || "lineVal", k: f.lineKey || "lineKey"}, "x", "y", "k", "lines"),
                                          layout: {xaxis: title(s.xname || "x")}}),
    "wandb/area-under-curve/v0": (t, f) => ({data: lines(t, f, "x", "y", "class", "lines"),
                                             layout: {xaxis: {...title(f.x), range: [0, 1]}, yaxis: {...title(f.y), range: [0, 1.05]}}}),
    "wandb/confusion_matrix/v1": (t, f) => {
      const actual = column(t, f.Actual || "Actual").map(P);
      const predicted = column(t, f.Predicted || "Predicted").map(P);
      const counts = column(t, f.nPredictions || "nPredictions");
      const classes = [...new Set([...actual, ...predicted])];
      const z = classes.map(() => classes.map(() => 0));
      actual.forEach((a, n) => { z[classes.indexOf(a)][classes.indexOf(predicted[n])] += Number(counts[n]) || 0; });
      return {data: [{type: "heatmap", x: classes, y: classes, z, colorscale: "Blues", texttemplate: "%{z}",
                      hovertemplate: "actual %{y}<br>predicted %{x}<br>%{z}<extra></extra>"}],
              layout: {xaxis: {title: {text: "Predicted"}, type: "category"},
                       yaxis: {title: {text: "Actual"}, type: "category", autorange: "reversed"}}};
    },
  };

  TDMedia.registerChart({
    accepts: (chart) => chart.panel_type === "Vega2" && PRESETS[chart.panel_config.panelDefId] !== undefined,
    render: async ({run, chart, el}) => {
      const cfg = chart.panel_config;
      const [table, P] = await Promise.all([TDMedia.json(run, chart.table.path), TD.plotly()]);
      const s = cfg.stringSettings || {};
      const {data, layout} = PRESETS[cfg.panelDefId](table, cfg.fieldSettings || {}, s);
      if (s["x-axis-title"]) layout.xaxis = {...layout.xaxis, ...title(s["x-axis-title"])};
      if (s["y-axis-title"]) layout.yaxis = {...layout.yaxis, ...title(s["y-axis-title"])};
      const div = TD.el("div", {class: "media-custom-chart", dataset: {spec: cfg.panelDefId}});
      el.replaceChildren(div);
      await P.newPlot(div, data, {height: 300, margin: {l: 60, r: 12, t: 8, b: 48}, showlegend: data.length > 1, ...layout},
                      {responsive: true, displaylogo: false});
      Object.assign(div.dataset, {drawn: "1", traces: String(data.length), rows: String((table.data || []).length)});
    },
  });
})();
