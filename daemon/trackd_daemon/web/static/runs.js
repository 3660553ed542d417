// The runs table: search, filters, sorting, columns, grouping, paging, selection for compare
// and deletion; the state lives in the page's URL so that a view can be shared. Refreshes
// itself while runs are running. Beside the project workspace (workspace.js) it is the side
// panel of runs: each row has the eye that shows or hides the run on the charts, and the
// workspace draws the runs of the table's query (TDRunsTable.params()).
"use strict";
(() => {
  const {entity, project, sweep} = TD.data;
  const apiPath = `/projects/${TD.enc(entity)}/${TD.enc(project)}/runs`;
  const url = new URL(location.href);
  const q = {
    q: url.searchParams.get("q") || "",
    state: url.searchParams.get("state") || "",
    tag: url.searchParams.get("tag") || "",
    group: url.searchParams.get("group") || "",
    filter: url.searchParams.getAll("filter"),
    sort: url.searchParams.get("sort") || "-created",
    group_by: url.searchParams.get("group_by") || "",
    columns: url.searchParams.has("columns") ? url.searchParams.get("columns") : null,
    page: Number(url.searchParams.get("page") || 1),
    per_page: Number(url.searchParams.get("per_page") || TD.data.table.per_page),
  };
  const selected = new Set();
  let table = TD.data.table;
  const $ = (id) => document.getElementById(id);

  $("search-input").value = q.q;
  $("state-select").value = q.state;
  $("tag-input").value = q.tag;
  $("group-input").value = q.group;
  $("filter-input").value = q.filter.join("; ");
  $("per-page").value = String(q.per_page);

  const BUILTIN = [["name", "Name"], ["state", "State"], ["created", "Created"], ["duration", "Duration"],
                   ["tags", "Tags"], ["group", "Group"], ["job_type", "Job type"], ["user", "User"],
                   ["host", "Host"], ["sweep", "Sweep"]];
  // The built-in columns shown: the sweep column only where some run of the page has a sweep.
  let builtins = BUILTIN;
  function chooseBuiltins() {
    const runs = table.groups ? table.groups.flatMap((g) => g.runs) : table.runs;
    const sweeps = runs.some((r) => r.sweep_id);
    builtins = BUILTIN.filter(([k]) => k !== "sweep" || sweeps);
  }

  function params() {
    return {q: q.q, state: q.state, tag: q.tag, group: q.group, filter: q.filter, sort: q.sort,
            group_by: q.group_by, columns: q.columns, page: q.page, per_page: q.per_page,
            sweep: sweep || null};
  }

  // A query the API refuses (a filter it cannot read) shows its error in place of runs that
  // were not asked for, never as an empty table.
  function queryError(message) {
    $("query-error").textContent = message;
    $("total-count").textContent = "";
    $("runs-table").tBodies[0].replaceChildren(TD.el("tr", {class: "query-error-row"},
      TD.el("td", {class: "error", colspan: 1 + builtins.length + table.columns.length},
            TD.el("span", {}, "No runs shown: the query has an error (above)."))));
  }

  async function load() {
    try {
      table = await TD.api(apiPath, params());
      $("query-error").textContent = "";
      show();
      document.dispatchEvent(new CustomEvent("td:runs-query", {detail: params()}));
    } catch (err) {
      queryError(err.message);
    }
    const shown = new URLSearchParams();
    for (const [k, v] of Object.entries(params())) {
      if (k === "sweep" || v === null || v === "" || (k === "page" && v === 1) || (k === "sort" && v === "-created")) continue;
      for (const item of Array.isArray(v) ? v : [v]) shown.append(k, item);
    }
    history.replaceState(null, "", location.pathname + (shown.toString() ? "?" + shown : ""));
  }

  function header(key, label) {
    const active = q.sort.replace(/^-/, "") === key;
    const arrow = active ? (q.sort.startsWith("-") ? " \u25BC" : " \u25B2") : "";
    return TD.el("th", {class: "sortable", dataset: {sort: key}, onclick: () => {
      q.sort = active && !q.sort.startsWith("-") ? "-" + key : key;
      q.page = 1;
      load();
    }}, label + arrow);
  }

  function cell(run, key) {
    switch (key) {
      case "name": return TD.el("td", {}, TD.el("a", {href: TD.runPath(entity, project, run.id)}, run.name), " ", TD.el("span", {class: "run-id"}, run.id));
      case "state": return TD.el("td", {}, TD.el("span", {class: "badge " + run.state}, run.state === "running" ? "\u25CF live" : run.state));
      case "created": return TD.el("td", {}, TD.when(run.created_at));
      case "duration": return TD.el("td", {class: "num"}, TD.span(run.duration));
      case "tags": return TD.el("td", {}, ...run.tags.map((t) => TD.el("span", {class: "tag"}, t)));
      case "sweep": return TD.el("td", {}, run.sweep_id ? TD.el("a", {class: "sweep-link", href: `/${TD.enc(entity)}/${TD.enc(project)}/sweeps/${TD.enc(run.sweep_id)}`}, run.sweep_id) : "");
      default: return TD.el("td", {}, run[key] || "");
    }
  }

  function row(run) {
    const box = TD.el("input", {type: "checkbox", class: "select", checked: selected.has(run.id), onchange: (e) => {
      if (e.target.checked) selected.add(run.id); else selected.delete(run.id);
      updateCompare();
    }});
    const ws = window.TDWorkspace;
    const eye = ws ? TD.el("button", {
      type: "button", class: "eye" + (ws.isHidden(run.id) ? " off" : ""),
      title: ws.isHidden(run.id) ? "Show on the charts" : "Hide from the charts",
      onclick: () => ws.toggle(run.id)}, ws.isHidden(run.id) ? "\u25CB" : "\u25C9") : null;
    const swatch = TD.el("span", {class: "swatch", style: `background:${TD.runColor(run)}`});
    return TD.el("tr", {class: "run-row", dataset: {id: run.id, state: run.state}},
      TD.el("td", {class: "select-cell"}, box, " ", swatch, eye), ...builtins.map(([k]) => cell(run, k)),
      ...table.columns.map((c) => TD.el("td", {class: "num", dataset: {column: c}}, TD.value(run.values[c]))));
  }

  function show() {
    chooseBuiltins();
    const thead = $("runs-table").tHead;
    thead.replaceChildren(TD.el("tr", {}, TD.el("th", {}, ""), ...builtins.map(([k, l]) => header(k, l)),
      ...table.columns.map((c) => header(c, c))));
    const body = $("runs-table").tBodies[0];
    const rows = [];
    if (table.groups) {
      for (const g of table.groups) {
        const states = Object.entries(g.states).map(([s, n]) => `${n} ${s}`).join(", ");
        rows.push(TD.el("tr", {class: "group-row"}, TD.el("td", {colspan: 1 + builtins.length + table.columns.length},
          `${table.group_by} = ${TD.value(g.value) || "(none)"} \u2014 ${g.count} run${g.count === 1 ? "" : "s"} (${states})`)));
        for (const r of g.runs) rows.push(row(r));
      }
    } else {
      for (const r of table.runs) rows.push(row(r));
    }
    body.replaceChildren(...rows);
    const what = table.groups ? `${table.groups.length} group(s) of ` : "";
    $("total-count").textContent = `${what}${table.total} of ${table.total_in_project} runs` + (table.running ? ` \u00b7 ${table.running} running` : "");
    $("page-info").textContent = `page ${table.page} of ${table.pages}`;
    $("prev-page").disabled = table.page <= 1;
    $("next-page").disabled = table.page >= table.pages;
    const groupBy = $("group-by");
    const options = [["", "no grouping"], ["group", "group"], ["job_type", "job type"],
                     ...table.available.config.slice(0, 50).map((k) => ["config." + k, "config." + k])];
    groupBy.replaceChildren(...options.map(([v, l]) => new Option(l, v, false, v === q.group_by)));
    columnsPanel();
    updateCompare();
    scheduleLive();
  }

  function columnsPanel() {
    const chosen = new Set(table.columns);
    const box = (c) => TD.el("label", {}, TD.el("input", {type: "checkbox", checked: chosen.has(c), dataset: {column: c}, onchange: (e) => {
      const now = new Set(table.columns);
      if (e.target.checked) now.add(c); else now.delete(c);
      q.columns = [...now].join(",");
      load();
    }}), " " + c);
    $("columns-panel").replaceChildren(
      TD.el("h3", {}, "Config"), ...table.available.config.slice(0, 200).map((k) => box("config." + k)),
      TD.el("h3", {}, "Summary"), ...table.available.summary.slice(0, 200).map((k) => box("summary." + k)));
  }

  function updateCompare() {
    const b = $("compare-button");
    b.disabled = selected.size < 1;
    b.textContent = selected.size ? `Compare selected (${selected.size})` : "Compare selected";
    const d = $("delete-button");
    if (d) {
      d.disabled = selected.size < 1;
      d.textContent = selected.size ? `Delete selected (${selected.size})` : "Delete selected";
    }
  }

  async function deleteSelected() {
    const ids = [...selected];
    if (!ids.length || !confirm(`Delete ${ids.length} run${ids.length === 1 ? "" : "s"} and everything they logged? This cannot be undone.`)) return;
    try {
      const out = await TD.post(`/projects/${TD.enc(entity)}/${TD.enc(project)}/runs/delete`, {runs: ids, delete_artifacts: false});
      for (const id of out.deleted) selected.delete(id);
      const errors = Object.entries(out.errors || {}).map(([id, m]) => `${id}: ${m}`);
      $("query-error").textContent = errors.length ? "Not deleted: " + errors.join("; ") : "";
    } catch (err) {
      $("query-error").textContent = "Could not delete: " + err.message;
    }
    await load();
    document.dispatchEvent(new CustomEvent("td:runs-changed"));
  }

  let liveTimer = null;
  function scheduleLive() {
    clearTimeout(liveTimer);
    if (table.running) liveTimer = setTimeout(load, 5000);
  }

  let typing = null;
  function onInput(key, transform) {
    return (e) => {
      clearTimeout(typing);
      typing = setTimeout(() => { q[key] = transform ? transform(e.target.value) : e.target.value.trim(); q.page = 1; load(); }, 250);
    };
  }
  $("search-input").addEventListener("input", onInput("q"));
  $("tag-input").addEventListener("input", onInput("tag"));
  $("group-input").addEventListener("input", onInput("group"));
  $("filter-input").addEventListener("change", onInput("filter", (v) => v.split(";").map((s) => s.trim()).filter(Boolean)));
  $("state-select").addEventListener("change", (e) => { q.state = e.target.value; q.page = 1; load(); });
  $("group-by").addEventListener("change", (e) => { q.group_by = e.target.value; q.page = 1; load(); });
  $("per-page").addEventListener("change", (e) => { q.per_page = Number(e.target.value); q.page = 1; load(); });
  $("prev-page").addEventListener("click", () => { q.page -= 1; load(); });
  $("next-page").addEventListener("click", () => { q.page += 1; load(); });
  $("columns-button").addEventListener("click", () => { $("columns-panel").hidden = !$("columns-panel").hidden; });
  if ($("delete-button")) $("delete-button").addEventListener("click", deleteSelected);
  $("compare-button").addEventListener("click", () => {
    location.href = `/${TD.enc(entity)}/${TD.enc(project)}/compare?runs=${[...selected].map(TD.enc).join(",")}`;
  });
  window.TDRunsTable = {params, reload: load, redraw: show};
  show();
  if (TD.data.query_error) queryError(TD.data.query_error);  // the URL's query is unreadable
})();
