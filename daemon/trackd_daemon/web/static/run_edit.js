// Editing the run from its page: rename in place, notes (multiline), tags (chips to add and
// remove), move to another project, delete after a confirmation naming what goes with it.
// Every change goes through the editing API (edit_api.py) with TD.post; a running run is
// renamed, annotated and tagged, but its Move and Delete say why they wait for its end.
"use strict";
(() => {
  const run = Object.assign({}, TD.data.run);
  const $ = (id) => document.getElementById(id);
  const base = `/runs/${TD.enc(run.entity)}/${TD.enc(run.project)}/${TD.enc(run.id)}`;
  const status = $("edit-status");
  let busy = false;

  function say(text, error) {
    status.textContent = text || "";
    status.classList.toggle("error", !!error);
  }

  async function update(fields, what) {
    say(what + "\u2026");
    busy = true;
    showControls();
    try {
      const got = await TD.post(base + "/update", fields);
      Object.assign(run, {name: got.name, notes: got.notes, tags: got.tags});
      say("");
      return true;
    } catch (err) {
      say(err.message, true);
      return false;
    } finally {
      busy = false;
      showControls();
    }
  }

  // -- live runs: Move and Delete wait for the end -----------------------------------------

  const live = () => run.state === "running";

  function showControls() {
    $("run-actions").hidden = false;
    $("rename-button").disabled = busy;
    $("move-button").disabled = busy || live();
    $("delete-button").disabled = busy || live();
    const why = live() ? "The run is running: it can be moved or deleted once it has finished." : "";
    $("edit-reason").textContent = why;
    $("move-button").title = why;
    $("delete-button").title = why;
  }

  document.addEventListener("td:run", (e) => {
    if (e.detail && e.detail.state !== run.state) {
      run.state = e.detail.state;
      showControls();
    }
  });

  // -- name ----------------------------------------------------------------------------------

  function showName() {
    $("run-name").textContent = run.name;
    $("crumb-run").textContent = run.name;
    document.title = `${run.name || run.id} \u00b7 ${run.project} \u00b7 trackd`;
  }

  function rename() {
    const span = $("run-name");
    if (span.hidden) return;
    const input = TD.el("input", {type: "text", id: "rename-input", class: "rename-input",
                                  value: run.name, "aria-label": "Run name"});
    span.hidden = true;
    span.after(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const name = input.value.trim();
      if (save && name && name !== run.name && !(await update({name}, "Renaming"))) {
        done = false;  // refused (the status says why): the field stays for another try
        return;
      }
      if (!save) say("");  // a refusal shown before is moot once the name is left as it was
      input.remove();
      span.hidden = false;
      showName();
    };
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); finish(true); }
      if (e.key === "Escape") { e.preventDefault(); finish(false); }
    });
    input.addEventListener("blur", () => finish(true));
  }
  $("rename-button").addEventListener("click", rename);
  $("run-name").addEventListener("dblclick", rename);

  // -- notes -----------------------------------------------------------------------------------

  const notesCell = $("run-notes");

  function showNotes() {
    const text = TD.el("span", {id: "notes-text"}, run.notes || "-");
    const edit = TD.el("button", {type: "button", class: "small", id: "notes-edit"}, "Edit");
    edit.addEventListener("click", editNotes);
    notesCell.replaceChildren(text, edit);
  }

  function editNotes() {
    const area = TD.el("textarea", {id: "notes-input", rows: 5, "aria-label": "Notes"});
    area.value = run.notes || "";
    const save = TD.el("button", {type: "button", id: "notes-save"}, "Save");
    const cancel = TD.el("button", {type: "button", id: "notes-cancel"}, "Cancel");
    save.addEventListener("click", async () => {
      if (area.value === (run.notes || "") || await update({notes: area.value}, "Saving the notes")) showNotes();
    });
    cancel.addEventListener("click", showNotes);
    area.addEventListener("keydown", (e) => {
      if (e.key === "Escape") { e.preventDefault(); showNotes(); }
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); save.click(); }
    });
    notesCell.replaceChildren(area, TD.el("div", {class: "edit-buttons"}, save, cancel));
    area.focus();
  }

  // -- tags ------------------------------------------------------------------------------------

  const tagsCell = $("run-tags");

  function showTags() {
    const chips = run.tags.map((tag) => {
      const remove = TD.el("button", {type: "button", class: "chip-remove", title: `Remove the tag ${tag}`,
                                      "aria-label": `Remove the tag ${tag}`}, "\u00d7");
      remove.addEventListener("click", () => setTags(run.tags.filter((t) => t !== tag), "Removing the tag"));
      return TD.el("span", {class: "tag chip", dataset: {tag}}, tag, remove);
    });
    const input = TD.el("input", {type: "text", id: "tag-input", class: "tag-input",
                                  placeholder: "add a tag", "aria-label": "Add a tag"});
    input.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" && e.key !== ",") return;
      e.preventDefault();
      const tag = input.value.trim();
      if (!tag) return;
      if (run.tags.includes(tag)) { input.value = ""; return; }
      setTags([...run.tags, tag], "Adding the tag").then((ok) => { if (ok) $("tag-input").focus(); });
    });
    tagsCell.replaceChildren(...chips, input);
  }

  async function setTags(tags, what) {
    const ok = await update({tags}, what);
    if (ok) showTags();
    return ok;
  }

  // -- move --------------------------------------------------------------------------------------

  $("move-button").addEventListener("click", async () => {
    if (live()) return;
    const project = window.prompt(`Move the run to which project of ${run.entity}? (its history, files and media go with it)`, run.project);
    if (project === null || project.trim() === run.project) return;
    say("Moving the run\u2026");
    busy = true;
    showControls();
    try {
      const got = await TD.post(base + "/move", {project: project.trim()});
      window.location.assign(TD.runPath(got.entity, got.project, got.id));
    } catch (err) {
      say(err.message, true);
      busy = false;
      showControls();
    }
  });

  // -- delete --------------------------------------------------------------------------------------

  const dialog = $("delete-dialog");

  function bytes(n) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }

  async function listWhatGoes() {
    const list = $("delete-list");
    const rows = Number($("overview-rows").textContent) || 0;
    const items = [`its history: ${rows} row${rows === 1 ? "" : "s"} of metrics, and its system metrics`,
                   "its config, summary and console log"];
    list.replaceChildren(...items.map((t) => TD.el("li", {}, t)));
    try {
      const {files} = await TD.api(base + "/files");
      const media = files.filter((f) => f.name.startsWith("media/"));
      const other = files.filter((f) => !f.name.startsWith("media/") && f.reason !== "console");
      const size = (fs) => bytes(fs.reduce((n, f) => n + (f.size || 0), 0));
      list.append(TD.el("li", {id: "delete-files"}, `${other.length} file${other.length === 1 ? "" : "s"} (${size(other)})`),
                  TD.el("li", {id: "delete-media"}, `${media.length} media file${media.length === 1 ? "" : "s"} (${size(media)})`));
    } catch (err) {
      list.append(TD.el("li", {}, "its files and media (they could not be listed: " + err.message + ")"));
    }
  }

  $("delete-button").addEventListener("click", async () => {
    if (live()) return;
    $("delete-run-name").textContent = run.name || run.id;
    $("delete-status").textContent = "";
    $("delete-status").classList.remove("error");
    $("delete-confirm").disabled = false;
    dialog.showModal();
    await listWhatGoes();
  });

  $("delete-confirm").addEventListener("click", async (e) => {
    e.preventDefault();  // the dialog stays open until the run is gone
    const note = $("delete-status");
    $("delete-confirm").disabled = true;
    note.classList.remove("error");
    note.textContent = "Deleting\u2026";
    try {
      const got = await TD.post(`/projects/${TD.enc(run.entity)}/${TD.enc(run.project)}/runs/delete`,
                                {runs: [run.id], delete_artifacts: $("delete-artifacts").checked});
      if (!got.deleted.includes(run.id)) throw new Error(got.errors[run.id] || "the run was not deleted");
      // The project's page, or the projects' when this was its last run.
      const project = "/" + TD.enc(run.entity) + "/" + TD.enc(run.project);
      let others = true;
      try { await TD.api("/projects" + project + "/runs", {per_page: 1}); } catch (err) { others = false; }
      window.location.assign(others ? project : "/");
    } catch (err) {
      note.textContent = err.message;
      note.classList.add("error");
      $("delete-confirm").disabled = false;
    }
  });

  showTags();
  showNotes();
  showControls();
})();
