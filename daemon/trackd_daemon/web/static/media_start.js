// Starts the media panels of the page: the run page's run, or the compared runs. While the
// run page's run is running, looks again when its history grows (the run page's live feed
// announces it) and redraws what changed.
"use strict";
(() => {
  const root = document.getElementById("media-sections");
  if (!root) return;
  const d = TD.data;
  const runs = d.run ? [{entity: d.run.entity, project: d.run.project, id: d.run.id, name: d.run.name}]
    : (d.runs || []).map((r) => ({entity: d.entity, project: d.project, id: r.id, name: r.name}));
  if (!runs.length) return;
  const panels = TDMedia.mount(root, runs);
  const shown = (n) => {
    root.dataset.keys = String(n.keys);
    root.dataset.charts = String(n.charts);
  };
  const failed = (err) => {
    root.dataset.error = err.message;
    console.error("media panels: " + err.message);
  };
  panels.update().then(shown, failed);

  // At most one look every few seconds, however fast rows arrive.
  const EVERY_MS = 3000;
  let timer = null;
  document.addEventListener("td:history", () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      panels.update().then(shown, failed);
    }, EVERY_MS);
  });
})();
