// The project workspace (W&B's default project view): beside the runs table (runs.js, its side
// panel), a grid of charts, one per metric of the project's runs, sectioned by the metric
// name's prefix; each visible run in its own colour on every chart (or one line per group);
// workspace-wide and per-chart settings; extra panels (panels.js, TDPanels); the layout saved
// per project in the daemon as named views. Charts load as they come into view.
"use strict";
window.TDWorkspace = (() => {
  const {entity, project} = TD.data;
  const base = `/projects/${TD.enc(entity)}/${TD.enc(project)}`;
  const C = TDWorkspaceCharts;
  const $ = (id) => document.getElementById(id);
  const STORED_VIEW = `td-ws-view:${entity}/${project}`;
  const DEFAULT_TOP = 20;

  function blank() {
    return {version: 1, top: DEFAULT_TOP, hidden: [], group: {by: "", band: "minmax"},
            settings: {...C.DEFAULTS}, charts: {}, sections: {}, order: [], panels: []};
  }

  let spec = blank();
  let viewName = "default";
  let layout = null;        // the project's charts (GET .../metrics)
  let runs = [];             // the top N runs of the table's query
  let available = {config: [], summary: []};
  const charts = new Map();  // key -> chart record
  const rowsSeen = new Map();  // run id -> its history rows when the charts read it
  let ready = false;

  const visibleRuns = () => runs.filter((r) => !spec.hidden.includes(r.id));

  // -- saving ------------------------------------------------------------------------------
  let saveTimer = null;
  async function writeNow() {
    clearTimeout(saveTimer);
    saveTimer = null;
    try {
      await TD.post(`${base}/views/${TD.enc(viewName)}`, spec);
      $("ws-status").textContent = "";
    } catch (err) {
      $("ws-status").textContent = "Could not save the layout: " + err.message;
    }
  }
  function save() {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(writeNow, 300);
  }
  // A change not yet saved is saved to its own view before another view opens.
  async function flush() { if (saveTimer) await writeNow(); }

  // -- runs --------------------------------------------------------------------------------
  function groupColumn() {
    const by = spec.group.by;
    return by.startsWith("config.") ? by : "";
  }

  async function loadRuns() {
    const q = window.TDRunsTable ? TDRunsTable.params() : {};
    const top = spec.top === "all" ? 500 : Number(spec.top) || DEFAULT_TOP;
    const params = {q: q.q, state: q.state, tag: q.tag, group: q.group, filter: q.filter,
                    sort: q.sort, per_page: top, page: 1, columns: groupColumn(), sweep: q.sweep};
    const body = await TD.api(base + "/runs", params);
    runs = body.runs || [];
    available = body.available;
    fillGroupOptions();
    // Runs that logged since the charts read them (running ones) are read again.
    const grown = runs.filter((r) => rowsSeen.has(r.id) && rowsSeen.get(r.id) !== r.history_rows);
    for (const r of runs) rowsSeen.set(r.id, r.history_rows);
    for (const chart of charts.values()) for (const r of grown) chart.data.delete(r.id);
    return grown.length > 0;
  }

  function groups() {
    const by = spec.group.by;
    if (!by) return null;
    const out = new Map();
    for (const r of visibleRuns()) {
      const v = by.startsWith("config.") ? r.values[by] : r[by];
      const label = `${by} = ${v === undefined || v === null || v === "" ? "(none)" : TD.value(v)}`;
      if (!out.has(label)) out.set(label, {label, runs: [], color: TD.COLORS[out.size % TD.COLORS.length]});
      out.get(label).runs.push(r);
    }
    return [...out.values()];
  }

  // -- charts ------------------------------------------------------------------------------
  const observer = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const chart = e.target._chart;
      chart.visible = e.isIntersecting;
      if (chart.visible) refreshChart(chart);
    }
  }, {rootMargin: "300px 0px"});

  function optsOf(chart) {
    const o = C.effective(spec.settings, spec.charts[chart.key]);
    if (o.x === "auto") o.x = chart.step_metric || "_step";
    // System metrics have no step: drawn against the time since the run started unless the
    // wall clock is asked for (as on the run page).
    if (chart.system && o.x !== "_timestamp") o.x = "_runtime";
    return o;
  }

  // Charts to (re)draw, asked for in page order: the first alone (it is drawn while the
  // others are read), then a few at a time.
  let firstDrawn = false;
  const waiting = new Set();
  let active = 0;
  function refreshChart(chart) {
    if (chart.busy) { chart.again = true; return; }
    waiting.add(chart);
    pump();
  }

  function pump() {
    const limit = firstDrawn ? 3 : 1;
    while (active < limit && waiting.size) {
      const next = [...waiting].sort((a, b) =>
        a.div.compareDocumentPosition(b.div) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1)[0];
      waiting.delete(next);
      active += 1;
      drawChart(next).finally(() => { active -= 1; pump(); });
    }
  }

  async function drawChart(chart) {
    chart.busy = true;
    try {
      const o = optsOf(chart);
      if (chart.x !== o.x) { chart.data = new Map(); chart.x = o.x; chart.range = null; }
      const shown = visibleRuns();
      // About a point per pixel of the chart's width; half that past 50 lines, which overlap.
      const width = chart.div.clientWidth || 500;
      const buckets = Math.max(50, Math.min(1000, Math.round(shown.length > 50 ? width / 2 : width)));
      await C.fetchSeries(base, chart, shown, o.x, buckets);
      if (!firstDrawn) performance.mark("td:ws-first-series");
      const P = await TD.plotly();
      C.draw(P, chart, {...o, runs: shown, groups: groups(), band: spec.group.band, bins: Math.min(buckets, 200)});
      if (!firstDrawn) { firstDrawn = true; performance.mark("td:ws-first-chart"); }
      checkAllVisible();
    } catch (err) {
      $("ws-status").textContent = `Could not draw ${chart.key}: ${err.message}`;
    } finally {
      chart.busy = false;
      if (chart.again) { chart.again = false; refreshChart(chart); }
    }
  }

  function checkAllVisible() {
    const pending = [...charts.values()].filter((c) => c.visible && c.div.dataset.drawn !== "1");
    if (!pending.length && !performance.getEntriesByName("td:ws-all-visible").length) {
      performance.mark("td:ws-all-visible");
    }
  }

  function redrawAll() {
    for (const chart of charts.values()) {
      if (chart.visible) refreshChart(chart);
      else chart.div.dataset.drawn = chart.drawn ? "stale" : "";
    }
  }

  function sectionNames() {
    const names = layout.sections.map((s) => s.name);
    const ordered = spec.order.filter((n) => names.includes(n));
    return [...ordered, ...names.filter((n) => !ordered.includes(n))];
  }

  function moveSection(name, delta) {
    const names = sectionNames();
    const i = names.indexOf(name), j = i + delta;
    if (j < 0 || j >= names.length) return;
    [names[i], names[j]] = [names[j], names[i]];
    spec.order = names;
    save();
    build();
  }

  function chartSettings(chart) {
    const own = spec.charts[chart.key] || {};
    const xSel = TD.el("select", {dataset: {setting: "x"}}, new Option("(workspace)", ""),
                       ...layout.x_axes.map((x) => new Option(TD.xTitle(x), x)));
    xSel.value = own.x || "";
    const smooth = TD.el("input", {type: "number", min: 0, max: 0.99, step: 0.01, placeholder: "(workspace)", dataset: {setting: "smoothing"}, value: own.smoothing ?? ""});
    const tri = (k, label) => {
      const s = TD.el("select", {dataset: {setting: k}}, new Option("(workspace)", ""), new Option("on", "on"), new Option("off", "off"));
      s.value = own[k] === undefined ? "" : (own[k] ? "on" : "off");
      return TD.el("label", {}, label + " ", s);
    };
    const ymin = TD.el("input", {type: "number", step: "any", placeholder: "min", size: 6, dataset: {setting: "ymin"}, value: own.ymin ?? ""});
    const ymax = TD.el("input", {type: "number", step: "any", placeholder: "max", size: 6, dataset: {setting: "ymax"}, value: own.ymax ?? ""});
    const form = TD.el("form", {class: "controls ws-chart-settings"},
      TD.el("label", {}, "X axis ", xSel), TD.el("label", {}, "Smoothing ", smooth),
      tri("log", "Log scale"), tri("outliers", "Ignore outliers"),
      TD.el("label", {}, "Y ", ymin, " \u2013 ", ymax),
      TD.el("button", {type: "button", class: "small", onclick: () => {
        delete spec.charts[chart.key];
        save();
        form.remove();
        refreshChart(chart);
      }}, "Use workspace settings"));
    form.addEventListener("submit", (e) => e.preventDefault());
    form.addEventListener("change", () => {
      const next = {};
      for (const el of form.querySelectorAll("[data-setting]")) {
        const k = el.dataset.setting, v = el.value;
        if (v === "") continue;
        if (k === "log" || k === "outliers") next[k] = v === "on";
        else if (k === "x") next[k] = v;
        else next[k] = Number(v);
      }
      if (Object.keys(next).length) spec.charts[chart.key] = next; else delete spec.charts[chart.key];
      save();
      refreshChart(chart);
    });
    return form;
  }

  function chartBox(c) {
    const div = TD.el("div", {class: "chart ws-chart", dataset: {key: c.key}});
    const chart = {key: c.key, step_metric: c.step_metric, system: c.key.startsWith("system."), div, data: new Map(), x: null,
                   range: null, drawn: false, visible: false, busy: false, again: false};
    chart.onZoom = () => refreshChart(chart);
    div._chart = chart;
    charts.set(c.key, chart);
    const box = TD.el("div", {class: "chart-box ws-chart-box", dataset: {key: c.key}});
    const gear = TD.el("button", {type: "button", class: "small ws-gear", title: "This chart's settings", onclick: () => {
      const open = box.querySelector(".ws-chart-settings");
      if (open) open.remove(); else box.insertBefore(chartSettings(chart), div);
    }}, "\u2699");
    box.append(TD.el("div", {class: "chart-title"}, c.key, gear), div);
    observer.observe(div);
    return box;
  }

  function build() {
    observer.disconnect();
    charts.clear();
    const root = $("ws-sections");
    const out = [];
    if (spec.panels.length) out.push(panelsSection());
    const byName = new Map(layout.sections.map((s) => [s.name, s]));
    let count = 0;
    for (const name of sectionNames()) {
      const section = byName.get(name);
      const state = spec.sections[name] || {};
      const grid = TD.el("div", {class: "chart-grid"});
      const summary = TD.el("summary", {}, TD.sectionTitle(name), " ",
        TD.el("span", {class: "run-id"}, `${section.charts.length}`),
        TD.el("button", {type: "button", class: "small ws-up", title: "Move up", onclick: (e) => { e.preventDefault(); moveSection(name, -1); }}, "\u2191"),
        TD.el("button", {type: "button", class: "small ws-down", title: "Move down", onclick: (e) => { e.preventDefault(); moveSection(name, 1); }}, "\u2193"));
      // System starts collapsed (its charts load once it is opened).
      const collapsed = state.collapsed ?? !!section.system;
      const details = TD.el("details", {class: "section ws-section", open: !collapsed, dataset: {section: name}}, summary, grid);
      details.addEventListener("toggle", () => {
        if (((spec.sections[name] || {}).collapsed ?? !!section.system) === !details.open) return;  // as built
        spec.sections[name] = {...(spec.sections[name] || {}), collapsed: !details.open};
        save();
      });
      for (const c of section.charts) { grid.append(chartBox(c)); count += 1; }
      out.push(details);
    }
    root.replaceChildren(...out);
    const hidden = layout.hidden.length ? ` (${layout.hidden.length} hidden by define_metric)` : "";
    $("ws-status").textContent = count ? "" : `No metrics logged yet${hidden}.`;
    firstDrawn = false;
  }

  // -- extra panels (panels.js) --------------------------------------------------------------
  function panelsSection() {
    const grid = TD.el("div", {class: "chart-grid ws-panels"});
    spec.panels.forEach((p, i) => {
      const el = TD.el("div", {class: "ws-panel-body"});
      const remove = TD.el("button", {type: "button", class: "small", title: "Remove this panel", onclick: () => {
        spec.panels.splice(i, 1);
        save();
        build();
      }}, "\u2715");
      grid.append(TD.el("div", {class: "chart-box ws-panel", dataset: {kind: p.kind, index: String(i)}},
        TD.el("div", {class: "chart-title"}, kindTitle(p.kind), remove), el));
      renderPanel(el, i);
    });
    return TD.el("details", {class: "section ws-section", open: true, dataset: {section: "__panels"}},
                 TD.el("summary", {}, "Panels"), grid);
  }

  function kindTitle(kind) {
    const k = window.TDPanels ? TDPanels.kinds.find((x) => x.kind === kind) : null;
    return k ? k.title : kind;
  }

  function renderPanel(el, i) {
    if (!window.TDPanels) {
      el.textContent = "This panel's kind is not available.";
      return;
    }
    const ctx = {
      entity, project, runs: visibleRuns(), columns: available,
      fetchRuns: async (columns) => {
        const ids = new Set(visibleRuns().map((r) => r.id));
        const q = window.TDRunsTable ? TDRunsTable.params() : {};
        const body = await TD.api(base + "/runs", {q: q.q, state: q.state, tag: q.tag, group: q.group, filter: q.filter, sort: q.sort,
          per_page: spec.top === "all" ? 500 : Number(spec.top) || DEFAULT_TOP, columns: columns.join(",")});
        return (body.runs || []).filter((r) => ids.has(r.id));
      },
      onChange: (next) => { spec.panels[i] = next; save(); },
    };
    try { TDPanels.render(el, spec.panels[i], ctx); } catch (err) { el.textContent = "Could not draw this panel: " + err.message; }
  }

  function refreshPanels() {
    for (const el of document.querySelectorAll(".ws-panel")) {
      renderPanel(el.querySelector(".ws-panel-body"), Number(el.dataset.index));
    }
  }

  // -- controls ----------------------------------------------------------------------------
  function fillGroupOptions() {
    const sel = $("ws-group");
    const have = new Set([...sel.options].map((o) => o.value));
    for (const k of available.config.slice(0, 50)) {
      if (!have.has("config." + k)) sel.append(new Option("config." + k, "config." + k));
    }
    if (spec.group.by && !new Set([...sel.options].map((o) => o.value)).has(spec.group.by)) sel.append(new Option(spec.group.by, spec.group.by));
    sel.value = spec.group.by;
  }

  function showControls() {
    $("ws-top").value = String(spec.top);
    $("ws-band").value = spec.group.band;
    fillGroupOptions();
    const s = spec.settings;
    const xSel = $("ws-x");
    for (const x of layout ? layout.x_axes : []) {
      if (![...xSel.options].some((o) => o.value === x)) xSel.append(new Option(TD.xTitle(x), x));
    }
    xSel.value = s.x || "auto";
    $("ws-smoothing").value = String(s.smoothing || 0);
    $("ws-smoothing-value").textContent = String(s.smoothing || 0);
    $("ws-log").checked = !!s.log;
    $("ws-outliers").checked = !!s.outliers;
    $("ws-ymin").value = s.ymin ?? "";
    $("ws-ymax").value = s.ymax ?? "";
    const add = $("ws-add-panel");
    const kinds = window.TDPanels ? TDPanels.kinds : [];
    add.replaceChildren(new Option("\u2026", ""), ...kinds.map((k) => new Option(k.title, k.kind)));
    add.disabled = !kinds.length;
  }

  async function listViews() {
    const body = await TD.api(base + "/views");
    const names = body.views.map((v) => v.name);
    if (!names.includes("default")) names.unshift("default");
    if (!names.includes(viewName)) names.push(viewName);
    $("ws-view").replaceChildren(...names.map((n) => new Option(n, n, false, n === viewName)));
  }

  async function fetchView(name) {
    try { return (await TD.api(`${base}/views/${TD.enc(name)}`)).spec; } catch (err) { return null; }
  }

  // Open a view (`got`: its spec when already fetched; null: none saved, the defaults).
  async function openView(name, got) {
    await flush();
    viewName = name;
    try { localStorage.setItem(STORED_VIEW, name); } catch (err) { /* storage off */ }
    const saved = got === undefined ? await fetchView(name) : got;
    spec = {...blank(), ...(saved || {})};
    spec.group = {...blank().group, ...((saved && saved.group) || {})};
    spec.settings = {...C.DEFAULTS, ...((saved && saved.settings) || {})};
    showControls();
    performance.mark("td:ws-view");
    await loadRuns();
    performance.mark("td:ws-runs");
    if (window.TDRunsTable) TDRunsTable.redraw();
    build();
    performance.mark("td:ws-built");
    await listViews();
  }

  function onSetting(e) {
    const el = e.target;
    const k = el.dataset.setting;
    if (!k) return;
    let v;
    if (el.type === "checkbox") v = el.checked;
    else if (k === "smoothing") { v = Number(el.value); $("ws-smoothing-value").textContent = el.value; }
    else if (k === "ymin" || k === "ymax") v = el.value === "" ? null : Number(el.value);
    else v = el.value;
    spec.settings[k] = v;
    save();
    redrawAll();
  }

  const chartKeys = (l) => l.sections.flatMap((s) => s.charts.map((c) => c.key)).join("\n");

  async function rerun() {
    const grown = await loadRuns();
    if (window.TDRunsTable) TDRunsTable.redraw();
    if (grown) {  // new metrics may have come with the new rows
      const next = await TD.api(base + "/metrics");
      const changed = chartKeys(next) !== chartKeys(layout);
      layout = next;
      if (changed) { build(); refreshPanels(); return; }
    }
    redrawAll();
    refreshPanels();
  }

  function wire() {
    $("ws-settings").addEventListener("change", onSetting);
    $("ws-smoothing").addEventListener("input", onSetting);
    $("ws-top").addEventListener("change", (e) => { spec.top = e.target.value === "all" ? "all" : Number(e.target.value); save(); rerun(); });
    $("ws-group").addEventListener("change", (e) => { spec.group.by = e.target.value; save(); rerun(); });
    $("ws-band").addEventListener("change", (e) => { spec.group.band = e.target.value; save(); redrawAll(); });
    $("ws-view").addEventListener("change", (e) => openView(e.target.value));
    $("ws-save-as").addEventListener("click", async () => {
      const name = $("ws-view-name").value.trim();
      if (!name) { $("ws-status").textContent = "Name the new view first."; return; }
      clearTimeout(saveTimer);  // the changes go to the new view
      saveTimer = null;
      try {
        await TD.post(`${base}/views/${TD.enc(name)}`, spec);
        $("ws-view-name").value = "";
        viewName = name;
        try { localStorage.setItem(STORED_VIEW, name); } catch (err) { /* storage off */ }
        await listViews();
      } catch (err) {
        $("ws-status").textContent = "Could not save the view: " + err.message;
      }
    });
    $("ws-delete-view").addEventListener("click", async () => {
      if (!confirm(`Delete the view "${viewName}"?`)) return;
      clearTimeout(saveTimer);
      saveTimer = null;
      await TD.post(`${base}/views/${TD.enc(viewName)}/delete`, {});
      await openView("default");
    });
    $("ws-add-panel").addEventListener("change", (e) => {
      const kind = e.target.value;
      e.target.value = "";
      if (!kind) return;
      spec.panels.push({kind});
      save();
      build();
    });
    document.addEventListener("td:runs-query", rerun);
    document.addEventListener("td:runs-changed", async () => {
      layout = await TD.api(base + "/metrics");
      for (const c of charts.values()) c.data = new Map();
      await rerun();
    });
  }

  async function start() {
    TD.plotly();
    wire();
    let name = "default";
    try { name = localStorage.getItem(STORED_VIEW) || "default"; } catch (err) { /* storage off */ }
    // The charts and the view at once (a view remembered here but deleted since: the default).
    const got = await Promise.all([TD.api(base + "/metrics"), fetchView(name)]);
    layout = got[0];
    performance.mark("td:ws-layout");
    if (got[1] === null && name !== "default") await openView("default");
    else await openView(name, got[1]);
    ready = true;
    document.body.dataset.workspace = "ready";
  }

  document.addEventListener("DOMContentLoaded", () => {
    start().catch((err) => { $("ws-status").textContent = "Could not load the workspace: " + err.message; });
  });

  return {
    isHidden: (id) => spec.hidden.includes(id),
    toggle(id) {
      if (spec.hidden.includes(id)) spec.hidden = spec.hidden.filter((x) => x !== id);
      else spec.hidden.push(id);
      save();
      if (window.TDRunsTable) TDRunsTable.redraw();
      if (ready) { redrawAll(); refreshPanels(); }
    },
    spec: () => spec,
    view: () => viewName,
  };
})();
