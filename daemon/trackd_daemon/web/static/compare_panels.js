// The workspace's extra panels (panels.js) on the compare page, over the compared runs: one
// panel, its kind chosen above it; its settings live as long as the page.
"use strict";
(() => {
  const {entity, project, runs, ids} = TD.data;
  const box = document.getElementById("compare-panel");
  const kindSelect = document.getElementById("compare-panel-kind");
  if (!box || !kindSelect || !runs.length) return;
  const path = `/projects/${TD.enc(entity)}/${TD.enc(project)}/runs`;
  const specs = {};
  let columns = {config: [], summary: []};

  const ctx = () => ({
    entity, project, runs, columns,
    fetchRuns: async (cols) => (await TD.api(path, {ids: ids.join(","), columns: cols.join(","), per_page: 500})).runs,
    onChange: (spec) => { specs[spec.kind] = spec; draw(); },
  });

  function draw() {
    const kind = kindSelect.value;
    TDPanels.render(box, specs[kind] || {kind}, ctx());
  }

  kindSelect.replaceChildren(...TDPanels.kinds.map((k) => new Option(k.title, k.kind)));
  kindSelect.addEventListener("change", draw);
  TD.api(path, {ids: ids.join(","), per_page: 1}).then((table) => {
    columns = table.available;
    draw();
  }).catch((err) => { box.textContent = "Could not load the runs' columns: " + err.message; });
})();
