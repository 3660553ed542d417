// Starts the media panels of the page: the run page's run, or the compared runs.
"use strict";
(() => {
  const root = document.getElementById("media-sections");
  if (!root) return;
  const d = TD.data;
  const runs = d.run ? [{entity: d.run.entity, project: d.run.project, id: d.run.id, name: d.run.name}]
    : (d.runs || []).map((r) => ({entity: d.entity, project: d.project, id: r.id, name: r.name}));
  if (!runs.length) return;
  TDMedia.mount(root, runs).then((n) => {
    root.dataset.keys = String(n.keys);
    root.dataset.charts = String(n.charts);
  }, (err) => {
    root.replaceChildren(TD.el("p", {class: "error"}, "Could not load the media panels: " + err.message));
  });
})();
