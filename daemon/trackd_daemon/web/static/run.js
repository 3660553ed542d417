// The run page: one chart per metric, grouped in sections; x axis, smoothing and log scale;
// zoom re-queries the range at full resolution; live updates while the run is running.
"use strict";
(() => {
  const run = TD.data.run;
  const base = `/runs/${TD.enc(run.entity)}/${TD.enc(run.project)}/${TD.enc(run.id)}`;
  const state = {x: "auto", smoothing: 0, log: false, rows: run.history_rows, charts: new Map()};
  const sectionsEl = document.getElementById("sections");
  const statusEl = document.getElementById("charts-status");
  const xSelect = document.getElementById("x-axis");
  TD.plotly();  // start loading the chart library with the page

  const xFor = (rec) => (state.x === "auto" ? rec.step_metric || "_step" : state.x);

  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const rec = e.target._rec;
      rec.visible = e.isIntersecting;
      if (rec.visible && (!rec.drawn || rec.stale)) queue(rec);
    }
  }, {rootMargin: "600px 0px"});

  function sectionEl(name) {
    let sec = [...sectionsEl.children].find((s) => s.dataset.section === name);
    if (!sec) {
      sec = TD.el("details", {class: "section", open: true, dataset: {section: name}},
                  TD.el("summary", {}, TD.sectionTitle(name)), TD.el("div", {class: "chart-grid"}));
      sectionsEl.append(sec);
    }
    return sec.querySelector(".chart-grid");
  }

  function render(layout) {
    for (const x of layout.x_axes) {
      if (![...xSelect.options].some((o) => o.value === x)) xSelect.append(new Option(TD.xTitle(x), x));
    }
    let count = 0;
    for (const section of layout.sections) {
      const grid = sectionEl(section.name);
      for (const c of section.charts) {
        count += 1;
        const known = state.charts.get(c.key);
        if (known) { known.step_metric = c.step_metric; continue; }
        const div = TD.el("div", {class: "chart", dataset: {key: c.key}});
        grid.append(TD.el("div", {class: "chart-box"}, TD.el("div", {class: "chart-title"}, c.key), div));
        const rec = {key: c.key, step_metric: c.step_metric, div, range: null, drawn: false,
                     visible: false, stale: false, series: null, x: null};
        div._rec = rec;
        state.charts.set(c.key, rec);
        observer.observe(div);
      }
    }
    const hidden = layout.hidden.length ? ` (${layout.hidden.length} hidden by define_metric)` : "";
    statusEl.textContent = count ? `${count} chart${count === 1 ? "" : "s"}${hidden}` : `No metrics logged yet${hidden}.`;
  }

  let pending = new Set();
  let timer = null;
  let firstAsked = false;
  function queue(rec) {
    pending.add(rec);
    if (!timer) timer = setTimeout(flush, 16);
  }

  async function flush() {
    timer = null;
    const groups = new Map();
    const order = [...pending].sort((a, b) =>
      a.div.compareDocumentPosition(b.div) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
    for (const rec of order) {
      rec.stale = false;
      const k = xFor(rec) + "|" + (rec.range ? rec.range.join(",") : "");
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(rec);
    }
    pending = new Set();
    const requests = [...groups.values()];
    if (!firstAsked && requests.length && requests[0].length > 1) {
      // The first chart on its own request: it is drawn while the others are computed.
      requests.unshift([requests[0].shift()]);
    }
    firstAsked = true;
    await Promise.all(requests.map(fetchGroup));
  }

  async function fetchGroup(recs) {
    const x = xFor(recs[0]);
    const range = recs[0].range;
    const buckets = Math.max(100, Math.min(1500, Math.round((recs[0].div.clientWidth || 600) * 2)));
    for (let i = 0; i < recs.length; i += 100) {
      const chunk = recs.slice(i, i + 100);
      try {
        const body = await TD.api(base + "/series", {
          key: chunk.map((r) => r.key), x, buckets,
          x_min: range ? range[0] : null, x_max: range ? range[1] : null,
        });
        performance.mark("td:series");
        const P = await TD.plotly();
        performance.mark("td:plotly");
        for (const rec of chunk) {
          draw(P, rec, body.series[rec.key], x);
          await new Promise((resolve) => setTimeout(resolve, 0));  // paint each chart as it comes
        }
      } catch (err) {
        statusEl.textContent = "Could not load charts: " + err.message;
      }
    }
  }

  function draw(P, rec, s, x) {
    rec.series = s;
    rec.x = x;
    const dates = x === "_timestamp";
    const data = TD.traces(s, {name: rec.key, smoothing: state.smoothing, dates});
    const layout = {
      margin: {l: 55, r: 12, t: 8, b: 42}, height: 250, showlegend: false,
      xaxis: {title: {text: TD.xTitle(s.x_key || x)}, type: dates ? "date" : "linear"},
      yaxis: {type: state.log ? "log" : "linear"},
    };
    if (rec.range) layout.xaxis.range = dates ? rec.range.map((v) => new Date(v * 1000)) : rec.range;
    if (!rec.drawn) {
      P.newPlot(rec.div, data, layout, {responsive: true, displaylogo: false});
      rec.div.on("plotly_relayout", (ev) => {
        const r = TD.relayoutRange(ev, rec.x === "_timestamp");
        if (r === undefined) return;
        rec.range = r;
        queue(rec);
      });
      rec.drawn = true;
    } else {
      P.react(rec.div, data, layout);
    }
    Object.assign(rec.div.dataset, {x, points: String(s.x.length), total: String(s.total),
                                    sampled: String(s.sampled), drawn: "1"});
    if (!performance.getEntriesByName("td:first-chart").length) performance.mark("td:first-chart");
  }

  function redrawAll() {
    TD.plotly().then((P) => {
      for (const rec of state.charts.values()) if (rec.drawn && rec.series) draw(P, rec, rec.series, rec.x);
    });
  }

  function refresh(all) {
    for (const rec of state.charts.values()) {
      if (all) rec.range = null;
      if (rec.visible) queue(rec);
      else rec.stale = true;
    }
  }

  xSelect.addEventListener("change", () => { state.x = xSelect.value; refresh(true); });
  const smoothing = document.getElementById("smoothing");
  smoothing.addEventListener("input", () => {
    state.smoothing = Number(smoothing.value);
    document.getElementById("smoothing-value").textContent = smoothing.value;
    redrawAll();
  });
  document.getElementById("log-scale").addEventListener("change", (e) => { state.log = e.target.checked; redrawAll(); });

  async function loadLayout() {
    render(await TD.api(base + "/metrics"));
    performance.mark("td:layout");
  }

  // -- live updates ------------------------------------------------------------------------
  function flatten(obj, prefix, out) {
    for (const [k, v] of Object.entries(obj)) {
      if (!prefix && k.startsWith("_")) continue;
      if (v && typeof v === "object" && !Array.isArray(v)) {
        if ("_type" in v) out[prefix + k] = "<" + v._type + ">";
        else flatten(v, prefix + k + ".", out);
      } else out[prefix + k] = v;
    }
    return out;
  }

  function showRun(snap) {
    document.dispatchEvent(new CustomEvent("td:run", {detail: snap}));  // run_edit.js
    const badge = document.getElementById("run-state");
    badge.textContent = snap.state;
    badge.className = "badge " + snap.state;
    document.getElementById("overview-state").textContent = snap.state + (snap.state === "running" ? "" : ` (exit code ${snap.exit_code})`);
    document.getElementById("overview-rows").textContent = snap.history_rows;
    document.getElementById("overview-finished").textContent = snap.finished_at ? TD.when(snap.finished_at) : "-";
    const values = flatten(snap.summary || {}, "", {});
    const section = document.getElementById("summary");
    let table = document.getElementById("summary-table");
    if (!table && Object.keys(values).length) {
      table = TD.el("table", {class: "kv", id: "summary-table"});
      const empty = document.getElementById("summary-empty");
      if (empty) empty.remove();
      section.append(table);
    }
    if (table) {
      table.replaceChildren(...Object.entries(values).map(([k, v]) =>
        TD.el("tr", {dataset: {key: k}}, TD.el("th", {}, k), TD.el("td", {}, TD.value(v)))));
    }
  }

  let refreshTimer = null;
  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(async () => {
      refreshTimer = null;
      await loadLayout();
      refresh(false);
    }, 1000);
  }

  // System metrics arrive without new history rows: while the run runs, look again now and
  // then (the daemon samples every 15 s by default).
  const SYSTEM_REFRESH_MS = 10000;

  function follow() {
    const systemTimer = setInterval(scheduleRefresh, SYSTEM_REFRESH_MS);
    const events = TD.events(base + "/events", {
      run: (e) => {
        const snap = JSON.parse(e.data);
        showRun(snap);
        if (snap.history_rows !== state.rows) {
          state.rows = snap.history_rows;
          scheduleRefresh();
          document.dispatchEvent(new CustomEvent("td:history", {detail: snap}));  // media panels
        }
      },
      end: () => {
        events.close();
        clearInterval(systemTimer);
        scheduleRefresh();
        document.dispatchEvent(new CustomEvent("td:history", {detail: null}));
      },
    });
  }

  loadLayout().then(() => { if (run.state === "running") follow(); })
    .catch((err) => { statusEl.textContent = "Could not load charts: " + err.message; });
})();
