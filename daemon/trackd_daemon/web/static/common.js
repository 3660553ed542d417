// Shared by the dashboard's pages: the page's data, API calls, live events, formatting.
// API calls carry the browser's session cookie; a notebook view (in another site's iframe,
// where the browser keeps no cookie of ours) has its session id in the page's data instead and
// sends it in a header.
"use strict";
const TD = (() => {
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const headers = data.session ? {"X-Trackd-Session": data.session} : {};

  // The pages' control forms act as their fields change; none is ever submitted.
  for (const form of document.querySelectorAll("form.controls")) {
    form.addEventListener("submit", (e) => e.preventDefault());
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v === undefined || v === null || v === "") continue;
      for (const item of Array.isArray(v) ? v : [v]) q.append(k, item);
    }
    const s = q.toString();
    return s ? "?" + s : "";
  }

  async function api(path, params) {
    const res = await fetch("/api/v1" + path + query(params), {headers, credentials: "same-origin"});
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
    return body;
  }

  // A POST of a JSON body to the API (the controls that change state); the dashboard's own
  // page sends it, so it passes the same-origin rule (security.py).
  async function post(path, body) {
    const res = await fetch("/api/v1" + path, {
      method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: {...headers, "Content-Type": "application/json"}});
    const text = await res.text();
    let out = null;
    try { out = JSON.parse(text); } catch (err) { out = null; }
    if (!res.ok) throw new Error(out && out.error ? out.error.message : text || res.statusText);
    return out;
  }

  // Server-sent events of an API path: handlers by event name. Read with fetch (EventSource
  // cannot send a header); reconnects after a dropped connection until the stream ends itself.
  function events(path, handlers) {
    let stopped = false;
    const controller = new AbortController();
    async function read() {
      const res = await fetch("/api/v1" + path, {headers, credentials: "same-origin", signal: controller.signal});
      if (!res.ok) throw new Error(res.statusText);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) return;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = "message", body = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) body += line.slice(5).trim();
          }
          if (handlers[name]) handlers[name]({data: body});
        }
      }
    }
    (async () => {
      while (!stopped) {
        try { await read(); } catch (err) { if (stopped) return; }
        if (!stopped) await new Promise((resolve) => setTimeout(resolve, 3000));
      }
    })();
    return {close() { stopped = true; controller.abort(); }};
  }

  let plotlyLoading = null;
  function plotly() {
    if (!plotlyLoading) {
      plotlyLoading = new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = data.plotly;
        s.onload = () => resolve(window.Plotly);
        s.onerror = () => reject(new Error("plotly.js did not load"));
        document.head.appendChild(s);
      });
    }
    return plotlyLoading;
  }

  function enc(s) { return encodeURIComponent(s); }

  function runPath(entity, project, id) {
    return "/" + enc(entity) + "/" + enc(project) + "/runs/" + enc(id);
  }

  function when(ts) {
    if (!ts) return "-";
    const d = new Date(ts * 1000);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
  }

  function span(seconds) {
    seconds = Math.floor(seconds || 0);
    if (seconds < 60) return seconds + "s";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m " + (seconds % 60) + "s";
    return Math.floor(seconds / 3600) + "h " + Math.floor((seconds % 3600) / 60) + "m";
  }

  function value(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+(e|$)/, "$1");
    if (Array.isArray(v)) return v.map(value).join(", ");
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "dataset") Object.assign(e.dataset, v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  // Exponential moving average with debiasing (the smoothing W&B and TensorBoard apply).
  function smooth(ys, weight) {
    if (!weight) return ys;
    let last = 0, n = 0;
    return ys.map((y) => {
      if (y === null) return null;
      last = last * weight + (1 - weight) * y;
      n += 1;
      return last / (1 - Math.pow(weight, n));
    });
  }

  // The palette of colors.py; a run's own colour is its API object's "color" (its rank in
  // its project), the same on every page: runColor(run).
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                  "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#e7ba52", "#637939", "#ad494a",
                  "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"];
  const runColor = (run, i) => (run && run.color) || COLORS[(i || 0) % COLORS.length];

  function rgba(hex, a) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${a})`;
  }

  // Plotly traces of one downsampled series: the line (last value per bucket) and, when the
  // series is bucketed, a band from each bucket's minimum to its maximum.
  function traces(s, opts) {
    const color = opts.color || COLORS[0];
    const xs = opts.dates ? s.x.map((x) => new Date(x * 1000)) : s.x;
    const out = [];
    if (s.sampled) {
      out.push({x: xs, y: s.max, mode: "lines", line: {width: 0, color}, hoverinfo: "skip",
                showlegend: false, meta: "band", name: opts.name + " max"});
      out.push({x: xs, y: s.min, mode: "lines", line: {width: 0, color}, fill: "tonexty",
                fillcolor: rgba(color, 0.18), hoverinfo: "skip", showlegend: false, meta: "band",
                name: opts.name + " min"});
    }
    const mode = s.x.length === 1 ? "markers" : "lines";
    if (opts.smoothing) {
      out.push({x: xs, y: s.last, mode, line: {width: 1, color: rgba(color, 0.3)},
                showlegend: false, hoverinfo: "skip", meta: "raw", name: opts.name + " raw"});
      out.push({x: xs, y: smooth(s.last, opts.smoothing), mode, line: {width: 1.6, color},
                name: opts.name, meta: "line"});
    } else {
      out.push({x: xs, y: s.last, mode, line: {width: 1.6, color}, name: opts.name, meta: "line"});
    }
    return out;
  }

  function xTitle(x) {
    return {_step: "Step", _runtime: "Relative time (s)", _timestamp: "Wall time"}[x] || x;
  }

  // The x range a plotly relayout event asks for, in the units the API takes (seconds for
  // wall time); null when the chart went back to its full range.
  function relayoutRange(ev, dates) {
    if (ev["xaxis.autorange"]) return null;
    const lo = ev["xaxis.range[0]"] ?? (ev["xaxis.range"] || [])[0];
    const hi = ev["xaxis.range[1]"] ?? (ev["xaxis.range"] || [])[1];
    if (lo === undefined || hi === undefined) return undefined;
    const conv = (v) => dates ? new Date(v).getTime() / 1000 : Number(v);
    return [conv(lo), conv(hi)];
  }

  function sectionTitle(name) { return name || "Charts"; }

  return {data, api, post, events, plotly, runPath, when, span, value, el, smooth, traces,
          COLORS, runColor, xTitle, relayoutRange, sectionTitle, enc};
})();
