// Table panels (table-file): the table of one step, paged, sorted by a column (click its
// header; again for descending) and filtered by text, all in the browser; media cells (images)
// (images, video, audio) shown inline, other media cells by their type.
"use strict";
const TDTable = (() => {
  const PAGE_SIZES = [10, 25, 50, 100];

  function cellText(v) {
    if (v && typeof v === "object" && v._type) return `<${v._type}>`;
    return TD.value(v);
  }

  function compare(a, b) {
    const na = typeof a === "number", nb = typeof b === "number";
    if (na && nb) return a - b;
    if (na !== nb) return na ? -1 : 1;
    if (a === null || a === undefined) return (b === null || b === undefined) ? 0 : 1;
    if (b === null || b === undefined) return -1;
    return cellText(a).localeCompare(cellText(b), undefined, {numeric: true});
  }

  // A media element of a cell, its source set once known (a notebook view fetches it).
  function load(run, v, media) {
    TDMedia.src(run, v.path).then((url) => { media.src = url; }, (err) => { media.title = err.message; });
    return media;
  }

  function cell(run, v) {
    if (v && typeof v === "object" && v._type === "image-file" && v.path) {
      return load(run, v, TD.el("img", {class: "media-cell-img", alt: v.caption || "image"}));
    }
    if (v && typeof v === "object" && v._type === "video-file" && v.path) {
      return load(run, v, /\.gif$/i.test(v.path) ? TD.el("img", {class: "media-cell-img", alt: v.caption || "video"})
        : TD.el("video", {class: "media-cell-video", controls: true, muted: true, preload: "metadata"}));
    }
    if (v && typeof v === "object" && v._type === "audio-file" && v.path) {
      return load(run, v, TD.el("audio", {class: "media-cell-audio", controls: true, preload: "metadata"}));
    }
    return cellText(v);
  }

  // A table ({columns, data}) drawn into `el`, with its controls.
  function show(run, el, table) {
    const columns = table.columns || [];
    const rows = (table.data || []).map((r, i) => ({i, r}));
    const state = {sort: null, desc: false, filter: "", page: 0, size: PAGE_SIZES[0]};
    const filter = TD.el("input", {type: "search", class: "media-table-filter", placeholder: "Filter rows"});
    const size = TD.el("select", {class: "media-table-size"}, ...PAGE_SIZES.map((n) => new Option(`${n} rows`, String(n))));
    const prev = TD.el("button", {type: "button", class: "media-table-prev"}, "‹");
    const next = TD.el("button", {type: "button", class: "media-table-next"}, "›");
    const info = TD.el("span", {class: "status media-table-info"});
    const thead = TD.el("thead", {}, TD.el("tr", {}, ...columns.map((c, j) =>
      TD.el("th", {class: "sortable", dataset: {col: String(j)}, onclick: () => {
        if (state.sort === j) state.desc = !state.desc; else { state.sort = j; state.desc = false; }
        state.page = 0;
        render();
      }}, String(c)))));
    const tbody = TD.el("tbody");
    const grid = TD.el("table", {class: "grid media-table"}, thead, tbody);

    function visible() {
      const needle = state.filter.toLowerCase();
      let out = needle ? rows.filter(({r}) => r.some((v) => cellText(v).toLowerCase().includes(needle))) : rows.slice();
      if (state.sort !== null) {
        const j = state.sort;
        out.sort((a, b) => compare(a.r[j], b.r[j]) * (state.desc ? -1 : 1) || a.i - b.i);
      }
      return out;
    }

    function render() {
      const out = visible();
      const pages = Math.max(1, Math.ceil(out.length / state.size));
      state.page = Math.min(state.page, pages - 1);
      const start = state.page * state.size;
      tbody.replaceChildren(...out.slice(start, start + state.size).map(({i, r}) =>
        TD.el("tr", {dataset: {row: String(i)}}, ...columns.map((_, j) => TD.el("td", {}, cell(run, r[j]))))));
      for (const th of thead.querySelectorAll("th")) {
        const j = Number(th.dataset.col);
        th.dataset.sorted = state.sort === j ? (state.desc ? "desc" : "asc") : "";
        th.textContent = String(columns[j]) + (state.sort === j ? (state.desc ? " ▼" : " ▲") : "");
      }
      info.textContent = out.length
        ? `${start + 1}–${Math.min(start + state.size, out.length)} of ${out.length} rows` + (out.length < rows.length ? ` (${rows.length} in all)` : "")
        : `no rows match (${rows.length} in all)`;
      prev.disabled = state.page === 0;
      next.disabled = state.page >= pages - 1;
      el.dataset.rows = String(out.length);
    }

    filter.addEventListener("input", () => { state.filter = filter.value; state.page = 0; render(); });
    size.addEventListener("change", () => { state.size = Number(size.value); state.page = 0; render(); });
    prev.addEventListener("click", () => { state.page -= 1; render(); });
    next.addEventListener("click", () => { state.page += 1; render(); });
    el.replaceChildren(TD.el("div", {class: "media-table-controls"}, filter, size, prev, next, info),
                       TD.el("div", {class: "table-wrap"}, grid));
    render();
  }

  TDMedia.register(["table-file"], async ({run, key, el}) => {
    const got = await TDMedia.values(run, key, 500);
    if (!got.steps.length) { TDMedia.message(el, "No table logged."); return; }
    const body = TD.el("div", {class: "media-table-body"});
    let seq = 0;
    const slider = TDMedia.stepper(got.steps, async (i) => {
      const mine = ++seq;
      const table = await TDMedia.json(run, got.values[i].path);
      if (mine !== seq) return;
      show(run, body, table);
      el.dataset.step = String(got.steps[i]);
    });
    el.replaceChildren(slider.el, body);
    slider.show();
  });

  return {show, cellText};
})();
