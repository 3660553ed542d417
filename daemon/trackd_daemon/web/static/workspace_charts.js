// The project workspace's line charts: one metric over many runs, each run in its colour, or
// one line per group (its mean, with a min-max or std-dev band). Series come from the batched
// project series API, one request per chart for every visible run; a chart keeps what it got
// and asks again only for runs it has not seen (or when its x axis or range changes).
"use strict";
const TDWorkspaceCharts = (() => {
  // Per-chart settings; a chart's own override the workspace's.
  const SETTINGS = ["x", "smoothing", "log", "outliers", "ymin", "ymax"];
  const DEFAULTS = {x: "auto", smoothing: 0, log: false, outliers: false, ymin: null, ymax: null};

  function effective(workspace, own) {
    const out = {...DEFAULTS};
    for (const k of SETTINGS) {
      if (workspace && workspace[k] !== undefined && workspace[k] !== null && workspace[k] !== "") out[k] = workspace[k];
      if (own && own[k] !== undefined && own[k] !== null && own[k] !== "") out[k] = own[k];
    }
    return out;
  }

  // The bins of a group's aggregate: the runs' points averaged per bin of equal width over
  // the x range they share, then the mean, minimum, maximum and standard deviation over the
  // runs that have a value in the bin.
  function aggregate(seriesList, bins) {
    let lo = Infinity, hi = -Infinity;
    for (const s of seriesList) {
      if (!s.x.length) continue;
      lo = Math.min(lo, s.x[0]);
      hi = Math.max(hi, s.x[s.x.length - 1]);
    }
    if (!(hi >= lo)) return null;
    const n = hi > lo ? bins : 1;
    const width = (hi - lo) / n || 1;
    const sum = new Float64Array(n), sq = new Float64Array(n), cnt = new Uint32Array(n);
    const mn = new Float64Array(n).fill(Infinity), mx = new Float64Array(n).fill(-Infinity);
    const xs = new Float64Array(n), xc = new Uint32Array(n);
    const runSum = new Float64Array(n), runCnt = new Uint32Array(n);
    for (const s of seriesList) {
      runSum.fill(0);
      runCnt.fill(0);
      for (let i = 0; i < s.x.length; i++) {
        const y = s.last[i];
        if (y === null) continue;
        const b = Math.min(n - 1, Math.floor((s.x[i] - lo) / width));
        runSum[b] += y;
        runCnt[b] += 1;
        xs[b] += s.x[i];
        xc[b] += 1;
      }
      for (let b = 0; b < n; b++) {
        if (!runCnt[b]) continue;
        const v = runSum[b] / runCnt[b];
        sum[b] += v; sq[b] += v * v; cnt[b] += 1;
        if (v < mn[b]) mn[b] = v;
        if (v > mx[b]) mx[b] = v;
      }
    }
    const out = {x: [], mean: [], min: [], max: [], std: [], runs: []};
    for (let b = 0; b < n; b++) {
      if (!cnt[b]) continue;
      const mean = sum[b] / cnt[b];
      out.x.push(xs[b] / xc[b]);
      out.mean.push(mean);
      out.min.push(mn[b]);
      out.max.push(mx[b]);
      out.std.push(Math.sqrt(Math.max(0, sq[b] / cnt[b] - mean * mean)));
      out.runs.push(cnt[b]);
    }
    return out;
  }

  // The y range that leaves out the most extreme values (2% on each side) of what is drawn.
  function robustRange(values) {
    const v = values.filter((y) => y !== null && Number.isFinite(y)).sort((a, b) => a - b);
    if (v.length < 10) return null;
    const lo = v[Math.floor(v.length * 0.02)], hi = v[Math.ceil(v.length * 0.98) - 1];
    const pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.05 || 1;
    return [lo - pad, hi + pad];
  }

  // Lines past which a chart is drawn with WebGL (SVG slows down with hundreds of paths).
  const GL_LINES = 40;

  // Plotly traces of the chart: one line per run, or per group with its band.
  function traces(chart, opts) {
    const dates = opts.x === "_timestamp";
    const X = (xs) => dates ? xs.map((x) => new Date(x * 1000)) : xs;
    const out = [];
    const ys = [];
    if (!opts.groups) {
      const type = opts.runs.length > GL_LINES ? "scattergl" : "scatter";
      for (const run of opts.runs) {
        const s = chart.data.get(run.id);
        if (!s || !s.x.length) continue;
        const y = TD.smooth(s.last, opts.smoothing);
        for (const v of y) ys.push(v);
        out.push({type, x: X(s.x), y, mode: s.x.length === 1 ? "markers" : "lines",
                  line: {width: 1.5, color: run.color}, marker: {color: run.color},
                  name: run.name || run.id, meta: "line", customdata: run.id,
                  hovertemplate: "%{y:.4g}<extra>%{fullData.name}</extra>"});
      }
      return {traces: out, ys};
    }
    for (const g of opts.groups) {
      const list = g.runs.map((r) => chart.data.get(r.id)).filter((s) => s && s.x.length);
      const agg = aggregate(list, opts.bins);
      if (!agg) continue;
      const color = g.color;
      const mean = TD.smooth(agg.mean, opts.smoothing);
      for (const v of mean) ys.push(v);
      if (opts.band !== "none") {
        const lo = opts.band === "std" ? mean.map((m, i) => m - agg.std[i]) : agg.min;
        const hi = opts.band === "std" ? mean.map((m, i) => m + agg.std[i]) : agg.max;
        out.push({x: X(agg.x), y: hi, mode: "lines", line: {width: 0, color}, hoverinfo: "skip",
                  showlegend: false, meta: "band", name: g.label + " upper"});
        out.push({x: X(agg.x), y: lo, mode: "lines", line: {width: 0, color}, fill: "tonexty",
                  fillcolor: rgba(color, 0.2), hoverinfo: "skip", showlegend: false, meta: "band",
                  name: g.label + " lower"});
      }
      out.push({x: X(agg.x), y: mean, mode: agg.x.length === 1 ? "markers" : "lines",
                line: {width: 2, color}, marker: {color}, meta: "group",
                name: `${g.label} (${list.length})`,
                hovertemplate: "%{y:.4g}<extra>%{fullData.name}</extra>"});
    }
    return {traces: out, ys};
  }

  function rgba(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${a})`;
  }

  // Draw (or redraw) a chart from what it holds.
  function draw(P, chart, opts) {
    const {traces: data, ys} = traces(chart, opts);
    const dates = opts.x === "_timestamp";
    const layout = {
      margin: {l: 55, r: 12, t: opts.groups ? 24 : 8, b: 40}, height: 240, hovermode: "closest",
      showlegend: !!opts.groups, legend: {orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: {size: 11}},
      xaxis: {title: {text: TD.xTitle(opts.x)}, type: dates ? "date" : "linear"},
      yaxis: {type: opts.log ? "log" : "linear"},
    };
    if (chart.range) layout.xaxis.range = dates ? chart.range.map((v) => new Date(v * 1000)) : chart.range;
    let yr = null;
    if (opts.outliers && !opts.log) yr = robustRange(ys);
    const ymin = opts.ymin === null || opts.ymin === "" ? null : Number(opts.ymin);
    const ymax = opts.ymax === null || opts.ymax === "" ? null : Number(opts.ymax);
    if (ymin !== null || ymax !== null) {
      const auto = robustRange(ys) || [Math.min(...ys.filter((y) => y !== null)), Math.max(...ys.filter((y) => y !== null))];
      yr = [ymin !== null ? ymin : auto[0], ymax !== null ? ymax : auto[1]];
      if (opts.log) yr = yr.map((v) => Math.log10(Math.max(v, 1e-300)));
    }
    if (yr) layout.yaxis.range = yr;
    if (!chart.drawn) {
      P.newPlot(chart.div, data, layout, {responsive: true, displaylogo: false});
      chart.div.on("plotly_relayout", (ev) => {
        const r = TD.relayoutRange(ev, chart.x === "_timestamp");
        if (r === undefined) return;
        chart.range = r;
        chart.data = new Map();
        chart.onZoom();
      });
      chart.drawn = true;
    } else {
      P.react(chart.div, data, layout);
    }
    const lines = data.filter((t) => t.meta === "line" || t.meta === "group").length;
    Object.assign(chart.div.dataset, {x: opts.x, lines: String(lines), drawn: "1"});
  }

  // The series of `key` for the runs not yet held, in one request (a few for very many runs).
  async function fetchSeries(base, chart, runs, x, buckets) {
    const need = runs.filter((r) => !chart.data.has(r.id)).map((r) => r.id);
    for (let i = 0; i < need.length; i += 400) {
      const ids = need.slice(i, i + 400);
      const body = await TD.api(base + "/series", {
        key: chart.key, runs: ids.join(","), x, buckets,
        x_min: chart.range ? chart.range[0] : null, x_max: chart.range ? chart.range[1] : null});
      for (const id of ids) {
        const got = body.runs[id];
        chart.data.set(id, got && got[chart.key] ? got[chart.key] : {x: [], last: []});
      }
    }
  }

  return {SETTINGS, DEFAULTS, effective, aggregate, draw, fetchSeries, robustRange};
})();
