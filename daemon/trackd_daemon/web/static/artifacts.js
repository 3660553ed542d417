// An artifact version's page: its metadata as a tree, its files as a tree (folders open on
// click, read a folder at a time), a preview of the selected file (text, image or table; what
// could run script is a download only), and its aliases and tags, added and removed through
// the API (the response is the version again, drawn from it).
"use strict";
(() => {
  const v = TD.data.version;
  const api = v.api.replace(/^\/api\/v1/, "");
  const status = document.getElementById("edit-status");

  function size(n) {
    if (n === null || n === undefined || n < 0) return "-";
    if (n < 1024) return `${n} B`;
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let x = n / 1024, i = 0;
    while (x >= 1024 && i < units.length - 1) { x /= 1024; i += 1; }
    return `${x.toFixed(x < 10 ? 1 : 0)} ${units[i]}`;
  }
  const pathUrl = (path) => path.split("/").map(TD.enc).join("/");

  // -- metadata ----------------------------------------------------------------------------
  function tree(value) {
    if (value === null || typeof value !== "object") return TD.el("span", {class: "meta-value"}, TD.value(value));
    const entries = Array.isArray(value) ? value.map((x, i) => [String(i), x]) : Object.entries(value);
    if (!entries.length) return TD.el("span", {class: "meta-value"}, Array.isArray(value) ? "[]" : "{}");
    const table = TD.el("table", {class: "kv meta-table"});
    for (const [k, x] of entries) {
      const nested = x !== null && typeof x === "object" && Object.keys(x).length > 0;
      const cell = nested
        ? TD.el("details", {open: entries.length <= 20}, TD.el("summary", {}, Array.isArray(x) ? `[${x.length}]` : `{${Object.keys(x).length}}`), tree(x))
        : tree(x);
      table.append(TD.el("tr", {dataset: {key: k}}, TD.el("th", {}, k), TD.el("td", {}, cell)));
    }
    return table;
  }
  const meta = document.getElementById("metadata");
  meta.replaceChildren(Object.keys(v.metadata || {}).length ? tree(v.metadata) : TD.el("p", {class: "empty"}, "No metadata."));

  // -- files -------------------------------------------------------------------------------
  const preview = document.getElementById("preview");
  let selected = null;

  async function showPreview(file, row) {
    if (selected) selected.classList.remove("selected");
    selected = row;
    row.classList.add("selected");
    preview.replaceChildren(TD.el("p", {class: "status"}, "loading " + file.path + "…"));
    let got;
    try {
      got = await TD.api(api + "/preview/" + pathUrl(file.path));
    } catch (err) {
      preview.replaceChildren(TD.el("p", {class: "error"}, "Could not load: " + err.message));
      return;
    }
    const head = TD.el("p", {class: "preview-head"}, TD.el("strong", {}, file.path), ` · ${size(got.size)} · `,
                       got.url ? TD.el("a", {href: got.url, download: file.name, id: "preview-download"}, "download") : "");
    const body = TD.el("div", {class: "preview-body", id: "preview-body", dataset: {kind: got.kind, path: file.path}});
    if (got.kind === "text") {
      body.append(TD.el("pre", {class: "preview-text"}, got.text));
      if (got.truncated) body.append(TD.el("p", {class: "status"}, `The first ${size(got.text.length)} of ${size(got.size)}.`));
    } else if (got.kind === "image") {
      body.append(TD.el("img", {class: "preview-image", src: got.url, alt: file.path}));
    } else if (got.kind === "table") {
      const table = TD.el("table", {class: "grid preview-table"});
      table.append(TD.el("thead", {}, TD.el("tr", {}, ...got.columns.map((c) => TD.el("th", {}, c)))));
      table.append(TD.el("tbody", {}, ...got.rows.map((r) => TD.el("tr", {}, ...r.map((c) => TD.el("td", {}, TD.value(c)))))));
      body.append(TD.el("div", {class: "table-wrap"}, table));
      body.append(TD.el("p", {class: "status"}, `${got.total_rows} row${got.total_rows === 1 ? "" : "s"}${got.truncated ? `, the first ${got.rows.length} shown` : ""}.`));
    } else if (got.kind === "reference") {
      body.append(TD.el("p", {}, "A reference: its bytes are at ", TD.el("code", {}, got.ref), "."));
    } else {
      body.append(TD.el("p", {class: "empty"}, got.reason ? `No preview: ${got.reason}.` : "No preview of this kind of file: download it."));
    }
    preview.replaceChildren(head, body);
  }

  async function listFolder(dir, into) {
    const got = await TD.api(api + "/files", {dir});
    const ul = TD.el("ul", {class: "tree"});
    for (const f of got.folders) {
      const li = TD.el("li", {class: "folder", dataset: {path: f.path}});
      const toggle = TD.el("button", {type: "button", class: "folder-toggle"}, "▸ " + f.name + "/");
      li.append(toggle, TD.el("span", {class: "run-id"}, ` ${f.files} file${f.files === 1 ? "" : "s"} · ${size(f.size)}`));
      let open = false, loaded = null;
      toggle.addEventListener("click", async () => {
        open = !open;
        toggle.textContent = (open ? "▾ " : "▸ ") + f.name + "/";
        li.classList.toggle("open", open);
        if (open && !loaded) {
          loaded = TD.el("div", {class: "children"});
          li.append(loaded);
          try { await listFolder(f.path, loaded); } catch (err) { loaded.replaceChildren(TD.el("p", {class: "error"}, err.message)); }
        }
        if (loaded) loaded.hidden = !open;
      });
      ul.append(li);
    }
    for (const f of got.files) {
      const li = TD.el("li", {class: "file", dataset: {path: f.path, kind: f.preview}},
        TD.el("button", {type: "button", class: "file-name"}, f.name),
        TD.el("span", {class: "num file-size"}, size(f.size)),
        TD.el("code", {class: "file-digest", title: f.digest || f.ref}, (f.digest || f.ref || "").slice(0, 12)));
      li.querySelector("button").addEventListener("click", () => showPreview(f, li));
      ul.append(li);
    }
    if (!got.folders.length && !got.files.length) ul.append(TD.el("li", {class: "empty"}, "No files."));
    if (got.truncated) ul.append(TD.el("li", {class: "status"}, "This folder has more files than are listed."));
    into.replaceChildren(ul);
  }
  const fileTree = document.getElementById("file-tree");
  listFolder("", fileTree).catch((err) => fileTree.replaceChildren(TD.el("p", {class: "error"}, err.message)));

  // -- aliases and tags --------------------------------------------------------------------
  function chips(id, cls, values, removable) {
    const box = document.getElementById(id);
    box.replaceChildren(...values.map((x) => {
      const chip = TD.el("span", {class: cls, dataset: {[cls]: x}}, x);
      if (removable(x)) {
        chip.append(TD.el("button", {type: "button", class: "chip-remove", title: `remove ${x}`,
                                     "aria-label": `remove ${x}`, onclick: () => edit(id, {remove: [x]})}, "×"));
      }
      return chip;
    }));
  }
  function draw(got) {
    chips("aliases", "alias", got.link ? got.link.aliases : got.aliases, (a) => a !== "latest");
    if (!got.link) chips("tags", "tag", got.tags, () => true);
  }
  async function edit(id, change) {
    status.textContent = "";
    try {
      const got = await TD.post(api + "/" + id, {add: change.add || [], remove: change.remove || []});
      draw(got);
      document.body.dataset.edited = String(Number(document.body.dataset.edited || 0) + 1);
    } catch (err) {
      status.textContent = err.message;
    }
  }
  function form(formId, inputId, id) {
    const f = document.getElementById(formId);
    if (!f) return;
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      const input = document.getElementById(inputId);
      const name = input.value.trim();
      if (!name) return;
      input.value = "";
      edit(id, {add: [name]});
    });
  }
  form("alias-form", "alias-input", "aliases");
  form("tag-form", "tag-input", "tags");
  draw(v);
})();
