// Histogram panels (histogram): a key's histograms over steps as a heat map of step × bin,
// as W&B draws them. Each step's bins are spread over one common grid of value ranges (bins
// differ from step to step), a bin's count shared among the cells it overlaps.
"use strict";
(() => {
  const ROWS = 64;

  // [edges, counts] of one logged histogram (W&B's `bins` + `values`, or packed bins).
  function binsOf(v) {
    const counts = (v.values || []).map(Number);
    if (Array.isArray(v.bins)) return [v.bins.map(Number), counts];
    const p = v.packedBins;
    if (p) return [Array.from({length: p.count + 1}, (_, i) => p.min + i * p.size), counts];
    return [[], counts];
  }

  // The heat map's grid (row centres) and z[row][step] from the steps' histograms.
  function grid(hists) {
    let lo = Infinity, hi = -Infinity;
    for (const [edges] of hists) {
      if (edges.length) { lo = Math.min(lo, edges[0]); hi = Math.max(hi, edges[edges.length - 1]); }
    }
    if (!(hi > lo)) { lo = (isFinite(lo) ? lo : 0) - 0.5; hi = lo + 1; }
    const width = (hi - lo) / ROWS;
    const centers = Array.from({length: ROWS}, (_, r) => lo + (r + 0.5) * width);
    const z = centers.map(() => hists.map(() => 0));
    hists.forEach(([edges, counts], s) => {
      for (let b = 0; b < counts.length && b + 1 < edges.length; b++) {
        const a = edges[b], e = edges[b + 1], c = counts[b];
        if (!c) continue;
        if (!(e > a)) { z[Math.min(ROWS - 1, Math.floor((a - lo) / width))][s] += c; continue; }
        const first = Math.max(0, Math.floor((a - lo) / width));
        const last = Math.min(ROWS - 1, Math.floor((e - lo) / width - 1e-9));
        for (let r = first; r <= last; r++) {
          const overlap = Math.min(e, lo + (r + 1) * width) - Math.max(a, lo + r * width);
          if (overlap > 0) z[r][s] += c * overlap / (e - a);
        }
      }
    });
    return {centers, z};
  }

  TDMedia.register(["histogram"], async ({run, key, el}) => {
    const got = await TDMedia.values(run, key, 500);
    if (!got.steps.length) { TDMedia.message(el, "No histograms logged."); return; }
    const hists = got.values.map(binsOf);
    const {centers, z} = grid(hists);
    const div = TD.el("div", {class: "media-histogram"});
    el.replaceChildren(div);
    const P = await TD.plotly();
    await P.newPlot(div, [{
      type: "heatmap", x: got.steps, y: centers, z, colorscale: "Viridis", reversescale: false,
      colorbar: {title: {text: "count"}, thickness: 12},
      hovertemplate: "step %{x}<br>value %{y:.4g}<br>count %{z:.4g}<extra></extra>",
    }], {
      height: 260, margin: {l: 55, r: 12, t: 8, b: 42},
      xaxis: {title: {text: "Step"}}, yaxis: {title: {text: TDMedia.plain(key)}},
    }, {responsive: true, displaylogo: false});
    Object.assign(div.dataset, {drawn: "1", steps: String(got.steps.length), rows: String(centers.length)});
  });
})();
